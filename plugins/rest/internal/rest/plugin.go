// Package rest is the generic REST plugin: it drives any JSON ticketing or
// alerting API from configuration alone. Each lifecycle step is an action
// block (create, lookup, update, resolve, reopen, find_ci) whose URL,
// headers and body are templates the host renders per alert; the plugin
// sends the request, authenticates and signs it, classifies the answer by
// configured statuses and reads the work item from the response with JSON
// paths or headers.
//
// It is a stateless adapter: it never parses templates and never decides
// what to do; the host does both.
package rest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Name is the plugin's short name.
const Name = "rest"

// Options are the plugin's process-level settings, shared by the HTTP
// plugins.
type Options = sdkhttp.Options

// Plugin implements every lifecycle interface; what an action block left
// out means is documented on each method. It is safe for concurrent calls;
// Configure may be called again to swap the configuration.
type Plugin struct {
	opts  Options
	state sdkhttp.State[backend]
}

// backend is everything one configuration runs on.
type backend struct {
	s      *settings
	client *client
}

var (
	_ sdk.Plugin   = (*Plugin)(nil)
	_ sdk.Looker   = (*Plugin)(nil)
	_ sdk.Updater  = (*Plugin)(nil)
	_ sdk.Resolver = (*Plugin)(nil)
	_ sdk.Reopener = (*Plugin)(nil)

	_ sdk.CapabilityReporter = (*Plugin)(nil)
)

// New returns an unconfigured plugin.
func New(opts Options) *Plugin {
	return &Plugin{opts: opts.WithDefaults()}
}

// Info describes the plugin and its configuration schema, with the
// capabilities of its configuration (see Capabilities).
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	info := p.opts.Info(Name, p, Schema())
	b := p.state.Load()
	info.Capabilities.Comment = b == nil || b.s.actions[ActionUpdate] != nil
	info.Capabilities.CMDB = b == nil || b.s.actions[ActionFindCI] != nil
	// The route's field policy applies to the update and reopen bodies
	// whose blocks set fields_path; without it a body is sent as rendered,
	// so the plugin applies a policy only when every such block sets it.
	info.Capabilities.FieldPolicy = b == nil || b.s.appliesFieldPolicy()
	if b != nil && b.s.readStatus != nil {
		info.MaxStatusBatch = b.s.readStatus.size
	}
	return info, nil
}

// appliesFieldPolicy reports whether every configured update and reopen
// block sets fields_path, so that the route's field policy governs every
// re-fire.
func (s *settings) appliesFieldPolicy() bool {
	for _, name := range []string{ActionUpdate, ActionReopen} {
		if a := s.actions[name]; a != nil && a.fieldsPath == nil {
			return false
		}
	}
	return true
}

// Capabilities are the lifecycle steps the configuration has action blocks
// for: lookup, update, resolve, reopen. Before Configure they are all of
// them, what the plugin can do with some configuration. The host asks for
// Info again after Configure and calls only these.
func (p *Plugin) Capabilities() sdk.Capabilities {
	b := p.state.Load()
	if b == nil {
		return sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, ReadStatus: true}
	}
	has := func(name string) bool { return b.s.actions[name] != nil }
	return sdk.Capabilities{Lookup: has(ActionLookup), Update: has(ActionUpdate), Resolve: has(ActionResolve), Reopen: has(ActionReopen),
		ReadStatus: b.s.readStatus != nil}
}

// Configure validates the configuration and prepares the client. Problems
// come back as sdk.Diagnostics with attribute paths such as
// ["create", "result", "id"], so the host can point at the line. Warnings
// alone (plain http, verification off) are returned too, with the
// configuration in effect.
func (p *Plugin) Configure(_ context.Context, cfg sdk.Config) error {
	return sdkhttp.Configure(p.opts.Log(), cfg, resolveConfig, func(c Config, s *settings) {
		if s.insecure {
			sdkhttp.LogInsecure(p.opts.Log(), "REST", "alert data", "base_url", s.base.String())
		}
		p.state.Store(p.build(s, c.secrets()))
		actions := make([]string, 0, len(s.actions))
		for _, name := range actionNames {
			if s.actions[name] != nil {
				actions = append(actions, name)
			}
		}
		p.opts.Log().Info("configured", "base_url", s.base.String(), "auth", s.auth.Type, "hmac", s.hmac != nil, "actions", strings.Join(actions, ","))
	})
}

