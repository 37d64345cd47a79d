package delivery

import (
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// withFields returns a one-delivery decision with fields and policy.
func withFields(key string, window time.Duration, fields map[string]any, p route.Policy) route.Decision {
	return route.Decision{Deliveries: []route.Delivery{{Route: "r", Backend: "fake.a", CorrelationKey: key, ReopenWindow: window,
		Fields: fields, Policy: p}}}
}

// TestFieldPolicyThroughTheEngine: a route's field policy reaches each
// call, and a never_after_human field a person changed between two
// re-fires is left to them from then on (the engine reads the tool's
// values before each re-fire that needs them, and not after).
func TestFieldPolicyThroughTheEngine(t *testing.T) {
	f := newFake()
	caps := allCaps()
	caps.ReadStatus, caps.FieldPolicy = true, true
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, testOptions(), true)
	p := route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{
		"assignee": route.FieldNeverAfterHuman, "priority": route.FieldComment, "summary": route.FieldAlways}}
	fire := func(at time.Duration, assignee, priority, summary string) {
		t.Helper()
		en.ingest(alert("a1", sdk.ConditionFired, t0.Add(at)), withFields("k", time.Hour,
			map[string]any{"assignee": assignee, "priority": priority, "summary": summary, "group": "network"}, p))
		en.settled()
	}
	lastWire := func(op string) map[string]sdk.FieldPolicy {
		t.Helper()
		reqs := f.requests(op)
		if len(reqs) == 0 {
			t.Fatalf("no %s call", op)
		}
		return reqs[len(reqs)-1].FieldPolicy
	}

	fire(0, "alice", "3", "cpu 91%")
	id := f.byKey("k")[0].ID
	if w := lastWire("create"); w["assignee"] != sdk.FieldAlways || w["priority"] != sdk.FieldComment || w["group"] != sdk.FieldCreate {
		t.Errorf("create's policy = %v", w)
	}
	it := en.item("fake.a", "k")
	if it.FieldState["assignee"] != (store.FieldState{Written: "alice"}) || it.FieldState["priority"] != (store.FieldState{Written: "3"}) {
		t.Errorf("field state after create = %v", it.FieldState)
	}

	// Re-fire: the tool still holds alice, so assignee is written.
	fire(time.Minute, "bob", "2", "cpu 97%")
	want := map[string]sdk.FieldPolicy{"assignee": sdk.FieldAlways, "priority": sdk.FieldComment, "summary": sdk.FieldAlways, "group": sdk.FieldCreate}
	if w := lastWire("update"); !equalWire(w, want) {
		t.Errorf("first update's policy = %v, want %v", w, want)
	}
	if got := f.field(id, "assignee"); got != "bob" {
		t.Errorf("assignee = %q after the first re-fire, want bob", got)
	}

	// A person takes the work item over.
	f.edit(id, "assignee", "carol")
	fire(2*time.Minute, "dave", "2", "cpu 99%")
	want = map[string]sdk.FieldPolicy{"assignee": sdk.FieldCreate, "priority": sdk.FieldCreate, "summary": sdk.FieldAlways, "group": sdk.FieldCreate}
	if w := lastWire("update"); !equalWire(w, want) {
		t.Errorf("update after the person's edit: policy %v, want %v", w, want)
	}
	if got := f.field(id, "assignee"); got != "carol" {
		t.Errorf("assignee = %q, want the person's carol", got)
	}
	it = en.item("fake.a", "k")
	if st := it.FieldState["assignee"]; !st.Human {
		t.Errorf("assignee's state = %+v, want it marked as a person's", st)
	}
	if notes := en.stateNotes(it.ID); !hasNote(notes, `assignee (never_after_human: a person changed it to "carol", the connector wrote "bob"`) ||
		!hasNote(notes, `into the comment: priority ("2", was "3")`) {
		t.Errorf("audit notes = %q", notes)
	}

	// Nothing left to detect: no more status reads.
	reads := f.count("read_status")
	fire(3*time.Minute, "erin", "1", "cpu 95%")
	if got := f.count("read_status"); got != reads || reads != 2 {
		t.Errorf("status reads: %d, then %d; want 2, then no more", reads, got)
	}
	if w := lastWire("update"); w["assignee"] != sdk.FieldCreate || w["priority"] != sdk.FieldComment {
		t.Errorf("last update's policy = %v", w)
	}
}

