package delivery

import (
	"strings"
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

func TestDecideFlapping(t *testing.T) {
	now := t0.Add(time.Hour)
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	caps := allCaps()
	noUpdate, noResolve := allCaps(), allCaps()
	noUpdate.Update, noResolve.Resolve = false, false
	const quiet = 10 * time.Minute
	policy := &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: quiet}
	since := now.Add(-5 * time.Minute)
	ref := &sdk.WorkItem{ID: "W1"}
	// item is an open work item whose alert flaps since `since`, its note
	// delivered and the newest notification, a re-fire, not yet.
	item := func(mod func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteOpen, Ref: ref, Seq: 7, AppliedSeq: 6, FiredSeq: 7, EventAt: now.Add(-time.Minute),
			ReopenWindow: time.Hour, OnResolvedWithoutItem: route.ResolvedRecord,
			Flap: policy, FlapState: store.FlapState{Transitions: []time.Time{since}, Since: since}, FlapNoted: since}
		mod(it)
		return it
	}
	noteOwed := func(it *store.Item) { it.FlapNoted = time.Time{} }
	resolution := func(at time.Time) func(*store.Item) {
		return func(it *store.Item) {
			it.Condition, it.EventAt, it.Alert = resolved, at, &sdk.Alert{FiredAt: at.Add(-time.Minute)}
		}
	}
	tests := []struct {
		name string
		it   *store.Item
		caps sdk.Capabilities
		want move
		at   time.Time
	}{
		{name: "flapping starts on a re-fire: the note", it: item(noteOwed), caps: caps, want: moveFlapNote},
		{name: "flapping starts on a resolution: the note first", it: item(func(it *store.Item) { noteOwed(it); resolution(now.Add(-time.Minute))(it) }),
			caps: caps, want: moveFlapNote},
		{name: "a new flapping after an earlier one: its own note", it: item(func(it *store.Item) { it.FlapNoted = since.Add(-time.Hour) }),
			caps: caps, want: moveFlapNote},
		{name: "note owed, plugin without Update: recorded", it: item(noteOwed), caps: noUpdate, want: moveFlapNoted},
		{name: "noted, fired again: suppressed", it: item(func(*store.Item) {}), caps: caps, want: moveSuppress},
		{name: "noted, re-fire applied: done", it: item(func(it *store.Item) { it.AppliedSeq = it.Seq }), caps: caps, want: moveDone},
		{name: "noted, resolved inside the quiet period: held open", it: item(resolution(now.Add(-time.Minute))), caps: caps,
			want: moveHold, at: now.Add(-time.Minute).Add(quiet)},
		{name: "noted, held resolution comes due again early: held", it: item(func(it *store.Item) {
			resolution(now.Add(-time.Minute))(it)
			it.AppliedSeq = it.Seq
		}), caps: caps, want: moveHold, at: now.Add(-time.Minute).Add(quiet)},
		{name: "noted, resolved for the quiet period: resolve", it: item(resolution(now.Add(-quiet))), caps: caps, want: moveResolve},
		{name: "resolved for the quiet period, plugin cannot resolve: recorded", it: item(resolution(now.Add(-quiet))), caps: noResolve,
			want: moveSkipResolve},
		// Without an open work item a flapping alert is delivered as any
		// other: the item is reopened (or created) first, the note follows.
		{name: "flapping, item resolved, fires: reopen", it: item(func(it *store.Item) {
			noteOwed(it)
			it.Remote, it.RemoteResolvedAt = store.RemoteResolved, now.Add(-2*time.Minute)
		}), caps: caps, want: moveReopen},
		{name: "flapping, item resolved, resolution: done", it: item(func(it *store.Item) {
			resolution(now.Add(-time.Minute))(it)
			it.Remote, it.RemoteResolvedAt, it.AppliedSeq, it.FiredSeq = store.RemoteResolved, now.Add(-2*time.Minute), 6, 6
		}), caps: caps, want: moveDone},
		// Not flapping (or no policy): today's table.
		{name: "not flapping: update", it: item(func(it *store.Item) { it.FlapState = store.FlapState{} }), caps: caps, want: moveUpdate},
		{name: "not flapping, resolved: resolve at once", it: item(func(it *store.Item) {
			it.FlapState = store.FlapState{}
			resolution(now.Add(-time.Minute))(it)
		}), caps: caps, want: moveResolve},
		{name: "no policy: update", it: item(func(it *store.Item) { it.Flap = nil }), caps: caps, want: moveUpdate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(situation{Item: tt.it, Caps: tt.caps, Now: now})
			if got.Move != tt.want || !got.At.Equal(tt.at) {
				t.Errorf("decide = %v at %v (note %q), want %v at %v", got.Move, got.At, got.Note, tt.want, tt.at)
			}
			if got.Move == moveFlapNote && !strings.Contains(got.Comment, "flapping") {
				t.Errorf("the note sent with the Update is %q; want it to say the alert is flapping", got.Comment)
			}
		})
	}
}

