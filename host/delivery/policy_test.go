package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// clock is a test clock the engine reads through Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(at time.Time) *clock { return &clock{now: at} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

// observations records what the engine reports for metrics.
type observations struct {
	mu  sync.Mutex
	obs []Observation
}

func (o *observations) add(ob Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, ob)
}

// suppressed counts the suppressed calls by "policy/op".
func (o *observations) suppressed() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for _, ob := range o.obs {
		if ob.Outcome == OutcomeSuppressed {
			out[ob.Policy+"/"+ob.Op]++
		}
	}
	return out
}

// TestFlapping: an alert whose fire/resolve transitions exceed
// max_transitions inside the window gets one note instead of an update per
// re-fire; its resolutions are held while it flaps (the work item stays
// open), its transitions are recorded in the audit trail, and it is
// resolved once it has stayed resolved for the quiet period: a due time in
// the store, which a restart of the engine does not lose.
func TestFlapping(t *testing.T) {
	f := newFake()
	clk := newClock(t0.Add(10 * time.Minute))
	var obs observations
	opts := testOptions()
	opts.Now, opts.Observer = clk.Now, obs.add
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
	const quiet = 10 * time.Minute
	d := decision("fake.a", "k", time.Hour)
	d.Deliveries[0].Flap = &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: quiet}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	notification := func(m int) *sdk.Alert {
		if m%2 == 0 {
			return alert("a", sdk.ConditionFired, at(m))
		}
		return alert("a", sdk.ConditionResolved, at(m))
	}
	// step sends the notification of minute m and waits until the worker
	// has dealt with it: applied, or held with its work item open.
	step := func(m int, want counts) {
		t.Helper()
		en.ingest(notification(m), d)
		waitWithin(t, 20*time.Second, func() string {
			return fmt.Sprintf("minute %d dealt with: calls %v (want %v), item %s", m, f.counts(), want, fmtItems([]*store.Item{en.item("fake.a", "k")}))
		}, func() bool {
			it := en.item("fake.a", "k")
			return it.AppliedSeq == it.Seq && it.LeaseOwner == "" && sameCounts(f.counts(), want)
		})
	}
	// Four transitions: each delivered.
	step(0, counts{"create": 1})
	step(1, counts{"create": 1, "resolve": 1})
	step(2, counts{"create": 1, "resolve": 1, "reopen": 1})
	step(3, counts{"create": 1, "resolve": 2, "reopen": 1})
	// The fifth flaps: the work item is reopened, and one note says so.
	step(4, counts{"create": 1, "resolve": 2, "reopen": 2, "update": 1})
	if notes := f.callNotes(); len(notes) != 1 || !strings.HasPrefix(notes[0], "update: Alert is flapping") {
		t.Fatalf("notes sent = %q; want one update saying the alert is flapping", notes)
	}
	// Further transitions: recorded, not sent; the item stays open.
	for m := 5; m <= 9; m++ {
		step(m, counts{"create": 1, "resolve": 2, "reopen": 2, "update": 1})
	}
	it := en.item("fake.a", "k")
	if it.Remote != store.RemoteOpen || !it.Dirty || !it.DueAt.Equal(at(9).Add(quiet)) {
		t.Fatalf("after the last resolution: remote %s, dirty %v, due %v; want open, due %v (the quiet period after it)", it.Remote, it.Dirty, it.DueAt, at(9).Add(quiet))
	}
	if got, want := obs.suppressed(), map[string]int{"flapping/update": 2, "flapping/resolve": 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("suppressed calls %v, want %v", got, want)
	}
	// A restart keeps the hold: it is the item's due time.
	en.stop()
	en.open(true)
	clk.Set(at(9).Add(quiet))
	waitFor(t, "the flapping item resolved after the quiet period", func() bool {
		it := en.item("fake.a", "k")
		return it.Remote == store.RemoteResolved && !it.Dirty
	})
	if c := f.counts(); !sameCounts(c, counts{"create": 1, "resolve": 3, "reopen": 2, "update": 1}) {
		t.Errorf("calls %v; want one resolve more", c)
	}
	notes := en.stateNotes(it.ID)
	for _, want := range []string{"adding a note that says so", "fired again; recorded, not sent", "stays open until the alert has stayed resolved",
		"has stayed resolved for 10m0s: resolving"} {
		if !hasNote(notes, want) {
			t.Errorf("audit trail lacks %q: %q", want, notes)
		}
	}
	evs, err := en.st.Events(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var flapping int
	for _, e := range evs {
		if e.Kind == store.EventNotification && strings.Contains(e.Message, "flapping") {
			flapping++
		}
	}
	if flapping != 6 {
		t.Errorf("%d notification events say the alert flaps, want 6 (the fifth transition and the five after it)", flapping)
	}
}