func (p *Plugin) build(s *settings, secrets []string) *backend {
	// Redirects are never followed: they would carry credentials to another
	// URL or hide a sign-in page.
	hc := sdkhttp.NewClient(sdkhttp.ClientOptions{Timeout: s.timeout, TLS: s.tls, Transport: p.opts.Transport})
	a := s.auth
	if a.Type == AuthBasic { // the header as sent: a fixed secret, not a learned one
		secrets = append(slices.Clip(secrets), base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
	}
	red := newRedactor(secrets...)
	var auth sdkhttp.Authenticator = sdkhttp.NoAuth{}
	switch a.Type {
	case AuthBasic:
		auth = sdkhttp.Basic{User: a.Username, Password: a.Password}
	case AuthBearer:
		auth = sdkhttp.Bearer(a.Token)
	case AuthAPIKey:
		auth = sdkhttp.Header{Name: a.APIKeyHeader, Value: a.APIKeyPrefix + a.APIKey}
	case AuthOAuth2:
		auth = newOAuth2(s, hc, p.opts.Now, p.opts.Log, red)
	}
	c := &client{
		base: s.base, http: hc, headers: s.headers, auth: auth,
		secrets: s.bodySecrets, retryable: s.retryable, redact: red,
		userAgent: "itsm-connector-plugin-rest/" + p.opts.Version,
		now:       p.opts.Now, log: p.opts.Log,
	}
	if s.hmac != nil {
		c.sign = &signer{secret: []byte(s.hmac.Secret), header: s.hmac.Header, encoding: s.hmac.Encoding, prefix: s.hmac.Prefix}
	}
	return &backend{s: s, client: c}
}

// Create runs find_ci (when configured), then create. Without result.id the
// work item's id is the correlation key: the API deduplicates by a key the
// body carries (a dedup_key or alias).
func (p *Plugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.create)
}

func (p *Plugin) create(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	a := b.s.actions[ActionCreate]
	av, err := decodeValues(req, ActionCreate)
	if err != nil {
		return nil, err
	}
	binding, extra, err := p.findCI(ctx, b, req)
	if err != nil {
		return nil, err
	}
	body, err := b.client.finalBody(ActionCreate, av.Body, extra)
	if err != nil {
		return nil, err
	}
	r, _, err := b.client.do(ctx, a, av, body)
	if err != nil {
		return nil, err
	}
	wi, found, err := workItem(a, r, nil, req.CorrelationKey)
	if err == nil && !found {
		err = fmt.Errorf("rest: create: result.id: the response has no value at %s: %s", a.id, b.client.redact.apply(sdkhttp.Snippet(r.body, maxErrorBody)))
	}
	if err != nil {
		// The item may exist remotely; retrying would create another.
		// The host dead-letters; lookup finds the item on replay.
		return nil, sdk.Permanent(err)
	}
	if binding != nil {
		wi.Bindings = []sdk.CIBinding{*binding}
	}
	return wi, nil
}

// Lookup finds the newest work item stamped with the correlation key. It
// answers (nil, nil) when nothing is found. Without a lookup block the
// plugin does not report Lookup, and the host relies on its record of the
// create it started and on the API deduplicating by the key the create body
// sends.
func (p *Plugin) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.state.Run(ctx, Name, req, p.lookup)
}

func (p *Plugin) lookup(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	a, err := b.action(ActionLookup)
	if err != nil {
		return nil, err
	}
	av, err := decodeValues(req, ActionLookup)
	if err != nil {
		return nil, err
	}
	body, err := b.client.finalBody(ActionLookup, av.Body, nil)
	if err != nil {
		return nil, err
	}
	r, out, err := b.client.do(ctx, a, av, body)
	if err != nil || out == outcomeNotFound {
		return nil, err
	}
	wi, found, err := workItem(a, r, nil, req.CorrelationKey)
	if err != nil {
		// Hiding this would make the host create a duplicate.
		return nil, sdk.Permanent(err)
	}
	if !found {
		return nil, nil
	}
	return wi, nil
}

