package delivery

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestFlappingWontFix: an alert that starts flapping while its work item
// is resolved as won't fix gets one comment, the note that it flaps (the
// item stays resolved), and its later re-fires are recorded, not sent. A
// new work item after the reopen window gets its own note.
func TestFlappingWontFix(t *testing.T) {
	f := newFake()
	clk := newClock(t0.Add(10 * time.Minute))
	var obs observations
	opts := testOptions()
	opts.Now, opts.Observer = clk.Now, obs.add
	caps := allCaps()
	caps.ReadStatus = true
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, opts, true)
	d := withFields("k", time.Hour, nil, route.Policy{WontFix: []string{"Won't Fix"}})
	d.Deliveries[0].Flap = &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 2, QuietPeriod: 10 * time.Minute}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	send := func(cond sdk.Condition, m int) {
		t.Helper()
		en.ingest(alert("a", cond, at(m)), d)
		en.settled()
	}

	send(sdk.ConditionFired, 0)
	send(sdk.ConditionResolved, 1)
	f.resolveAs(f.byKey("k")[0].ID, "Won't Fix")
	// The third transition flaps: the item stays resolved, the comment
	// says the alert flaps.
	send(sdk.ConditionFired, 2)
	if notes := f.callNotes(); len(notes) != 1 || !strings.HasPrefix(notes[0], "update: Alert is flapping") || !strings.Contains(notes[0], `stays resolved ("Won't Fix")`) {
		t.Fatalf("notes sent = %q; want one update saying the alert flaps and the item stays resolved", notes)
	}
	send(sdk.ConditionResolved, 3)
	send(sdk.ConditionFired, 4)
	send(sdk.ConditionResolved, 5)
	send(sdk.ConditionFired, 6)
	if c := f.counts(); !sameCounts(c, counts{"create": 1, "resolve": 1, "update": 1, "read_status": 3}) {
		t.Errorf("calls %v; want one comment, a status read per re-fire, no reopen", c)
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteResolved || it.AppliedSeq != it.Seq {
		t.Errorf("item %s; want it resolved, everything applied", fmtItems([]*store.Item{it}))
	}
	if got, want := obs.suppressed(), map[string]int{"flapping/update": 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("suppressed calls %v, want %v", got, want)
	}
	if notes := en.stateNotes(it.ID); !hasNote(notes, "the alert is flapping: recorded, not sent") {
		t.Errorf("audit notes = %q", notes)
	}

	// Two hours on, still firing: the reopen window has passed, a new
	// work item is created, and it hears that the alert flaps.
	clk.Set(at(130))
	send(sdk.ConditionFired, 120)
	if c := f.counts(); c["create"] != 2 || c["update"] != 2 {
		t.Errorf("calls %v; want a new item and its flapping note", c)
	}
	if notes := f.callNotes(); len(notes) != 2 || !strings.Contains(notes[1], "stays open until") {
		t.Errorf("notes sent = %q; want the new item's flapping note", notes)
	}
}

// TestFlappingFieldPolicy: the note that an alert flaps writes no field a
// field policy governs, and the field state stays as the last re-fire left
// it; the re-fires that are not sent write nothing either.
func TestFlappingFieldPolicy(t *testing.T) {
	f := newFake()
	clk := newClock(t0.Add(10 * time.Minute))
	opts := testOptions()
	opts.Now = clk.Now
	caps := allCaps()
	caps.ReadStatus, caps.FieldPolicy = true, true
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: caps}}, opts, true)
	p := route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{
		"summary": route.FieldAlways, "priority": route.FieldComment, "assignee": route.FieldNeverAfterHuman}}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	send := func(cond sdk.Condition, m int, summary string, done func() bool) {
		t.Helper()
		d := withFields("k", time.Hour, map[string]any{"summary": summary, "priority": fmt.Sprint(m), "assignee": "alice"}, p)
		d.Deliveries[0].Flap = &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 2, QuietPeriod: 10 * time.Minute}
		en.ingest(alert("a", cond, at(m)), d)
		waitFor(t, fmt.Sprintf("minute %d dealt with", m), func() bool {
			it := en.item("fake.a", "k")
			return it.AppliedSeq == it.Seq && it.LeaseOwner == "" && done()
		})
	}
	always := func() bool { return true }
	send(sdk.ConditionFired, 0, "cpu 91%", always)
	send(sdk.ConditionResolved, 1, "cpu 91%", func() bool { return f.count("resolve") == 1 })
	// The third transition flaps: a reopen (which writes as its policy
	// says), then the note, which writes nothing.
	send(sdk.ConditionFired, 2, "cpu 95%", func() bool { return f.count("update") == 1 })
	id := f.byKey("k")[0].ID
	reopen, note := f.requests("reopen")[0], f.requests("update")[0]
	if reopen.FieldPolicy["summary"] != sdk.FieldAlways {
		t.Errorf("reopen's policy = %v; want summary written", reopen.FieldPolicy)
	}
	if note.Note == "" || len(note.FieldPolicy) != 3 {
		t.Fatalf("the note's update: note %q, policy %v", note.Note, note.FieldPolicy)
	}
	for name, fp := range note.FieldPolicy {
		if fp != sdk.FieldCreate {
			t.Errorf("the note's update sends %s as %q; want create (not written)", name, fp)
		}
	}
	state := en.item("fake.a", "k").FieldState
	if state["summary"].Written != "cpu 95%" || state["priority"].Written != "2" {
		t.Errorf("field state after the note = %v; want what the reopen wrote", state)
	}
	// A re-fire while flapping: not sent, nothing written.
	send(sdk.ConditionResolved, 3, "cpu 95%", always)
	send(sdk.ConditionFired, 4, "cpu 99%", always)
	if got := f.field(id, "summary"); got != "cpu 95%" || f.count("update") != 1 {
		t.Errorf("summary = %q after %d updates; want the reopen's value and no update", got, f.count("update"))
	}
	if st := en.item("fake.a", "k").FieldState; st["summary"].Written != "cpu 95%" {
		t.Errorf("field state = %v; want it unchanged by re-fires not sent", st)
	}
}