// TestMaintenanceWindow: alerts a maintenance window holds create nothing
// while it lasts; at its end (a due time in the store, which a restart
// keeps), one still firing gets its work item with on_end = "create" and
// none with "drop", and one that resolved inside the window gets none. An
// open work item is resolved as usual during the window.
func TestMaintenanceWindow(t *testing.T) {
	f := newFake()
	start := t0.Add(time.Hour)
	clk := newClock(start)
	var obs observations
	opts := testOptions()
	opts.Now, opts.Observer = clk.Now, obs.add
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
	end := start.Add(time.Hour)
	held := func(key, onEnd string) route.Decision {
		d := decision("fake.a", key, time.Hour)
		d.Hold = &route.MaintenanceHold{Window: "patching", Until: end, OnEnd: onEnd}
		return d
	}
	// An alert with an open work item from before the window.
	en.ingest(alert("open", sdk.ConditionFired, t0), decision("fake.a", "open", time.Hour))
	en.settled()

	en.ingest(alert("create", sdk.ConditionFired, t0.Add(time.Minute)), held("create", route.OnEndCreate))
	en.ingest(alert("drop", sdk.ConditionFired, t0.Add(time.Minute)), held("drop", route.OnEndDrop))
	en.ingest(alert("brief", sdk.ConditionFired, t0.Add(time.Minute)), held("brief", route.OnEndCreate))
	en.ingest(alert("brief", sdk.ConditionResolved, t0.Add(2*time.Minute)), held("brief", route.OnEndCreate))
	en.ingest(alert("open", sdk.ConditionResolved, t0.Add(2*time.Minute)), held("open", route.OnEndCreate))
	waitFor(t, "the open work item resolved during the window", func() bool { return en.item("fake.a", "open").Remote == store.RemoteResolved })
	for _, key := range []string{"create", "drop", "brief"} {
		if it := en.item("fake.a", key); !it.Dirty || !it.DueAt.Equal(end) || it.Hold.Window != "patching" {
			t.Fatalf("%s: dirty %v due %v hold %+v; want held until %v", key, it.Dirty, it.DueAt, it.Hold, end)
		}
	}
	if c := f.counts(); c["create"] != 1 {
		t.Fatalf("calls %v during the window; want only the create from before it", c)
	}
	// A restart inside the window loses nothing: the end is the items'
	// due time.
	en.stop()
	en.open(true)
	clk.Set(end)
	waitFor(t, "the window's end settled", func() bool {
		items, err := en.st.ListItems(context.Background(), store.ItemFilter{DirtyOnly: true})
		return err == nil && len(items) == 0
	})
	if got := len(f.byKey("create")); got != 1 {
		t.Errorf("on_end create: %d work items, want 1", got)
	}
	for _, key := range []string{"drop", "brief"} {
		if got := len(f.byKey(key)); got != 0 {
			t.Errorf("%s: %d work items, want none", key, got)
		}
	}
	if c := f.counts(); !sameCounts(c, counts{"create": 2, "resolve": 1}) {
		t.Errorf("calls %v; want the create from before, the resolve during and one create at the end", c)
	}
	if got, want := obs.suppressed(), map[string]int{"maintenance/create": 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("suppressed calls %v, want %v", got, want)
	}
	for key, want := range map[string]string{
		"create": `ended with the alert still firing: delivering it (on_end = "create")`,
		"drop":   `ended with the alert still firing: dropped (on_end = "drop")`,
		"brief":  `the alert resolved inside maintenance window "patching"`,
		"open":   `the work item is open, so the notification is delivered as usual`,
	} {
		if it := en.item("fake.a", key); !hasNote(en.stateNotes(it.ID), want) {
			t.Errorf("%s: audit trail lacks %q: %q", key, want, en.stateNotes(it.ID))
		}
	}
	// The dropped alert fires again after the window: a work item now.
	en.ingest(alert("drop", sdk.ConditionFired, t0.Add(2*time.Hour)), decision("fake.a", "drop", time.Hour))
	waitFor(t, "a work item for the re-fire after the window", func() bool { return len(f.byKey("drop")) == 1 })
}

