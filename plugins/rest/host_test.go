package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/rest"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// The tests in this package drive the plugin with the example files in
// examples/rest as the source of truth, through the host's own pipeline,
// in-process: the file is loaded by host/config, routes are compiled and
// evaluated by host/route, the backend's config block is decoded against
// the plugin's schema and its per-alert templates rendered for every call
// by host/pluginhost, and the plugin is served over gRPC by sdktest.Connect.
// Only base_url (and an OAuth token_url) is pointed at a fake API. What the
// host's delivery engine adds (store, workers, retries) is not exercised
// here; reconcile below follows its decision table.

// exampleEnv is one example backend wired to a fake API.
type exampleEnv struct {
	t       *testing.T
	file    string
	backend string
	cfg     *config.Config
	router  *route.Router
	dec     *pluginhost.DecodedConfig
	client  hostside.Client
	// caps are the capabilities Info reported after Configure.
	caps sdk.Capabilities
}

// exampleSecrets are the environment variables the example files read.
var exampleSecrets = map[string]string{
	"PAGERDUTY_ROUTING_KEY": "R0UT1NGKEY0123456789abcdef012345",
	"OPSGENIE_API_KEY":      "eb243592-faa2-4ba2-a551q-1afdf565c889",
	"TICKETS_CLIENT_SECRET": "tickets-client-s3cret-value",
	"TRACKER_TOKEN":         "tracker-t0ken-value",
}

// loadExample loads examples/rest/<style>/connector.hcl, decodes backend
// rest.<name> against the plugin's schema, points it at baseURL and
// configures a plugin instance served over gRPC.
func loadExample(t *testing.T, style, name, baseURL string) *exampleEnv {
	t.Helper()
	return loadExampleWith(t, style, name, baseURL,
		sdktest.Connect(t, rest.New(rest.Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})))
}

// loadExampleWith is loadExample with the plugin reached through client.
func loadExampleWith(t *testing.T, style, name, baseURL string, client hostside.Client) *exampleEnv {
	t.Helper()
	for k, v := range exampleSecrets {
		t.Setenv(k, v)
	}
	file := filepath.Join("..", "..", "examples", "rest", style, "connector.hcl")
	cfg, diags := config.LoadFile(file)
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", file, diags.Error())
	}
	backends := map[string]bool{}
	var b *config.Backend
	for _, x := range cfg.Backends {
		backends[x.Ref()] = true
		if x.Type == "rest" && x.Name == name {
			b = x
		}
	}
	if b == nil {
		t.Fatalf("%s declares no backend \"rest\" %q", file, name)
	}
	router, diags := route.Compile(cfg.Routes, backends)
	if diags.HasErrors() {
		t.Fatalf("routes of %s: %s", file, diags.Error())
	}
	dec, diags := pluginhost.DecodeConfig(rest.Schema(), b.Config, b.ConfigRange, config.LoadContext(cfg.Dir), hclfuncs.PerAlert())
	if diags.HasErrors() {
		t.Fatalf("decode backend %s of %s: %s", b.Ref(), file, diags.Error())
	}
	e := &exampleEnv{t: t, file: file, backend: b.Ref(), cfg: cfg, router: router, dec: dec}
	e.client = client
	if err := e.client.Configure(context.Background(), e.pointAt(baseURL)); err != nil && sdk.AsDiagnostics(err).HasErrors() {
		t.Fatalf("Configure %s: %v\n%s", b.Ref(), err, e.lines(err))
	}
	// As the host does: the capabilities delivery uses are those Info
	// reports after Configure.
	info, err := e.client.Info(context.Background())
	if err != nil {
		t.Fatalf("Info after Configure: %v", err)
	}
	e.caps = info.Capabilities
	return e
}

