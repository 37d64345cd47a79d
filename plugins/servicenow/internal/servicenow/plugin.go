// Package servicenow is the ServiceNow plugin: incidents over the public
// Table API, bound to the CMDB by ARM resource id or name, resolved when the
// alert resolves, or events to Event Management when mode = "event".
//
// It is a stateless adapter: the host decides what to do, the plugin does it
// against the instance and classifies every failure (retryable with the
// instance's Retry-After, permanent, or not found).
package servicenow

import (
	"context"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Name is the plugin's short name.
const Name = "servicenow"

// Options are the plugin's process-level settings, shared by the HTTP
// plugins.
type Options = sdkhttp.Options

// Plugin implements the sdk lifecycle against one ServiceNow instance.
// It is safe for concurrent calls; Configure may be called again to swap
// the configuration.
type Plugin struct {
	opts  Options
	state sdkhttp.State[backend]
}

// backend is everything one configuration runs on.
type backend struct {
	s      *settings
	client *client
	cmdb   *binder
}

var (
	_ sdk.Plugin   = (*Plugin)(nil)
	_ sdk.Looker   = (*Plugin)(nil)
	_ sdk.Updater  = (*Plugin)(nil)
	_ sdk.Resolver = (*Plugin)(nil)
	_ sdk.Reopener = (*Plugin)(nil)
)

// New returns an unconfigured plugin.
func New(opts Options) *Plugin {
	return &Plugin{opts: opts.WithDefaults()}
}

// Info describes the plugin and its configuration schema.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	info := p.opts.Info(Name, p, Schema())
	info.Capabilities.Comment, info.Capabilities.CMDB = true, true
	// Route fields are written on create, and on a re-fire as the route's
	// field_policy says (incident mode; an event carries them all).
	info.Capabilities.FieldPolicy = true
	info.MaxStatusBatch = StatusBatch
	return info, nil
}

// Configure validates the configuration and prepares the client. Problems
// come back as sdk.Diagnostics with attribute paths. Warnings alone (plain
// http, verification off) are returned too, so the host can show them
// against the operator's file, but the configuration is in effect.
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config) error {
	return sdkhttp.Configure(p.opts.Log(), cfg, resolve, func(_ Config, s *settings) {
		if s.insecure {
			sdkhttp.LogInsecure(p.opts.Log(), "ServiceNow", "incidents", "instance_url", s.base.String())
		}
		p.state.Store(p.build(s))
		p.opts.Log().Info("configured", "instance_url", s.base.String(), "mode", s.mode, "auth", s.auth.Type)
	})
}

func (p *Plugin) build(s *settings) *backend {
	// Redirects are never followed: they would leak credentials to another
	// host or hide a sign-in page.
	hc := sdkhttp.NewClient(sdkhttp.ClientOptions{Timeout: s.timeout, TLS: s.tls, Transport: p.opts.Transport})
	var auth sdkhttp.Authenticator = sdkhttp.NoAuth{} // certificate: mutual TLS alone
	switch s.auth.Type {
	case AuthBasic:
		auth = sdkhttp.Basic{User: s.auth.Username, Password: s.auth.Password}
	case AuthAPIKey:
		auth = sdkhttp.Header{Name: s.auth.APIKeyHeader, Value: s.auth.APIKey}
	case AuthOAuth:
		auth = newOAuth(s, hc, p.opts.Now, p.opts.Log)
	}
	c := &client{base: s.base.String(), http: hc, auth: auth, now: p.opts.Now}
	return &backend{
		s:      s,
		client: c,
		cmdb: &binder{
			client: c, table: s.cmdbTable, order: s.matchOrder,
			ttl: s.cacheTTL, missTTL: s.missTTL, now: p.opts.Now,
			cache: map[string]cacheEntry{},
		},
	}
}

// Create opens an incident (or sends an event in event mode).
func (p *Plugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.run(ctx, req, p.createIncident, false)
}

// Lookup finds the newest incident stamped with the correlation key. In
// event mode it finds nothing: sending the event again is idempotent.
func (p *Plugin) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, func(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
		if b.s.mode == ModeEvent {
			return nil, nil
		}
		return p.lookupIncident(ctx, b, req)
	})
}

// Update adds a work note saying the alert fired again, writes the route
// fields whose policy is "always" and notes the new values of those whose
// policy is "comment".
func (p *Plugin) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.run(ctx, req, p.updateIncident, false)
}

// Resolve sets the incident to Resolved with close code and notes, unless
// it is resolved, closed or canceled already.
func (p *Plugin) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.run(ctx, req, p.resolveIncident, true)
}

// Reopen sets a resolved incident back to In Progress with a work note.
func (p *Plugin) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.run(ctx, req, p.reopenIncident, false)
}

// run calls incident with the configuration in effect; in event mode it
// sends an event instead, a resolving one when resolve is set.
func (p *Plugin) run(ctx context.Context, req *sdk.Request, incident func(context.Context, *backend, *sdk.Request) (*sdk.WorkItem, error), resolve bool) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, func(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
		if b.s.mode == ModeEvent {
			return p.sendEvent(ctx, b, req, resolve)
		}
		return incident(ctx, b, req)
	})
}
