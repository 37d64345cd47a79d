package delivery

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t    *testing.T
	path string
	st   store.Store
	e    *Engine
	opts Options
	bs   StaticBackends
}

func testOptions() Options {
	return Options{InstanceID: "test", PollInterval: 10 * time.Millisecond, BackoffBase: 10 * time.Millisecond,
		BackoffMax: 40 * time.Millisecond, LeaseDuration: time.Minute, CallTimeout: 10 * time.Second}
}

// newEnv opens a SQLite store in a temp dir and an engine over bs; start
// says whether to start the workers.
func newEnv(t *testing.T, bs StaticBackends, opts Options, start bool) *env {
	t.Helper()
	en := &env{t: t, path: filepath.Join(t.TempDir(), "c.db"), opts: opts, bs: bs}
	en.open(start)
	t.Cleanup(func() { en.stop() })
	return en
}

func (en *env) open(start bool) {
	en.t.Helper()
	st, err := sqlite.Open(context.Background(), en.path)
	if err != nil {
		en.t.Fatal(err)
	}
	e, err := New(st, en.bs, en.opts, nil)
	if err != nil {
		en.t.Fatal(err)
	}
	en.st, en.e = st, e
	if start {
		if err := e.Start(context.Background()); err != nil {
			en.t.Fatal(err)
		}
	}
}

// stop drains the engine (cancelling calls after a short grace) and closes
// the store.
func (en *env) stop() {
	if en.e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = en.e.Stop(ctx)
	_ = en.st.Close()
	en.e = nil
}

func alert(id string, cond sdk.Condition, at time.Time) *sdk.Alert {
	a := &sdk.Alert{ID: id, Rule: "cpu", Condition: cond, FiredAt: at}
	if cond == sdk.ConditionResolved {
		a.FiredAt = at.Add(-time.Minute)
		r := at
		a.ResolvedAt = &r
	}
	return a
}

func decision(backend, key string, window time.Duration) route.Decision {
	return route.Decision{Deliveries: []route.Delivery{{Route: "r", Backend: backend, CorrelationKey: key, ReopenWindow: window,
		Fields: map[string]any{"summary": "cpu"}}}}
}

// withPolicy returns d with every delivery's on_resolved_without_item set to p.
func withPolicy(d route.Decision, p route.ResolvedPolicy) route.Decision {
	for i := range d.Deliveries {
		d.Deliveries[i].OnResolvedWithoutItem = p
	}
	return d
}

// stateNotes returns the messages of an item's state events.
func (en *env) stateNotes(id int64) []string {
	en.t.Helper()
	evs, err := en.st.Events(context.Background(), id)
	if err != nil {
		en.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Kind == store.EventState {
			out = append(out, e.Message)
		}
	}
	return out
}

func hasNote(notes []string, want string) bool {
	for _, n := range notes {
		if strings.Contains(n, want) {
			return true
		}
	}
	return false
}

func (en *env) ingest(a *sdk.Alert, d route.Decision) {
	en.t.Helper()
	if err := en.e.Ingest(context.Background(), a, d); err != nil {
		en.t.Fatalf("Ingest(%s %s): %v", a.ID, a.Condition, err)
	}
}

// settled waits until no item is dirty.
func (en *env) settled() {
	en.t.Helper()
	waitFor(en.t, "all work items reconciled", func() bool {
		items, err := en.st.ListItems(context.Background(), store.ItemFilter{DirtyOnly: true})
		return err == nil && len(items) == 0
	})
}

func (en *env) item(backend, key string) *store.Item {
	en.t.Helper()
	items, err := en.st.ListItems(context.Background(), store.ItemFilter{Backend: backend, CorrelationKey: key})
	if err != nil || len(items) != 1 {
		en.t.Fatalf("ListItems(%s, %s) = %d items, %v; want 1", backend, key, len(items), err)
	}
	return items[0]
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 20*time.Second, func() string { return what }, cond)
}

// waitWithin polls cond until it holds, failing after limit with what()
// (called then, so it can report the state that was reached).
func waitWithin(t testing.TB, limit time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fmtItems formats work items for failure messages: their values, not
// their addresses.
func fmtItems(items []*store.Item) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = fmt.Sprintf("{id %d key %q condition %s seq %d applied %d fired %d remote %s ref %s intent %q dirty %v dead %v attempts %d last error %q}",
			it.ID, it.CorrelationKey, it.Condition, it.Seq, it.AppliedSeq, it.FiredSeq, it.Remote, refName(it.Ref), it.Intent,
			it.Dirty, it.Dead, it.Attempts, it.LastError)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// fmtDeadLetters formats dead letters for failure messages.
func fmtDeadLetters(dls []*store.DeadLetter) string {
	out := make([]string, len(dls))
	for i, dl := range dls {
		out[i] = fmt.Sprintf("{id %d item %d backend %q key %q reason %q}", dl.ID, dl.ItemID, dl.Backend, dl.CorrelationKey, dl.Reason)
	}
	return "[" + strings.Join(out, ", ") + "]"
}

type counts map[string]int

func (f *fake) counts() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := counts{}
	for k, v := range f.calls {
		c[k] = v
	}
	return c
}

