package delivery

import (
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestResolvedWithoutItem(t *testing.T) {
	record, create := route.ResolvedRecord, route.ResolvedCreateAndResolve
	tests := []struct {
		name                string
		remote              store.RemoteState
		seq, applied, fired int64
		policy              route.ResolvedPolicy
		want                resolvedNeed
	}{
		{"acknowledged Fired, record", store.RemoteNone, 2, 0, 1, record, needAcknowledgedFired},
		{"acknowledged Fired, create_and_resolve", store.RemoteNone, 2, 0, 1, create, needAcknowledgedFired},
		{"acknowledged re-fire after a resolved item", store.RemoteResolved, 4, 2, 3, record, needAcknowledgedFired},
		{"no Fired acknowledged, record", store.RemoteNone, 1, 0, 0, record, needNothing},
		{"no Fired acknowledged, create_and_resolve", store.RemoteNone, 1, 0, 0, create, needCreateAndResolve},
		{"Fired delivered, then resolved", store.RemoteNone, 2, 1, 1, record, needNothing},
		{"Fired delivered, item deleted, create_and_resolve", store.RemoteNone, 2, 2, 1, create, needNothing},
		{"resolved item, nothing newer", store.RemoteResolved, 2, 2, 1, create, needNothing},
		{"resolved item, newer resolution only", store.RemoteResolved, 3, 2, 1, create, needNothing},
		{"stale Fired after its Resolved", store.RemoteNone, 1, 1, 0, record, needNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := &store.Item{Remote: tt.remote, Seq: tt.seq, AppliedSeq: tt.applied, FiredSeq: tt.fired, OnResolvedWithoutItem: tt.policy}
			if got := resolvedWithoutItem(it); got != tt.want {
				t.Errorf("resolvedWithoutItem = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	now := t0.Add(time.Hour)
	const raw = 10 * time.Minute
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	caps := allCaps()
	without := func(f func(*sdk.Capabilities)) sdk.Capabilities {
		c := allCaps()
		f(&c)
		return c
	}
	noLookup := without(func(c *sdk.Capabilities) { c.Lookup = false })
	ref := &sdk.WorkItem{ID: "W1"}
	// item is a slot with one Fired acknowledged and nothing delivered;
	// each case changes what it needs.
	item := func(mod func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteNone, Seq: 1, FiredSeq: 1, EventAt: t0,
			ReopenWindow: time.Hour, OnResolvedWithoutItem: route.ResolvedRecord}
		mod(it)
		return it
	}
	creating := func(attempt time.Time) func(*store.Item) {
		return func(it *store.Item) { it.Intent, it.CreateAttemptAt = store.IntentCreating, attempt }
	}
	resolvedItem := func(firedAfter time.Duration) func(*store.Item) {
		return func(it *store.Item) {
			it.Remote, it.Ref, it.RemoteResolvedAt = store.RemoteResolved, ref, t0
			it.Seq, it.AppliedSeq, it.FiredSeq, it.EventAt = 3, 2, 3, t0.Add(firedAfter)
		}
	}
	open := func(it *store.Item) { it.Remote, it.Ref, it.AppliedSeq = store.RemoteOpen, ref, 1 }
	resolution := func(it *store.Item) {
		it.Condition, it.FiredSeq, it.EventAt = resolved, 0, t0
		it.Alert = &sdk.Alert{FiredAt: t0.Add(-time.Minute)}
	}
	reads := allCaps()
	reads.ReadStatus = true
	nah := func(it *store.Item) {
		it.Policy = route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{"assignee": route.FieldNeverAfterHuman}}
		it.FieldState = map[string]store.FieldState{"assignee": {Written: "alice"}}
	}
	wontFix := func(it *store.Item) { it.Policy.WontFix = []string{"Won't Fix"} }
	refire := func(it *store.Item) { open(it); it.Seq = 2 }
	status := func(resolution string) *sdk.WorkItemStatus {
		return &sdk.WorkItemStatus{ID: "W1", Found: true, State: sdk.StateResolved, Resolution: resolution}
	}
	tests := []struct {
		name                    string
		it                      *store.Item
		caps                    sdk.Capabilities
		marked, lookedUp, adopt bool
		statusRead              bool
		status                  *sdk.WorkItemStatus
		want                    move
		at                      time.Time
	}{
		// A new work item: Create, its intent recorded at ingest and its
		// attempt marked by this claim.
		{name: "new Fired, attempt marked by this claim", it: item(creating(now)), caps: caps, marked: true, want: moveCreate},
		{name: "new Fired, no intent durable yet", it: item(func(*store.Item) {}), caps: caps, want: moveMarkCreate},
		// An earlier claim's Create may have acted: Lookup first, after
		// the read-after-write delay.
		{name: "earlier attempt: lookup", it: item(creating(now.Add(-2 * raw))), caps: caps, want: moveLookup},
		{name: "earlier attempt inside the read-after-write delay: wait", it: item(creating(now.Add(-time.Minute))), caps: caps,
			want: moveWait, at: now.Add(-time.Minute).Add(raw)},
		{name: "earlier attempt looked up, nothing found: mark, then create", it: item(creating(now.Add(-2 * raw))), caps: caps,
			lookedUp: true, want: moveMarkCreate},
		{name: "earlier attempt, plugin without Lookup: mark, then create", it: item(creating(now.Add(-2 * raw))), caps: noLookup,
			want: moveMarkCreate},
		// adopt_existing: Lookup before a slot's first work item only.
		{name: "adopt, first delivery: lookup", it: item(creating(now)), caps: caps, marked: true, adopt: true, want: moveLookup},
		{name: "adopt, looked up: create", it: item(creating(now)), caps: caps, marked: true, adopt: true, lookedUp: true, want: moveCreate},
		{name: "adopt, the slot had an item: create", it: item(func(it *store.Item) { resolvedItem(3 * time.Hour)(it); creating(now)(it) }),
			caps: caps, marked: true, adopt: true, want: moveCreate},
		// Open items: one call each.
		{name: "open, newer Fired: update", it: item(func(it *store.Item) { open(it); it.Seq = 2 }), caps: caps, want: moveUpdate},
		{name: "open, Fired applied: done", it: item(open), caps: caps, want: moveDone},
		{name: "open, newer Fired, no Update: recorded", it: item(func(it *store.Item) { open(it); it.Seq = 2 }),
			caps: without(func(c *sdk.Capabilities) { c.Update = false }), want: moveSkipUpdate},
		{name: "open, resolved: resolve", it: item(func(it *store.Item) { open(it); resolution(it); it.Seq, it.FiredSeq = 2, 1 }),
			caps: caps, want: moveResolve},
		{name: "open, resolved, no Resolve: recorded", it: item(func(it *store.Item) { open(it); resolution(it); it.Seq, it.FiredSeq = 2, 1 }),
			caps: without(func(c *sdk.Capabilities) { c.Resolve = false }), want: moveSkipResolve},
		// Re-fires of a resolved item.
		{name: "resolved, fired inside the window: reopen", it: item(resolvedItem(10 * time.Minute)), caps: caps, want: moveReopen},
		{name: "resolved, fired inside the window, no Reopen: create", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); creating(now)(it) }),
			caps: without(func(c *sdk.Capabilities) { c.Reopen = false }), marked: true, want: moveCreate},
		{name: "resolved, fired after the window: create", it: item(func(it *store.Item) { resolvedItem(2 * time.Hour)(it); creating(now)(it) }),
			caps: caps, marked: true, want: moveCreate},
		{name: "resolved, fired after the window, intent not recorded: mark", it: item(resolvedItem(2 * time.Hour)), caps: caps, want: moveMarkCreate},
		// Resolutions without an open item.
		{name: "acknowledged Fired owed, resolved since: create", it: item(func(it *store.Item) {
			creating(now)(it)
			resolution(it)
			it.Seq, it.FiredSeq = 2, 1
		}), caps: caps, marked: true, want: moveCreate},
		{name: "no Fired acknowledged, record: done", it: item(resolution), caps: caps, want: moveDone},
		{name: "no Fired acknowledged, create_and_resolve: create", it: item(func(it *store.Item) {
			resolution(it)
			creating(now)(it)
			it.OnResolvedWithoutItem = route.ResolvedCreateAndResolve
		}), caps: caps, marked: true, want: moveCreate},
		{name: "earlier attempt for a resolution, record: lookup first", it: item(func(it *store.Item) { resolution(it); creating(now.Add(-2 * raw))(it) }),
			caps: caps, want: moveLookup},
		{name: "earlier attempt for a resolution, looked up, nothing found: done", it: item(func(it *store.Item) { resolution(it); creating(now.Add(-2 * raw))(it) }),
			caps: caps, lookedUp: true, want: moveDone},
		{name: "resolved item, nothing newer: done", it: item(func(it *store.Item) { resolvedItem(0)(it); resolution(it); it.AppliedSeq = it.Seq }),
			caps: caps, want: moveDone},
		// never_after_human: the fields' current values are read first.
		{name: "re-fire, never_after_human field written: read status", it: item(func(it *store.Item) { refire(it); nah(it) }), caps: reads, want: moveReadStatus},
		{name: "re-fire, never_after_human, status read: update", it: item(func(it *store.Item) { refire(it); nah(it) }), caps: reads,
			statusRead: true, status: &sdk.WorkItemStatus{ID: "W1", Found: true}, want: moveUpdate},
		{name: "re-fire, never_after_human, read failed to answer: update", it: item(func(it *store.Item) { refire(it); nah(it) }), caps: reads,
			statusRead: true, want: moveUpdate},
		{name: "re-fire, never_after_human, the plugin cannot read: update", it: item(func(it *store.Item) { refire(it); nah(it) }), caps: caps, want: moveUpdate},
		{name: "re-fire, never_after_human already a person's: update", it: item(func(it *store.Item) {
			refire(it)
			nah(it)
			it.FieldState["assignee"] = store.FieldState{Written: "alice", Human: true}
		}), caps: reads, want: moveUpdate},
		{name: "re-fire, no never_after_human field: update", it: item(refire), caps: reads, want: moveUpdate},
		{name: "resolved, inside the window, never_after_human: read, then reopen", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); nah(it) }),
			caps: reads, want: moveReadStatus},
		// wont_fix: the resolution decides between reopening and a comment.
		{name: "resolved, inside the window, wont_fix: read status", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it) }),
			caps: reads, want: moveReadStatus},
		{name: "resolved as won't fix, inside the window: comment", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it) }),
			caps: reads, statusRead: true, status: status("won't fix"), want: moveWontFix},
		{name: "resolved as won't fix, plugin without Update: recorded", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it) }),
			caps: func() sdk.Capabilities { c := reads; c.Update = false; return c }(), statusRead: true, status: status("Won't Fix"), want: moveWontFix},
		{name: "resolved as done, inside the window: reopen", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it) }),
			caps: reads, statusRead: true, status: status("Done"), want: moveReopen},
		{name: "resolved as won't fix, after the window: create", it: item(func(it *store.Item) {
			resolvedItem(2 * time.Hour)(it)
			wontFix(it)
			creating(now)(it)
		}), caps: reads, marked: true, want: moveCreate},
		{name: "wont_fix, the plugin cannot read status: reopen", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it) }),
			caps: caps, want: moveReopen},
		{name: "won't fix commented, nothing newer: done", it: item(func(it *store.Item) { resolvedItem(10 * time.Minute)(it); wontFix(it); it.AppliedSeq = it.Seq }),
			caps: reads, want: moveDone},
		{name: "resolved, inside the window, no wont_fix: reopen without a read", it: item(resolvedItem(10 * time.Minute)), caps: reads, want: moveReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(situation{Item: tt.it, Caps: tt.caps, Marked: tt.marked, LookedUp: tt.lookedUp, Adopt: tt.adopt,
				ReadAfterWrite: raw, Now: now, StatusRead: tt.statusRead, Status: tt.status})
			if got.Move != tt.want || !got.At.Equal(tt.at) {
				t.Errorf("decide = %v at %v (note %q), want %v at %v", got.Move, got.At, got.Note, tt.want, tt.at)
			}
		})
	}
}

