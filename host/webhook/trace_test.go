package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/host/webhook"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// ticketer is a backend client that opens and resolves tickets in memory.
type ticketer struct {
	mu    sync.Mutex
	calls []string
}

func (c *ticketer) record(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, op)
}

func (c *ticketer) Info(context.Context) (sdk.Info, error)      { return sdk.Info{Name: "file"}, nil }
func (c *ticketer) Configure(context.Context, sdk.Config) error { return nil }
func (c *ticketer) Lookup(context.Context, *sdk.Request) (*sdk.WorkItem, error) {
	c.record("lookup")
	return nil, nil
}
func (c *ticketer) Create(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	c.record("create")
	return &sdk.WorkItem{ID: "1", Key: "INC1", State: sdk.StateOpen, CorrelationKey: req.CorrelationKey}, nil
}
func (c *ticketer) Update(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	c.record("update")
	return req.Ref, nil
}
func (c *ticketer) Resolve(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	c.record("resolve")
	wi := *req.Ref
	wi.State = sdk.StateResolved
	return &wi, nil
}
func (c *ticketer) Reopen(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	c.record("reopen")
	return req.Ref, nil
}
func (c *ticketer) ReadStatus(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	return nil, nil
}

// tracedConnector is a webhook and a delivery engine over st, both
// tracing into rec when rec is set (nil: tracing off). start runs the
// engine's workers.
func tracedConnector(t *testing.T, st store.Store, rec *tracetest.SpanRecorder, start bool) (url string, stop func()) {
	t.Helper()
	cfg, diags := config.Load([]byte(`auth "none" {}
backend "file" "x" {}
route "all" {
  send_to = [backend.file.x]
}
`), "connector.hcl")
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	r, diags := route.Compile(cfg.Routes, map[string]bool{"file.x": true})
	if diags.HasErrors() {
		t.Fatalf("routes: %v", diags)
	}
	var tracer trace.Tracer
	var tr *telemetry.Tracing
	if rec != nil {
		tr = telemetry.NewWithProcessor(rec, telemetry.Service{Version: "test", InstanceID: "test"}, 1)
		tracer = tr.Tracer()
	}
	backends := delivery.StaticBackends{"file.x": {Client: &ticketer{},
		Capabilities: sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true}}}
	eng, err := delivery.New(st, backends, delivery.Options{InstanceID: "test", PollInterval: 10 * time.Millisecond, Tracer: tracer}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if start {
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(&webhook.Handler{Auth: auth.None{}, Decode: commonschema.Decode, Router: r,
		Ingest: eng, Logger: hclog.NewNullLogger(), Tracer: tracer})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = eng.Stop(ctx)
			_ = tr.Shutdown(ctx)
		})
	}
	t.Cleanup(stop)
	return srv.URL + webhook.AlertsPath, stop
}

func postAlert(t *testing.T, url string, body []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %d, want 202", resp.StatusCode)
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func onlyItem(t *testing.T, st store.Store) *store.Item {
	t.Helper()
	items, err := st.ListItems(context.Background(), store.ItemFilter{})
	if err != nil || len(items) != 1 {
		t.Fatalf("ListItems = %d items, %v; want 1", len(items), err)
	}
	return items[0]
}

// spanTree checks and describes the spans of one trace: every span's
// parent is in the trace (but the root), and it returns "parent>child"
// pairs by name, sorted, and the root.
func spanTree(t *testing.T, spans []sdktrace.ReadOnlySpan, tid trace.TraceID) (pairs []string, root sdktrace.ReadOnlySpan) {
	t.Helper()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.SpanContext().TraceID() == tid {
			byID[s.SpanContext().SpanID()] = s
		}
	}
	for _, s := range byID {
		if !s.Parent().IsValid() {
			if root != nil {
				t.Errorf("two roots in trace %s: %q and %q", tid, root.Name(), s.Name())
			}
			root = s
			continue
		}
		p, ok := byID[s.Parent().SpanID()]
		if !ok {
			t.Errorf("span %q: parent %s is not in trace %s", s.Name(), s.Parent().SpanID(), tid)
			continue
		}
		pairs = append(pairs, p.Name()+">"+s.Name())
	}
	slices.Sort(pairs)
	return pairs, root
}