func sameCounts(got, want counts) bool {
	for _, op := range []string{"lookup", "create", "update", "resolve", "reopen"} {
		if got[op] != want[op] {
			return false
		}
	}
	return true
}

// TestReconcileTable walks one key through every row of the reconcile
// table and checks the plugin calls each step makes: one each, and no
// Lookup, as nothing was ever ambiguous.
func TestReconcileTable(t *testing.T) {
	f := newFake()
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	d := decision("fake.a", "k", time.Hour)
	steps := []struct {
		name   string
		alert  *sdk.Alert
		want   counts // cumulative
		items  int
		remote store.RemoteState
	}{
		{"none+fired: create", alert("a1", sdk.ConditionFired, t0), counts{"create": 1}, 1, store.RemoteOpen},
		{"duplicate fired: nothing", alert("a1", sdk.ConditionFired, t0), counts{"create": 1}, 1, store.RemoteOpen},
		{"open+fired again: update", alert("a1", sdk.ConditionFired, t0.Add(time.Minute)), counts{"create": 1, "update": 1}, 1, store.RemoteOpen},
		{"open+resolved: resolve", alert("a1", sdk.ConditionResolved, t0.Add(10*time.Minute)), counts{"create": 1, "update": 1, "resolve": 1}, 1, store.RemoteResolved},
		{"stale fired after resolve: nothing", alert("a1", sdk.ConditionFired, t0.Add(5*time.Minute)), counts{"create": 1, "update": 1, "resolve": 1}, 1, store.RemoteResolved},
		{"resolved+fired inside window: reopen", alert("a2", sdk.ConditionFired, t0.Add(70*time.Minute)), counts{"create": 1, "update": 1, "resolve": 1, "reopen": 1}, 1, store.RemoteOpen},
		{"resolve again", alert("a2", sdk.ConditionResolved, t0.Add(80*time.Minute)), counts{"create": 1, "update": 1, "resolve": 2, "reopen": 1}, 1, store.RemoteResolved},
		{"resolved+fired after window: new item", alert("a3", sdk.ConditionFired, t0.Add(80*time.Minute+61*time.Minute)), counts{"create": 2, "update": 1, "resolve": 2, "reopen": 1}, 2, store.RemoteOpen},
	}
	for _, st := range steps {
		en.ingest(st.alert, d)
		en.settled()
		if got := f.counts(); !sameCounts(got, st.want) {
			t.Fatalf("%s: calls %v, want %v", st.name, got, st.want)
		}
		if n := len(f.byKey("k")); n != st.items {
			t.Fatalf("%s: %d remote items, want %d", st.name, n, st.items)
		}
		if it := en.item("fake.a", "k"); it.Remote != st.remote || it.Dead {
			t.Fatalf("%s: remote %q dead %v, want %q", st.name, it.Remote, it.Dead, st.remote)
		}
	}
	items := f.byKey("k")
	if items[0].State != sdk.StateResolved || items[1].State != sdk.StateOpen {
		t.Errorf("remote states %s, %s; want resolved, open", items[0].State, items[1].State)
	}
	if ref := en.item("fake.a", "k").Ref; ref == nil || ref.ID != items[1].ID {
		t.Errorf("ref %+v, want the new item %s", ref, items[1].ID)
	}
}

