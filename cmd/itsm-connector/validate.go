package main

import (
	"context"
	"fmt"
	"io"

	"github.com/itsm-connector/itsm-connector/host/app"
)

func init() {
	register("validate", "check a configuration, plugins' schemas included", runValidate)
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	var opts app.Options
	configFlags(fs, &opts, "validate as serve -dev would run it (sha256 optional, dev auth)")
	fs.StringVar(&opts.PluginDir, "plugin-dir", "", "override plugin_dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defaultConfig(&opts)
	cfg, diags := app.Validate(ctx, opts)
	if len(diags) > 0 {
		writeDiagnostics(stderr, cfg.Files, diags)
	}
	if diags.HasErrors() {
		return exitError{code: 1}
	}
	name := opts.ConfigPath
	if name == "" {
		name = "the embedded quickstart"
	}
	fmt.Fprintf(stdout, "%s is valid: %d backend(s), %d route(s)\n", name, len(cfg.Backends), len(cfg.Routes))
	return nil
}
