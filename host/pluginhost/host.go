// Package pluginhost runs the plugin processes behind a connector's
// backends: it finds each plugin binary (itsm-connector-plugin-<name> in
// plugin_dir), verifies its sha256, starts it with automatic mutual TLS and
// an empty environment, negotiates the API version, decodes the backend's
// `config {}` block against the schema the plugin reports, configures it,
// and keeps one process per backend running, restarting it when it crashes.
//
// A *Backend is the rest of the host's handle on one backend: an hostside.Client
// whose calls render the plugin's per-alert attributes into the request and
// survive a plugin crash.
package pluginhost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/zclconf/go-cty/cty/function"
)

// Options configure a Host.
type Options struct {
	// PluginDir is where binaries named itsm-connector-plugin-<name> are
	// looked for, unless a plugin block sets path.
	PluginDir string
	// Dev allows plugins without a sha256 (dev mode only).
	Dev bool
	// Logger receives host messages and, under "backend.<type>.<name>",
	// each plugin's own logs. Nil discards them.
	Logger hclog.Logger
	// Plugins are the configuration's `plugin` blocks.
	Plugins []*config.Plugin
	// PassEnv names host environment variables passed to every plugin.
	// Plugins otherwise start with an empty environment, so that secrets
	// in the host's environment only reach a plugin through its config.
	PassEnv []string
	// PerAlertFunctions are the functions of per-alert attributes; nil
	// means hclfuncs.PerAlert().
	PerAlertFunctions map[string]function.Function
	// RestartBackoff bounds the delay between restarts of a crashing
	// plugin; zero means DefaultBackoff.
	RestartBackoff Backoff
	// StartTimeout bounds a plugin's start-up handshake; zero means 30s.
	StartTimeout time.Duration
	// Tracing, when set, traces the lifecycle calls made inside a trace
	// and exports the spans plugins send back with their answers; nil
	// (tracing off) adds nothing to a plugin connection.
	Tracing *telemetry.Tracing
}

// Host owns the plugin processes of a configuration's backends.
type Host struct {
	opts Options
	log  hclog.Logger
	// beforeExec, when set (by tests), runs after a launch has verified
	// the plugin's bytes and before it executes them.
	beforeExec func()
	// now is the clock of the plugin log limits; nil means time.Now.
	now func() time.Time
	// secrets redacts what plugins return.
	secrets secretSet

	mu       sync.RWMutex
	backends map[string]*Backend
	order    []string
}

// New returns a Host; nothing starts until Load.
func New(opts Options) *Host {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.PerAlertFunctions == nil {
		opts.PerAlertFunctions = hclfuncs.PerAlert()
	}
	if opts.RestartBackoff == (Backoff{}) {
		opts.RestartBackoff = DefaultBackoff
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	return &Host{opts: opts, log: opts.Logger, backends: map[string]*Backend{}}
}

// pluginBlock returns the `plugin "<name>" {}` block, or nil.
func (h *Host) pluginBlock(name string) *config.Plugin {
	for _, p := range h.opts.Plugins {
		if p != nil && p.Name == name {
			return p
		}
	}
	return nil
}

// Load starts one plugin process per backend, decodes each backend's
// `config {}` block against its plugin's schema (load-time attributes with
// evalCtx, where env() and file() work) and calls Configure. Every problem
// comes back as an HCL diagnostic pointing at the operator's source; a
// backend with errors is not started (its process is stopped again).
// Backends loaded without error are available from Backend.
func (h *Host) Load(ctx context.Context, backends []*config.Backend, evalCtx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range backends {
		ref := b.Ref()
		h.mu.RLock()
		_, dup := h.backends[ref]
		h.mu.RUnlock()
		if dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate backend",
				Detail:   fmt.Sprintf("A backend %q %q is already loaded.", b.Type, b.Name),
				Subject:  b.Range.Ptr(),
			})
			continue
		}
		be, d := h.load(ctx, b, evalCtx)
		diags = append(diags, d...)
		if be == nil {
			continue
		}
		h.mu.Lock()
		h.backends[ref] = be
		h.order = append(h.order, ref)
		h.mu.Unlock()
	}
	return diags
}

func (h *Host) load(ctx context.Context, b *config.Backend, evalCtx *hcl.EvalContext) (*Backend, hcl.Diagnostics) {
	ref := b.Ref()
	bin, diags := h.findBinary(b.Type, h.pluginBlock(b.Type), b.Range.Ptr())
	if diags.HasErrors() {
		return nil, diags
	}
	log := h.logger("backend." + ref)
	logs := newLogLimiter(h.now)
	proc, info, err := h.start(ctx, bin, ref, log, logs)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot start plugin",
			Detail:   fmt.Sprintf("Backend %s: %s.", ref, h.secrets.replace(err.Error())),
			Subject:  b.Range.Ptr(),
		})
	}
	dec, d := DecodeConfig(info.Schema, b.Config, b.ConfigRange, evalCtx, h.opts.PerAlertFunctions)
	diags = append(diags, d...)
	if d.HasErrors() {
		proc.kill()
		return nil, diags
	}
	h.secrets.add(dec)
	diags = append(diags, shortSecretWarnings(dec)...)
	if d := configure(ctx, proc.client(), dec, dec.Config, &h.secrets); d.HasErrors() {
		proc.kill()
		return nil, append(diags, d...)
	} else {
		diags = append(diags, d...)
	}
	be := &Backend{ref: ref, info: info, logs: logs, secrets: &h.secrets}
	be.conf.Store(dec)
	be.configured(ctx, proc.client(), log)
	relaunch := func(ctx context.Context) (instance, error) {
		p, _, err := h.start(ctx, bin, ref, log, logs)
		if err != nil {
			return nil, err
		}
		cur := be.conf.Load()
		if d := configure(ctx, p.client(), cur, cur.Config, &h.secrets); d.HasErrors() {
			p.kill()
			return nil, fmt.Errorf("configure restarted plugin: %s", config.DiagnosticsText(d))
		}
		be.configured(ctx, p.client(), log)
		return p, nil
	}
	be.sup = newSupervisor(ref, proc, relaunch, log, h.opts.RestartBackoff)
	log.Info("plugin started", "plugin", info.Name, "version", info.Version, "path", bin.path)
	return be, diags
}