func TestResolvedWithoutItemIsRecordedOnly(t *testing.T) {
	f := newFake()
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	d := decision("fake.a", "k", time.Hour)
	// Resolved arrives before its Fired: the older Fired must not create.
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
	en.settled()
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled()
	if got := f.counts(); !sameCounts(got, counts{}) {
		t.Errorf("calls %v, want none", got)
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteNone || it.Condition != sdk.ConditionResolved || it.AppliedSeq != it.Seq {
		t.Errorf("item remote %q condition %s applied %d/%d", it.Remote, it.Condition, it.AppliedSeq, it.Seq)
	}
}

const whyCreateAndResolve = "creating and resolving it per the route's on_resolved_without_item"

// TestResolvedWithoutItemPolicy: a Resolved for an alert that has no work
// item (the connector was down when it fired, say) is recorded only, or,
// with on_resolved_without_item = "create_and_resolve", goes through the
// crash-safe create (the intent recorded at ingest, Create) and is then
// resolved.
func TestResolvedWithoutItemPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy route.ResolvedPolicy
		caps   func(*sdk.Capabilities)
		seed   bool // an open item with the key already exists remotely
		adopt  bool // the backend's adopt_existing
		want   counts
		remote store.RemoteState
		states []sdk.WorkItemState // remote items with the key, oldest first
		note   string              // part of a state note in the audit trail
	}{
		{name: "default records only", want: counts{}, remote: store.RemoteNone,
			note: "alert resolved with no work item open; recorded only"},
		{name: "record records only", policy: route.ResolvedRecord, want: counts{}, remote: store.RemoteNone,
			note: "alert resolved with no work item open; recorded only"},
		{name: "create_and_resolve: create, resolve", policy: route.ResolvedCreateAndResolve,
			want: counts{"create": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: whyCreateAndResolve},
		{name: "create_and_resolve without Lookup: create, resolve", policy: route.ResolvedCreateAndResolve,
			caps: func(c *sdk.Capabilities) { c.Lookup = false },
			want: counts{"create": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: whyCreateAndResolve},
		{name: "create_and_resolve without Resolve: created and left open", policy: route.ResolvedCreateAndResolve,
			caps: func(c *sdk.Capabilities) { c.Resolve = false },
			want: counts{"create": 1}, remote: store.RemoteOpen,
			states: []sdk.WorkItemState{sdk.StateOpen}, note: "the plugin cannot resolve, so the work item stays open"},
		{name: "create_and_resolve with adopt_existing adopts an open item Lookup finds", policy: route.ResolvedCreateAndResolve, seed: true, adopt: true,
			want: counts{"lookup": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: "not creating another"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			caps := allCaps()
			if tc.caps != nil {
				tc.caps(&caps)
			}
			if tc.seed {
				f.seed("k")
			}
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps, AdoptExisting: tc.adopt}}, testOptions(), true)
			en.ingest(alert("a1", sdk.ConditionResolved, t0), withPolicy(decision("fake.a", "k", time.Hour), tc.policy))
			en.settled()
			if got := f.counts(); !sameCounts(got, tc.want) {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
			var states []sdk.WorkItemState
			for _, wi := range f.byKey("k") {
				states = append(states, wi.State)
			}
			if !reflect.DeepEqual(states, tc.states) {
				t.Errorf("remote items' states %v, want %v", states, tc.states)
			}
			it := en.item("fake.a", "k")
			if it.Remote != tc.remote || it.Intent != store.IntentNone || it.Dead || it.AppliedSeq != it.Seq {
				t.Errorf("item remote %q intent %q dead %v applied %d/%d; want remote %q, no intent, all applied",
					it.Remote, it.Intent, it.Dead, it.AppliedSeq, it.Seq, tc.remote)
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, tc.note) {
				t.Errorf("audit notes %q lack %q", notes, tc.note)
			}
			// A Fired older than the resolution changes nothing afterwards.
			en.ingest(alert("a1", sdk.ConditionFired, t0.Add(-time.Minute)), withPolicy(decision("fake.a", "k", time.Hour), tc.policy))
			en.settled()
			if got := f.counts(); !sameCounts(got, tc.want) {
				t.Errorf("after a stale Fired: calls %v, want %v", got, tc.want)
			}
		})
	}
}

// TestAcknowledgedFiredOutlivesItsResolution: the backend fails every
// Create (503) for an acknowledged Fired; the alert's Resolved arrives, the
// connector restarts, then the backend recovers. With the default
// on_resolved_without_item ("record") the Fired still gets its work item,
// created and then resolved, exactly once, and the audit trail says why.
func TestAcknowledgedFiredOutlivesItsResolution(t *testing.T) {
	f := newFake()
	unavailable := make([]error, 1000)
	for i := range unavailable {
		unavailable[i] = sdk.Retryable(errors.New("HTTP 503 Service Unavailable"))
	}
	f.fail("create", unavailable...)
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	d := decision("fake.a", "k", time.Hour)
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	waitFor(t, "a failed create", func() bool { return f.count("create") >= 1 })
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
	waitFor(t, "another failed create or the resolution settled", func() bool {
		it := en.item("fake.a", "k")
		return f.count("create") >= 2 || (!it.Dirty && it.AppliedSeq == it.Seq)
	})
	en.stop()
	f.mu.Lock()
	f.errs["create"] = nil // the backend recovers
	f.mu.Unlock()
	en.open(true)
	en.settled()
	var states []sdk.WorkItemState
	for _, wi := range f.byKey("k") {
		states = append(states, wi.State)
	}
	if !reflect.DeepEqual(states, []sdk.WorkItemState{sdk.StateResolved}) {
		t.Errorf("remote items' states %v, want one resolved item", states)
	}
	if n := f.count("resolve"); n != 1 {
		t.Errorf("resolve called %d times, want 1", n)
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteResolved || it.Intent != store.IntentNone || it.Dead || it.AppliedSeq != it.Seq {
		t.Errorf("item %s; want remote resolved, no intent, all applied", fmtItems([]*store.Item{it}))
	}
	if notes := en.stateNotes(it.ID); !hasNote(notes, whyAcknowledgedFired) {
		t.Errorf("audit notes %q lack %q", notes, whyAcknowledgedFired)
	}
}

const whyAcknowledgedFired = "its acknowledged Fired still needs its work item"

// TestAcknowledgedRefireOutlivesItsResolution: an alert's first incident
// was delivered and resolved; it fires again and resolves again while the
// workers are stopped. The second, acknowledged Fired still gets its work
// item, as the reconcile table says for a re-fire (Reopen inside the
// window, a new item after it, a new item when the old one was deleted),
// and is then resolved, under the default policy.
func TestAcknowledgedRefireOutlivesItsResolution(t *testing.T) {
	tests := []struct {
		name    string
		refire  time.Duration // after the first resolution
		deleted bool          // the first item was deleted remotely
		want    counts
		states  []sdk.WorkItemState
	}{
		{name: "inside the window: reopen, resolve", refire: 10 * time.Minute,
			want:   counts{"create": 1, "resolve": 2, "reopen": 1},
			states: []sdk.WorkItemState{sdk.StateResolved}},
		{name: "after the window: create, resolve", refire: 2 * time.Hour,
			want:   counts{"create": 2, "resolve": 2},
			states: []sdk.WorkItemState{sdk.StateResolved, sdk.StateResolved}},
		{name: "inside the window, old item deleted: create, resolve", refire: 10 * time.Minute, deleted: true,
			want:   counts{"create": 2, "resolve": 2, "reopen": 1},
			states: []sdk.WorkItemState{sdk.StateResolved}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
			d := decision("fake.a", "k", time.Hour)
			en.ingest(alert("a1", sdk.ConditionFired, t0), d)
			en.settled()
			en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
			en.settled()
			if tc.deleted {
				f.delete(en.item("fake.a", "k").Ref.ID)
			}
			en.stop()
			en.open(false)
			refired := t0.Add(time.Minute + tc.refire)
			en.ingest(alert("a2", sdk.ConditionFired, refired), d)
			en.ingest(alert("a2", sdk.ConditionResolved, refired.Add(time.Minute)), d)
			if err := en.e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			en.settled()
			if got := f.counts(); !sameCounts(got, tc.want) {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
			var states []sdk.WorkItemState
			for _, wi := range f.byKey("k") {
				states = append(states, wi.State)
			}
			if !reflect.DeepEqual(states, tc.states) {
				t.Errorf("remote items' states %v, want %v", states, tc.states)
			}
			it := en.item("fake.a", "k")
			if it.Remote != store.RemoteResolved || it.Intent != store.IntentNone || it.Dead || it.AppliedSeq != it.Seq {
				t.Errorf("item %s; want remote resolved, no intent, all applied", fmtItems([]*store.Item{it}))
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, whyAcknowledgedFired) {
				t.Errorf("audit notes %q lack %q", notes, whyAcknowledgedFired)
			}
		})
	}
}

// TestResolvedAfterCreatingIntent starts from a recorded "creating" intent
// whose Create was never recorded (a crash or a failed call ended the claim)
// and an alert that has resolved since: the intent was recorded for its
// Fired, or for the Resolved itself. After the restart Lookup runs first; an
// item Create made before the crash is adopted and resolved, never created
// twice. Otherwise an acknowledged Fired is created and resolved under any
// policy, and only for a resolution without one does the route's policy
// decide.
func TestResolvedAfterCreatingIntent(t *testing.T) {
	tests := []struct {
		name    string
		policy  route.ResolvedPolicy
		fired   bool // the intent was recorded for a Fired
		created bool // Create reached the backend before the crash
		want    counts
		remote  store.RemoteState
		states  []sdk.WorkItemState
		note    string
	}{
		{name: "record: the acknowledged Fired is created, then resolved", policy: route.ResolvedRecord, fired: true,
			want: counts{"lookup": 1, "create": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: whyAcknowledgedFired},
		{name: "record: intent for a resolution whose Fired was never acknowledged: nothing to create", policy: route.ResolvedRecord,
			want: counts{"lookup": 1}, remote: store.RemoteNone, note: "resolved before its work item was created; nothing to create"},
		{name: "record: the item created before the crash is resolved", policy: route.ResolvedRecord, fired: true, created: true,
			want: counts{"lookup": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: "not creating another"},
		{name: "create_and_resolve: fired, then resolved before Create", policy: route.ResolvedCreateAndResolve, fired: true,
			want: counts{"lookup": 1, "create": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: whyAcknowledgedFired},
		{name: "create_and_resolve: intent for the resolution, nothing created yet", policy: route.ResolvedCreateAndResolve,
			want: counts{"lookup": 1, "create": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: "creating and resolving it"},
		{name: "create_and_resolve: intent for the resolution, Lookup finds the created item", policy: route.ResolvedCreateAndResolve, created: true,
			want: counts{"lookup": 1, "resolve": 1}, remote: store.RemoteResolved,
			states: []sdk.WorkItemState{sdk.StateResolved}, note: "not creating another"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake()
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), false)
			d := withPolicy(decision("fake.a", "k", time.Hour), tc.policy)
			resolved := alert("a1", sdk.ConditionResolved, t0.Add(time.Minute))
			if tc.fired {
				en.ingest(alert("a1", sdk.ConditionFired, t0), d)
			} else {
				en.ingest(resolved, d)
			}
			// A claim attempts the Create (the claim marked the attempt, or
			// the worker recorded it), then the claim ends, its outcome
			// unknown.
			claimed := time.Now()
			items, err := en.st.Claim(ctx, "fake.a", en.opts.InstanceID, claimed, time.Minute, 1)
			if err != nil || len(items) != 1 {
				t.Fatalf("Claim = %s, %v; want one item", fmtItems(items), err)
			}
			if err := en.st.Record(ctx, store.Progress{ItemID: items[0].ID, Owner: en.opts.InstanceID, Now: time.Now(),
				Remote: store.RemoteNone, Intent: store.IntentCreating, CreateAttemptAt: claimed, Retry: true, RetryAt: time.Now(),
				Events: []store.Event{{Kind: store.EventState, Message: "intent recorded: creating a work item"}}}); err != nil {
				t.Fatal(err)
			}
			if tc.created {
				f.seed("k")
			}
			if tc.fired {
				en.ingest(resolved, d)
			}
			if err := en.e.Start(ctx); err != nil {
				t.Fatal(err)
			}
			en.settled()
			if got := f.counts(); !sameCounts(got, tc.want) {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
			var states []sdk.WorkItemState
			for _, wi := range f.byKey("k") {
				states = append(states, wi.State)
			}
			if !reflect.DeepEqual(states, tc.states) {
				t.Errorf("remote items' states %v, want %v", states, tc.states)
			}
			it := en.item("fake.a", "k")
			if it.Remote != tc.remote || it.Intent != store.IntentNone || it.Dead || it.AppliedSeq != it.Seq {
				t.Errorf("item remote %q intent %q dead %v applied %d/%d; want remote %q, no intent, all applied",
					it.Remote, it.Intent, it.Dead, it.AppliedSeq, it.Seq, tc.remote)
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, tc.note) {
				t.Errorf("audit notes %q lack %q", notes, tc.note)
			}
		})
	}
}

// TestCreateAndResolveCreateTimesOut: Create acts in the backend but its
// answer is lost (a timeout); the retry's Lookup finds the item, so it is
// resolved and not created twice.
func TestCreateAndResolveCreateTimesOut(t *testing.T) {
	f := newFake()
	f.createThenFail = context.DeadlineExceeded
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionResolved, t0), withPolicy(decision("fake.a", "k", 0), route.ResolvedCreateAndResolve))
	en.settled()
	if got, want := f.counts(), (counts{"lookup": 1, "create": 1, "resolve": 1}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if items := f.byKey("k"); len(items) != 1 || items[0].State != sdk.StateResolved {
		t.Errorf("remote items %+v, want one, resolved", items)
	}
	if it := en.item("fake.a", "k"); it.Remote != store.RemoteResolved || it.Intent != store.IntentNone {
		t.Errorf("item remote %q intent %q", it.Remote, it.Intent)
	}
}

// TestResolveOfDeletedItemIsNotRecreated: an item deleted in the backend
// while its alert was firing is forgotten when the alert resolves, under
// either policy; create_and_resolve does not bring it back.
func TestResolveOfDeletedItemIsNotRecreated(t *testing.T) {
	for _, p := range []route.ResolvedPolicy{route.ResolvedRecord, route.ResolvedCreateAndResolve} {
		t.Run(string(p), func(t *testing.T) {
			f := newFake()
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
			d := withPolicy(decision("fake.a", "k", time.Hour), p)
			en.ingest(alert("a1", sdk.ConditionFired, t0), d)
			en.settled()
			f.delete(en.item("fake.a", "k").Ref.ID)
			en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
			en.settled()
			if got, want := f.counts(), (counts{"create": 1, "resolve": 1}); !sameCounts(got, want) {
				t.Errorf("calls %v, want %v", got, want)
			}
			it := en.item("fake.a", "k")
			if it.Remote != store.RemoteNone || it.Dead || f.total() != 0 {
				t.Errorf("remote %q dead %v remote items %d; want forgotten, nothing recreated", it.Remote, it.Dead, f.total())
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, "no longer exists in the backend; forgotten; the alert resolved") {
				t.Errorf("audit notes %q lack the forgotten resolution", notes)
			}
		})
	}
}

func TestReopenWithoutCapabilityCreates(t *testing.T) {
	f := newFake()
	caps := allCaps()
	caps.Reopen, caps.Lookup = false, false
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, testOptions(), true)
	d := decision("fake.a", "k", time.Hour)
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled() // created before it resolves
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
	en.settled()
	en.ingest(alert("a2", sdk.ConditionFired, t0.Add(2*time.Minute)), d)
	en.settled()
	if got := f.counts(); !sameCounts(got, counts{"create": 2, "resolve": 1}) {
		t.Errorf("calls %v", got)
	}
}

func TestNotFoundForgetsAndCreates(t *testing.T) {
	f := newFake()
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	d := decision("fake.a", "k", time.Hour)
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled()
	first := en.item("fake.a", "k").Ref.ID
	f.delete(first)
	en.ingest(alert("a1", sdk.ConditionFired, t0.Add(time.Minute)), d)
	en.settled()
	it := en.item("fake.a", "k")
	if it.Ref == nil || it.Ref.ID == first || it.Remote != store.RemoteOpen {
		t.Fatalf("ref %+v remote %q; want a new open item", it.Ref, it.Remote)
	}
	if got := f.counts(); got["update"] != 1 || got["create"] != 2 {
		t.Errorf("calls %v; want the failed update then a second create", got)
	}
	// NotFound on resolve: nothing left to resolve, recorded only.
	f.delete(it.Ref.ID)
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(2*time.Minute)), d)
	en.settled()
	if it := en.item("fake.a", "k"); it.Remote != store.RemoteNone || it.Dead || f.total() != 0 {
		t.Errorf("after resolve of a deleted item: remote %q dead %v remote items %d", it.Remote, it.Dead, f.total())
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	f := newFake()
	const ra = 300 * time.Millisecond
	f.fail("create", sdk.RetryableAfter(errors.New("HTTP 503"), ra), sdk.RetryableAfter(errors.New("HTTP 429"), ra))
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	en.settled()
	times := f.callTimes("create")
	if len(times) != 3 {
		t.Fatalf("create called %d times, want 3", len(times))
	}
	if n := len(f.byKey("k")); n != 1 {
		t.Errorf("%d remote items, want 1", n)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < ra {
			t.Errorf("retry %d came %v after the previous call; Retry-After asked for %v", i, gap, ra)
		}
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteOpen || it.Attempts != 0 || it.LastError != "" {
		t.Errorf("item remote %q attempts %d last error %q", it.Remote, it.Attempts, it.LastError)
	}
	evs, err := en.st.Events(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var retryable int
	for _, e := range evs {
		if e.Kind == store.EventCall && e.Op == "create" && e.Outcome == string(sdk.KindRetryable) {
			retryable++
		}
	}
	if retryable != 2 {
		t.Errorf("audit has %d retryable create calls, want 2: %+v", retryable, evs)
	}
}

func TestPermanentErrorDeadLettersAndReplay(t *testing.T) {
	f := newFake()
	f.fail("create", sdk.Permanent(errors.New("HTTP 400: field urgency invalid")))
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	var dls []*store.DeadLetter
	waitFor(t, "a dead letter", func() bool {
		dls, _ = en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
		return len(dls) == 1
	})
	if !strings.Contains(dls[0].Reason, "permanently") || !strings.Contains(dls[0].LastError, "urgency invalid") {
		t.Errorf("dead letter reason %q error %q", dls[0].Reason, dls[0].LastError)
	}
	if f.count("create") != 1 {
		t.Errorf("create called %d times; a permanent error must not be retried", f.count("create"))
	}
	st, err := en.e.Stats(context.Background())
	if err != nil || st.Backends["fake.a"].DeadLetters != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}
	if _, err := en.e.Replay(context.Background(), dls[0].ID); err != nil {
		t.Fatal(err)
	}
	en.settled()
	if it := en.item("fake.a", "k"); it.Remote != store.RemoteOpen || it.Dead || len(f.byKey("k")) != 1 {
		t.Errorf("after replay: remote %q dead %v items %d", it.Remote, it.Dead, len(f.byKey("k")))
	}
}

// TestMaxAttemptsDeadLetters: every failed attempt counts, and each retry
// of a failed Create (whose outcome is unknown) looks the key up first.
func TestMaxAttemptsDeadLetters(t *testing.T) {
	f := newFake()
	for range 3 {
		f.fail("create", errors.New("connection reset")) // unclassified: retryable
	}
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxAttempts: 3}}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	waitFor(t, "a dead letter", func() bool {
		dls, _ := en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
		return len(dls) == 1 && strings.Contains(dls[0].Reason, "3 attempts")
	})
	if got, want := f.counts(), (counts{"lookup": 2, "create": 3}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func TestUnmatchedDeadLetterReplayReroutes(t *testing.T) {
	f := newFake()
	opts := testOptions()
	opts.Router = func(a *sdk.Alert) (route.Decision, error) { return decision("fake.a", a.ID, 0), nil }
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
	en.ingest(alert("u1", sdk.ConditionFired, t0), route.Decision{Unmatched: "no route matched severity 4"})
	dls, err := en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
	if err != nil || len(dls) != 1 || dls[0].ItemID != 0 {
		t.Fatalf("dead letters %s, %v; want one unmatched", fmtDeadLetters(dls), err)
	}
	if _, err := en.e.Replay(context.Background(), dls[0].ID); err != nil {
		t.Fatal(err)
	}
	en.settled()
	if len(f.byKey("u1")) != 1 {
		t.Errorf("replayed alert not delivered")
	}
	if dls, _ := en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{}); len(dls) != 0 {
		t.Errorf("letter kept after replay: %s", fmtDeadLetters(dls))
	}
}

func TestMaxInFlight(t *testing.T) {
	f := newFake()
	f.latency = 20 * time.Millisecond
	caps := allCaps()
	caps.Lookup = false
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps, Limits: Limits{MaxInFlight: 2}}}, testOptions(), true)
	for i := range 12 {
		en.ingest(alert(fmt.Sprint(i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0))
	}
	en.settled()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxInFlight > 2 || f.maxInFlight < 1 || len(f.items) != 12 {
		t.Errorf("max in flight %d (limit 2), items %d", f.maxInFlight, len(f.items))
	}
}

func TestRateLimit(t *testing.T) {
	f := newFake()
	caps := allCaps()
	caps.Lookup = false
	const rate = 20.0
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps, Limits: Limits{RateLimit: rate, Burst: 1, MaxInFlight: 8}}}, testOptions(), true)
	for i := range 6 {
		en.ingest(alert(fmt.Sprint(i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0))
	}
	en.settled()
	times := f.callTimes("create")
	if len(times) != 6 {
		t.Fatalf("create called %d times, want 6", len(times))
	}
	first, last := times[0], times[0]
	for _, tm := range times {
		first, last = minTime(first, tm), maxTime(last, tm)
	}
	// 6 calls at 20/s with a burst of 1 span at least 5 intervals.
	if span, want := last.Sub(first), time.Duration(5/rate*float64(time.Second))-10*time.Millisecond; span < want {
		t.Errorf("6 calls spanned %v; the rate limit allows no less than %v", span, want)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func TestSlowBackendDoesNotBlockOthers(t *testing.T) {
	slow, fast := newFake(), newFake()
	slow.gate = make(chan struct{})
	en := newEnv(t, StaticBackends{
		"fake.slow": {Client: slow, Capabilities: allCaps(), Limits: Limits{MaxInFlight: 2}},
		"fake.fast": {Client: fast, Capabilities: allCaps(), Limits: Limits{MaxInFlight: 2}},
	}, testOptions(), true)
	for i := range 10 {
		en.ingest(alert(fmt.Sprint("s", i), sdk.ConditionFired, t0), decision("fake.slow", fmt.Sprint("s", i), 0))
	}
	for i := range 10 {
		en.ingest(alert(fmt.Sprint("f", i), sdk.ConditionFired, t0), decision("fake.fast", fmt.Sprint("f", i), 0))
	}
	waitFor(t, "the fast backend to get all its items while the slow one hangs", func() bool { return fast.total() == 10 })
	if slow.total() != 0 {
		t.Fatalf("slow backend made progress while gated")
	}
	close(slow.gate)
	en.settled()
	if slow.total() != 10 {
		t.Errorf("slow backend has %d items after release, want 10", slow.total())
	}
}

// TestRestartResumesWithoutDuplicate: alerts ingested before a crash are
// delivered after restart, and a Create that reached the backend but was not
// recorded is found by Lookup instead of created again.
func TestRestartResumesWithoutDuplicate(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	bs := StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}
	en := newEnv(t, bs, testOptions(), false)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k1", 0))
	en.ingest(alert("a2", sdk.ConditionFired, t0), decision("fake.a", "k2", 0))
	en.stop() // never started: both items wait, dirty
	// Start for real; Create of k1 acts remotely and then "crashes".
	close(f.gate)
	f.gate = nil
	f.createThenFail = context.DeadlineExceeded
	en.open(true)
	en.settled()
	for _, k := range []string{"k1", "k2"} {
		if n := len(f.byKey(k)); n != 1 {
			t.Errorf("%s: %d remote items, want exactly 1", k, n)
		}
		if it := en.item("fake.a", k); it.Remote != store.RemoteOpen || it.Intent != store.IntentNone {
			t.Errorf("%s: remote %q intent %q", k, it.Remote, it.Intent)
		}
	}
	if c := f.count("create"); c != 2 {
		t.Errorf("create called %d times, want 2 (one per key, none repeated)", c)
	}
}

// TestCrashDuringCreateResumesByLookup stops the engine while a Create is in
// flight (it acted remotely); the next start sees the "creating" intent and
// adopts the item through Lookup.
func TestCrashDuringCreateResumesByLookup(t *testing.T) {
	f := newFake()
	bs := StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}
	en := newEnv(t, bs, testOptions(), true)
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	waitFor(t, "create in flight", func() bool { return f.count("create") == 1 })
	// The fake stores an item only after its gate opens; emulate the remote
	// side having acted while the answer is still on its way.
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprintf("W%d", f.nextID)
	f.items[id] = &sdk.WorkItem{ID: id, State: sdk.StateOpen, CorrelationKey: "k"}
	f.order = append(f.order, id)
	f.mu.Unlock()
	en.stop() // cancels the hanging create
	close(gate)
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	st, err := sqlite.Open(context.Background(), en.path)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := st.ListItems(context.Background(), store.ItemFilter{CorrelationKey: "k"})
	_ = st.Close()
	if len(items) != 1 || items[0].Intent != store.IntentCreating || !items[0].Dirty || items[0].CreateAttemptAt.IsZero() {
		t.Fatalf("after crash: %s; want a dirty item with a creating intent and its attempt marked", fmtItems(items))
	}
	en.open(true)
	en.settled()
	if n := len(f.byKey("k")); n != 1 {
		t.Errorf("%d remote items, want exactly 1", n)
	}
	if got, want := f.counts(), (counts{"create": 1, "lookup": 1}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if it := en.item("fake.a", "k"); it.Ref == nil || it.Ref.ID != id {
		t.Errorf("ref %+v, want the item created before the crash (%s)", it.Ref, id)
	}
}

func TestAuditTrail(t *testing.T) {
	f := newFake()
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	d := decision("fake.a", "k", 0)
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled() // created before it resolves
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
	en.settled()
	evs, err := en.st.Events(context.Background(), en.item("fake.a", "k").ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		switch e.Kind {
		case store.EventNotification:
			got = append(got, "notification:"+e.Op+":"+e.Outcome)
		case store.EventCall:
			got = append(got, "call:"+e.Op+":"+e.Outcome)
		}
	}
	joined := strings.Join(got, " ")
	if strings.Contains(joined, "call:lookup") {
		t.Errorf("audit trail %q has a lookup; nothing was ambiguous", joined)
	}
	for _, want := range []string{"notification:fired:new", "notification:resolved:applied", "call:create:ok", "call:resolve:ok"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit trail %q lacks %q", joined, want)
		}
	}
}

