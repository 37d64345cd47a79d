// Package jira is the Jira plugin: Azure Monitor alerts become Jira issues
// (or Jira Service Management requests) on Jira Cloud or Data Center, with
// a comment when the alert fires again, a transition to done when it
// resolves and back when it fires again inside the reopen window.
//
// Each issue is stamped with its correlation key twice: an issue property
// (exact, readable at once, but not searchable) and a label derived from
// the key (searchable, but through an eventually consistent index), or a
// configured custom field instead of the label. Lookup searches by label
// or field and confirms each candidate with the property.
//
// It is a stateless adapter apart from two small in-memory aids: the
// issues it created recently (so that Lookup finds them while the search
// index lags) and the time of the last re-fire comment per issue (so that
// a flapping alert does not flood the issue).
package jira

import (
	"context"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Name is the plugin's short name.
const Name = "jira"

// Options are the plugin's process-level settings, shared by the HTTP
// plugins.
type Options = sdkhttp.Options

// Plugin implements the sdk lifecycle against one Jira site. It is safe
// for concurrent calls; Configure may be called again to swap the
// configuration.
type Plugin struct {
	opts  Options
	state sdkhttp.State[backend]
}

// backend is everything one configuration runs on.
type backend struct {
	s        *settings
	client   *client
	fields   *fieldCache
	comments *commentLimiter
	recent   *recentCreates
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

// Info describes the plugin and its configuration schema. Its
// ReadAfterWriteDelay is search_consistency_delay once configured, the
// default before.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	info := p.opts.Info(Name, p, Schema())
	info.Capabilities.Comment = true
	// Route fields are written on create, and on a re-fire as the route's
	// field_policy says.
	info.Capabilities.FieldPolicy = true
	info.MaxStatusBatch = StatusBatch
	info.ReadAfterWriteDelay = DefaultSearchConsistencyDelay
	if b := p.state.Load(); b != nil {
		info.ReadAfterWriteDelay = b.s.searchDelay
	}
	return info, nil
}

// Configure validates the configuration and prepares the client. Problems
// come back as sdk.Diagnostics with attribute paths. Warnings alone (plain
// http, verification off) are returned too, so the host can show them, but
// the configuration is in effect. Configure makes no request to Jira.
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config) error {
	return sdkhttp.Configure(p.opts.Log(), cfg, resolve, func(_ Config, s *settings) {
		if s.insecure {
			sdkhttp.LogInsecure(p.opts.Log(), "Jira", "issues", "url", s.base.String())
		}
		p.state.Store(p.build(s))
		p.opts.Log().Info("configured", "url", s.base.String(), "flavor", s.flavor, "mode", s.mode, "auth", s.auth.Type)
	})
}

func (p *Plugin) build(s *settings) *backend {
	// Redirects are never followed: they would leak credentials to another
	// host or hide a login page.
	hc := sdkhttp.NewClient(sdkhttp.ClientOptions{Timeout: s.timeout, TLS: s.tls, Transport: p.opts.Transport})
	var auth sdkhttp.Authenticator
	switch {
	case s.auth.Type == AuthBearer:
		auth = sdkhttp.Bearer(s.auth.Token) // a Data Center personal access token
	case s.flavor == FlavorCloud:
		auth = sdkhttp.Basic{User: s.auth.Email, Password: s.auth.APIToken}
	default:
		auth = sdkhttp.Basic{User: s.auth.Username, Password: s.auth.Password}
	}
	c := &client{base: s.base.String(), http: hc, auth: auth, now: p.opts.Now}
	fc := &fieldCache{client: c, api: s.api, ttl: s.fieldTTL, now: p.opts.Now}
	c.fieldNames = fc.names
	return &backend{
		s:        s,
		client:   c,
		fields:   fc,
		comments: newCommentLimiter(s.commentInterval, p.opts.Now),
		recent:   newRecentCreates(p.opts.Now),
	}
}

// Create opens an issue (or a service desk request) stamped with the
// correlation key.
func (p *Plugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.create)
}

// Lookup finds the issue stamped with the correlation key: the oldest open
// one, closing any newer open ones as its duplicates, else the newest.
func (p *Plugin) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.lookup)
}

// Update comments on the issue that the alert fired again, at most once
// per comments.min_interval, and writes the route fields whose policy is
// "always"; the new values of those whose policy is "comment" go into the
// comment, which they never wait for.
func (p *Plugin) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.update)
}

// Resolve takes the issue to a done status, with a resolution when the
// transition asks for one.
func (p *Plugin) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.resolve)
}

// Reopen takes a resolved issue back to a to-do or in-progress status,
// unless its resolution says a person decided not to act: then it answers
// not found, and the host creates a new issue.
func (p *Plugin) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.reopen)
}

func (p *Plugin) create(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	if b.s.mode == ModeServiceDesk {
		return p.createRequest(ctx, b, req)
	}
	return p.createIssue(ctx, b, req)
}