func TestDecideMaintenance(t *testing.T) {
	now := t0.Add(time.Hour)
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	caps := allCaps()
	end := now.Add(time.Hour)
	ref := &sdk.WorkItem{ID: "W1"}
	// item is a new alert's slot whose Fired a window holds until end.
	item := func(mod func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteNone, Seq: 1, FiredSeq: 1, EventAt: t0, ReopenWindow: time.Hour,
			OnResolvedWithoutItem: route.ResolvedRecord, Intent: store.IntentCreating,
			Hold: store.Hold{Seq: 1, Condition: fired, MaintenanceHold: route.MaintenanceHold{Window: "w", Until: end, OnEnd: route.OnEndCreate}}}
		mod(it)
		return it
	}
	ended := func(it *store.Item) { it.Hold.Until = now }
	drop := func(it *store.Item) { it.Hold.OnEnd = route.OnEndDrop }
	resolvedInside := func(it *store.Item) {
		it.Condition, it.Seq, it.Hold.Seq, it.Hold.Condition = resolved, 2, 2, resolved
		it.Alert = &sdk.Alert{FiredAt: t0}
	}
	// owedBefore: the Fired of seq 1 was acknowledged before the window
	// began holding the alert, and has not been delivered.
	owedBefore := func(it *store.Item) { it.Hold.PriorFiredSeq = 1 }
	tests := []struct {
		name   string
		it     *store.Item
		want   move
		at     time.Time
		settle settlement
	}{
		{name: "held, window on: wait for its end", it: item(func(*store.Item) {}), want: moveWait, at: end},
		{name: "held resolution, window on: wait", it: item(resolvedInside), want: moveWait, at: end},
		{name: "ended, still firing, on_end create: deliver", it: item(ended), want: moveSettle, settle: settleDeliver},
		{name: "ended, still firing, on_end drop: give up", it: item(func(it *store.Item) { ended(it); drop(it) }), want: moveSettle, settle: settleGiveUp},
		{name: "ended, resolved inside: give up", it: item(func(it *store.Item) { ended(it); resolvedInside(it) }), want: moveSettle, settle: settleGiveUp},
		{name: "resolved inside, on_end create: still give up", it: item(func(it *store.Item) { ended(it); resolvedInside(it) }), want: moveSettle, settle: settleGiveUp},
		{name: "window on, a newer notification not held: settle now", it: item(func(it *store.Item) { it.Seq, it.FiredSeq = 2, 2 }),
			want: moveSettle, settle: settleDeliver},
		{name: "window on, the work item is open: delivered as usual", it: item(func(it *store.Item) {
			it.Remote, it.Ref, it.AppliedSeq, it.Intent = store.RemoteOpen, ref, 0, store.IntentNone
		}), want: moveSettle, settle: settleDeliver},
		// A Fired acknowledged before the window (seq 1, not delivered: the
		// backend was failing) is not the window's to give up.
		{name: "window on, resolved inside, a Fired owed from before: wait", it: item(func(it *store.Item) { resolvedInside(it); owedBefore(it) }),
			want: moveWait, at: end},
		{name: "ended, resolved inside, a Fired owed from before: deliver", it: item(func(it *store.Item) { ended(it); resolvedInside(it); owedBefore(it) }),
			want: moveSettle, settle: settleDeliver},
		{name: "ended, resolved inside, on_end drop, a Fired owed from before: deliver", it: item(func(it *store.Item) {
			ended(it)
			drop(it)
			resolvedInside(it)
			owedBefore(it)
		}), want: moveSettle, settle: settleDeliver},
		{name: "ended, still firing, on_end drop, a Fired owed from before: deliver", it: item(func(it *store.Item) {
			ended(it)
			drop(it)
			it.Seq, it.FiredSeq, it.Hold.Seq = 2, 2, 2
			owedBefore(it)
		}), want: moveSettle, settle: settleDeliver},
		{name: "ended, resolved inside, the Fired from before delivered: give up", it: item(func(it *store.Item) {
			ended(it)
			resolvedInside(it)
			owedBefore(it)
			it.AppliedSeq, it.Remote, it.Ref = 1, store.RemoteResolved, ref
		}), want: moveSettle, settle: settleGiveUp},
		{name: "settled to deliver an owed Fired, resolved: create, then resolve", it: item(func(it *store.Item) { resolvedInside(it); it.Hold = store.Hold{} }),
			want: moveMarkCreate},
		// After the settle (no hold), the table as usual.
		{name: "settled and given up, fired: done", it: item(func(it *store.Item) { it.Hold, it.AppliedSeq = store.Hold{}, 1 }), want: moveDone},
		{name: "settled to deliver, fired: mark, then create", it: item(func(it *store.Item) { it.Hold = store.Hold{} }), want: moveMarkCreate},
		{name: "given up, then fired again after the window: create", it: item(func(it *store.Item) {
			it.Hold, it.AppliedSeq, it.Seq, it.FiredSeq = store.Hold{}, 1, 2, 2
		}), want: moveMarkCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(situation{Item: tt.it, Caps: caps, Now: now})
			if got.Move != tt.want || !got.At.Equal(tt.at) || got.Settle != tt.settle {
				t.Errorf("decide = %v at %v settle %d (note %q), want %v at %v settle %d", got.Move, got.At, got.Settle, got.Note, tt.want, tt.at, tt.settle)
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

func TestDecideStorm(t *testing.T) {
	now := t0.Add(time.Hour)
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	caps := allCaps()
	noUpdate := allCaps()
	noUpdate.Update = false
	ref := &sdk.WorkItem{ID: "W1"}
	member := func(mod func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteNone, Seq: 1, FiredSeq: 1, EventAt: t0, StormParent: 7,
			Alert: &sdk.Alert{Rule: "cpu high"}}
		mod(it)
		return it
	}
	parent := func(mod func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteNone, Seq: 2, FiredSeq: 2, EventAt: t0,
			Intent: store.IntentCreating, CreateAttemptAt: now, Storm: store.StormParent{Members: 3, Firing: 3},
			Alert: &sdk.Alert{Rule: "cpu high"}}
		mod(it)
		return it
	}
	tests := []struct {
		name        string
		it          *store.Item
		caps        sdk.Capabilities
		marked      bool
		want        move
		wantComment string
		wantNote    string
	}{
		// Members make no calls, whatever their alert does; the audit
		// trail names the parent.
		{name: "member fires: no call", it: member(func(*store.Item) {}), caps: caps, want: moveDone, wantNote: "work item 7"},
		{name: "member with a creating intent and an earlier attempt: no lookup, no call", it: member(func(it *store.Item) {
			it.Intent, it.CreateAttemptAt = store.IntentCreating, now.Add(-time.Hour)
		}), caps: caps, want: moveDone, wantNote: "work item 7"},
		{name: "member resolves: no call", it: member(func(it *store.Item) { it.Condition, it.Seq = resolved, 2 }), caps: caps,
			want: moveDone, wantNote: "no call of its own"},
		{name: "member applied: done, nothing to say", it: member(func(it *store.Item) { it.AppliedSeq = 1 }), caps: caps, want: moveDone},
		// The parent: Create when the storm starts, one Update as members
		// join, Resolve once the last has resolved.
		{name: "storm starts: the parent is created with its title", it: parent(func(*store.Item) {}), caps: caps, marked: true,
			want: moveCreate, wantComment: "storm: 3 resources affected by cpu high"},
		{name: "storm starts, intent not marked: mark first", it: parent(func(it *store.Item) { it.Intent, it.CreateAttemptAt = "", time.Time{} }),
			caps: caps, want: moveMarkCreate},
		{name: "members joined: one update", it: parent(func(it *store.Item) {
			it.Remote, it.Ref, it.AppliedSeq, it.Seq, it.Intent, it.CreateAttemptAt = store.RemoteOpen, ref, 2, 9, "", time.Time{}
			it.Storm.Members = 10
		}), caps: caps, want: moveUpdate, wantComment: "storm: 10 resources affected by cpu high", wantNote: "one update carries the 10 members"},
		{name: "members joined, plugin without Update: recorded", it: parent(func(it *store.Item) {
			it.Remote, it.Ref, it.AppliedSeq, it.Seq, it.Intent, it.CreateAttemptAt = store.RemoteOpen, ref, 2, 9, "", time.Time{}
		}), caps: noUpdate, want: moveSkipUpdate, wantNote: "no Update"},
		{name: "nothing new: done", it: parent(func(it *store.Item) {
			it.Remote, it.Ref, it.AppliedSeq, it.Intent, it.CreateAttemptAt = store.RemoteOpen, ref, 2, "", time.Time{}
		}), caps: caps, want: moveDone},
		{name: "all members resolved: resolve", it: parent(func(it *store.Item) {
			it.Remote, it.Ref, it.AppliedSeq, it.Seq, it.Intent, it.CreateAttemptAt = store.RemoteOpen, ref, 2, 3, "", time.Time{}
			it.Condition, it.Storm.Firing = resolved, 0
		}), caps: caps, want: moveResolve, wantComment: "storm over: all 3 members resolved"},
		{name: "an earlier claim's Create may have acted: the parent is looked up", it: parent(func(it *store.Item) {
			it.CreateAttemptAt = now.Add(-time.Hour)
		}), caps: caps, want: moveLookup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(situation{Item: tt.it, Caps: tt.caps, Marked: tt.marked, Now: now})
			if got.Move != tt.want || got.Comment != tt.wantComment || !strings.Contains(got.Note, tt.wantNote) {
				t.Errorf("decide = %v, comment %q, note %q; want %v, %q, a note with %q", got.Move, got.Comment, got.Note, tt.want, tt.wantComment, tt.wantNote)
			}
		})
	}
}

