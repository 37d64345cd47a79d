package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/route"
)

// reloader applies a changed configuration file on SIGHUP: what can change
// while the connector runs does, the rest is reported as needing a restart.
type reloader struct {
	opts    Options
	running *config.Config // as loaded at start
	routes  *atomic.Pointer[route.Router]
	windows *maintenance.Windows
	plugins *pluginhost.Host
	cert    *certStore // nil without server TLS
	log     hclog.Logger
}

// reload re-reads the configuration. It applies, in one go or not at all:
// every running backend's `config {}` (env() and file() are read again, so
// rotated secrets take effect, and per-alert templates change), the routes,
// the maintenance blocks (work items already held keep the end they were
// given), and the webhook's TLS certificate. Listeners, auth, the store, delivery
// limits and which backends and plugins exist are read at start only; a
// change to them is logged as a warning.
func (r *reloader) reload(ctx context.Context) {
	cfg, diags := LoadConfig(r.opts)
	if !diags.HasErrors() {
		// Routes may only send to backends that run.
		compile := *cfg
		compile.Backends = r.running.Backends
		router, d := CompileRoutes(&compile)
		if !d.HasErrors() {
			d = append(d, router.CheckPolicies(cfg, PluginFacts(r.plugins))...)
		}
		diags = append(diags, d...)
		windows, d := maintenance.Compile(cfg)
		diags = append(diags, d...)
		diags = append(diags, restartOnly(r.running, cfg)...)
		if !diags.HasErrors() {
			diags = append(diags, r.plugins.Reconfigure(ctx, cfg.Backends, cfg.Plugins, config.LoadContext(cfg.Dir))...)
		}
		if !diags.HasErrors() {
			r.routes.Store(router)
			r.windows.SetConfigured(windows)
			if r.cert != nil && cfg.Server.TLS != nil {
				if err := r.cert.load(*cfg.Server.TLS); err != nil {
					r.log.Error("configuration reloaded, but the TLS certificate was not: the old one is still served", "error", err)
				}
			}
			r.log.Info("configuration reloaded", "routes", len(cfg.Routes), "backends", len(r.running.Backends))
			r.logWarnings(cfg, diags)
			return
		}
	}
	var buf bytes.Buffer
	_ = config.WriteDiagnostics(&buf, cfg.Files, diags, false)
	r.log.Error("configuration reload failed; the running configuration is unchanged", "diagnostics", buf.String())
}

func (r *reloader) logWarnings(cfg *config.Config, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	var buf bytes.Buffer
	_ = config.WriteDiagnostics(&buf, cfg.Files, diags, false)
	r.log.Warn("configuration reload: some changes need a restart", "diagnostics", buf.String())
}

// restartOnly warns about changed settings that only take effect at start.
func restartOnly(old, cur *config.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	warn := func(what string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Change needs a restart",
			Detail:   fmt.Sprintf("%s changed; the running value stays until the connector restarts.", what),
		})
	}
	if old.Server.Listen != cur.Server.Listen || old.Server.MaxBodyBytes != cur.Server.MaxBodyBytes || old.Server.MaxConnections != cur.Server.MaxConnections ||
		(old.Server.TLS == nil) != (cur.Server.TLS == nil) {
		warn("The server block (listen, max_body_bytes, max_connections, or TLS on or off)")
	}
	if !reflect.DeepEqual(old.Admin, cur.Admin) {
		warn("The admin block")
	}
	if old.Auth.Type != cur.Auth.Type || !reflect.DeepEqual(old.Auth.EntraID, cur.Auth.EntraID) {
		warn("The auth block")
	}
	if old.Store != cur.Store {
		warn("The store block")
	}
	if !reflect.DeepEqual(old.Azure, cur.Azure) {
		warn("The azure block")
	}
	if old.Delivery != cur.Delivery || old.PluginDir != cur.PluginDir || old.LogLevel != cur.LogLevel || old.LogFormat != cur.LogFormat {
		warn("delivery, plugin_dir, log_level or log_format")
	}
	limits := map[string]*config.Backend{}
	for _, b := range old.Backends {
		limits[b.Ref()] = b
	}
	for _, b := range cur.Backends {
		if o, ok := limits[b.Ref()]; ok && (o.MaxInFlight != b.MaxInFlight || o.RateLimit != b.RateLimit || o.MaxAttempts != b.MaxAttempts || o.MaxAge != b.MaxAge || o.AdoptExisting != b.AdoptExisting ||
			o.StatusPollInterval != b.StatusPollInterval || !reflect.DeepEqual(o.Inbound, b.Inbound)) {
			warn(fmt.Sprintf("The delivery settings of backend %s (max_in_flight, rate_limit, max_attempts, max_age, adopt_existing, status_poll_interval, inbound)", b.Ref()))
		}
	}
	return diags
}

// certStore serves the webhook's TLS certificate and swaps it on reload,
// so a renewed certificate takes effect without dropping connections.
type certStore struct {
	cur atomic.Pointer[tls.Certificate]
}

func newCertStore(t config.TLS) (*certStore, error) {
	c := &certStore{}
	return c, c.load(t)
}

// load reads the certificate and key; on error the current pair stays.
func (c *certStore) load(t config.TLS) error {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("server tls: %w", err)
	}
	c.cur.Store(&cert)
	return nil
}

func (c *certStore) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }
