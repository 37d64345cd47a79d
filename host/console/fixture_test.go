package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Hostile values an alert or a plugin may carry: each must reach the page
// as text.
const (
	hostileRule   = `cpu <script>alert("rule")</script>`
	hostileKey    = `key-<img src=x onerror=alert(1)>`
	hostileTicket = `<b>INC-1</b>`
	hostileURL    = `javascript:alert(document.cookie)`
	hostileReason = `no cmdb_ci record with name = "<svg onload=alert(2)>"`
	hostileField  = `</pre><script>alert("field")</script>`
	hostileError  = `HTTP 500: <iframe src=//evil.example>`
)

// fixture is a console over a real SQLite store holding:
//   - synced: in sync, Sev1, a ticket whose URL is javascript:, and
//     bindings (one bound, one unbound), all values hostile;
//   - linked: in sync, a ticket with an https link;
//   - failing: pending after failed attempts, with its last error;
//   - dead: dead-lettered (letter deadID), with a call of known duration;
//   - an alert no route took (letter unmatchedID).
type fixture struct {
	t                             *testing.T
	srv                           *httptest.Server
	st                            store.Store
	m                             *metrics.Metrics
	sampler                       *Sampler
	synced, linked, failing, dead int64
	deadID, unmatchedID           int64
	mu                            sync.Mutex
	replayErr                     error // a store failure for replays
	routable                      bool  // whether the routes take the unmatched alert now
	maintenance                   []MaintenanceWindow
	statsErr                      error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, m: metrics.New()}
	sev := func(n int) *int { return &n }
	alert := func(id, rule string, s int) *sdk.Alert {
		return &sdk.Alert{ID: id, Rule: rule, Severity: sev(s), SeverityLabel: fmt.Sprintf("Sev%d", s), Condition: sdk.ConditionFired, FiredAt: t0,
			ResourceName: "vm-" + id, Resource: sdk.Resource{ID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-" + id, Name: "vm-" + id},
			Description: hostileField, CustomProperties: map[string]string{"note": `<script>alert("prop")</script>`},
			ConfigurationItems: []sdk.ConfigurationItem{{Name: "vm-" + id}, {Name: "db-" + id}}}
	}
	delivery := func(backend, rt, key string) route.Delivery {
		return route.Delivery{Route: rt, Backend: backend, CorrelationKey: key,
			Fields:             map[string]any{"summary": hostileField, "urgency": 2.0},
			ConfigurationItems: []sdk.ConfigurationItem{{Name: "vm"}, {Name: "db"}}}
	}
	res, err := st.Ingest(ctx, []store.Notification{
		{Alert: alert("a1", hostileRule, 1), Deliveries: []route.Delivery{delivery("file.local", "vms", hostileKey)}, ReceivedAt: t0},
		{Alert: alert("a2", "disk full", 3), Deliveries: []route.Delivery{delivery("file.local", "vms", "k-linked")}, ReceivedAt: t0},
		{Alert: alert("a3", "disk full", 3), Deliveries: []route.Delivery{delivery("jira.ops", "apps", "k-failing")}, ReceivedAt: t0},
		{Alert: alert("a4", "memory", 2), Deliveries: []route.Delivery{delivery("jira.ops", "apps", "k-dead")}, ReceivedAt: t0},
		{Alert: alert("a5", "budget", 4), Unmatched: "no route matched", ReceivedAt: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.synced, f.linked = res[0].Deliveries[0].ItemID, res[1].Deliveries[0].ItemID
	f.failing, f.dead, f.unmatchedID = res[2].Deliveries[0].ItemID, res[3].Deliveries[0].ItemID, res[4].DeadLetterID
	now := t0.Add(time.Minute)
	for _, b := range []string{"file.local", "jira.ops"} {
		if _, err := st.Claim(ctx, b, "A", now, time.Minute, 10); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []store.Progress{
		{ItemID: f.synced, Done: true, AppliedSeq: 1, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "sys-1", Key: hostileTicket, URL: hostileURL,
			Bindings: []sdk.CIBinding{{ConfigurationItem: sdk.ConfigurationItem{Name: "vm"}, BoundID: "ci-1", BoundBy: "name"},
				{ConfigurationItem: sdk.ConfigurationItem{Name: "db"}, Reason: hostileReason}}},
			Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok", Message: "create succeeded: " + hostileTicket, Duration: 1500 * time.Microsecond,
				TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}}},
		{ItemID: f.linked, Done: true, AppliedSeq: 1, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "sys-2", Key: "INC0002", URL: "https://itsm.example/INC0002"}},
		{ItemID: f.failing, Retry: true, RetryAt: now.Add(time.Hour), Attempts: 3, LastError: hostileError,
			Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "retryable", Message: "create failed: " + hostileError, Duration: 2 * time.Second}}},
		{ItemID: f.dead, DeadLetter: "create on jira.ops failed permanently: HTTP 400", Attempts: 1, LastError: "create: HTTP 400",
			Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "permanent", Message: "create failed: HTTP 400", Duration: 42 * time.Millisecond}}},
	} {
		p.Owner, p.Now = "A", now
		if err := st.Record(ctx, p); err != nil {
			t.Fatalf("Record(%d): %v", p.ItemID, err)
		}
	}
	dls, err := st.ListDeadLetters(ctx, store.DeadLetterFilter{ItemID: f.dead})
	if err != nil || len(dls) != 1 {
		t.Fatalf("the dead item's letter: %d, %v", len(dls), err)
	}
	f.deadID = dls[0].ID
	f.m.AuthFailures.WithLabelValues("expired").Add(3)
	f.m.AuthFailures.WithLabelValues("wrong_audience").Inc()
	f.sampler = &Sampler{Every: 30 * time.Second, Read: f.readings}
	f.srv = httptest.NewServer(f.handler())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) handler() http.Handler {
	dl := &adminapi.DeadLetters{Store: f.st, Replay: func(ctx context.Context, id int64) ([]string, error) {
		f.mu.Lock()
		replayErr := f.replayErr
		f.mu.Unlock()
		if replayErr != nil {
			return nil, replayErr
		}
		return delivery.Replay(ctx, f.st, id, f.route, time.Now())
	}}
	return Handler(Sources{
		Backends: func() []Backend {
			return []Backend{{Ref: "file.local", Plugin: "file", Version: "1.0"}, {Ref: "jira.ops", Plugin: "jira", Version: "2.1", Caps: sdk.Capabilities{Lookup: true, Resolve: true}}}
		},
		Stats:       f.stats,
		Store:       f.st,
		DeadLetters: dl,
		Metrics:     f.m,
		Sampler:     f.sampler,
		MaintenanceWindows: func(context.Context) ([]MaintenanceWindow, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.maintenance, nil
		},
		Version:      "v1.2.3-test",
		InstanceID:   "itsm-1:8443",
		Started:      time.Now().Add(-90 * time.Minute),
		RefreshEvery: 200 * time.Millisecond,
	})
}