// pointAt returns the decoded configuration with base_url (and an OAuth
// token_url) replaced by the fake's URL.
func (e *exampleEnv) pointAt(baseURL string) sdk.Config {
	var m map[string]any
	if err := json.Unmarshal(e.dec.Config, &m); err != nil {
		e.t.Fatal(err)
	}
	m["base_url"] = baseURL
	if a, ok := m["auth"].(map[string]any); ok && a["token_url"] != nil {
		a["token_url"] = baseURL + "/oauth/token"
	}
	out, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// lines renders Configure diagnostics against the example file, as
// `validate` prints them: with the line of the attribute at fault.
func (e *exampleEnv) lines(err error) string {
	var b strings.Builder
	for _, d := range e.dec.Diagnostics(sdk.AsDiagnostics(err)) {
		b.WriteString(d.Error())
		b.WriteString("\n")
	}
	return b.String()
}

// delivery routes a and returns its delivery to this backend.
func (e *exampleEnv) delivery(a sdk.Alert) route.Delivery {
	e.t.Helper()
	dec, err := e.router.Route(&a)
	if err != nil {
		e.t.Fatalf("route: %v", err)
	}
	for _, d := range dec.Deliveries {
		if d.Backend == e.backend {
			return d
		}
	}
	e.t.Fatalf("alert %q is not routed to %s (deliveries %+v, unmatched %q)", a.Rule, e.backend, dec.Deliveries, dec.Unmatched)
	return route.Delivery{}
}

// request is what the host sends for one call: the delivery's key, fields
// and configuration items, the recorded ref, and the plugin's per-alert
// templates rendered for all of it.
func (e *exampleEnv) request(a sdk.Alert, ref *sdk.WorkItem) *sdk.Request {
	e.t.Helper()
	d := e.delivery(a)
	req := &sdk.Request{CorrelationKey: d.CorrelationKey, Alert: a, Fields: d.Fields, ConfigurationItems: d.ConfigurationItems, Ref: ref}
	v, err := e.dec.RenderValues(req)
	if err != nil {
		e.t.Fatalf("render per-alert values: %v", err)
	}
	req.Values = v
	return req
}

// call makes one lifecycle call as the host would.
func (e *exampleEnv) call(op string, a sdk.Alert, ref *sdk.WorkItem) (*sdk.WorkItem, error) {
	e.t.Helper()
	req := e.request(a, ref)
	ctx := context.Background()
	switch op {
	case "lookup":
		return e.client.Lookup(ctx, req)
	case "create":
		return e.client.Create(ctx, req)
	case "update":
		return e.client.Update(ctx, req)
	case "resolve":
		return e.client.Resolve(ctx, req)
	case "reopen":
		return e.client.Reopen(ctx, req)
	}
	e.t.Fatalf("unknown call %q", op)
	return nil, nil
}

// must makes a call that must succeed.
func (e *exampleEnv) must(op string, a sdk.Alert, ref *sdk.WorkItem) *sdk.WorkItem {
	e.t.Helper()
	wi, err := e.call(op, a, ref)
	if err != nil {
		e.t.Fatalf("%s: %v (%s)", op, err, sdk.KindOf(err))
	}
	return wi
}

// record is the host's view of one correlation key.
type record struct {
	ref      *sdk.WorkItem
	resolved bool
	// calls lists the plugin calls reconcile made, e.g. "lookup", "create".
	calls []string
}

// reconcile takes a toward its desired state the way the host's delivery
// worker does (its decision table), calling only what the plugin reports
// among its capabilities: lookup then create for a new item, update when it
// fires again while open, resolve, reopen inside the window, and a new item
// when reopen answers not found or there is no reopen. Without resolve the
// item stays open; without update a re-fire sends nothing.
func (e *exampleEnv) reconcile(r *record, a sdk.Alert) {
	e.t.Helper()
	step := func(op string, ref *sdk.WorkItem) (*sdk.WorkItem, error) {
		r.calls = append(r.calls, op)
		return e.call(op, a, ref)
	}
	create := func() {
		if e.caps.Lookup {
			found, err := step("lookup", nil)
			if err != nil {
				e.t.Fatalf("lookup: %v", err)
			}
			if found != nil && found.State != sdk.StateResolved {
				r.ref, r.resolved = found, false
				return
			}
		}
		wi, err := step("create", nil)
		if err != nil {
			e.t.Fatalf("create: %v", err)
		}
		r.ref, r.resolved = wi, false
	}
	if a.Condition == sdk.ConditionResolved {
		if r.ref == nil || r.resolved || !e.caps.Resolve {
			return
		}
		wi, err := step("resolve", r.ref)
		if err != nil {
			e.t.Fatalf("resolve: %v", err)
		}
		r.ref, r.resolved = wi, true
		return
	}
	switch {
	case r.ref == nil:
		create()
	case !r.resolved && !e.caps.Update:
	case !r.resolved:
		wi, err := step("update", r.ref)
		if err != nil {
			e.t.Fatalf("update: %v", err)
		}
		r.ref = wi
	case !e.caps.Reopen:
		r.ref = nil
		create()
	default:
		wi, err := step("reopen", r.ref)
		switch {
		case sdk.KindOf(err) == sdk.KindNotFound:
			r.ref = nil
			create()
		case err != nil:
			e.t.Fatalf("reopen: %v", err)
		default:
			r.ref, r.resolved = wi, false
		}
	}
}

// alertOf returns the sample alert with a rule name and severity.
func alertOf(rule string, sev int) sdk.Alert {
	a := sdktest.SampleAlert()
	a.Rule = rule
	a.Severity = &sev
	a.SeverityLabel = "Sev" + string(rune('0'+sev))
	return a
}

func resolved(a sdk.Alert) sdk.Alert { return sdktest.Resolved(a, a.FiredAt.Add(10*time.Minute)) }

// renderingPlugin renders each request's per-alert values inside the
// plugin process, from the example's templates: what the host does before
// every call. The conformance suite sends fixed values; this gives each of
// its calls the values the host would have rendered.
type renderingPlugin struct {
	*rest.Plugin
	dec *pluginhost.DecodedConfig
}

func (p renderingPlugin) render(req *sdk.Request) (*sdk.Request, error) {
	cp := *req
	v, err := p.dec.RenderValues(&cp)
	if err != nil {
		return nil, err
	}
	cp.Values = v
	return &cp, nil
}

func (p renderingPlugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	r, err := p.render(req)
	if err != nil {
		return nil, err
	}
	return p.Plugin.Create(ctx, r)
}

func (p renderingPlugin) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	r, err := p.render(req)
	if err != nil {
		return nil, err
	}
	return p.Plugin.Lookup(ctx, r)
}

func (p renderingPlugin) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	r, err := p.render(req)
	if err != nil {
		return nil, err
	}
	return p.Plugin.Update(ctx, r)
}

func (p renderingPlugin) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	r, err := p.render(req)
	if err != nil {
		return nil, err
	}
	return p.Plugin.Resolve(ctx, r)
}

func (p renderingPlugin) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	r, err := p.render(req)
	if err != nil {
		return nil, err
	}
	return p.Plugin.Reopen(ctx, r)
}

// diagLines returns "line N: summary" for each diagnostic, sorted.
func diagLines(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Subject == nil {
			out = append(out, "no line: "+d.Summary)
			continue
		}
		out = append(out, filepath.Base(d.Subject.Filename)+":"+strconv.Itoa(d.Subject.Start.Line)+": "+d.Summary)
	}
	sort.Strings(out)
	return out
}