// TestMaintenanceWaitIsNotAge: an alert held through a window longer than
// the backend's max_age is pending from the window's end, so a retryable
// failure of its Create at the end is retried, not dead-lettered for age.
func TestMaintenanceWaitIsNotAge(t *testing.T) {
	f := newFake()
	start := t0.Add(time.Hour)
	clk := newClock(start)
	opts := testOptions()
	opts.Now = clk.Now
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxAge: time.Hour}}}, opts, true)
	end := start.Add(48 * time.Hour)
	d := decision("fake.a", "k", time.Hour)
	d.Hold = &route.MaintenanceHold{Window: "long", Until: end, OnEnd: route.OnEndCreate}
	en.ingest(alert("a", sdk.ConditionFired, t0), d)
	if it := en.item("fake.a", "k"); !it.DirtySince.Equal(end) {
		t.Fatalf("held item pending since %v, want the window's end %v", it.DirtySince, end)
	}
	f.fail("create", sdk.Retryable(fmt.Errorf("HTTP 503")))
	clk.Set(end)
	waitFor(t, "the Create retried after its failure", func() bool { return f.count("create") == 1 })
	clk.Set(end.Add(time.Minute))
	waitFor(t, "the work item created", func() bool { return len(f.byKey("k")) >= 1 && !en.item("fake.a", "k").Dirty })
	if it := en.item("fake.a", "k"); it.Dead || it.Remote != store.RemoteOpen {
		t.Errorf("after the window: dead %v remote %s; want created, not dead-lettered", it.Dead, it.Remote)
	}
}

// TestMaintenanceEndWhileDown: a window that ends while the connector is
// down is settled when it starts again: the held alert gets its work item,
// once.
func TestMaintenanceEndWhileDown(t *testing.T) {
	f := newFake()
	start := t0.Add(time.Hour)
	clk := newClock(start)
	opts := testOptions()
	opts.Now = clk.Now
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
	end := start.Add(time.Hour)
	d := decision("fake.a", "k", time.Hour)
	d.Hold = &route.MaintenanceHold{Window: "w", Until: end, OnEnd: route.OnEndCreate}
	en.ingest(alert("a", sdk.ConditionFired, t0), d)
	en.stop()
	clk.Set(end.Add(10 * time.Minute))
	en.open(true)
	waitFor(t, "the held alert's work item created after the restart", func() bool {
		it := en.item("fake.a", "k")
		return it.Remote == store.RemoteOpen && !it.Dirty
	})
	if c := f.counts(); !sameCounts(c, counts{"create": 1}) || len(f.byKey("k")) != 1 {
		t.Errorf("calls %v, %d work items; want one create", c, len(f.byKey("k")))
	}
}

