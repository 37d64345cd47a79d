package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/host/webhook"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// ShutdownTimeout bounds the drain on SIGTERM.
const ShutdownTimeout = 30 * time.Second

// MaintenanceRefresh is how often a connector reads the ad-hoc maintenance
// windows from the store again, so that one another replica started or
// ended takes effect here. A window started or ended through this
// connector's own API takes effect at once.
const MaintenanceRefresh = 5 * time.Second

// Diagnostics is the error Serve returns when the configuration does not
// load; the caller prints it against Files.
type Diagnostics struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (d *Diagnostics) Error() string { return config.DiagnosticsText(d.Diags) }

// Serve runs the connector until ctx ends, then drains: it stops taking
// alerts, lets in-flight plugin calls finish, and closes the store. SIGHUP
// reloads the routes (validated first; the old ones stay on error).
func Serve(ctx context.Context, opts Options) error {
	cfg, diags := LoadConfig(opts)
	if diags.HasErrors() {
		return &Diagnostics{Diags: diags, Files: cfg.Files}
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg, opts.LogOutput)
	}
	for _, d := range diags {
		log.Warn(d.Summary, "detail", d.Detail, "at", rangeString(d.Subject))
	}
	if err := protectProcess(); err != nil {
		log.Warn("cannot make the process non-dumpable; plugins running as the connector's user can read its environment", "error", err)
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = DevDataDir
	}
	if opts.Dev {
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return fmt.Errorf("dev data directory: %w", err)
		}
		log.Warn("DEV MODE: plain HTTP, local token issuer, plugins without a sha256 allowed; never use it in production")
	}
	started := time.Now()
	m := metrics.New()

	// Before anything starts: a second connector on this SQLite store
	// stops here.
	release, err := ownStore(cfg.Store)
	if err != nil {
		return err
	}
	defer release()
	authn, err := newAuth(ctx, cfg, dataDir, log, m)
	if err != nil {
		return err
	}
	defer authn.close()

	tracing, err := newTracing(ctx, cfg, opts.Version, log)
	if err != nil {
		return err
	}
	// Deferred first, so it runs last: the spans of the drain are flushed.
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tracing.Shutdown(sctx); err != nil {
			log.Warn("spans not exported at shutdown", "error", err)
		}
	}()
	plugins, d := startPlugins(ctx, cfg, opts.Dev, log, tracing)
	defer plugins.Close()
	router, d2 := CompileRoutes(cfg)
	if !d2.HasErrors() {
		d2 = append(d2, router.CheckPolicies(cfg, PluginFacts(plugins))...)
	}
	windowsCfg, d3 := maintenance.Compile(cfg)
	if d = append(append(d, d2...), d3...); d.HasErrors() {
		return &Diagnostics{Diags: d, Files: cfg.Files}
	}
	var routes atomic.Pointer[route.Router]
	routes.Store(router)

	// windows is set before anything routes: the webhook and replays start
	// after it.
	var windows *maintenance.Windows
	routeFn := func(a *sdk.Alert) (route.Decision, error) {
		d, err := routes.Load().Route(a)
		if err == nil && len(d.Deliveries) > 0 {
			d.Hold = windows.Hold(a, time.Now())
		}
		return d, err
	}
	feedbackFn := func(name string) *route.Feedback { return routes.Load().Feedback(name) }
	eng, st, err := newEngine(ctx, cfg, plugins, routeFn, feedbackFn, log, m, tracing.Tracer())
	if err != nil {
		return err
	}
	defer st.Close()
	windows = maintenance.New(st, windowsCfg, log.Named("maintenance"))
	if err := windows.Refresh(ctx, time.Now()); err != nil {
		return fmt.Errorf("reading ad-hoc maintenance windows: %w", err)
	}
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	go windows.Run(refreshCtx, MaintenanceRefresh)
	if err := eng.Start(ctx); err != nil {
		return fmt.Errorf("starting delivery: %w", err)
	}
	// Deferred after st.Close, so it stops first: no pass outlives the store.
	stopPruning := newPruner(st, cfg.Store.AuditRetention, log.Named("retention")).start(ctx)
	defer stopPruning()
	sampler := newSampler(eng, m, log.Named("console"))
	stopSampling := sampler.Start(ctx) // stops before the store closes, as the pruner
	defer stopSampling()

	hook := &webhook.Handler{
		Auth:         authn,
		Decode:       commonschema.Decode,
		Router:       routerFunc(routeFn),
		Ingest:       eng,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		Logger:       log.Named("webhook"),
		Metrics:      m,
		Tracer:       tracing.Tracer(),
	}
	mux := http.NewServeMux()
	mux.Handle(webhook.AlertsPath, hook)
	if in := inboundBackends(cfg); len(in) > 0 {
		mux.Handle(webhook.InboundPrefix, &webhook.Inbound{Backends: in, Check: eng.CheckStatus,
			Logger: log.Named("inbound"), Metrics: m})
	}
	ready := map[string]admin.Check{"store": storeReady(st)}
	if r, ok := authn.Authenticator.(auth.Readier); ok {
		ready["auth"] = r.Ready
	}
	var extra []string
	if cfg.Azure != nil {
		extra = append(extra, route.FeedbackBackend)
	}
	registerRuntimeMetrics(m, eng, plugins, extra...)
	hostname, _ := os.Hostname()
	adm := &admin.Server{Metrics: m, Ready: ready, Token: cfg.Admin.Token, MetricsAuth: cfg.Admin.MetricsAuth,
		AllowedHosts: admin.HostNames(cfg.Admin.Listen, hostname, cfg.Admin.AllowedHosts),
		Extra: adminHandlers(eng, st, plugins, m, sampler, consoleInfo{version: opts.Version, instanceID: instanceID(cfg), started: started},
			windows, log.Named("admin"))}

	var cert *certStore
	if cfg.Server.TLS != nil {
		if cert, err = newCertStore(*cfg.Server.TLS); err != nil {
			return err
		}
	}
	lns, err := openListeners(cfg, cert, limitsFor(cfg), mux, adm.Handler(),
		log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}))
	if err != nil {
		return err
	}
	srv, admSrv := lns.web, lns.admin
	errc := make(chan error, 2)
	lns.serve(errc)
	log.Info("connector started", "webhook", scheme(cfg.Server)+"://"+lns.webLn.Addr().String()+webhook.AlertsPath,
		"admin", "http://"+lns.adminLn.Addr().String(), "backends", len(cfg.Backends), "routes", len(cfg.Routes),
		"max_connections", cfg.Server.MaxConnections, "admin_max_connections", cfg.Admin.MaxConnections, "memory_limit", debug.SetMemoryLimit(-1))

	reload := &reloader{opts: opts, running: cfg, routes: &routes, windows: windows, plugins: plugins, cert: cert, log: log.Named("reload")}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = err
			break loop
		case <-hup:
			reload.reload(ctx)
		}
	}

	log.Info("shutting down: draining")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := eng.Stop(sctx); err != nil {
		log.Warn("delivery did not drain", "error", err)
	}
	_ = admSrv.Shutdown(sctx)
	log.Info("stopped")
	return runErr
}

