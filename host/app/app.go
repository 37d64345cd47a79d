// Package app assembles a running connector from a configuration file: the
// authentication step, plugins, routes, the durable store and delivery
// engine, the webhook and the admin listener. The command line calls it;
// nothing else does, so wiring lives in one place.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
)

// Options are the command line's overrides and dev mode.
type Options struct {
	// ConfigPath is the connector.hcl to load; empty in dev mode means the
	// embedded quickstart configuration.
	ConfigPath string
	// Dev enables dev mode: plain HTTP on loopback, the local token issuer,
	// data under DataDir, plugins without checksums.
	Dev bool
	// Listen overrides server.listen.
	Listen string
	// AdminListen overrides admin.listen.
	AdminListen string
	// PluginDir overrides plugin_dir.
	PluginDir string
	// LogLevel overrides log_level.
	LogLevel string
	// DataDir is where dev mode keeps its state (default ./data).
	DataDir string
	// Logger overrides the logger built from the configuration.
	Logger hclog.Logger
	// LogOutput is where the built logger writes (default stderr).
	LogOutput io.Writer
	// Version is the connector's version, in its traces' resource and on
	// the console.
	Version string
	// NotServing is set by the commands that do not serve (route, plugins,
	// workitems, deadletter). They take a configuration whose auth is
	// "dev", which only "serve -dev" runs, in dev mode without -dev, so
	// that they find its store and plugins where that connector has them.
	NotServing bool
}

// DevFor reports whether cfg is loaded and used in dev mode: with -dev, or
// with auth "dev" for a command that does not serve.
func (o Options) DevFor(cfg *config.Config) bool {
	return o.Dev || (o.NotServing && cfg.Auth.Type == config.AuthDev)
}

// DevDataDir is where dev mode keeps the store, the dev signing key and the
// quickstart's work items.
const DevDataDir = "data"

// DevPluginDir is where dev mode looks for plugins (`make build` puts them there).
const DevPluginDir = "bin/plugins"

// LoadConfig loads the configuration and applies the command line's
// overrides and dev mode's defaults. Diagnostics are returned with the
// config (never nil) so the caller can print them with source snippets.
func LoadConfig(opts Options) (*config.Config, hcl.Diagnostics) {
	var (
		cfg   *config.Config
		diags hcl.Diagnostics
	)
	if opts.ConfigPath == "" && opts.Dev {
		cfg, diags = config.Load(QuickstartConfig, "quickstart.hcl (embedded)")
		if wd, err := os.Getwd(); err == nil {
			cfg.Dir = wd
		}
	} else {
		cfg, diags = config.LoadFile(opts.ConfigPath)
	}
	if diags.HasErrors() {
		return cfg, diags
	}
	if opts.DevFor(cfg) {
		dataDir := opts.DataDir
		if dataDir == "" {
			dataDir = DevDataDir
		}
		if cfg.Auth.Type != config.AuthNone {
			cfg.Auth.Type = config.AuthDev
		}
		cfg.Server.TLS = nil
		if cfg.Store.Driver == config.DriverSQLite && !filepath.IsAbs(cfg.Store.Path) {
			cfg.Store.Path = filepath.Join(dataDir, filepath.Base(cfg.Store.Path))
		}
		if opts.PluginDir == "" && cfg.PluginDir == config.DefaultPluginDir {
			cfg.PluginDir = DevPluginDir
		}
	} else if cfg.Auth.Type == config.AuthDev {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  `auth "dev" needs dev mode`,
			Detail:   `The dev token issuer only runs with "serve -dev". Configure auth "entra_id" for production.`,
			Subject:  cfg.Auth.Range.Ptr(),
		})
	}
	if opts.Listen != "" {
		cfg.Server.Listen = opts.Listen
	}
	if opts.AdminListen != "" {
		cfg.Admin.Listen = opts.AdminListen
		diags = cfg.RefreshAdminWarning(diags)
	}
	if opts.PluginDir != "" {
		cfg.PluginDir = opts.PluginDir
	}
	if opts.LogLevel != "" {
		cfg.LogLevel = opts.LogLevel
	}
	return cfg, diags
}

