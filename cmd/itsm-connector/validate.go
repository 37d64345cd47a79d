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
	fs.StringVar(&opts.ConfigPath, "config", "connector.hcl", "configuration `file`")
	fs.BoolVar(&opts.Dev, "dev", false, "validate as dev mode would run it (sha256 optional, dev auth)")
	fs.StringVar(&opts.PluginDir, "plugin-dir", "", "override plugin_dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, diags := app.Validate(ctx, opts)
	if len(diags) > 0 {
		writeDiagnostics(stderr, cfg.Files, diags)
	}
	if diags.HasErrors() {
		return exitError{code: 1}
	}
	fmt.Fprintf(stdout, "%s is valid: %d backend(s), %d route(s)\n", opts.ConfigPath, len(cfg.Backends), len(cfg.Routes))
	return nil
}