// inboundBackends are the backends with an inbound block, by reference.
func inboundBackends(cfg *config.Config) map[string]webhook.InboundBackend {
	out := map[string]webhook.InboundBackend{}
	for _, b := range cfg.Backends {
		if b.Inbound != nil {
			out[b.Ref()] = webhook.InboundBackend{Scheme: b.Inbound.Scheme, Secret: b.Inbound.Secret}
		}
	}
	return out
}

// newTracing sets up tracing as the telemetry block says; nil (off)
// without a traces block.
func newTracing(ctx context.Context, cfg *config.Config, version string, log hclog.Logger) (*telemetry.Tracing, error) {
	t := cfg.Telemetry.Traces
	if t == nil {
		return nil, nil
	}
	tr, err := telemetry.New(ctx, *t, telemetry.Service{Version: version, InstanceID: instanceID(cfg)})
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	log.Info("tracing alerts", "exporter", t.Exporter, "endpoint", tr.Endpoint(), "sample_ratio", t.SampleRatio)
	return tr, nil
}

// routerFunc adapts a function to webhook.Router.
type routerFunc func(a *sdk.Alert) (route.Decision, error)

func (f routerFunc) Route(a *sdk.Alert) (route.Decision, error) { return f(a) }

func scheme(s config.Server) string {
	if s.TLS != nil {
		return "https"
	}
	return "http"
}

func rangeString(r *hcl.Range) string {
	if r == nil {
		return ""
	}
	return r.String()
}