func spansNamed(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestAlertIsOneTrace posts a Fired alert through the webhook handler into
// the delivery engine with tracing on, and checks that the alert is one
// trace: the request is its root, verify, decode, route and commit are
// its children, and the reconcile of its work item (with the plugin call
// and the record of its result) joins it through the trace context kept
// in the store; the group commit is a trace of its own, linked both ways
// with the alert's commit; every audit event carries the trace id. Then
// the alert's Resolved is acknowledged by a connector whose workers never
// run, and a new connector on the same store (a restart) delivers it in
// the Resolved's trace.
func TestAlertIsOneTrace(t *testing.T) {
	engines(t, func(t *testing.T, open func() store.Store) {
		st := open()
		defer st.Close()
		rec := tracetest.NewSpanRecorder()
		url, stop := tracedConnector(t, st, rec, true)
		postAlert(t, url, alertBody("/subscriptions/s/alerts/trace-1", "", "{}"))
		waitFor(t, "the work item to be created", func() bool {
			it := onlyItem(t, st)
			return !it.Dirty && it.Remote == store.RemoteOpen
		})
		stop()

		spans := rec.Ended()
		roots := spansNamed(spans, telemetry.SpanWebhook)
		if len(roots) != 1 {
			t.Fatalf("%d webhook spans, want 1", len(roots))
		}
		tid := roots[0].SpanContext().TraceID()
		pairs, root := spanTree(t, spans, tid)
		if root == nil || root.Name() != telemetry.SpanWebhook || root.SpanKind() != trace.SpanKindServer {
			t.Fatalf("root of the alert's trace = %v, want the webhook request", root)
		}
		want := []string{
			"POST /api/v1/alerts>commit", "POST /api/v1/alerts>decode", "POST /api/v1/alerts>reconcile",
			"POST /api/v1/alerts>route", "POST /api/v1/alerts>verify",
			"reconcile>plugin create", "reconcile>record",
		}
		if !slices.Equal(pairs, want) {
			t.Errorf("the alert's trace:\n got %q\nwant %q", pairs, want)
		}
		attrs := map[string]string{}
		for _, kv := range root.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
		}
		if attrs["itsm.alert.id"] != "/subscriptions/s/alerts/trace-1" || attrs["http.response.status_code"] != "202" || attrs["itsm.deliveries"] != "1" {
			t.Errorf("root attributes = %v", attrs)
		}
		commit := spansNamed(spans, telemetry.SpanCommit)[0]
		groups := spansNamed(spans, telemetry.SpanGroupCommit)
		if len(groups) != 1 {
			t.Fatalf("%d group commit spans, want 1", len(groups))
		}
		group := groups[0]
		if group.SpanContext().TraceID() == tid || group.Parent().IsValid() {
			t.Errorf("the group commit is not a trace of its own")
		}
		if l := group.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != commit.SpanContext().SpanID() {
			t.Errorf("group commit links = %v, want the alert's commit span", l)
		}
		if l := commit.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != group.SpanContext().SpanID() {
			t.Errorf("commit links = %v, want the group commit", l)
		}

		it := onlyItem(t, st)
		if got := telemetry.TraceIDOf(it.TraceParent); got != tid.String() {
			t.Errorf("stored trace context %q, want trace %s", it.TraceParent, tid)
		}
		evs, err := st.Events(context.Background(), it.ID)
		if err != nil || len(evs) < 2 {
			t.Fatalf("events = %v, %v", evs, err)
		}
		for _, e := range evs {
			if e.TraceID != tid.String() {
				t.Errorf("event %s %s %q: trace id %q, want %s", e.Kind, e.Op, e.Message, e.TraceID, tid)
			}
		}

		// The Resolved is acknowledged, and the connector stops before
		// delivering it.
		rec1 := tracetest.NewSpanRecorder()
		url, stop = tracedConnector(t, st, rec1, false)
		postAlert(t, url, resolvedBody("/subscriptions/s/alerts/trace-1"))
		stop()
		resolvedRoot := spansNamed(rec1.Ended(), telemetry.SpanWebhook)[0]
		if len(spansNamed(rec1.Ended(), telemetry.SpanReconcile)) != 0 {
			t.Fatalf("the stopped connector reconciled")
		}
		// A new connector (new process, new tracer provider) delivers it.
		rec2 := tracetest.NewSpanRecorder()
		_, stop = tracedConnector(t, st, rec2, true)
		waitFor(t, "the work item to be resolved", func() bool {
			it := onlyItem(t, st)
			return !it.Dirty && it.Remote == store.RemoteResolved
		})
		stop()
		recs := spansNamed(rec2.Ended(), telemetry.SpanReconcile)
		if len(recs) != 1 {
			t.Fatalf("%d reconcile spans after the restart, want 1", len(recs))
		}
		if p := recs[0].Parent(); p.TraceID() != resolvedRoot.SpanContext().TraceID() || p.SpanID() != resolvedRoot.SpanContext().SpanID() || !p.IsRemote() {
			t.Errorf("reconcile after the restart: parent %s/%s, want the Resolved's request %s/%s",
				p.TraceID(), p.SpanID(), resolvedRoot.SpanContext().TraceID(), resolvedRoot.SpanContext().SpanID())
		}
		if calls := spansNamed(rec2.Ended(), "plugin resolve"); len(calls) != 1 || calls[0].Parent().SpanID() != recs[0].SpanContext().SpanID() {
			t.Errorf("plugin resolve spans = %d, want 1 under the reconcile", len(calls))
		}
	})
}