// Reconfigure applies a reloaded configuration's backend blocks to the
// running plugins: each backend's `config {}` is decoded against its
// plugin's schema (env() and file() read again, so rotated secrets take
// effect) and sent to the plugin with Configure; per-alert templates change
// with it. Nothing changes unless every block decodes; a block the plugin
// itself rejects keeps its backend's running configuration. Backends added
// to or removed from the file, and changed plugin blocks, are reported as
// warnings: they take a restart.
func (h *Host) Reconfigure(ctx context.Context, backends []*config.Backend, plugins []*config.Plugin, evalCtx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	type change struct {
		be  *Backend
		dec *DecodedConfig
	}
	var changes []change
	seen := map[string]bool{}
	for _, b := range backends {
		ref := b.Ref()
		seen[ref] = true
		be, ok := h.Backend(ref)
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "New backend needs a restart",
				Detail:   fmt.Sprintf("Backend %s is not running; it starts when the connector restarts.", ref),
				Subject:  b.Range.Ptr(),
			})
			continue
		}
		dec, d := DecodeConfig(be.info.Schema, b.Config, b.ConfigRange, evalCtx, h.opts.PerAlertFunctions)
		diags = append(diags, d...)
		if dec != nil {
			h.secrets.add(dec)
			diags = append(diags, shortSecretWarnings(dec)...)
		}
		changes = append(changes, change{be, dec})
	}
	for _, be := range h.Backends() {
		if !seen[be.ref] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Removed backend keeps running until a restart",
				Detail:   fmt.Sprintf("Backend %s is no longer in the configuration; its plugin and queued work items stay until the connector restarts.", be.ref),
			})
		}
	}
	diags = append(diags, h.pluginBlockChanges(plugins)...)
	if diags.HasErrors() {
		return diags
	}
	for _, c := range changes {
		diags = append(diags, c.be.apply(ctx, c.dec)...)
	}
	return diags
}

// pluginBlockChanges warns about `plugin` blocks that differ from the
// running ones: binaries and checksums are only read at start.
func (h *Host) pluginBlockChanges(plugins []*config.Plugin) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range plugins {
		old := h.pluginBlock(p.Name)
		if old == nil || old.SHA256 != p.SHA256 || old.Path != p.Path || old.RunAs != p.RunAs {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Changed plugin block needs a restart",
				Detail:   fmt.Sprintf("Plugin %q: binaries, their sha256 and run_as are read when the connector starts; the running plugin stays until a restart.", p.Name),
				Subject:  p.Range.Ptr(),
			})
		}
	}
	return diags
}

// configure calls Configure and maps its diagnostics, redacted, onto the
// config body.
func configure(ctx context.Context, c hostside.Client, dec *DecodedConfig, cfg sdk.Config, secrets *secretSet) hcl.Diagnostics {
	err := c.Configure(ctx, cfg)
	if err == nil {
		return nil
	}
	return dec.Diagnostics(secrets.diagnostics(sdk.AsDiagnostics(err)))
}

// logger is the host's logger named name, with secrets redacted.
func (h *Host) logger(name string) hclog.Logger {
	return redactLogger{Logger: h.log.Named(name), secrets: &h.secrets}
}

// Backend returns the loaded backend "type.name".
func (h *Host) Backend(ref string) (*Backend, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	b, ok := h.backends[ref]
	return b, ok
}

// Backends returns the loaded backends in load order.
func (h *Host) Backends() []*Backend {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*Backend, 0, len(h.order))
	for _, ref := range h.order {
		out = append(out, h.backends[ref])
	}
	return out
}

// Close stops every plugin process. Calls on its backends fail retryably
// afterwards.
func (h *Host) Close() {
	h.mu.Lock()
	bs := h.backends
	h.backends, h.order = map[string]*Backend{}, nil
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Go(b.sup.close)
	}
	wg.Wait()
}

// Describe starts plugin pluginType just long enough to fetch its Info
// (name, version, capabilities, config schema), e.g. for `validate` and
// documentation. Discovery and checksum rules are those of Load.
func (h *Host) Describe(ctx context.Context, pluginType string) (sdk.Info, hcl.Diagnostics) {
	block := h.pluginBlock(pluginType)
	bin, diags := h.findBinary(pluginType, block, nil)
	if diags.HasErrors() {
		return sdk.Info{}, diags
	}
	proc, info, err := h.start(ctx, bin, "", h.logger("plugin."+pluginType), newLogLimiter(h.now))
	if err != nil {
		return sdk.Info{}, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot start plugin",
			Detail:   h.secrets.replace(err.Error()) + ".",
		})
	}
	proc.kill()
	return info, diags
}

// Schema returns the config schema plugin pluginType reports.
func (h *Host) Schema(ctx context.Context, pluginType string) (sdk.Schema, hcl.Diagnostics) {
	info, diags := h.Describe(ctx, pluginType)
	return info.Schema, diags
}