func TestIngestConcurrentGroupCommit(t *testing.T) {
	en := newEnv(t, StaticBackends{"fake.a": {Client: newFake(), Capabilities: allCaps()}}, testOptions(), false)
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- en.e.Ingest(context.Background(), alert(fmt.Sprint(i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := en.e.Stats(context.Background())
	if err != nil || st.Backends["fake.a"].Queued != n {
		t.Errorf("queued %+v, %v; want %d", st.Backends["fake.a"], err, n)
	}
}

func TestIngestUnavailable(t *testing.T) {
	en := newEnv(t, StaticBackends{"fake.a": {Client: newFake(), Capabilities: allCaps()}}, testOptions(), false)
	_ = en.st.Close() // the store is gone
	err := en.e.Ingest(context.Background(), alert("a", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ingest on a closed store = %v, want ErrUnavailable", err)
	}
	en.stop()
	err = en.e2Ingest()
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ingest after Stop = %v, want ErrUnavailable", err)
	}
}

func (en *env) e2Ingest() error {
	st, err := sqlite.Open(context.Background(), en.path)
	if err != nil {
		return err
	}
	defer st.Close()
	e, err := New(st, en.bs, en.opts, nil)
	if err != nil {
		return err
	}
	_ = e.Stop(context.Background())
	return e.Ingest(context.Background(), alert("a", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
}

func TestIngestValidates(t *testing.T) {
	en := newEnv(t, StaticBackends{}, testOptions(), false)
	tests := []struct {
		name string
		a    *sdk.Alert
		d    route.Decision
	}{
		{"no alert", nil, decision("fake.a", "k", 0)},
		{"no id", alert("", sdk.ConditionFired, t0), decision("fake.a", "k", 0)},
		{"bad condition", &sdk.Alert{ID: "x", Condition: "maybe"}, decision("fake.a", "k", 0)},
		{"no key", alert("x", sdk.ConditionFired, t0), decision("fake.a", "", 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := en.e.Ingest(context.Background(), tt.a, tt.d)
			if err == nil || errors.Is(err, ErrUnavailable) {
				t.Errorf("Ingest = %v, want a validation error", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"defaults", Options{}, ""},
		{"lease below timeout", Options{LeaseDuration: time.Second, CallTimeout: time.Minute}, "LeaseDuration"},
		{"backoff max below base", Options{BackoffBase: time.Minute, BackoffMax: time.Second}, "BackoffMax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

// TestDeadLetterObservations: metrics hear why each dead letter was
// written.
func TestDeadLetterObservations(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	opts := testOptions()
	opts.Observer = func(o Observation) {
		if o.Op == "dead_letter" {
			mu.Lock()
			got = append(got, o.Backend+":"+o.Outcome)
			mu.Unlock()
		}
	}
	permanent, flaky := newFake(), newFake()
	permanent.fail("create", sdk.Permanent(errors.New("HTTP 400")))
	flaky.fail("create", errors.New("connection refused"))
	en := newEnv(t, StaticBackends{
		"fake.p": {Client: permanent, Capabilities: sdk.Capabilities{Resolve: true}},
		"fake.r": {Client: flaky, Capabilities: sdk.Capabilities{Resolve: true}, Limits: Limits{MaxAttempts: 1}},
	}, opts, true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.p", "k", 0))
	en.ingest(alert("a2", sdk.ConditionFired, t0), decision("fake.r", "k", 0))
	en.ingest(alert("a3", sdk.ConditionFired, t0), route.Decision{Unmatched: "no route matched"})
	want := []string{":" + DeadLetterUnmatched, "fake.p:" + DeadLetterPermanent, "fake.r:" + DeadLetterMaxAttempts}
	waitFor(t, "three dead letters observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("observed dead letters %v, want %v", got, want)
	}
}

// TestBindingsObservedAndKept: the observer hears the bindings a call
// reports (the metric of unbound configuration items counts them), and a
// later call that reports none (the resolve) keeps them on the stored ref,
// where the console shows them.
func TestBindingsObservedAndKept(t *testing.T) {
	var (
		mu  sync.Mutex
		got map[string][]sdk.CIBinding
	)
	got = map[string][]sdk.CIBinding{}
	opts := testOptions()
	opts.Observer = func(o Observation) {
		mu.Lock()
		defer mu.Unlock()
		got[o.Op+":"+o.Outcome] = o.Bindings
	}
	bindings := []sdk.CIBinding{
		{ConfigurationItem: sdk.ConfigurationItem{Name: "vm1"}, BoundID: "ci-1", BoundBy: "name"},
		{ConfigurationItem: sdk.ConfigurationItem{Name: "vm2"}, Reason: "no cmdb_ci record with name = \"vm2\""},
	}
	f := newFake()
	f.bindings = bindings
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
	d := decision("fake.a", "k", 0)
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled()
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(time.Minute)), d)
	en.settled()
	mu.Lock()
	created, resolved := got["create:ok"], got["resolve:ok"]
	mu.Unlock()
	if !reflect.DeepEqual(created, bindings) || resolved != nil {
		t.Errorf("observed bindings: create %+v, resolve %+v; want the two bindings, then none", created, resolved)
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteResolved || it.Ref == nil || !reflect.DeepEqual(it.Ref.Bindings, bindings) {
		t.Errorf("stored item: remote %q ref %+v; want resolved with the create's bindings", it.Remote, it.Ref)
	}
}

// Starting an engine after Stop is refused: its recorder is gone, and the
// runners would wait on it forever.
func TestStartAfterStopIsRefused(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(st, StaticBackends{"fake.a": {Client: newFake(), Capabilities: allCaps()}}, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "already stopped") {
		t.Fatalf("Start after Stop: %v; want an error saying it is stopped", err)
	}
}