// TestTracingOff: without a tracer nothing is kept for tracing: no trace
// context with the desired state, no trace id on any event.
func TestTracingOff(t *testing.T) {
	engines(t, func(t *testing.T, open func() store.Store) {
		st := open()
		defer st.Close()
		url, stop := tracedConnector(t, st, nil, true)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(alertBody("/subscriptions/s/alerts/off", "", "{}"))))
		req.Header.Set("Content-Type", "application/json")
		// A sender's trace context changes nothing when tracing is off.
		req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		waitFor(t, "the work item to be created", func() bool {
			it := onlyItem(t, st)
			return !it.Dirty && it.Remote == store.RemoteOpen
		})
		stop()
		it := onlyItem(t, st)
		if it.TraceParent != "" {
			t.Errorf("stored trace context %q with tracing off", it.TraceParent)
		}
		evs, _ := st.Events(context.Background(), it.ID)
		for _, e := range evs {
			if e.TraceID != "" {
				t.Errorf("event %s %q has trace id %q with tracing off", e.Kind, e.Message, e.TraceID)
			}
		}
	})
}

// TestSendersTraceIsLinkedNotParent: the webhook faces the internet, so a
// traceparent the sender passes is linked from the alert's root span, not
// taken as its parent.
func TestSendersTraceIsLinkedNotParent(t *testing.T) {
	engines(t, func(t *testing.T, open func() store.Store) {
		st := open()
		defer st.Close()
		rec := tracetest.NewSpanRecorder()
		url, stop := tracedConnector(t, st, rec, false)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(alertBody("/subscriptions/s/alerts/linked", "", "{}"))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		stop()
		root := spansNamed(rec.Ended(), telemetry.SpanWebhook)[0]
		if root.Parent().IsValid() || root.SpanContext().TraceID().String() == "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("the sender's trace became the alert's: parent %v", root.Parent())
		}
		if l := root.Links(); len(l) != 1 || l[0].SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("links = %v, want the sender's span", l)
		}
	})
}

func resolvedBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":%q,"alertRule":"cpu","severity":"Sev2",`+
		`"signalType":"Metric","monitorCondition":"Resolved","monitoringService":"Platform","firedDateTime":"2026-03-01T12:00:00Z",`+
		`"resolvedDateTime":"2026-03-01T12:10:00Z"},"alertContext":{}}}`, id))
}
