package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/engines"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
	"go.opentelemetry.io/otel/trace"
)

// OpenStore opens the configured store, creating a SQLite file's directory.
func OpenStore(ctx context.Context, s config.Store) (store.Store, error) {
	target := s.DSN
	if isSQLite(s) {
		target = s.Path
		if err := storeDir(s); err != nil {
			return nil, err
		}
	}
	st, err := engines.Open(ctx, s.Driver, target)
	if err != nil {
		return nil, fmt.Errorf("opening %s store: %w", s.Driver, err)
	}
	return st, nil
}

// pluginBackends serves the running plugins to the delivery engine with the
// limits and adopt_existing their backend blocks set.
type pluginBackends struct {
	host   *pluginhost.Host
	limits map[string]delivery.Limits
	adopt  map[string]bool
	poll   map[string]time.Duration
	// feedback is the Azure side (route.FeedbackBackend); nil without an
	// azure block.
	feedback *delivery.Backend
}

var _ delivery.Resolver = (*pluginBackends)(nil)

func newPluginBackends(h *pluginhost.Host, cfg *config.Config) *pluginBackends {
	pb := &pluginBackends{host: h, limits: map[string]delivery.Limits{}, adopt: map[string]bool{}, poll: map[string]time.Duration{}}
	for _, b := range cfg.Backends {
		pb.adopt[b.Ref()] = b.AdoptExisting
		pb.poll[b.Ref()] = b.StatusPollInterval
		pb.limits[b.Ref()] = delivery.Limits{
			RateLimit:   b.RateLimit,
			MaxInFlight: b.MaxInFlight,
			MaxAttempts: b.MaxAttempts,
			MaxAge:      b.MaxAge,
		}
	}
	return pb
}

func (p *pluginBackends) Backends() []string {
	var refs []string
	for _, b := range p.host.Backends() {
		refs = append(refs, b.Ref())
	}
	if p.feedback != nil {
		refs = append(refs, route.FeedbackBackend)
	}
	return refs
}

func (p *pluginBackends) Backend(ref string) (delivery.Backend, bool) {
	if ref == route.FeedbackBackend && p.feedback != nil {
		return *p.feedback, true
	}
	b, ok := p.host.Backend(ref)
	if !ok {
		return delivery.Backend{}, false
	}
	return delivery.Backend{Client: b, Capabilities: b.Capabilities(), Limits: p.limits[ref], ReadAfterWriteDelay: b.ReadAfterWriteDelay(),
		AdoptExisting: p.adopt[ref], StatusPollInterval: p.poll[ref], MaxStatusBatch: b.MaxStatusBatch()}, true
}

// feedbackBackend is the Azure side as a delivery backend: azure's
// credential and ARM client behind azure.Feedback, with the azure block's
// limits; nil without an azure block.
func feedbackBackend(cfg *config.Config) (*delivery.Backend, error) {
	a := cfg.Azure
	if a == nil {
		return nil, nil
	}
	cred, err := azure.NewCredential(*a, nil)
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	fb := &azure.Feedback{ARM: azure.NewARM(*a, cred, nil)}
	info, _ := fb.Info(context.Background())
	return &delivery.Backend{Client: fb, Capabilities: info.Capabilities,
		Limits: delivery.Limits{RateLimit: a.RateLimit, MaxInFlight: a.MaxInFlight, MaxAttempts: a.MaxAttempts, MaxAge: a.MaxAge}}, nil
}

func isSQLite(s config.Store) bool { return s.Driver == "" || s.Driver == config.DriverSQLite }

func storeDir(s config.Store) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o750); err != nil {
		return fmt.Errorf("store directory: %w", err)
	}
	return nil
}

// ownStore makes this process the only connector serving a SQLite store
// (see sqlite.Own); PostgreSQL is shared by design. release ends it.
func ownStore(s config.Store) (release func(), err error) {
	if !isSQLite(s) {
		return func() {}, nil
	}
	if err := storeDir(s); err != nil {
		return nil, err
	}
	return sqlite.Own(s.Path)
}

// newEngine opens the store and builds the delivery engine over the plugins.
func newEngine(ctx context.Context, cfg *config.Config, plugins *pluginhost.Host, router func(*sdk.Alert) (route.Decision, error),
	feedback func(string) *route.Feedback, log hclog.Logger, m *metrics.Metrics, tracer trace.Tracer) (*delivery.Engine, store.Store, error) {
	pb := newPluginBackends(plugins, cfg)
	fb, err := feedbackBackend(cfg)
	if err != nil {
		return nil, nil, err
	}
	pb.feedback = fb
	st, err := OpenStore(ctx, cfg.Store)
	if err != nil {
		return nil, nil, err
	}
	eng, err := delivery.New(st, pb, delivery.Options{
		InstanceID:    instanceID(cfg),
		CallTimeout:   cfg.Delivery.CallTimeout,
		LeaseDuration: cfg.Delivery.Lease,
		Router:        router,
		Feedback:      feedback,
		Tracer:        tracer,
		Observer:      observer(m),
	}, log.Named("delivery"))
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return eng, st, nil
}

// observer records the delivery engine's observations as metrics.
func observer(m *metrics.Metrics) func(delivery.Observation) {
	return func(o delivery.Observation) {
		switch o.Op {
		case "dead_letter":
			m.DeadLetters.WithLabelValues(o.Outcome).Inc()
			return
		case delivery.OpReadStatus:
			m.StatusReads.WithLabelValues(o.Backend, o.Outcome).Inc()
			return
		case delivery.OpHumanResolved:
			m.HumanResolutions.WithLabelValues(o.Backend).Inc()
			return
		}
		if o.Backend == route.FeedbackBackend {
			state := azure.StateAcknowledged
			if o.Op == "resolve" {
				state = azure.StateClosed
			}
			m.AzureChanges.WithLabelValues(string(state), o.Outcome, azure.ReasonOf(o.Err)).Inc()
		}
		m.Deliveries.WithLabelValues(o.Backend, o.Op, o.Outcome).Inc()
		m.DeliveryDuration.WithLabelValues(o.Backend, o.Op).Observe(o.Duration.Seconds())
		m.ObserveBindings(o.Backend, o.Bindings)
	}
}

// storeReady is the store's readiness check.
func storeReady(st store.Store) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := st.Stats(ctx, time.Now())
		return err
	}
}

// instanceID is delivery.instance_id, or the hostname and the webhook's
// port: stable across restarts, and distinct for two connectors on one
// host, which cannot listen on the same port.
func instanceID(cfg *config.Config) string {
	if cfg.Delivery.InstanceID != "" {
		return cfg.Delivery.InstanceID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "itsm-connector"
	}
	if _, port, err := net.SplitHostPort(cfg.Server.Listen); err == nil && port != "" && port != "0" {
		return host + ":" + port
	}
	return host
}
