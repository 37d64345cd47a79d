package pluginhost

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// Backend is one configured backend with its plugin process. It implements
// hostside.Client: each call gets the plugin's per-alert attributes rendered
// into Request.Values, and a call whose process crashes fails retryably
// (the process is restarted for the next call). It is safe for concurrent
// use.
type Backend struct {
	ref  string
	info sdk.Info
	// conf is the configuration in effect: what a restarted process is
	// configured with and the per-alert templates each call renders.
	// Reconfigure swaps it.
	conf atomic.Pointer[DecodedConfig]
	sup  *supervisor
	// configuredInfo is the plugin's Info as it answered after the last
	// successful Configure: its capabilities and read-after-write delay
	// follow the configuration. One pointer, so that a reader never mixes
	// two answers.
	configuredInfo atomic.Pointer[sdk.Info]
	// logs limits the plugin's relayed log lines.
	logs *logLimiter
	// secrets redacts what the plugin returns (the host's set).
	secrets *secretSet
}

var _ hostside.Client = (*Backend)(nil)

// Ref is the backend's "type.name".
func (b *Backend) Ref() string { return b.ref }

// Info returns the plugin's Info as fetched at load.
func (b *Backend) Info(context.Context) (sdk.Info, error) { return b.info, nil }

// Capabilities are the lifecycle steps the plugin supports with its current
// configuration, as its Info reported them after the last successful
// Configure (sdk.CapabilityReporter); delivery calls nothing else.
func (b *Backend) Capabilities() sdk.Capabilities {
	if c := b.configuredInfo.Load(); c != nil {
		return c.Capabilities
	}
	return b.info.Capabilities
}

// ReadAfterWriteDelay is how long a new work item may take to become
// visible to the plugin's Lookup (sdk.Info.ReadAfterWriteDelay), as the
// plugin declared it for its current configuration.
func (b *Backend) ReadAfterWriteDelay() time.Duration {
	if c := b.configuredInfo.Load(); c != nil {
		return c.ReadAfterWriteDelay
	}
	return 0
}

// configured records what follows the configuration in the plugin's Info,
// asked again after a successful Configure. When Info fails, the previous
// value stays.
func (b *Backend) configured(ctx context.Context, c hostside.Client, log hclog.Logger) {
	info, err := c.Info(ctx)
	if err != nil {
		log.Warn("plugin Info failed after Configure; keeping its previous read-after-write delay and capabilities", "error", err)
		return
	}
	b.configuredInfo.Store(&info)
}

// Restarts counts how often the plugin process was restarted.
func (b *Backend) Restarts() int64 { return b.sup.restarts.Load() }

// LogLinesDropped counts the plugin's log lines not relayed because it
// logged more than the host relays (see MaxLogLineBytes).
func (b *Backend) LogLinesDropped() int64 { return b.logs.Dropped() }

// Configure is not for the host's callers: a backend is configured by Load
// and Host.Reconfigure, which decode its block against the plugin's schema.
// It fails so that a Backend used as a plain hostside.Client cannot bypass them.
func (b *Backend) Configure(context.Context, sdk.Config) error {
	return sdk.Permanent(fmt.Errorf("backend %s: configure it through the host (Load or Reconfigure)", b.ref))
}

// apply sends dec's configuration to the running plugin and, when the
// plugin accepts it, makes it the configuration in effect.
func (b *Backend) apply(ctx context.Context, dec *DecodedConfig) hcl.Diagnostics {
	inst, _, err := b.sup.get(ctx)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plugin unavailable",
			Detail:   fmt.Sprintf("Backend %s could not be reconfigured: %s.", b.ref, b.secrets.error(b.sup.unavailable("configure", err))),
			Subject:  dec.rng.Ptr(),
		}}
	}
	diags := configure(ctx, inst.client(), dec, dec.Config, b.secrets)
	if !diags.HasErrors() {
		b.conf.Store(dec)
		b.configured(ctx, inst.client(), b.sup.log)
	}
	return diags
}

// prepare copies req with the per-alert values rendered for it, unless the
// caller rendered them already (RenderValues).
func (b *Backend) prepare(req *sdk.Request) (*sdk.Request, error) {
	if req.Values != nil {
		return req, nil
	}
	v, err := b.RenderValues(req)
	if err != nil || v == nil {
		return req, err
	}
	r := *req
	r.Values = v
	return &r, nil
}

// RenderValues renders the plugin's per-alert attributes for req with the
// configuration in effect, as each call does; nil when the schema declares
// none. The delivery engine renders them before a call whose route's
// field policy governs one of them, and passes them in req.Values.
func (b *Backend) RenderValues(req *sdk.Request) (sdk.Values, error) {
	dec := b.conf.Load()
	if !dec.HasPerAlert() {
		return nil, nil
	}
	v, err := dec.RenderValues(req)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", b.ref, err)
	}
	return v, nil
}

type callFn func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error)

func (b *Backend) do(ctx context.Context, op string, req *sdk.Request, fn callFn) (*sdk.WorkItem, error) {
	r, err := b.prepare(req)
	if err != nil {
		return nil, err
	}
	wi, err := b.sup.call(ctx, op, func(c hostside.Client) (*sdk.WorkItem, error) { return fn(ctx, c, r) })
	// Redacted before the limits apply, so that no cut leaves part of a
	// secret behind.
	return checkAnswer(b.ref, b.info.Name, op, b.secrets.workItem(wi), b.secrets.error(err))
}

// Create implements sdk.Plugin. When the process crashes during Create the
// call fails retryably and is not repeated: the delivery engine looks the
// correlation key up before it creates again.
func (b *Backend) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return b.do(ctx, "create", req, func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error) {
		return c.Create(ctx, r)
	})
}

// Lookup implements sdk.Looker.
func (b *Backend) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return b.do(ctx, "lookup", req, func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error) {
		return c.Lookup(ctx, r)
	})
}

// Update implements sdk.Updater.
func (b *Backend) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return b.do(ctx, "update", req, func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error) {
		return c.Update(ctx, r)
	})
}

// Resolve implements sdk.Resolver.
func (b *Backend) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return b.do(ctx, "resolve", req, func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error) {
		return c.Resolve(ctx, r)
	})
}

// Reopen implements sdk.Reopener.
func (b *Backend) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return b.do(ctx, "reopen", req, func(ctx context.Context, c hostside.Client, r *sdk.Request) (*sdk.WorkItem, error) {
		return c.Reopen(ctx, r)
	})
}