func (f *fixture) route(a *sdk.Alert) (route.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.routable {
		return route.Decision{Unmatched: "no route matched severity 4"}, nil
	}
	return route.Decision{Deliveries: []route.Delivery{{Route: "budgets", Backend: "file.local", CorrelationKey: a.ID}}}, nil
}

func (f *fixture) stats(ctx context.Context) (delivery.Stats, error) {
	f.mu.Lock()
	err := f.statsErr
	f.mu.Unlock()
	if err != nil {
		return delivery.Stats{}, err
	}
	st, err := f.st.Stats(ctx, time.Now())
	if err != nil {
		return delivery.Stats{}, err
	}
	out := delivery.Stats{Backends: map[string]delivery.BackendStats{}, Unmatched: st.Unmatched}
	for b, s := range st.Backends {
		out.Backends[b] = delivery.BackendStats{BackendStats: s, InFlight: 1}
	}
	return out, nil
}

func (f *fixture) readings(ctx context.Context) (map[string]Reading, error) {
	st, err := f.stats(ctx)
	if err != nil {
		return nil, err
	}
	totals := f.m.DeliveryTotals()
	out := map[string]Reading{}
	for b, s := range st.Backends {
		out[b] = Reading{Queued: s.Queued, InFlight: int64(s.InFlight), Calls: totals[b].Calls, Failures: totals[b].Failures}
	}
	return out, nil
}

func (f *fixture) set(fn func(f *fixture)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (f *fixture) get(path string) answer {
	f.t.Helper()
	return f.do(http.MethodGet, path, nil)
}

func (f *fixture) post(path string, form url.Values) answer {
	f.t.Helper()
	return f.do(http.MethodPost, path, form)
}

func (f *fixture) do(method, path string, form url.Values) answer {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// follow gets the page a redirect names.
func (f *fixture) follow(a answer) answer {
	f.t.Helper()
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || loc == "" {
		f.t.Fatalf("answer %d, Location %q; want a 303 redirect:\n%s", a.status, loc, a.body)
	}
	return f.get(loc)
}

func (f *fixture) letterExists(id int64) bool {
	f.t.Helper()
	_, err := f.st.GetDeadLetter(context.Background(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}