// TestMaintenanceKeepsAFiredOwedBeforeIt: a Fired acknowledged before a
// maintenance window, whose Create was still failing when the window began
// holding the alert, is not the window's to give up: after the window the
// work item is created (and resolved, when the alert resolved inside the
// window), whatever on_end says. Only what the window held may be dropped.
func TestMaintenanceKeepsAFiredOwedBeforeIt(t *testing.T) {
	for _, tt := range []struct {
		name  string
		onEnd string
		// inside is the notification the window holds.
		inside *sdk.Alert
		want   counts
		remote sdk.WorkItemState
	}{
		{name: "resolved inside", onEnd: route.OnEndCreate, inside: alert("a", sdk.ConditionResolved, t0.Add(2*time.Minute)),
			want: counts{"create": 2, "resolve": 1}, remote: sdk.StateResolved},
		{name: "resolved inside, on_end drop", onEnd: route.OnEndDrop, inside: alert("a", sdk.ConditionResolved, t0.Add(2*time.Minute)),
			want: counts{"create": 2, "resolve": 1}, remote: sdk.StateResolved},
		{name: "still firing, on_end drop", onEnd: route.OnEndDrop, inside: alert("a", sdk.ConditionFired, t0.Add(2*time.Minute)),
			want: counts{"create": 2}, remote: sdk.StateOpen},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			clk := newClock(t0)
			var obs observations
			opts := testOptions()
			opts.Now, opts.Observer = clk.Now, obs.add
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, true)
			// The Fired is acknowledged; the backend answers 503, and the
			// retry is due after the clock's present.
			f.fail("create", sdk.Retryable(fmt.Errorf("HTTP 503")))
			en.ingest(alert("a", sdk.ConditionFired, t0), decision("fake.a", "k", time.Hour))
			waitFor(t, "the failed Create recorded", func() bool {
				it := en.item("fake.a", "k")
				return f.count("create") == 1 && it.LeaseOwner == "" && it.Attempts == 1
			})
			// A window begins and holds the alert's next notification.
			end := t0.Add(time.Hour)
			d := decision("fake.a", "k", time.Hour)
			d.Hold = &route.MaintenanceHold{Window: "patching", Until: end, OnEnd: tt.onEnd}
			// The held notification is acknowledged before the clock moves:
			// were the retry due first, a worker could retry the Create
			// before the window held anything.
			en.ingest(tt.inside, d)
			clk.Set(t0.Add(time.Minute))
			// The retry comes due inside the window: the earlier Create is
			// looked up, and then the item waits for the window's end.
			waitFor(t, "the item waiting for the window's end", func() bool {
				it := en.item("fake.a", "k")
				return it.Hold.Seq == 2 && it.DueAt.Equal(end) && it.LeaseOwner == ""
			})
			if c := f.counts(); c["create"] != 1 || c["lookup"] != 1 {
				t.Fatalf("calls %v inside the window; want the failed create and a lookup", c)
			}
			clk.Set(end)
			waitFor(t, "the hold settled", func() bool {
				it := en.item("fake.a", "k")
				return !it.Dirty && it.Hold.Seq == 0
			})
			it := en.item("fake.a", "k")
			items := f.byKey("k")
			changes := counts{}
			for op, n := range f.counts() {
				if op != "lookup" { // an earlier Create's outcome is looked up before the hold's end is settled
					changes[op] = n
				}
			}
			if len(items) != 1 || items[0].State != tt.remote || !sameCounts(changes, tt.want) {
				t.Fatalf("after the window: %d work items %v, calls %v; want one, %s, calls %v; audit trail %q",
					len(items), items, f.counts(), tt.remote, tt.want, en.stateNotes(it.ID))
			}
			if it.AppliedSeq != it.Seq || it.FiredSeq > it.AppliedSeq {
				t.Errorf("item %s; want everything applied", fmtItems([]*store.Item{it}))
			}
			if got := obs.suppressed(); len(got) != 0 {
				t.Errorf("suppressed calls %v; the window kept nothing back", got)
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, "acknowledged before the window") {
				t.Errorf("the audit trail does not say why the window did not drop it: %q", notes)
			}
		})
	}
}