// NewLogger builds the host logger from the configuration.
func NewLogger(cfg *config.Config, out io.Writer) hclog.Logger {
	if out == nil {
		out = os.Stderr
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "itsm-connector",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.LogFormat != "text",
		Output:     out,
	})
}

// backendRefs lists the configured backends as "type.name".
func backendRefs(cfg *config.Config) map[string]bool {
	refs := make(map[string]bool, len(cfg.Backends))
	for _, b := range cfg.Backends {
		refs[b.Ref()] = true
	}
	return refs
}

// CompileRoutes compiles the configuration's routes against its backends.
func CompileRoutes(cfg *config.Config) (*route.Router, hcl.Diagnostics) {
	return route.Compile(cfg.Routes, backendRefs(cfg))
}

// StartPlugins starts one plugin process per backend and configures it.
func StartPlugins(ctx context.Context, cfg *config.Config, dev bool, log hclog.Logger) (*pluginhost.Host, hcl.Diagnostics) {
	return startPlugins(ctx, cfg, dev, log, nil)
}

// startPlugins is StartPlugins with the connector's tracing (nil: off).
func startPlugins(ctx context.Context, cfg *config.Config, dev bool, log hclog.Logger, tr *telemetry.Tracing) (*pluginhost.Host, hcl.Diagnostics) {
	ph := pluginhost.New(pluginhost.Options{
		PluginDir: cfg.PluginDir,
		Dev:       dev,
		Logger:    log,
		Plugins:   cfg.Plugins,
		Tracing:   tr,
	})
	diags := ph.Load(ctx, cfg.Backends, config.LoadContext(cfg.Dir))
	return ph, diags
}

// Validate checks a configuration end to end, as `serve` would load it:
// host blocks, every backend's config against its plugin's schema and its
// delivery settings against the plugin's capabilities (plugins are started
// and configured, then stopped), routes and maintenance windows.
func Validate(ctx context.Context, opts Options) (*config.Config, hcl.Diagnostics) {
	cfg, diags := LoadConfig(opts)
	if diags.HasErrors() {
		return cfg, diags
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	ph, d := StartPlugins(ctx, cfg, opts.Dev, log)
	diags = append(diags, d...)
	diags = append(diags, checkBackends(cfg, newPluginBackends(ph, cfg))...)
	router, routeDiags := CompileRoutes(cfg)
	diags = append(diags, routeDiags...)
	_, d = maintenance.Compile(cfg)
	diags = append(diags, d...)
	if cfg.Azure != nil {
		// What serve checks before its first change: the certificate file.
		if _, err := azure.NewCredential(*cfg.Azure, nil); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid azure credential", Detail: err.Error() + "."})
		}
	}
	if !routeDiags.HasErrors() {
		diags = append(diags, router.CheckPolicies(cfg, PluginFacts(ph))...)
	}
	ph.Close()
	return cfg, diags
}

// PluginFacts is what checking the routes' lifecycle policies needs to
// know of each running backend's plugin (route.Router.CheckPolicies).
func PluginFacts(ph *pluginhost.Host) map[string]route.PluginFacts {
	out := map[string]route.PluginFacts{}
	for _, b := range ph.Backends() {
		info, _ := b.Info(context.Background())
		out[b.Ref()] = route.PluginFacts{Plugin: info.Name, PerAlert: route.PerAlertAttributes(info.Schema), Capabilities: b.Capabilities()}
	}
	return out
}

// checkBackends reports backend settings the running plugin cannot honour
// (delivery.Backend.Validate, which the delivery engine applies at start).
func checkBackends(cfg *config.Config, pb *pluginBackends) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range cfg.Backends {
		db, ok := pb.Backend(b.Ref())
		if !ok {
			continue // its plugin did not start; Load said why
		}
		if err := db.Validate(); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid backend setting",
				Detail: fmt.Sprintf("backend %s: %v.", b.Ref(), err), Subject: b.Range.Ptr()})
		}
		if b.Inbound != nil && !db.Capabilities.ReadStatus {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid backend setting",
				Detail:  fmt.Sprintf("backend %s: an inbound block needs a plugin that reads work items' status (a pushed notification is read through it), and this plugin has no status read.", b.Ref()),
				Subject: b.Range.Ptr()})
		}
	}
	return diags
}
