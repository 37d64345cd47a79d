package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func init() {
	register("plugins", "list the plugins in plugin_dir with their checksums and config schemas", runPlugins)
}

func runPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plugins", stderr)
	opts := app.Options{NotServing: true}
	configFlags(fs, &opts, "dev mode: run plugins without a pinned sha256 to read their schema")
	fs.StringVar(&opts.PluginDir, "plugin-dir", "", "plugin directory (overrides the config's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Without -config, the plugin_dir and plugin blocks of connector.hcl,
	// as serve has them; without that file, the default plugin_dir.
	if opts.ConfigPath == "" && !opts.Dev {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			opts.ConfigPath = defaultConfigFile
		}
	}
	cfg := &config.Config{PluginDir: opts.PluginDir}
	if opts.ConfigPath != "" || opts.Dev {
		var diags hcl.Diagnostics
		cfg, diags = app.LoadConfig(opts)
		if diags.HasErrors() {
			writeDiagnostics(stderr, cfg.Files, diags)
			return exitError{code: 1}
		}
	}
	if cfg.PluginDir == "" {
		cfg.PluginDir = config.DefaultPluginDir
	}
	bins, _ := filepath.Glob(filepath.Join(cfg.PluginDir, pluginhost.BinaryPrefix+"*"))
	sort.Strings(bins)
	if len(bins) == 0 {
		fmt.Fprintf(stdout, "no plugins in %s (binaries named %s<name>)\n", cfg.PluginDir, pluginhost.BinaryPrefix)
		return nil
	}
	ph := pluginhost.New(pluginhost.Options{PluginDir: cfg.PluginDir, Dev: opts.DevFor(cfg), Plugins: cfg.Plugins})
	for i, bin := range bins {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		name := strings.TrimPrefix(filepath.Base(bin), pluginhost.BinaryPrefix)
		sum, err := pluginhost.FileSHA256(bin)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  %s\n  plugin %q { sha256 = %q }\n", termText(name), termText(bin), name, sum)
		info, diags := ph.Describe(ctx, name)
		if diags.HasErrors() {
			fmt.Fprintf(stdout, "  not started: %s\n", indentText(config.DiagnosticsText(diags), "    "))
			continue
		}
		printInfo(stdout, info)
	}
	return nil
}

func printInfo(w io.Writer, info sdk.Info) {
	c := info.Capabilities
	var caps []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Lookup, "lookup"}, {c.Update, "update"}, {c.Resolve, "resolve"}, {c.Reopen, "reopen"}, {c.Comment, "comment"}, {c.CMDB, "cmdb"},
		{c.ReadStatus, "read_status"}} {
		if x.on {
			caps = append(caps, x.name)
		}
	}
	// Everything in info is the plugin's word.
	fmt.Fprintf(w, "  version %s, API %v, capabilities: %s\n  config {\n", termText(info.Version), info.APIVersions, strings.Join(caps, ", "))
	printSchema(w, info.Schema, "    ")
	fmt.Fprintln(w, "  }")
}

func printSchema(w io.Writer, s sdk.Schema, indent string) {
	for _, a := range s.Attributes {
		var tags []string
		if a.Required {
			tags = append(tags, "required")
		}
		if a.Sensitive {
			tags = append(tags, "sensitive")
		}
		if a.PerAlert {
			tags = append(tags, "per-alert")
		}
		if len(a.Default) > 0 {
			tags = append(tags, "default "+termText(string(a.Default)))
		}
		fmt.Fprintf(w, "%s%s %s", indent, termText(a.Name), termText(string(a.Type)))
		if len(tags) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(tags, ", "))
		}
		if a.Doc != "" {
			fmt.Fprintf(w, "  # %s", termText(a.Doc))
		}
		fmt.Fprintln(w)
	}
	for _, b := range s.Blocks {
		fmt.Fprintf(w, "%s%s { # %s block", indent, termText(b.Name), termText(string(b.Nesting)))
		if b.Doc != "" {
			fmt.Fprintf(w, ": %s", termText(b.Doc))
		}
		fmt.Fprintln(w)
		printSchema(w, b.Schema, indent+"  ")
		fmt.Fprintf(w, "%s}\n", indent)
	}
}
