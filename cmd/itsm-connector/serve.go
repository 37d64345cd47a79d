package main

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime/debug"

	"github.com/itsm-connector/itsm-connector/host/app"
)

func init() {
	register("serve", "run the connector", runServe)
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var opts app.Options
	configFlags(fs, &opts, "dev mode: plain HTTP, local token issuer, data under -data-dir, plugins need no sha256 (a declared one is still checked)")
	fs.StringVar(&opts.Listen, "listen", "", "override server.listen (`host:port`)")
	fs.StringVar(&opts.AdminListen, "admin-listen", "", "override admin.listen (`host:port`)")
	fs.StringVar(&opts.PluginDir, "plugin-dir", "", "override plugin_dir")
	fs.StringVar(&opts.LogLevel, "log-level", "", "override log_level (trace, debug, info, warn, error)")
	fs.StringVar(&opts.DataDir, "data-dir", app.DevDataDir, "dev mode's data `dir`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	defaultConfig(&opts)
	opts.LogOutput = stderr
	opts.Version = version
	tuneGC()
	err := app.Serve(ctx, opts)
	var d *app.Diagnostics
	if errors.As(err, &d) {
		writeDiagnostics(stderr, d.Files, d.Diags)
		return exitError{code: 1}
	}
	return err
}

// serveGCPercent is the garbage collector's target when GOGC is not set.
// The host keeps its queue in the store, so its live heap is a few
// megabytes while each alert allocates ~30 KB of short-lived garbage; at
// Go's default of 100 a burst of alerts collects dozens of times a
// second. At 400 the collector's share of ingest CPU falls from ~10 % to
// ~2 % (BenchmarkWebhookIngest) for a heap that stays well under 100 MB.
// GOGC in the environment still wins.
const serveGCPercent = 400

// tuneGC sets the garbage collector's target and, unless GOMEMLIMIT is
// set, a soft memory limit (app.DefaultMemoryLimit: 80 % of the cgroup's
// memory limit, else 1 GiB), so that the heap GOGC allows never runs the
// process out of its memory.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(app.DefaultMemoryLimit())
	}
}