// Update sends the update action when the alert fires again.
func (p *Plugin) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(ctx, req, ActionUpdate)
}

// Resolve sends the resolve action.
func (p *Plugin) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(ctx, req, ActionResolve)
}

// Reopen sends the reopen action.
func (p *Plugin) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(ctx, req, ActionReopen)
}

// action returns the configured action name. A call whose block is not
// configured is one the plugin does not report (see Capabilities), so the
// host never makes it; it fails permanently rather than pretend it was
// done.
func (b *backend) action(name string) (*action, error) {
	a := b.s.actions[name]
	if a == nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: no %s block is configured, so the plugin does not report %s among its capabilities and sends nothing", name, name, name))
	}
	return a, nil
}

// change runs an action on the recorded item.
func (p *Plugin) change(ctx context.Context, req *sdk.Request, name string) (*sdk.WorkItem, error) {
	b, err := p.state.Configured(Name)
	if err != nil {
		return nil, err
	}
	if req.Ref == nil || req.Ref.ID == "" {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: the request carries no work item reference", name))
	}
	a, err := b.action(name)
	if err != nil {
		return nil, err
	}
	av, err := decodeValues(req, name)
	if err != nil {
		return nil, err
	}
	rendered, err := applyFieldPolicy(a, av.Body, req)
	if err != nil {
		return nil, err
	}
	body, err := b.client.finalBody(name, rendered, nil)
	if err != nil {
		return nil, err
	}
	r, out, err := b.client.do(ctx, a, av, body)
	if err != nil {
		return nil, err
	}
	if out == outcomeNotFound {
		return nil, sdk.NotFound(fmt.Errorf("rest: %s: work item %s no longer exists", name, req.Ref.ID))
	}
	wi, _, err := workItem(a, r, req.Ref, req.CorrelationKey)
	if err != nil {
		return nil, sdk.Permanent(err)
	}
	return wi, nil
}

// findCI runs the find_ci action for the request's first configuration
// item. It returns the binding to report and the body change that carries
// the found id into the create body. A configuration item that is not found
// never fails the create; a retryable failure does, so that the item is not
// created unbound while the CMDB is only busy.
func (p *Plugin) findCI(ctx context.Context, b *backend, req *sdk.Request) (*sdk.CIBinding, []bodySecret, error) {
	a := b.s.actions[ActionFindCI]
	if a == nil {
		return nil, nil, nil
	}
	ci := sdk.ConfigurationItem{Name: req.Alert.ResourceName, ResourceID: req.Alert.Resource.ID}
	if len(req.ConfigurationItems) > 0 {
		ci = req.ConfigurationItems[0]
	}
	binding := &sdk.CIBinding{ConfigurationItem: ci}
	av, err := decodeValues(req, ActionFindCI)
	if err != nil {
		return nil, nil, err
	}
	body, err := b.client.finalBody(ActionFindCI, av.Body, nil)
	if err != nil {
		return nil, nil, err
	}
	r, out, err := b.client.do(ctx, a, av, body)
	switch {
	case err != nil && sdk.KindOf(err) == sdk.KindRetryable:
		return nil, nil, err
	case err != nil:
		binding.Reason = err.Error()
		p.opts.Log().Warn("configuration item not bound", "ci", ci.Name, "error", err.Error())
		return binding, nil, nil
	case out == outcomeNotFound:
		binding.Reason = "not found in the CMDB"
		return binding, nil, nil
	}
	id, ok, err := read(r, a.id)
	switch {
	case err != nil:
		binding.Reason = "find_ci: result.id: " + err.Error()
	case !ok:
		binding.Reason = "not found in the CMDB"
	default:
		v, err := a.bodyValue.expand(map[string]string{"find_ci.id": id}, func(s string) string { return s })
		if err != nil {
			return nil, nil, sdk.Permanent(fmt.Errorf("rest: find_ci: body_value: %w", err))
		}
		binding.BoundID, binding.BoundBy = id, ActionFindCI
		return binding, []bodySecret{{path: a.bodyPath, value: v}}, nil
	}
	return binding, nil, nil
}