func equalWire(a, b map[string]sdk.FieldPolicy) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestNoFieldPolicyNoWire: a route without a field policy sends none, and
// reads no status.
func TestNoFieldPolicyNoWire(t *testing.T) {
	f := newFake()
	caps := allCaps()
	caps.ReadStatus = true
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, testOptions(), true)
	for i := range 2 {
		en.ingest(alert("a1", sdk.ConditionFired, t0.Add(time.Duration(i)*time.Minute)), decision("fake.a", "k", time.Hour))
		en.settled()
	}
	if f.requests("create")[0].FieldPolicy != nil || f.requests("update")[0].FieldPolicy != nil || f.count("read_status") != 0 {
		t.Errorf("create policy %v, update policy %v, %d status reads; want none",
			f.requests("create")[0].FieldPolicy, f.requests("update")[0].FieldPolicy, f.count("read_status"))
	}
}

// TestWontFix: a re-fire inside the reopen window of a work item resolved
// with a resolution the route's wont_fix lists comments on it (Update) and
// leaves it resolved; another resolution reopens it.
func TestWontFix(t *testing.T) {
	for _, tt := range []struct {
		resolution string
		reopens    bool
	}{
		{"Won't Fix", false},
		{"won't do", false},
		{"Done", true},
	} {
		t.Run(tt.resolution, func(t *testing.T) {
			f := newFake()
			caps := allCaps()
			caps.ReadStatus = true
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, testOptions(), true)
			d := withFields("k", time.Hour, nil, route.Policy{WontFix: []string{"Won't Fix", "Won't Do"}})
			en.ingest(alert("a1", sdk.ConditionFired, t0), d)
			en.settled()
			en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(5*time.Minute)), d)
			en.settled()
			f.resolveAs(f.byKey("k")[0].ID, tt.resolution)
			en.ingest(alert("a1", sdk.ConditionFired, t0.Add(10*time.Minute)), d)
			en.settled()
			it := en.item("fake.a", "k")
			got := counts{"reopen": f.count("reopen"), "update": f.count("update"), "read_status": f.count("read_status"), "create": f.count("create")}
			if tt.reopens {
				if got["reopen"] != 1 || got["update"] != 0 || it.Remote != store.RemoteOpen {
					t.Errorf("calls %v, remote %s; want a reopen", got, it.Remote)
				}
				return
			}
			if got["reopen"] != 0 || got["update"] != 1 || got["read_status"] != 1 || got["create"] != 1 {
				t.Errorf("calls %v; want one status read and one update (the comment), no reopen or new item", got)
			}
			if it.Remote != store.RemoteResolved || it.AppliedSeq != it.Seq || it.Ref.State != sdk.StateResolved {
				t.Errorf("item %s", fmtItems([]*store.Item{it}))
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, "which the route's wont_fix lists: not reopened; a comment says it fired again") {
				t.Errorf("audit notes = %q", notes)
			}
			// Resolving again needs nothing; after the window, a new item.
			en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(15*time.Minute)), d)
			en.settled()
			en.ingest(alert("a1", sdk.ConditionFired, t0.Add(3*time.Hour)), d)
			en.settled()
			if f.count("create") != 2 || f.count("reopen") != 0 || f.count("resolve") != 1 {
				t.Errorf("after the window: %d creates, %d reopens, %d resolves; want a new item", f.count("create"), f.count("reopen"), f.count("resolve"))
			}
		})
	}
}

// TestWontFixItemDeleted: a status read that no longer finds the work item
// forgets it, and the re-fire gets a new one.
func TestWontFixItemDeleted(t *testing.T) {
	f := newFake()
	caps := allCaps()
	caps.ReadStatus = true
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, testOptions(), true)
	d := withFields("k", time.Hour, nil, route.Policy{WontFix: []string{"Won't Fix"}})
	en.ingest(alert("a1", sdk.ConditionFired, t0), d)
	en.settled()
	en.ingest(alert("a1", sdk.ConditionResolved, t0.Add(5*time.Minute)), d)
	en.settled()
	f.delete(f.byKey("k")[0].ID)
	en.ingest(alert("a1", sdk.ConditionFired, t0.Add(10*time.Minute)), d)
	en.settled()
	if f.count("create") != 2 || f.count("reopen") != 0 || f.total() != 1 {
		t.Errorf("%d creates, %d reopens, %d items; want a new item", f.count("create"), f.count("reopen"), f.total())
	}
}