func TestStaleAfterHumanResolution(t *testing.T) {
	resolvedAt := t0.Add(10 * time.Minute)
	tests := []struct {
		name    string
		remote  store.RemoteState
		human   bool
		firedAt time.Time
		want    bool
	}{
		{"Azure retries the old Fired", store.RemoteResolved, true, t0, true},
		{"a Fired stamped just as the person resolved", store.RemoteResolved, true, resolvedAt, true},
		{"a Fired from before the resolution", store.RemoteResolved, true, resolvedAt.Add(-time.Second), true},
		{"a genuine re-fire after the resolution", store.RemoteResolved, true, resolvedAt.Add(time.Second), false},
		{"resolved by the connector: reopen rules apply", store.RemoteResolved, false, t0, false},
		{"open item", store.RemoteOpen, true, t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The Fired is the item's second notification, not applied yet.
			it := &store.Item{Condition: sdk.ConditionFired, Remote: tt.remote, HumanResolved: tt.human, RemoteResolvedAt: resolvedAt, EventAt: tt.firedAt, ReopenWindow: time.Hour, Ref: &sdk.WorkItem{ID: "W1"},
				Seq: 2, AppliedSeq: 1, FiredSeq: 2}
			if got := staleAfterHumanResolution(it); got != tt.want {
				t.Errorf("staleAfterHumanResolution = %v, want %v", got, tt.want)
			}
			d := decide(situation{Item: it, Caps: allCaps(), Marked: true, Now: t0.Add(time.Hour)})
			if tt.want && (d.Move != moveDone || d.Note == "") {
				t.Errorf("decide = %v %q, want done with a note", d.Move, d.Note)
			}
			if !tt.want && tt.remote == store.RemoteResolved && d.Move != moveReopen {
				t.Errorf("decide = %v, want reopen", d.Move)
			}
		})
	}
}