// TestDecideCombined: where two lifecycle policies meet one work item,
// decide asks them in a fixed order (an unknown Create's lookup, a
// maintenance window's hold, flapping, a stale Fired, wont_fix, then the
// field policy of the call that remains). Each row is one step of a
// sequence the rows before it lead to.
func TestDecideCombined(t *testing.T) {
	now := t0.Add(time.Hour)
	fired := sdk.ConditionFired
	end := now.Add(time.Hour)
	ref := &sdk.WorkItem{ID: "W1", Key: "OPS-7"}
	reads := allCaps()
	reads.ReadStatus = true
	noLookup := reads
	noLookup.Lookup = false
	flap := &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: 10 * time.Minute}
	since := now.Add(-5 * time.Minute)
	// item is a work item the connector resolved at t0, whose alert fired
	// again 10 minutes later (inside the reopen window), not delivered yet;
	// the route has a flap block, the alert does not flap.
	item := func(mods ...func(it *store.Item)) *store.Item {
		it := &store.Item{Condition: fired, Remote: store.RemoteResolved, Ref: ref, RemoteResolvedAt: t0,
			Seq: 3, AppliedSeq: 2, FiredSeq: 3, EventAt: t0.Add(10 * time.Minute), Alert: &sdk.Alert{FiredAt: t0.Add(10 * time.Minute)},
			ReopenWindow: time.Hour, OnResolvedWithoutItem: route.ResolvedRecord, Flap: flap}
		for _, mod := range mods {
			mod(it)
		}
		return it
	}
	open := func(it *store.Item) { it.Remote, it.RemoteResolvedAt = store.RemoteOpen, time.Time{} }
	held := func(onEnd string, until time.Time) func(*store.Item) {
		return func(it *store.Item) {
			it.Hold = store.Hold{Seq: it.Seq, Condition: it.Condition, MaintenanceHold: route.MaintenanceHold{Window: "patching", Until: until, OnEnd: onEnd}}
		}
	}
	flapping := func(it *store.Item) {
		it.FlapState, it.FlapNoted = store.FlapState{Transitions: []time.Time{since}, Since: since}, since
	}
	noteOwed := func(it *store.Item) { flapping(it); it.FlapNoted = time.Time{} }
	wontFix := func(it *store.Item) { it.Policy.WontFix = []string{"Won't Fix"} }
	nah := func(it *store.Item) {
		it.Policy.Default = route.FieldCreate
		it.Policy.Fields = map[string]route.FieldPolicy{"assignee": route.FieldNeverAfterHuman}
		it.FieldState = map[string]store.FieldState{"assignee": {Written: "alice"}}
	}
	// byPerson: Beth resolved the item 20 minutes after t0, after the
	// alert's re-fire: that Fired is stale.
	byPerson := func(it *store.Item) {
		it.HumanResolved, it.ResolvedBy, it.RemoteResolvedAt = true, "Beth", t0.Add(20*time.Minute)
	}
	unknownCreate := func(it *store.Item) {
		it.Intent, it.CreateAttemptAt = store.IntentCreating, now.Add(-time.Hour)
	}
	// owedRefire: the re-fire (seq 3) was acknowledged and not delivered,
	// and the alert resolved since (seq 4).
	owedRefire := func(it *store.Item) {
		it.Condition, it.Seq, it.AppliedSeq, it.FiredSeq = sdk.ConditionResolved, 4, 2, 3
	}
	wontFixStatus := &sdk.WorkItemStatus{ID: "W1", Found: true, State: sdk.StateResolved, Resolution: "Won't Fix", ResolvedBy: "Beth"}
	doneStatus := &sdk.WorkItemStatus{ID: "W1", Found: true, State: sdk.StateResolved, Resolution: "Done"}
	tests := []struct {
		name       string
		it         *store.Item
		caps       sdk.Capabilities
		marked     bool
		statusRead bool
		status     *sdk.WorkItemStatus
		want       move
		at         time.Time
		settle     settlement
		comment    string // a text the call's note must contain
	}{
		// An unknown Create is settled before any policy.
		{name: "unknown create, held by a window: lookup first", it: item(unknownCreate, held(route.OnEndCreate, end)), caps: reads, want: moveLookup},
		{name: "unknown create, won't-fix item: lookup before the status read", it: item(unknownCreate, wontFix), caps: reads, want: moveLookup},
		{name: "unknown create, plugin without Lookup, held: wait for the window", it: item(unknownCreate, held(route.OnEndCreate, end)), caps: noLookup,
			want: moveWait, at: end},

		// A won't-fix item re-fired during a maintenance window: nothing
		// while it lasts, then the re-fire as any other.
		{name: "won't fix × window: held, no status read", it: item(wontFix, held(route.OnEndCreate, end)), caps: reads, want: moveWait, at: end},
		{name: "won't fix × window: ended (create): settle to deliver", it: item(wontFix, held(route.OnEndCreate, now)), caps: reads,
			want: moveSettle, settle: settleDeliver},
		{name: "won't fix × window: settled: read status", it: item(wontFix), caps: reads, want: moveReadStatus},
		{name: "won't fix × window: read: comment, not reopened", it: item(wontFix), caps: reads, statusRead: true, status: wontFixStatus, want: moveWontFix},
		{name: "won't fix × window: ended (drop): given up, no comment", it: item(wontFix, held(route.OnEndDrop, now)), caps: reads,
			want: moveSettle, settle: settleGiveUp},
		{name: "won't fix × window: given up: done", it: item(wontFix, func(it *store.Item) { it.AppliedSeq = it.Seq }), caps: reads, want: moveDone},

		// A flapping alert and a window: an open item is not held.
		{name: "flapping × window: open item: delivered as usual", it: item(open, noteOwed, held(route.OnEndCreate, end)), caps: reads,
			want: moveSettle, settle: settleDeliver},
		{name: "flapping × window: settled: the flapping note", it: item(open, noteOwed), caps: reads, want: moveFlapNote, comment: "stays open"},
		{name: "flapping × window: no open item: held", it: item(noteOwed, held(route.OnEndCreate, end)), caps: reads, want: moveWait, at: end},
		{name: "flapping × window: settled: reopen, the note follows", it: item(noteOwed), caps: allCaps(), want: moveReopen},

		// The field policy and a window: the re-fire after the settle.
		{name: "field policy × window: open item, settled: read status", it: item(open, nah), caps: reads, want: moveReadStatus},
		{name: "field policy × window: resolved item, held: no read", it: item(nah, held(route.OnEndCreate, end)), caps: reads, want: moveWait, at: end},
		{name: "field policy × window: resolved item, settled: read, then reopen", it: item(nah), caps: reads, want: moveReadStatus},

		// A stale Fired and a window.
		{name: "stale Fired × window: held", it: item(byPerson, held(route.OnEndCreate, end)), caps: reads, want: moveWait, at: end},
		{name: "stale Fired × window: settled: recorded only", it: item(byPerson), caps: reads, want: moveDone},

		// A flapping alert with a field policy: the note writes no field,
		// so it needs no status read; re-fires are not sent.
		{name: "flapping × field policy: note owed: the note, no read", it: item(open, noteOwed, nah), caps: reads, want: moveFlapNote},
		{name: "flapping × field policy: noted, re-fire: suppressed, no read", it: item(open, flapping, nah), caps: reads, want: moveSuppress},
		{name: "flapping × field policy: no longer flapping: read, then update", it: item(open, nah), caps: reads, want: moveReadStatus},

		// A flapping alert whose item a person resolved as won't fix: one
		// comment (the note), then nothing sent.
		{name: "flapping × won't fix: re-fire: read status", it: item(noteOwed, wontFix), caps: reads, want: moveReadStatus},
		{name: "flapping × won't fix: note owed: the comment is the note", it: item(noteOwed, wontFix), caps: reads, statusRead: true,
			status: wontFixStatus, want: moveWontFix, comment: `stays resolved ("Won't Fix")`},
		{name: "flapping × won't fix: noted: suppressed", it: item(flapping, wontFix), caps: reads, statusRead: true, status: wontFixStatus,
			want: moveSuppress},
		{name: "flapping × won't fix: resolved as done: reopen, the note follows", it: item(noteOwed, wontFix), caps: reads, statusRead: true,
			status: doneStatus, want: moveReopen},
		{name: "flapping × won't fix: after the reopen window: create", it: item(flapping, wontFix, func(it *store.Item) {
			it.EventAt, it.Alert.FiredAt = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
		}), caps: reads, marked: true, want: moveCreate},

		// A stale Fired is recorded before wont_fix or the field policy
		// asks anything.
		{name: "stale Fired × won't fix: recorded, no status read", it: item(byPerson, wontFix), caps: reads, want: moveDone},
		{name: "stale Fired × field policy: recorded, no status read", it: item(byPerson, nah), caps: reads, want: moveDone},
		{name: "genuine re-fire after a person's resolution × won't fix: read status", it: item(byPerson, wontFix, func(it *store.Item) {
			it.EventAt, it.Alert.FiredAt = t0.Add(30*time.Minute), t0.Add(30*time.Minute)
		}), caps: reads, want: moveReadStatus},

		// A re-fire acknowledged before a window (the backend was failing)
		// and resolved inside it is still owed: at the end it is delivered,
		// and wont_fix answers it with a comment.
		{name: "owed re-fire × window × won't fix: ended: settle to deliver", it: item(wontFix, owedRefire, held(route.OnEndDrop, now),
			func(it *store.Item) { it.Hold.PriorFiredSeq = 3 }), caps: reads, want: moveSettle, settle: settleDeliver},
		{name: "owed re-fire × window × won't fix: settled: read status", it: item(wontFix, owedRefire), caps: reads, want: moveReadStatus},
		{name: "owed re-fire × window × won't fix: read: comment", it: item(wontFix, owedRefire), caps: reads, statusRead: true, status: wontFixStatus,
			want: moveWontFix},

		// wont_fix and the field policy: one read serves both.
		{name: "won't fix × field policy: one read", it: item(wontFix, nah), caps: reads, want: moveReadStatus},
		{name: "won't fix × field policy: read: comment", it: item(wontFix, nah), caps: reads, statusRead: true, status: wontFixStatus, want: moveWontFix},
		{name: "won't fix × field policy: resolved as done: reopen", it: item(wontFix, nah), caps: reads, statusRead: true, status: doneStatus, want: moveReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(situation{Item: tt.it, Caps: tt.caps, Marked: tt.marked, ReadAfterWrite: time.Minute, Now: now,
				StatusRead: tt.statusRead, Status: tt.status})
			if got.Move != tt.want || !got.At.Equal(tt.at) || got.Settle != tt.settle {
				t.Errorf("decide = %v at %v settle %d (note %q), want %v at %v settle %d", got.Move, got.At, got.Settle, got.Note, tt.want, tt.at, tt.settle)
			}
			if tt.comment != "" && !strings.Contains(got.Comment, tt.comment) {
				t.Errorf("the call's note is %q; want it to contain %q", got.Comment, tt.comment)
			}
			if tt.comment == "" && got.Move == moveWontFix && got.Comment != "" {
				t.Errorf("a won't-fix comment of an alert that does not flap carries the note %q", got.Comment)
			}
		})
	}
}
