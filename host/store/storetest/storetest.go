// Package storetest is the conformance suite every store engine passes.
// An engine's test calls [Run] with a function that opens a fresh, empty
// store for each subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Opener tells the suite how to get stores of one engine.
type Opener struct {
	// Open opens a fresh, empty store (the suite closes it) and returns a
	// function that opens the same database again, to test durability
	// across restarts; that function may be nil.
	Open func(t *testing.T) (s store.Store, reopen func() store.Store)
	// Engine names the engine in messages.
	Engine string
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Alert returns a test alert with id, condition and event time.
func Alert(id string, cond sdk.Condition, at time.Time) *sdk.Alert {
	a := &sdk.Alert{ID: id, Rule: "cpu high", Condition: cond, FiredAt: at}
	if cond == sdk.ConditionResolved {
		a.FiredAt = at.Add(-time.Minute)
		r := at
		a.ResolvedAt = &r
	}
	return a
}

// Delivery returns a delivery of route "r" to backend for key.
func Delivery(backend, key string) route.Delivery {
	return route.Delivery{Route: "r", Backend: backend, CorrelationKey: key,
		Fields:             map[string]any{"summary": "cpu high", "urgency": 1.0},
		ConfigurationItems: []sdk.ConfigurationItem{{Name: "vm1", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1"}},
		ReopenWindow:       time.Hour}
}

func notif(a *sdk.Alert, ds ...route.Delivery) store.Notification {
	return store.Notification{Alert: a, Deliveries: ds, ReceivedAt: t0.Add(time.Hour)}
}

func ingest(t *testing.T, s store.Store, ns ...store.Notification) []store.IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), ns)
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	if len(res) != len(ns) {
		t.Fatalf("Ingest returned %d results for %d notifications", len(res), len(ns))
	}
	return res
}

func get(t *testing.T, s store.Store, id int64) *store.Item {
	t.Helper()
	it, err := s.GetItem(context.Background(), id)
	if err != nil {
		t.Fatalf("GetItem(%d): %v", id, err)
	}
	return it
}

func claim(t *testing.T, s store.Store, backend, owner string, now time.Time, limit int) []*store.Item {
	t.Helper()
	items, err := s.Claim(context.Background(), backend, owner, now, time.Minute, limit)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return items
}

// Run runs the conformance suite.
func Run(t *testing.T, o Opener) {
	if o.Open == nil {
		t.Fatalf("storetest: engine %q gave no Open function", o.Engine)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, reopen func() store.Store)
	}{
		{"IngestCreatesDirtyItem", testIngestCreates},
		{"ResolvedPolicyPerItem", testResolvedPolicy},
		{"LifecyclePolicyAndFieldState", testLifecyclePolicy},
		{"IngestOrdering", testIngestOrdering},
		{"FiredSeq", testFiredSeq},
		{"CreatingIntentAtIngest", testCreatingIntentAtIngest},
		{"ClaimMarksCreateAttempt", testClaimMarksCreateAttempt},
		{"IngestBatchSameKey", testBatchSameKey},
		{"IngestConcurrentSameKey", testConcurrentSameKey},
		{"Unmatched", testUnmatched},
		{"ClaimLeases", testClaimLeases},
		{"RecordProgress", testRecordProgress},
		{"RecordAllChecksEachLeaseAndClaims", testRecordAll},
		{"RecordDoneWithNewerNotification", testDoneWithNewer},
		{"RetrySchedules", testRetry},
		{"DeadLetterReplayDrop", testDeadLetter},
		{"DeadLetterIDsNeverReused", testDeadLetterIDsNeverReused},
		{"NewNotificationRevivesDead", testRevive},
		{"ReleaseLeases", testReleaseLeases},
		{"ListAndFilter", testList},
		{"ConsoleFiltersAndSearch", testConsoleFilters},
		{"DeadLetterFilters", testDeadLetterFilters},
		{"ListEventsPages", testListEvents},
		{"PruneEvents", testPruneEvents},
		{"FollowUpsAndStatusReads", testFollowUpsAndStatus},
		{"TraceContext", testTraceContext},
		{"Durable", testDurable},
		{"FlapState", testFlapState},
		{"MaintenanceHold", testMaintenanceHold},
		{"MaintenanceHoldPriorFired", testMaintenanceHoldPriorFired},
		{"MaintenanceWindows", testMaintenanceWindows},
		{"Storm", testStorm},
		{"StormConcurrent", testStormConcurrent},
		{"StormHeld", testStormHeld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, reopen := o.Open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s, reopen)
		})
	}
}

func testIngestCreates(t *testing.T, s store.Store, _ func() store.Store) {
	res := ingest(t, s, notif(Alert("a1", sdk.ConditionFired, t0), Delivery("file.x", "k1"), Delivery("jira.y", "k1")))
	if len(res[0].Deliveries) != 2 {
		t.Fatalf("got %d delivery outcomes, want 2", len(res[0].Deliveries))
	}
	for _, d := range res[0].Deliveries {
		if d.Outcome != store.OutcomeNew || d.ItemID == 0 {
			t.Errorf("outcome %+v, want new with an id", d)
		}
	}
	it := get(t, s, res[0].Deliveries[0].ItemID)
	if it.Route != "r" || it.Backend != "file.x" || it.CorrelationKey != "k1" {
		t.Errorf("identity = %s/%s/%s", it.Route, it.Backend, it.CorrelationKey)
	}
	if !it.Dirty || it.Dead || it.Seq != 1 || it.AppliedSeq != 0 || it.Remote != store.RemoteNone {
		t.Errorf("state = dirty %v dead %v seq %d applied %d remote %q", it.Dirty, it.Dead, it.Seq, it.AppliedSeq, it.Remote)
	}
	if it.Condition != sdk.ConditionFired || !it.EventAt.Equal(t0) || it.AlertID != "a1" || it.Alert.Rule != "cpu high" {
		t.Errorf("desired = %s at %v alert %q", it.Condition, it.EventAt, it.AlertID)
	}
	if it.ReopenWindow != time.Hour || it.Fields["summary"] != "cpu high" || len(it.ConfigurationItems) != 1 {
		t.Errorf("delivery = window %v fields %v cis %v", it.ReopenWindow, it.Fields, it.ConfigurationItems)
	}
	evs, err := s.Events(context.Background(), it.ID)
	if err != nil || len(evs) != 1 || evs[0].Kind != store.EventNotification || evs[0].Outcome != string(store.OutcomeNew) {
		t.Errorf("events = %+v, %v; want one notification event", evs, err)
	}
}

// testResolvedPolicy: a delivery's on_resolved_without_item is stored on
// its item, read back by GetItem, Claim and ListItems, and replaced by every
// applied notification (like reopen_window); an empty policy is stored as
// record.
func testResolvedPolicy(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	with := func(key string, p route.ResolvedPolicy) route.Delivery {
		d := Delivery("file.x", key)
		d.OnResolvedWithoutItem = p
		return d
	}
	steps := []struct {
		name  string
		alert *sdk.Alert
		p     route.ResolvedPolicy
		want  route.ResolvedPolicy
	}{
		{"new item", Alert("a", sdk.ConditionFired, t0), route.ResolvedCreateAndResolve, route.ResolvedCreateAndResolve},
		{"applied notification replaces it", Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), route.ResolvedRecord, route.ResolvedRecord},
		{"stale notification leaves it", Alert("a", sdk.ConditionFired, t0), route.ResolvedCreateAndResolve, route.ResolvedRecord},
		{"applied again", Alert("b", sdk.ConditionResolved, t0.Add(time.Hour)), route.ResolvedCreateAndResolve, route.ResolvedCreateAndResolve},
		{"empty is record", Alert("c", sdk.ConditionFired, t0.Add(2*time.Hour)), "", route.ResolvedRecord},
	}
	var id int64
	for _, st := range steps {
		id = ingest(t, s, notif(st.alert, with("k", st.p)))[0].Deliveries[0].ItemID
		if got := get(t, s, id).OnResolvedWithoutItem; got != st.want {
			t.Errorf("%s: GetItem policy %q, want %q", st.name, got, st.want)
		}
	}
	newID := ingest(t, s, notif(Alert("n", sdk.ConditionResolved, t0), with("k2", "")))[0].Deliveries[0].ItemID
	if got := get(t, s, newID).OnResolvedWithoutItem; got != route.ResolvedRecord {
		t.Errorf("new item with an empty policy: %q, want %q", got, route.ResolvedRecord)
	}
	claimed := claim(t, s, "file.x", "A", t0.Add(3*time.Hour), 10)
	byID := map[int64]route.ResolvedPolicy{}
	for _, it := range claimed {
		byID[it.ID] = it.OnResolvedWithoutItem
	}
	if want := map[int64]route.ResolvedPolicy{id: route.ResolvedRecord, newID: route.ResolvedRecord}; !reflect.DeepEqual(byID, want) {
		t.Errorf("claimed policies %v, want %v", byID, want)
	}
	ingest(t, s, notif(Alert("n", sdk.ConditionFired, t0.Add(time.Hour)), with("k2", route.ResolvedCreateAndResolve)))
	items, err := s.ListItems(ctx, store.ItemFilter{CorrelationKey: "k2"})
	if err != nil || len(items) != 1 || items[0].OnResolvedWithoutItem != route.ResolvedCreateAndResolve {
		t.Errorf("ListItems = %+v, %v; want k2 with %q", items, err, route.ResolvedCreateAndResolve)
	}
}

// testLifecyclePolicy: the route's lifecycle policy is kept per item and
// replaced by every applied notification; the field state is what the
// worker last recorded, kept through later notifications.
func testLifecyclePolicy(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	d := Delivery("jira.ops", "k")
	if got := get(t, s, ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0].ItemID); !reflect.DeepEqual(got.Policy, route.Policy{}) || got.FieldState != nil {
		t.Fatalf("a route without a policy: policy %+v, field state %+v", got.Policy, got.FieldState)
	}
	d.Policy = route.Policy{Fields: map[string]route.FieldPolicy{"priority": route.FieldComment, "assignee": route.FieldNeverAfterHuman},
		Default: route.FieldCreate, WontFix: []string{"Won't Fix"}}
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0.Add(time.Minute)), d))[0].Deliveries[0].ItemID
	if got := get(t, s, id); !reflect.DeepEqual(got.Policy, d.Policy) {
		t.Fatalf("policy = %+v, want %+v", got.Policy, d.Policy)
	}
	now := t0.Add(time.Hour)
	it := claim(t, s, "jira.ops", "A", now, 1)[0]
	fs := map[string]store.FieldState{"priority": {Written: "2"}, "assignee": {Written: "alice", Human: true}}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "1"},
		AppliedSeq: it.Seq, FieldState: fs, Done: true}); err != nil {
		t.Fatal(err)
	}
	d.Policy.WontFix = nil
	ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0.Add(2*time.Minute)), d))
	got := get(t, s, id)
	if !reflect.DeepEqual(got.FieldState, fs) || !reflect.DeepEqual(got.Policy, d.Policy) {
		t.Errorf("after a re-fire: field state %+v (want %+v), policy %+v (want %+v)", got.FieldState, fs, got.Policy, d.Policy)
	}
}

func testIngestOrdering(t *testing.T, s store.Store, _ func() store.Store) {
	d := Delivery("file.x", "k")
	steps := []struct {
		alert   *sdk.Alert
		want    store.Outcome
		wantSeq int64
		cond    sdk.Condition
	}{
		{Alert("a", sdk.ConditionResolved, t0.Add(2*time.Minute)), store.OutcomeNew, 1, sdk.ConditionResolved},
		{Alert("a", sdk.ConditionFired, t0), store.OutcomeStale, 1, sdk.ConditionResolved},
		{Alert("a", sdk.ConditionResolved, t0.Add(2*time.Minute)), store.OutcomeDuplicate, 1, sdk.ConditionResolved},
		{Alert("b", sdk.ConditionFired, t0.Add(time.Hour)), store.OutcomeApplied, 2, sdk.ConditionFired},
		{Alert("b", sdk.ConditionFired, t0.Add(2*time.Hour)), store.OutcomeApplied, 3, sdk.ConditionFired},
	}
	for i, st := range steps {
		res := ingest(t, s, notif(st.alert, d))
		out := res[0].Deliveries[0]
		if out.Outcome != st.want {
			t.Fatalf("step %d: outcome %q, want %q", i, out.Outcome, st.want)
		}
		it := get(t, s, out.ItemID)
		if it.Seq != st.wantSeq || it.Condition != st.cond {
			t.Fatalf("step %d: seq %d condition %s, want %d %s", i, it.Seq, it.Condition, st.wantSeq, st.cond)
		}
	}
}

// testFiredSeq: ingest records the seq of the newest applied Fired
// (FiredSeq) in the same transaction and keeps it through Resolved, stale
// and duplicate notifications and through Record, so a worker can tell a
// Fired the connector acknowledged but never delivered (FiredSeq above
// AppliedSeq). Dropping an item's dead letter gives its Fired up.
func testFiredSeq(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	d := Delivery("file.x", "k")
	steps := []struct {
		name              string
		alert             *sdk.Alert
		wantSeq, wantFire int64
	}{
		{"new Fired", Alert("a", sdk.ConditionFired, t0), 1, 1},
		{"Resolved keeps it", Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), 2, 1},
		{"stale Fired leaves it", Alert("a", sdk.ConditionFired, t0), 2, 1},
		{"duplicate Resolved leaves it", Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), 2, 1},
		{"newer Fired sets it", Alert("b", sdk.ConditionFired, t0.Add(time.Hour)), 3, 3},
		{"its Resolved keeps it", Alert("b", sdk.ConditionResolved, t0.Add(2*time.Hour)), 4, 3},
	}
	var id int64
	for _, st := range steps {
		id = ingest(t, s, notif(st.alert, d))[0].Deliveries[0].ItemID
		if it := get(t, s, id); it.Seq != st.wantSeq || it.FiredSeq != st.wantFire || it.AppliedSeq != 0 {
			t.Errorf("%s: seq %d fired seq %d applied %d; want %d, %d, 0", st.name, it.Seq, it.FiredSeq, it.AppliedSeq, st.wantSeq, st.wantFire)
		}
	}
	// A Resolved first: no Fired acknowledged, and a stale one changes nothing.
	k2 := Delivery("file.x", "k2")
	id2 := ingest(t, s, notif(Alert("c", sdk.ConditionResolved, t0.Add(time.Minute)), k2))[0].Deliveries[0].ItemID
	ingest(t, s, notif(Alert("c", sdk.ConditionFired, t0), k2))
	if it := get(t, s, id2); it.FiredSeq != 0 || it.Seq != 1 {
		t.Errorf("resolved first: seq %d fired seq %d; want 1, 0", it.Seq, it.FiredSeq)
	}
	// Fired and Resolved in one transaction.
	k3 := Delivery("file.x", "k3")
	id3 := ingest(t, s, notif(Alert("e", sdk.ConditionFired, t0), k3),
		notif(Alert("e", sdk.ConditionResolved, t0.Add(time.Minute)), k3))[0].Deliveries[0].ItemID
	if it := get(t, s, id3); it.FiredSeq != 1 || it.Seq != 2 {
		t.Errorf("one batch: seq %d fired seq %d; want 2, 1", it.Seq, it.FiredSeq)
	}
	// Claim reads it; Record leaves it and moves AppliedSeq.
	now := t0.Add(3 * time.Hour)
	var claimed *store.Item
	for _, it := range claim(t, s, "file.x", "A", now, 10) {
		if it.ID == id {
			claimed = it
		}
	}
	if claimed == nil || claimed.FiredSeq != 3 {
		t.Fatalf("claimed item %+v; want fired seq 3", claimed)
	}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteResolved, AppliedSeq: 4, Done: true}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); it.FiredSeq != 3 || it.AppliedSeq != 4 {
		t.Errorf("after Record: fired seq %d applied %d; want 3, 4", it.FiredSeq, it.AppliedSeq)
	}
	// An operator's drop of a Fired's dead letter gives the Fired up: a
	// later Resolved finds nothing owed.
	dropID, dl := deadLetterItem(t, s, Delivery("jira.z", "k4"))
	if err := s.DropDeadLetter(ctx, dl.ID); err != nil {
		t.Fatal(err)
	}
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), Delivery("jira.z", "k4")))
	if it := get(t, s, dropID); it.FiredSeq > it.AppliedSeq || it.Dead || !it.Dirty {
		t.Errorf("after drop and a Resolved: fired seq %d applied %d dead %v dirty %v; want nothing owed, live, dirty",
			it.FiredSeq, it.AppliedSeq, it.Dead, it.Dirty)
	}
}

// testCreatingIntentAtIngest: ingest records the creating intent in the
// commit that acknowledges a notification that may need a new work item
// (a Fired for a slot without an open item, a Resolved that
// create_and_resolve turns into one), and never for an open item, so a new
// work item needs no commit of its own before its Create.
func testCreatingIntentAtIngest(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	now := t0.Add(3 * time.Hour)
	createResolve := Delivery("file.x", "cr")
	createResolve.OnResolvedWithoutItem = route.ResolvedCreateAndResolve
	fired := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "fired")))[0].Deliveries[0].ItemID
	recorded := ingest(t, s, notif(Alert("b", sdk.ConditionResolved, t0), Delivery("file.x", "recorded")))[0].Deliveries[0].ItemID
	cr := ingest(t, s, notif(Alert("c", sdk.ConditionResolved, t0), createResolve))[0].Deliveries[0].ItemID
	for _, tc := range []struct {
		name string
		id   int64
		want store.Intent
	}{
		{"new Fired", fired, store.IntentCreating},
		{"new Resolved, record", recorded, store.IntentNone},
		{"new Resolved, create_and_resolve", cr, store.IntentCreating},
	} {
		if it := get(t, s, tc.id); it.Intent != tc.want || !it.CreateAttemptAt.IsZero() {
			t.Errorf("%s: intent %q attempt %v; want %q, no attempt", tc.name, it.Intent, it.CreateAttemptAt, tc.want)
		}
	}
	// The Fired's item is created (open); the record-only slot is settled.
	for _, it := range claim(t, s, "file.x", "A", now, 10) {
		p := store.Progress{ItemID: it.ID, Owner: "A", Now: now, AppliedSeq: it.Seq, Done: true}
		if it.ID == fired {
			p.Remote, p.Ref = store.RemoteOpen, &sdk.WorkItem{ID: "INC1"}
		}
		if it.ID != cr {
			if err := s.Record(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0.Add(time.Minute)), Delivery("file.x", "fired")))
	if it := get(t, s, fired); it.Intent != store.IntentNone {
		t.Errorf("re-fire of an open item: intent %q, want none (Update, not Create)", it.Intent)
	}
	ingest(t, s, notif(Alert("b", sdk.ConditionFired, t0.Add(time.Minute)), Delivery("file.x", "recorded")))
	if it := get(t, s, recorded); it.Intent != store.IntentCreating {
		t.Errorf("Fired after a recorded resolution: intent %q, want creating", it.Intent)
	}
	// A resolved item that fires again may need a new one (or a Reopen).
	later := now.Add(2 * time.Minute)
	for _, it := range claim(t, s, "file.x", "A", later, 10) {
		if it.ID == fired {
			if err := s.Record(ctx, store.Progress{ItemID: it.ID, Owner: "A", Now: later, Remote: store.RemoteResolved,
				Ref: it.Ref, RemoteResolvedAt: t0.Add(2 * time.Minute), AppliedSeq: it.Seq, Done: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ingest(t, s, notif(Alert("a2", sdk.ConditionFired, t0.Add(time.Hour)), Delivery("file.x", "fired")))
	if it := get(t, s, fired); it.Intent != store.IntentCreating || it.Remote != store.RemoteResolved {
		t.Errorf("re-fire of a resolved item: intent %q remote %q, want creating, resolved", it.Intent, it.Remote)
	}
}

// testClaimMarksCreateAttempt: the claim marks the attempt of a creating
// intent in the commit that leases the item, once: a later claim sees the
// earlier mark (a Create may have reached the backend), Record keeps or
// clears it as told and clears it with the intent, and ingest keeps it.
func testClaimMarksCreateAttempt(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))[0].Deliveries[0].ItemID
	other := ingest(t, s, notif(Alert("b", sdk.ConditionResolved, t0), Delivery("file.x", "none")))[0].Deliveries[0].ItemID
	t1 := t0.Add(time.Hour)
	byID := func(items []*store.Item) map[int64]*store.Item {
		m := map[int64]*store.Item{}
		for _, it := range items {
			m[it.ID] = it
		}
		return m
	}
	got := byID(claim(t, s, "file.x", "A", t1, 10))
	if it := got[id]; it == nil || !it.CreateAttemptAt.Equal(t1) {
		t.Fatalf("first claim: %+v; want the attempt marked at the claim's time %v", it, t1)
	}
	if it := got[other]; it == nil || !it.CreateAttemptAt.IsZero() {
		t.Errorf("claim of an item without intent: %+v; want no attempt mark", it)
	}
	if it := get(t, s, id); !it.CreateAttemptAt.Equal(t1) {
		t.Errorf("stored attempt %v after the claim, want %v", it.CreateAttemptAt, t1)
	}
	// The claim ends with the outcome unknown: the mark is kept, and a
	// newer notification keeps it too.
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: t1, Intent: store.IntentCreating,
		CreateAttemptAt: t1, Attempts: 1, Retry: true, RetryAt: t1}); err != nil {
		t.Fatal(err)
	}
	ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0.Add(time.Minute)), Delivery("file.x", "k")))
	t2 := t1.Add(time.Hour)
	if it := byID(claim(t, s, "file.x", "B", t2, 10))[id]; it == nil || !it.CreateAttemptAt.Equal(t1) || it.Intent != store.IntentCreating {
		t.Fatalf("second claim: %+v; want the first claim's mark %v kept", it, t1)
	}
	// A claim that sent no Create clears its mark: the next claim marks anew.
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "B", Now: t2, Intent: store.IntentCreating,
		Retry: true, RetryAt: t2}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); !it.CreateAttemptAt.IsZero() {
		t.Errorf("after a Record clearing it: attempt %v, want none", it.CreateAttemptAt)
	}
	t3 := t2.Add(time.Hour)
	if it := byID(claim(t, s, "file.x", "C", t3, 10))[id]; it == nil || !it.CreateAttemptAt.Equal(t3) {
		t.Fatalf("third claim: %+v; want a new mark at %v", it, t3)
	}
	// The intent settled: the mark goes with it, whatever Record is given.
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "C", Now: t3, Remote: store.RemoteOpen,
		Ref: &sdk.WorkItem{ID: "INC1"}, CreateAttemptAt: t3, AppliedSeq: 2, Done: true}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); it.Intent != store.IntentNone || !it.CreateAttemptAt.IsZero() {
		t.Errorf("after the create: intent %q attempt %v; want neither", it.Intent, it.CreateAttemptAt)
	}
	if reopen == nil {
		return
	}
	// The mark is durable.
	id2 := ingest(t, s, notif(Alert("d", sdk.ConditionFired, t0), Delivery("jira.y", "k")))[0].Deliveries[0].ItemID
	if items := claim(t, s, "jira.y", "A", t1, 10); len(items) != 1 {
		t.Fatalf("claimed %d, want 1", len(items))
	}
	_ = s.Close()
	s2 := reopen()
	defer s2.Close()
	if it := get(t, s2, id2); !it.CreateAttemptAt.Equal(t1) || it.Intent != store.IntentCreating {
		t.Errorf("after reopening: intent %q attempt %v; want creating, %v", it.Intent, it.CreateAttemptAt, t1)
	}
}

func testBatchSameKey(t *testing.T, s store.Store, _ func() store.Store) {
	d := Delivery("file.x", "k")
	res := ingest(t, s,
		notif(Alert("a", sdk.ConditionFired, t0), d),
		notif(Alert("a", sdk.ConditionFired, t0), d),
		notif(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), d))
	want := []store.Outcome{store.OutcomeNew, store.OutcomeDuplicate, store.OutcomeApplied}
	for i, r := range res {
		if r.Deliveries[0].Outcome != want[i] {
			t.Errorf("notification %d: %q, want %q", i, r.Deliveries[0].Outcome, want[i])
		}
	}
	it := get(t, s, res[0].Deliveries[0].ItemID)
	if it.Seq != 2 || it.Condition != sdk.ConditionResolved {
		t.Errorf("seq %d condition %s, want 2 resolved", it.Seq, it.Condition)
	}
	// One notification event per notification, in the batch's order.
	evs := events(t, s, it.ID)
	wantOps := []string{"fired", "fired", "resolved"}
	if len(evs) != len(want) {
		t.Fatalf("events = %+v, want %d", evs, len(want))
	}
	for i, e := range evs {
		if e.Kind != store.EventNotification || e.Op != wantOps[i] || e.Outcome != string(want[i]) ||
			!e.At.Equal(t0.Add(time.Hour)) || !strings.HasPrefix(e.Message, wantOps[i]+" notification for alert a at ") {
			t.Errorf("event %d = %+v, want %s %s", i, e, wantOps[i], want[i])
		}
	}
}

func testConcurrentSameKey(t *testing.T, s store.Store, _ func() store.Store) {
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := Alert(fmt.Sprintf("a%d", i), sdk.ConditionFired, t0.Add(time.Duration(i)*time.Second))
			_, err := s.Ingest(context.Background(), []store.Notification{notif(a, Delivery("file.x", "same"))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
	}
	items, err := s.ListItems(context.Background(), store.ItemFilter{CorrelationKey: "same"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("got %d items for one key, want 1", len(items))
	}
	if items[0].AlertID != fmt.Sprintf("a%d", n-1) || items[0].Seq < 1 || items[0].Seq > n {
		t.Errorf("desired alert %q seq %d; want the newest alert and 1..%d notifications applied", items[0].AlertID, items[0].Seq, n)
	}
	if !items[0].EventAt.Equal(t0.Add((n - 1) * time.Second)) {
		t.Errorf("desired time %v, want the newest notification's %v", items[0].EventAt, t0.Add((n-1)*time.Second))
	}
}

func testUnmatched(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	res := ingest(t, s, store.Notification{Alert: Alert("u1", sdk.ConditionFired, t0), Unmatched: "no route for severity 4", ReceivedAt: t0})
	if res[0].DeadLetterID == 0 {
		t.Fatal("unmatched alert got no dead letter")
	}
	dl, err := s.GetDeadLetter(ctx, res[0].DeadLetterID)
	if err != nil {
		t.Fatal(err)
	}
	if dl.ItemID != 0 || dl.Alert.ID != "u1" || dl.Reason != "unmatched: no route for severity 4" {
		t.Errorf("dead letter = %+v", dl)
	}
	st, err := s.Stats(ctx, t0)
	if err != nil || st.Unmatched != 1 {
		t.Errorf("stats = %+v, %v; want 1 unmatched", st, err)
	}
	got, err := s.ReplayDeadLetter(ctx, dl.ID, t0)
	if err != nil || got.ID != dl.ID {
		t.Fatalf("ReplayDeadLetter = %+v, %v", got, err)
	}
	if _, err := s.GetDeadLetter(ctx, dl.ID); err != nil {
		t.Errorf("unmatched letter gone after replay, want it kept for the caller: %v", err)
	}
	if err := s.DropDeadLetter(ctx, dl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDeadLetter(ctx, dl.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDeadLetter after drop = %v, want ErrNotFound", err)
	}
	if err := s.DropDeadLetter(ctx, dl.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second drop = %v, want ErrNotFound", err)
	}
}

func testClaimLeases(t *testing.T, s store.Store, _ func() store.Store) {
	for i := 0; i < 5; i++ {
		ingest(t, s, notif(Alert(fmt.Sprint(i), sdk.ConditionFired, t0), Delivery("file.x", fmt.Sprint("k", i))))
	}
	ingest(t, s, notif(Alert("o", sdk.ConditionFired, t0), Delivery("jira.y", "other")))
	now := t0.Add(2 * time.Hour)
	a := claim(t, s, "file.x", "A", now, 3)
	if len(a) != 3 {
		t.Fatalf("claimed %d, want 3", len(a))
	}
	for _, it := range a {
		if it.Backend != "file.x" || it.LeaseOwner != "A" {
			t.Errorf("claimed %s owned by %q", it.Backend, it.LeaseOwner)
		}
	}
	b := claim(t, s, "file.x", "B", now, 10)
	if len(b) != 2 {
		t.Fatalf("second owner claimed %d, want the 2 left", len(b))
	}
	if c := claim(t, s, "file.x", "C", now, 10); len(c) != 0 {
		t.Errorf("claimed %d leased items", len(c))
	}
	if c := claim(t, s, "file.x", "C", now.Add(2*time.Minute), 10); len(c) != 5 {
		t.Errorf("after lease expiry claimed %d, want 5", len(c))
	}
	if c := claim(t, s, "jira.y", "C", now, 10); len(c) != 1 {
		t.Errorf("other backend claimed %d, want 1", len(c))
	}
	st, err := s.Stats(context.Background(), now.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if bs, received := st.Backends["file.x"], t0.Add(time.Hour); bs.Queued != 5 || bs.Leased != 5 || bs.Due != 0 || !bs.OldestPending.Equal(received) {
		t.Errorf("stats file.x = %+v; want 5 queued, 5 leased, 0 due, oldest pending since %v", bs, received)
	}
}

func testRecordProgress(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	res := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))
	id := res[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	it := claim(t, s, "file.x", "A", now, 1)[0]
	err := s.Record(ctx, store.Progress{ItemID: id, Owner: "B", Now: now, Intent: store.IntentCreating, LeaseUntil: now.Add(time.Minute)})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Record by non-owner = %v, want ErrLeaseLost", err)
	}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Intent: store.IntentCreating,
		LeaseUntil: now.Add(time.Minute), Events: []store.Event{{Kind: store.EventState, Message: "creating"}}}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, id); got.Intent != store.IntentCreating || got.LeaseOwner != "A" {
		t.Errorf("intent %q owner %q", got.Intent, got.LeaseOwner)
	}
	ref := &sdk.WorkItem{ID: "INC1", Key: "INC0001", URL: "https://x/INC1", State: sdk.StateOpen, Attributes: map[string]string{"p": "q"}}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: ref,
		AppliedSeq: it.Seq, Done: true, Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok", Duration: time.Millisecond}}}); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, id)
	if got.Dirty || got.LeaseOwner != "" || got.Remote != store.RemoteOpen || got.Intent != store.IntentNone || got.AppliedSeq != 1 {
		t.Errorf("after done: dirty %v owner %q remote %q intent %q applied %d", got.Dirty, got.LeaseOwner, got.Remote, got.Intent, got.AppliedSeq)
	}
	if got.Ref == nil || got.Ref.ID != "INC1" || got.Ref.Attributes["p"] != "q" {
		t.Errorf("ref = %+v", got.Ref)
	}
	if c := claim(t, s, "file.x", "A", now.Add(time.Hour), 10); len(c) != 0 {
		t.Errorf("clean item claimed")
	}
	evs, err := s.Events(ctx, id)
	if err != nil || len(evs) != 3 || evs[2].Op != "create" || evs[2].Duration != time.Millisecond {
		t.Errorf("events = %+v, %v", evs, err)
	}
}

// testRecordAll: one RecordAll writes the steps of items leased to their
// owners and skips, whole, the step of an item whose lease was lost (its
// error wraps ErrLeaseLost, its events and dead letter are not written);
// then, in the same transaction, it claims, and an item whose claim one
// step ended is due again to those claims.
func testRecordAll(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		ids = append(ids, ingest(t, s, notif(Alert(fmt.Sprint(i), sdk.ConditionFired, t0), Delivery("file.x", fmt.Sprint("k", i))))[0].Deliveries[0].ItemID)
	}
	now := t0.Add(2 * time.Hour)
	if n := len(claim(t, s, "file.x", "A", now, 3)); n != 3 {
		t.Fatalf("claimed %d, want 3", n)
	}
	// A gives ids[2] up (as a worker whose lease expired would lose it)
	// and B takes it; ids[3] arrives unclaimed.
	mine, lost := []int64{ids[0], ids[1]}, []int64{ids[2]}
	if err := s.Record(ctx, store.Progress{ItemID: lost[0], Owner: "A", Now: now, Intent: store.IntentCreating, Retry: true, RetryAt: now}); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, "file.x", "B", now, 10); len(got) != 1 || got[0].ID != lost[0] {
		t.Fatalf("B claimed %s, want item %d", fmtIDs(got), lost[0])
	}
	ids = append(ids, ingest(t, s, notif(Alert("3", sdk.ConditionFired, t0), Delivery("file.x", "k3")))[0].Deliveries[0].ItemID)
	later := now
	ev := []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok"}}
	ps := []store.Progress{
		{ItemID: mine[0], Owner: "A", Now: later, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "INC1"}, AppliedSeq: 1, Done: true, Events: ev},
		{ItemID: lost[0], Owner: "A", Now: later, Attempts: 1, LastError: "HTTP 400", DeadLetter: "permanent", Events: ev},
		{ItemID: mine[1], Owner: "A", Now: later, Intent: store.IntentCreating, CreateAttemptAt: later, Attempts: 1, Retry: true, RetryAt: later, Events: ev},
	}
	res, err := s.RecordAll(ctx, ps, []store.ClaimRequest{{Backend: "file.x", Owner: "A", Now: later, Lease: time.Minute, Limit: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errs) != 3 || res.Errs[0] != nil || !errors.Is(res.Errs[1], store.ErrLeaseLost) || res.Errs[2] != nil {
		t.Fatalf("Errs = %v; want nil, ErrLeaseLost, nil", res.Errs)
	}
	if got := get(t, s, mine[0]); got.Dirty || got.Remote != store.RemoteOpen || got.LeaseOwner != "" {
		t.Errorf("done item: dirty %v remote %q owner %q", got.Dirty, got.Remote, got.LeaseOwner)
	}
	if got := get(t, s, lost[0]); got.Dead || got.LeaseOwner != "B" || got.Attempts != 0 {
		t.Errorf("item of the lost lease changed: dead %v owner %q attempts %d", got.Dead, got.LeaseOwner, got.Attempts)
	}
	if evs := events(t, s, lost[0]); len(evs) != 1 {
		t.Errorf("item of the lost lease has %d events, want only its notification", len(evs))
	}
	if dl, err := s.ListDeadLetters(ctx, store.DeadLetterFilter{}); err != nil || len(dl) != 0 {
		t.Errorf("dead letters %d, %v; want none", len(dl), err)
	}
	// The claim saw the retried item (due at once) and the free one, not B's.
	if len(res.Claimed) != 1 {
		t.Fatalf("Claimed has %d lists, want 1", len(res.Claimed))
	}
	got := map[int64]bool{}
	for _, it := range res.Claimed[0] {
		got[it.ID] = true
		if it.LeaseOwner != "A" {
			t.Errorf("claimed item %d owned by %q", it.ID, it.LeaseOwner)
		}
	}
	if len(got) != 2 || !got[mine[1]] || !got[ids[3]] {
		t.Errorf("claimed %v; want the retried item %d and the free one %d", got, mine[1], ids[3])
	}
	if it := get(t, s, mine[1]); !it.CreateAttemptAt.Equal(later) || it.Attempts != 1 {
		t.Errorf("retried item: attempt %v attempts %d; want the mark kept, 1 attempt", it.CreateAttemptAt, it.Attempts)
	}
}

func fmtIDs(items []*store.Item) string {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return fmt.Sprint(ids)
}

func testDoneWithNewer(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	d := Delivery("file.x", "k")
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	it := claim(t, s, "file.x", "A", now, 1)[0]
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), d))
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen,
		Ref: &sdk.WorkItem{ID: "1"}, AppliedSeq: it.Seq, Done: true}); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, id)
	if !got.Dirty || got.Seq != 2 || got.AppliedSeq != 1 {
		t.Fatalf("dirty %v seq %d applied %d; want still dirty for the resolve", got.Dirty, got.Seq, got.AppliedSeq)
	}
	if c := claim(t, s, "file.x", "A", now, 1); len(c) != 1 || c[0].Condition != sdk.ConditionResolved {
		t.Errorf("resolve not claimable at once: %v", c)
	}
}

func testRetry(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	claim(t, s, "file.x", "A", now, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Attempts: 1, LastError: "HTTP 503",
		Retry: true, RetryAt: now.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, s, "file.x", "A", now.Add(29*time.Second), 1); len(c) != 0 {
		t.Error("claimed before its retry time")
	}
	c := claim(t, s, "file.x", "A", now.Add(30*time.Second), 1)
	if len(c) != 1 || c[0].Attempts != 1 || c[0].LastError != "HTTP 503" {
		t.Fatalf("after retry time: %+v", c)
	}
}

// testDeadLetterIDsNeverReused replays the newest dead letter and lets its
// item fail again: the new letter gets a new id, so an operator (or a
// browser resubmitting a form) acting on the old id never hits the new one.
// The same holds for unmatched letters, and after a reopen.
func testDeadLetterIDsNeverReused(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	d := Delivery("file.x", "k")
	id, first := deadLetterItem(t, s, d)
	if _, err := s.ReplayDeadLetter(ctx, first.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(4 * time.Hour)
	if c := claim(t, s, "file.x", "A", now, 1); len(c) != 1 {
		t.Fatalf("replayed item not claimed: %d items", len(c))
	}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Attempts: 1, LastError: "HTTP 400",
		DeadLetter: "permanent error from create"}); err != nil {
		t.Fatal(err)
	}
	dls, err := s.ListDeadLetters(ctx, store.DeadLetterFilter{})
	if err != nil || len(dls) != 1 {
		t.Fatalf("ListDeadLetters = %d letters, %v; want 1", len(dls), err)
	}
	second := dls[0]
	if second.ID <= first.ID {
		t.Errorf("the item's second dead letter has id %d, the replayed first had %d: a dead-letter id was reused", second.ID, first.ID)
	}
	if err := s.DropDeadLetter(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	if reopen != nil {
		_ = s.Close()
		s = reopen()
		t.Cleanup(func() { _ = s.Close() })
	}
	third := ingest(t, s, store.Notification{Alert: Alert("u", sdk.ConditionFired, t0), Unmatched: "no route", ReceivedAt: t0})[0].DeadLetterID
	if third <= second.ID {
		t.Errorf("an unmatched letter after dropping letter %d got id %d: a dead-letter id was reused", second.ID, third)
	}
}

func deadLetterItem(t *testing.T, s store.Store, d route.Delivery) (int64, *store.DeadLetter) {
	t.Helper()
	ctx := context.Background()
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	claim(t, s, d.Backend, "A", now, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Attempts: 3, LastError: "HTTP 400: bad field",
		DeadLetter: "permanent error from create"}); err != nil {
		t.Fatal(err)
	}
	dls, err := s.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: d.Backend})
	if err != nil || len(dls) != 1 {
		t.Fatalf("ListDeadLetters = %v, %v; want 1", dls, err)
	}
	return id, dls[0]
}

func testDeadLetter(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	id, dl := deadLetterItem(t, s, Delivery("file.x", "k"))
	if dl.ItemID != id || dl.Reason != "permanent error from create" || dl.LastError != "HTTP 400: bad field" ||
		dl.Attempts != 3 || dl.Alert.ID != "a" || dl.CorrelationKey != "k" || dl.Route != "r" {
		t.Errorf("dead letter = %+v", dl)
	}
	it := get(t, s, id)
	if !it.Dead || it.Dirty {
		t.Errorf("dead %v dirty %v", it.Dead, it.Dirty)
	}
	now := t0.Add(3 * time.Hour)
	if c := claim(t, s, "file.x", "A", now, 1); len(c) != 0 {
		t.Error("dead item claimed")
	}
	if st, _ := s.Stats(ctx, now); st.Backends["file.x"].DeadLetters != 1 || st.Backends["file.x"].Queued != 0 {
		t.Errorf("stats = %+v", st.Backends["file.x"])
	}
	if _, err := s.ReplayDeadLetter(ctx, dl.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDeadLetter(ctx, dl.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("letter kept after replay: %v", err)
	}
	c := claim(t, s, "file.x", "A", now, 1)
	if len(c) != 1 || c[0].Dead || c[0].Attempts != 0 {
		t.Fatalf("replayed item: %+v", c)
	}
	if _, err := s.ReplayDeadLetter(ctx, dl.ID, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaying a gone letter = %v, want ErrNotFound", err)
	}
	// Drop keeps the item dead.
	id2, dl2 := deadLetterItem(t, s, Delivery("jira.y", "k2"))
	if err := s.DropDeadLetter(ctx, dl2.ID); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id2); !it.Dead || it.Dirty {
		t.Errorf("after drop: dead %v dirty %v", it.Dead, it.Dirty)
	}
}

func testRevive(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	d := Delivery("file.x", "k")
	id, dl := deadLetterItem(t, s, d)
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), d))
	it := get(t, s, id)
	if it.Dead || !it.Dirty || it.Attempts != 0 || it.Condition != sdk.ConditionResolved {
		t.Errorf("after new notification: dead %v dirty %v attempts %d cond %s", it.Dead, it.Dirty, it.Attempts, it.Condition)
	}
	if _, err := s.GetDeadLetter(ctx, dl.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("superseded dead letter kept: %v", err)
	}
	// The revival is recorded before the notification that caused it.
	evs := events(t, s, id)
	if n := len(evs); n < 2 || evs[n-2].Kind != store.EventReplay || evs[n-2].Outcome != "revived" ||
		evs[n-1].Kind != store.EventNotification || evs[n-1].Op != "resolved" || evs[n-1].Outcome != string(store.OutcomeApplied) {
		t.Errorf("events = %+v, want a revival then the resolved notification last", evs)
	}
}

func testReleaseLeases(t *testing.T, s store.Store, _ func() store.Store) {
	ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))
	now := t0.Add(2 * time.Hour)
	claim(t, s, "file.x", "A", now, 1)
	if err := s.ReleaseLeases(context.Background(), "B"); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, s, "file.x", "C", now, 1); len(c) != 0 {
		t.Error("releasing another owner's leases freed ours")
	}
	if err := s.ReleaseLeases(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	if c := claim(t, s, "file.x", "C", now, 1); len(c) != 1 {
		t.Error("released item not claimable")
	}
}

func testList(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		ingest(t, s, notif(Alert(fmt.Sprint(i), sdk.ConditionFired, t0), Delivery("file.x", fmt.Sprint("k", i))))
	}
	ingest(t, s, notif(Alert("o", sdk.ConditionFired, t0), Delivery("jira.y", "k0")))
	all, err := s.ListItems(ctx, store.ItemFilter{})
	if err != nil || len(all) != 6 {
		t.Fatalf("ListItems = %d, %v; want 6", len(all), err)
	}
	if all[0].ID < all[1].ID {
		t.Error("not newest first")
	}
	page, err := s.ListItems(ctx, store.ItemFilter{Backend: "file.x", Limit: 2, BeforeID: all[1].ID})
	if err != nil || len(page) != 2 || page[0].ID >= all[1].ID {
		t.Errorf("paged = %v, %v", page, err)
	}
	byKey, err := s.ListItems(ctx, store.ItemFilter{CorrelationKey: "k0"})
	if err != nil || len(byKey) != 2 {
		t.Errorf("by key = %d, %v; want 2", len(byKey), err)
	}
	if _, err := s.GetItem(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetItem(missing) = %v, want ErrNotFound", err)
	}
}

// testConsoleFilters: the console's filters (state, severity) and its
// search (correlation key, rule or ticket key, exactly), alone and
// together, and a ticket key follows the ref a step records.
func testConsoleFilters(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	sev := func(n int) *int { return &n }
	alert := func(id, rule string, severity *int) *sdk.Alert {
		a := Alert(id, sdk.ConditionFired, t0)
		a.Rule, a.Severity = rule, severity
		if severity != nil {
			a.SeverityLabel = fmt.Sprintf("Sev%d", *severity)
		}
		return a
	}
	ids := map[string]int64{}
	for _, n := range []struct {
		key, rule string
		severity  *int
	}{{"k1", "cpu high", sev(1)}, {"k2", "disk full", sev(3)}, {"k3", "disk full", sev(3)}, {"k4", "disk full", sev(3)}, {"k5", "budget", nil}} {
		res := ingest(t, s, notif(alert("a-"+n.key, n.rule, n.severity), Delivery("file.x", n.key)))
		ids[n.key] = res[0].Deliveries[0].ItemID
	}
	now := t0.Add(2 * time.Hour)
	if got := claim(t, s, "file.x", "A", now, 10); len(got) != 5 {
		t.Fatalf("claimed %d items, want 5", len(got))
	}
	for key, p := range map[string]store.Progress{
		"k1": {Done: true, AppliedSeq: 1, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "sys-1", Key: "INC0001"}},
		"k2": {Retry: true, RetryAt: now},
		"k3": {Retry: true, RetryAt: now, Attempts: 1, LastError: "create: 503"},
		"k4": {DeadLetter: "create failed permanently", Attempts: 1, LastError: "create: 400"},
		"k5": {Done: true, AppliedSeq: 1, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "file-5.json"}},
	} {
		p.ItemID, p.Owner, p.Now = ids[key], "A", now
		if err := s.Record(ctx, p); err != nil {
			t.Fatalf("Record(%s): %v", key, err)
		}
	}
	keys := func(f store.ItemFilter) string {
		t.Helper()
		items, err := s.ListItems(ctx, f)
		if err != nil {
			t.Fatalf("ListItems(%+v): %v", f, err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.CorrelationKey)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		f    store.ItemFilter
		want string
	}{
		{store.ItemFilter{}, "k5,k4,k3,k2,k1"},
		{store.ItemFilter{State: store.ItemStatePending}, "k3,k2"},
		{store.ItemFilter{State: store.ItemStateFailing}, "k3"},
		{store.ItemFilter{State: store.ItemStateDead}, "k4"},
		{store.ItemFilter{State: store.ItemStateInSync}, "k5,k1"},
		{store.ItemFilter{Severity: "Sev3"}, "k4,k3,k2"},
		{store.ItemFilter{Severity: "Sev0"}, ""},
		{store.ItemFilter{Search: "INC0001"}, "k1"},
		{store.ItemFilter{Search: "file-5.json"}, "k5"},
		{store.ItemFilter{Search: "sys-1"}, ""},
		{store.ItemFilter{Search: "disk full"}, "k4,k3,k2"},
		{store.ItemFilter{Search: "disk"}, ""},
		{store.ItemFilter{Search: "k2"}, "k2"},
		{store.ItemFilter{Search: "disk full", State: store.ItemStateFailing}, "k3"},
		{store.ItemFilter{Search: "disk full", Limit: 1, BeforeID: ids["k4"]}, "k3"},
		{store.ItemFilter{Backend: "jira.y", Search: "k2"}, ""},
	} {
		if got := keys(c.f); got != c.want {
			t.Errorf("ListItems(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
	if _, err := s.ListItems(ctx, store.ItemFilter{State: "sleeping"}); err == nil || !strings.Contains(err.Error(), `"sleeping"`) {
		t.Errorf("ListItems with an unknown state = %v, want an error naming it", err)
	}
	// A later step's ref replaces the ticket key searched by.
	res := ingest(t, s, notif(alert("a-k1b", "cpu high", sev(1)), Delivery("file.x", "k1")))
	if res[0].Deliveries[0].Outcome != store.OutcomeApplied {
		t.Fatalf("re-fire of k1: %v", res[0].Deliveries[0].Outcome)
	}
	later := now.Add(time.Hour)
	if c := claim(t, s, "file.x", "A", later, 10); len(c) == 0 {
		t.Fatal("re-fired item not claimed")
	}
	if err := s.Record(ctx, store.Progress{ItemID: ids["k1"], Owner: "A", Now: later, Done: true, AppliedSeq: 2,
		Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "sys-2", Key: "INC0002"}}); err != nil {
		t.Fatal(err)
	}
	if got, old := keys(store.ItemFilter{Search: "INC0002"}), keys(store.ItemFilter{Search: "INC0001"}); got != "k1" || old != "" {
		t.Errorf("after a new ref: INC0002 finds %q, INC0001 %q; want k1 and nothing", got, old)
	}
}

// testDeadLetterFilters: dead letters of one work item, and those of
// alerts no route took.
func testDeadLetterFilters(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	itemID, dl := deadLetterItem(t, s, Delivery("file.x", "k"))
	res := ingest(t, s, store.Notification{Alert: Alert("u", sdk.ConditionFired, t0), Unmatched: "no route", ReceivedAt: t0})
	unmatched := res[0].DeadLetterID
	list := func(f store.DeadLetterFilter) []int64 {
		t.Helper()
		dls, err := s.ListDeadLetters(ctx, f)
		if err != nil {
			t.Fatalf("ListDeadLetters(%+v): %v", f, err)
		}
		var out []int64
		for _, d := range dls {
			out = append(out, d.ID)
		}
		return out
	}
	for _, c := range []struct {
		f    store.DeadLetterFilter
		want []int64
	}{
		{store.DeadLetterFilter{}, []int64{unmatched, dl.ID}},
		{store.DeadLetterFilter{ItemID: itemID}, []int64{dl.ID}},
		{store.DeadLetterFilter{ItemID: itemID + 100}, nil},
		{store.DeadLetterFilter{Unmatched: true}, []int64{unmatched}},
		{store.DeadLetterFilter{Backend: "file.x", Unmatched: true}, nil},
		{store.DeadLetterFilter{Backend: "file.x"}, []int64{dl.ID}},
	} {
		if got := list(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListDeadLetters(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
}

// testListEvents: an item's trail in pages, newest first, with durations.
func testListEvents(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	res := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))
	id := res[0].Deliveries[0].ItemID
	other := ingest(t, s, notif(Alert("b", sdk.ConditionFired, t0), Delivery("file.x", "other")))[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	claim(t, s, "file.x", "A", now, 10)
	var evs []store.Event
	for i := range 4 {
		evs = append(evs, store.Event{Kind: store.EventCall, Op: "create", Outcome: "retryable", Message: fmt.Sprint("try ", i), Duration: time.Duration(i+1) * time.Millisecond})
	}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Retry: true, RetryAt: now, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, store.Progress{ItemID: other, Owner: "A", Now: now, Retry: true, RetryAt: now, Events: evs[:1]}); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListEvents(ctx, store.EventFilter{ItemID: id, Limit: 2})
	if err != nil || len(page) != 2 || page[0].Message != "try 3" || page[1].Message != "try 2" || page[0].Duration != 4*time.Millisecond {
		t.Fatalf("first page = %+v, %v; want try 3 (4ms), try 2", page, err)
	}
	rest, err := s.ListEvents(ctx, store.EventFilter{ItemID: id, BeforeID: page[1].ID, Limit: 10})
	if err != nil || len(rest) != 3 || rest[0].Message != "try 1" || rest[2].Kind != store.EventNotification {
		t.Fatalf("next page = %+v, %v; want try 1, try 0 and the notification", rest, err)
	}
	if all := events(t, s, id); len(all) != 5 || all[0].ID != rest[2].ID {
		t.Errorf("Events = %d events, first %d; want the same 5, oldest first", len(all), all[0].ID)
	}
}

func events(t *testing.T, s store.Store, id int64) []store.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), id)
	if err != nil {
		t.Fatalf("Events(%d): %v", id, err)
	}
	return evs
}

func eventTimes(evs []store.Event) []time.Time {
	out := make([]time.Time, len(evs))
	for i, e := range evs {
		out[i] = e.At
	}
	return out
}

func testPruneEvents(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	d := Delivery("file.x", "clean")
	// A clean item with three events: the notification at t0+1h, a call
	// recorded later but dated t0+30m, and a duplicate notification ten
	// days on.
	clean := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	it := claim(t, s, "file.x", "A", now, 1)[0]
	if err := s.Record(ctx, store.Progress{ItemID: clean, Owner: "A", Now: now, Remote: store.RemoteOpen,
		Ref: &sdk.WorkItem{ID: "1"}, AppliedSeq: it.Seq, Done: true,
		Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok", At: t0.Add(30 * time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	recent := t0.Add(10 * 24 * time.Hour)
	ingest(t, s, store.Notification{Alert: Alert("a", sdk.ConditionFired, t0), Deliveries: []route.Delivery{d}, ReceivedAt: recent})
	// A dirty item and a dead one, each with an old notification event.
	dirty := ingest(t, s, notif(Alert("b", sdk.ConditionFired, t0), Delivery("jira.y", "dirty")))[0].Deliveries[0].ItemID
	dead, _ := deadLetterItem(t, s, Delivery("other.z", "dead"))
	for _, id := range []int64{clean, dirty, dead} {
		if len(events(t, s, id)) == 0 {
			t.Fatalf("item %d has no events to prune", id)
		}
	}
	deadBefore := len(events(t, s, dead))
	before := t0.Add(5 * 24 * time.Hour)

	prune := func(limit int) int64 {
		t.Helper()
		n, err := s.PruneEvents(ctx, before, limit)
		if err != nil {
			t.Fatalf("PruneEvents(%v, %d): %v", before, limit, err)
		}
		return n
	}
	if n := prune(0); n != 0 {
		t.Errorf("limit 0 pruned %d events", n)
	}
	if n := prune(1); n != 1 {
		t.Fatalf("limit 1 pruned %d events, want 1", n)
	}
	want := []time.Time{t0.Add(30 * time.Minute), recent}
	if got := eventTimes(events(t, s, clean)); !reflect.DeepEqual(got, want) {
		t.Errorf("after pruning one: clean item's events at %v, want %v (the first written, at t0+1h, gone first)", got, want)
	}
	if n := prune(100); n != 1 {
		t.Errorf("second prune deleted %d events, want the 1 old one left", n)
	}
	if n := prune(100); n != 0 {
		t.Errorf("third prune deleted %d events, want 0", n)
	}
	if got := eventTimes(events(t, s, clean)); !reflect.DeepEqual(got, []time.Time{recent}) {
		t.Errorf("clean item's events at %v, want only the recent one at %v", got, recent)
	}
	if got := len(events(t, s, dirty)); got != 1 {
		t.Errorf("dirty item has %d events, want its 1 kept", got)
	}
	if got := len(events(t, s, dead)); got != deadBefore {
		t.Errorf("dead item has %d events, want its %d kept", got, deadBefore)
	}

	// Once the dirty item is reconciled its old trail may go.
	it = claim(t, s, "jira.y", "A", now, 1)[0]
	if err := s.Record(ctx, store.Progress{ItemID: dirty, Owner: "A", Now: recent, Remote: store.RemoteOpen,
		Ref: &sdk.WorkItem{ID: "2"}, AppliedSeq: it.Seq, Done: true,
		Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	if n := prune(100); n != 1 {
		t.Errorf("after reconcile pruned %d events, want the dirty item's old notification", n)
	}
	if got := eventTimes(events(t, s, dirty)); !reflect.DeepEqual(got, []time.Time{recent}) {
		t.Errorf("reconciled item's events at %v, want only the recent call at %v", got, recent)
	}
}

func testDurable(t *testing.T, s store.Store, reopen func() store.Store) {
	if reopen == nil {
		t.Skip("engine gave no way to reopen")
	}
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k")))[0].Deliveries[0].ItemID
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := reopen()
	defer s2.Close()
	it := get(t, s2, id)
	if !it.Dirty || it.AlertID != "a" {
		t.Errorf("after reopen: %+v", it)
	}
}

// testFlapState: a delivery's flap policy is kept on its item; ingest
// records the alert's transitions (store.ObserveFlap) and marks it
// flapping, says so in the notification's event, and a stale notification
// or a re-fire changes nothing. The worker's FlapNoted is written as
// given. A new notification makes a flapping item whose resolution is held
// open due at once. Without a policy nothing is kept. All of it survives a
// reopen.
func testFlapState(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	policy := &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 2, QuietPeriod: 10 * time.Minute}
	d := Delivery("file.x", "k")
	d.Flap = policy
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	steps := []struct {
		name        string
		alert       *sdk.Alert
		outcome     store.Outcome
		transitions []time.Time
		since       time.Time
	}{
		{"first Fired", Alert("a", sdk.ConditionFired, m(0)), store.OutcomeNew, []time.Time{m(0)}, time.Time{}},
		{"re-fire", Alert("a", sdk.ConditionFired, m(1)), store.OutcomeApplied, []time.Time{m(0)}, time.Time{}},
		{"resolved", Alert("a", sdk.ConditionResolved, m(2)), store.OutcomeApplied, []time.Time{m(0), m(2)}, time.Time{}},
		{"stale Fired", Alert("a", sdk.ConditionFired, m(1)), store.OutcomeStale, []time.Time{m(0), m(2)}, time.Time{}},
		{"third transition flaps", Alert("a", sdk.ConditionFired, m(3)), store.OutcomeApplied, []time.Time{m(0), m(2), m(3)}, m(3)},
	}
	var id int64
	for _, st := range steps {
		out := ingest(t, s, notif(st.alert, d))[0].Deliveries[0]
		id = out.ItemID
		it := get(t, s, id)
		if out.Outcome != st.outcome || out.Flapping != !st.since.IsZero() {
			t.Errorf("%s: outcome %s flapping %v, want %s %v", st.name, out.Outcome, out.Flapping, st.outcome, !st.since.IsZero())
		}
		if it.Flap == nil || *it.Flap != *policy {
			t.Errorf("%s: policy %+v, want %+v", st.name, it.Flap, policy)
		}
		if !reflect.DeepEqual(it.FlapState.Transitions, st.transitions) || !it.FlapState.Since.Equal(st.since) {
			t.Errorf("%s: transitions %v since %v, want %v since %v", st.name, it.FlapState.Transitions, it.FlapState.Since, st.transitions, st.since)
		}
	}
	evs := events(t, s, id)
	if last := evs[len(evs)-1]; !strings.Contains(last.Message, "flapping: more than 2 fire/resolve transitions within 30m0s") {
		t.Errorf("the notification that made the alert flap is audited as %q", last.Message)
	}

	// The worker notes the flapping; a held resolution is due at once
	// when a new notification arrives.
	now := t0.Add(2 * time.Hour)
	claim(t, s, "file.x", "A", now, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "W1"},
		AppliedSeq: 5, FlapNoted: m(3), Done: true}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); !it.FlapNoted.Equal(m(3)) || it.Dirty {
		t.Fatalf("after the note: noted %v dirty %v, want %v and clean", it.FlapNoted, it.Dirty, m(3))
	}
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, m(4)), d))
	claim(t, s, "file.x", "A", now, 1)
	hold := now.Add(time.Hour)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "W1"},
		AppliedSeq: 6, FlapNoted: m(3), Retry: true, RetryAt: hold, DirtySince: hold}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); !it.DueAt.Equal(hold) || !it.DirtySince.Equal(hold) {
		t.Fatalf("held resolution due %v, pending since %v; want both %v", it.DueAt, it.DirtySince, hold)
	}
	n := notif(Alert("a", sdk.ConditionFired, m(5)), d)
	ingest(t, s, n)
	if it := get(t, s, id); !it.DueAt.Equal(n.ReceivedAt) || !it.FlapState.Since.Equal(m(3)) {
		t.Errorf("after a re-fire: due %v (want %v, now), flapping since %v (want %v)", it.DueAt, n.ReceivedAt, it.FlapState.Since, m(3))
	}

	// Durable, then cleared by a notification without a policy.
	if reopen != nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		defer s.Close()
		if it := get(t, s, id); it.Flap == nil || len(it.FlapState.Transitions) != 3 || !it.FlapState.Since.Equal(m(3)) || !it.FlapNoted.Equal(m(3)) {
			t.Errorf("after reopen: policy %+v transitions %v since %v noted %v", it.Flap, it.FlapState.Transitions, it.FlapState.Since, it.FlapNoted)
		}
	}
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, m(6)), Delivery("file.x", "k")))
	if it := get(t, s, id); it.Flap != nil || len(it.FlapState.Transitions) != 0 || it.FlapState.Flapping() {
		t.Errorf("without a policy: policy %+v transitions %v since %v; want none", it.Flap, it.FlapState.Transitions, it.FlapState.Since)
	}
}

// testMaintenanceHold: a notification a maintenance window holds is
// recorded on each of its items (Item.Hold) with its seq and condition; a
// new item is due at the window's end, and so is an updated one without an
// open work item; one that is not held leaves the hold, and makes a held
// item due at once. The worker's HoldSettled clears the hold it settled,
// and not a newer one. The hold survives a reopen.
func testMaintenanceHold(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	end := t0.Add(3 * time.Hour)
	hold := &route.MaintenanceHold{Window: "patching", Until: end, OnEnd: route.OnEndDrop}
	held := func(a *sdk.Alert, d route.Delivery) store.Notification {
		n := notif(a, d)
		n.Hold = hold
		return n
	}
	d := Delivery("file.x", "k")
	out := ingest(t, s, held(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0]
	id := out.ItemID
	it := get(t, s, id)
	want := store.Hold{Seq: 1, Condition: sdk.ConditionFired, MaintenanceHold: *hold}
	if !out.Held || !reflect.DeepEqual(it.Hold, want) || !it.DueAt.Equal(end) || !it.DirtySince.Equal(end) || it.Intent != store.IntentCreating {
		t.Fatalf("new held item: held %v hold %+v due %v pending since %v intent %q; want %+v, due and pending from %v, creating",
			out.Held, it.Hold, it.DueAt, it.DirtySince, it.Intent, want, end)
	}
	if evs := events(t, s, id); !strings.Contains(evs[0].Message, `in maintenance window "patching" until `+end.Format(time.RFC3339)) {
		t.Errorf("the held notification is audited as %q", evs[0].Message)
	}
	if c := claim(t, s, "file.x", "A", end.Add(-time.Second), 1); len(c) != 0 {
		t.Errorf("a held item was claimed before the window's end")
	}

	// A held resolution: the hold's seq and condition follow it.
	ingest(t, s, held(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), d))
	it = get(t, s, id)
	if it.Hold.Seq != 2 || it.Hold.Condition != sdk.ConditionResolved || !it.DueAt.Equal(end) {
		t.Errorf("after a held resolution: hold %+v due %v; want seq 2, resolved, due %v", it.Hold, it.DueAt, end)
	}
	// Not held (the window is over for it): the hold stays for the worker
	// to settle, and the item is due now.
	n := notif(Alert("a", sdk.ConditionFired, t0.Add(2*time.Minute)), d)
	ingest(t, s, n)
	it = get(t, s, id)
	if it.Hold.Seq != 2 || it.Hold.Window != "patching" || !it.DueAt.Equal(n.ReceivedAt) {
		t.Errorf("after a notification no window holds: hold %+v due %v; want the hold kept (seq 2), due %v", it.Hold, it.DueAt, n.ReceivedAt)
	}

	// The worker settles the hold of seq 2; a hold ingest renewed
	// meanwhile (seq 4) is not cleared.
	now := n.ReceivedAt
	claim(t, s, "file.x", "A", now, 1)
	ingest(t, s, held(Alert("a", sdk.ConditionFired, t0.Add(3*time.Minute)), d))
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Intent: store.IntentCreating, AppliedSeq: 2, HoldSettled: 2, Done: true}); err != nil {
		t.Fatal(err)
	}
	if it = get(t, s, id); it.Hold.Seq != 4 || it.Hold.Window != "patching" || !it.Dirty {
		t.Errorf("a settle of an older hold: hold %+v dirty %v; want seq 4 kept, dirty", it.Hold, it.Dirty)
	}
	claim(t, s, "file.x", "A", end, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: end, AppliedSeq: 4, HoldSettled: 4, Done: true}); err != nil {
		t.Fatal(err)
	}
	if it = get(t, s, id); it.Hold != (store.Hold{}) {
		t.Errorf("after the settle: hold %+v, want none", it.Hold)
	}

	// An item with an open work item: held notifications are due now.
	open := Delivery("file.x", "open")
	oid := ingest(t, s, notif(Alert("b", sdk.ConditionFired, t0), open))[0].Deliveries[0].ItemID
	claim(t, s, "file.x", "A", now, 5)
	if err := s.Record(ctx, store.Progress{ItemID: oid, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "W1"}, AppliedSeq: 1, Done: true}); err != nil {
		t.Fatal(err)
	}
	hn := held(Alert("b", sdk.ConditionResolved, t0.Add(time.Minute)), open)
	ingest(t, s, hn)
	if it := get(t, s, oid); it.Hold.Seq != 2 || !it.DueAt.Equal(hn.ReceivedAt) {
		t.Errorf("held resolution of an open item: hold %+v due %v; want seq 2, due now (%v)", it.Hold, it.DueAt, hn.ReceivedAt)
	}
	if reopen != nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		defer s.Close()
		if it := get(t, s, oid); it.Hold.Seq != 2 || it.Hold.Window != "patching" || !it.Hold.Until.Equal(end) || it.Hold.OnEnd != route.OnEndDrop {
			t.Errorf("after reopen: hold %+v", it.Hold)
		}
	}
}

// testMaintenanceHoldPriorFired: the first notification a window holds
// records the item's fired_seq of before it (Hold.PriorFiredSeq): a Fired
// acknowledged before the window, whose delivery the window may not give
// up. Later held notifications keep it, the settle clears it with the hold,
// and the next hold records its own.
func testMaintenanceHoldPriorFired(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	end := t0.Add(3 * time.Hour)
	held := func(a *sdk.Alert, d route.Delivery) store.Notification {
		n := notif(a, d)
		n.Hold = &route.MaintenanceHold{Window: "patching", Until: end, OnEnd: route.OnEndDrop}
		return n
	}
	d := Delivery("file.x", "k")
	// The Fired is acknowledged before the window; nothing delivers it.
	id := ingest(t, s, notif(Alert("a", sdk.ConditionFired, t0), d))[0].Deliveries[0].ItemID
	ingest(t, s, held(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), d))
	if it := get(t, s, id); it.Hold.Seq != 2 || it.Hold.PriorFiredSeq != 1 || it.FiredSeq != 1 || it.AppliedSeq != 0 {
		t.Fatalf("held resolution after an owed Fired: hold %+v fired_seq %d applied %d; want seq 2, prior Fired 1", it.Hold, it.FiredSeq, it.AppliedSeq)
	}
	// A Fired inside the window is the window's: the prior Fired stays 1.
	ingest(t, s, held(Alert("a", sdk.ConditionFired, t0.Add(2*time.Minute)), d))
	it := get(t, s, id)
	if it.Hold.Seq != 3 || it.Hold.PriorFiredSeq != 1 || it.FiredSeq != 3 {
		t.Errorf("held Fired: hold %+v fired_seq %d; want seq 3, prior Fired still 1", it.Hold, it.FiredSeq)
	}
	if reopen != nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		defer s.Close()
		if it := get(t, s, id); it.Hold.PriorFiredSeq != 1 {
			t.Errorf("after reopen: hold %+v", it.Hold)
		}
	}
	// The worker settles the hold (the owed Fired delivered): cleared.
	claim(t, s, "file.x", "A", end, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: end, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "W1"},
		AppliedSeq: 3, HoldSettled: 3, Done: true}); err != nil {
		t.Fatal(err)
	}
	if it := get(t, s, id); it.Hold != (store.Hold{}) {
		t.Errorf("after the settle: hold %+v, want none", it.Hold)
	}
	// A later hold of an item whose Fireds were all delivered: nothing
	// owed from before it (its prior Fired is not above applied_seq).
	ingest(t, s, notif(Alert("a", sdk.ConditionResolved, t0.Add(3*time.Minute)), d))
	claim(t, s, "file.x", "A", end, 1)
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: end, Remote: store.RemoteResolved, Ref: &sdk.WorkItem{ID: "W1"},
		RemoteResolvedAt: t0.Add(3 * time.Minute), AppliedSeq: 4, Done: true}); err != nil {
		t.Fatal(err)
	}
	ingest(t, s, held(Alert("a", sdk.ConditionFired, t0.Add(4*time.Minute)), d))
	if it := get(t, s, id); it.Hold.Seq != 5 || it.Hold.PriorFiredSeq != 3 || it.AppliedSeq != 4 {
		t.Errorf("a new hold: hold %+v applied %d; want seq 5, prior Fired 3 (delivered: applied 4)", it.Hold, it.AppliedSeq)
	}
}

// testMaintenanceWindows: ad-hoc maintenance windows are stored, listed
// while they have not ended, not replaced while they have not ended (an
// ended one is), and ended: the end releases the work items the window
// holds, in the same transaction.
func testMaintenanceWindows(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	w := store.MaintenanceWindow{Name: "db-patch", When: `alert.resource_group == "rg-db"`, Start: now, End: now.Add(2 * time.Hour),
		OnEnd: route.OnEndCreate, Reason: "CHG0001", CreatedAt: now}
	later := store.MaintenanceWindow{Name: "later", Start: now.Add(24 * time.Hour), End: now.Add(25 * time.Hour), OnEnd: route.OnEndDrop, CreatedAt: now}
	for _, x := range []store.MaintenanceWindow{later, w} {
		if err := s.PutMaintenance(ctx, x, now); err != nil {
			t.Fatalf("PutMaintenance(%s): %v", x.Name, err)
		}
	}
	if err := s.PutMaintenance(ctx, w, now.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutMaintenance over a window that has not ended = %v, want ErrConflict", err)
	}
	list, err := s.ListMaintenance(ctx, now)
	if err != nil || !reflect.DeepEqual(list, []store.MaintenanceWindow{w, later}) {
		t.Fatalf("ListMaintenance = %+v, %v; want db-patch, then later", list, err)
	}

	// A held item is released by the end: due then, held until then.
	hold := &route.MaintenanceHold{Window: "db-patch", Until: w.End, OnEnd: route.OnEndCreate}
	n := notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k"))
	n.Hold = hold
	id := ingest(t, s, n)[0].Deliveries[0].ItemID
	other := notif(Alert("b", sdk.ConditionFired, t0), Delivery("file.x", "other"))
	other.Hold = &route.MaintenanceHold{Window: "elsewhere", Until: w.End, OnEnd: route.OnEndCreate}
	otherID := ingest(t, s, other)[0].Deliveries[0].ItemID
	at := now.Add(30 * time.Minute)
	ended, released, err := s.EndMaintenance(ctx, "db-patch", at)
	if err != nil || released != 1 || !ended.End.Equal(at) || !ended.Start.Equal(w.Start) {
		t.Fatalf("EndMaintenance = %+v, %d released, %v; want it ended at %v, one item released", ended, released, err, at)
	}
	if it := get(t, s, id); !it.DueAt.Equal(at) || !it.Hold.Until.Equal(at) || it.Hold.Seq != 1 {
		t.Errorf("released item: due %v hold %+v; want due and held until %v", it.DueAt, it.Hold, at)
	}
	if it := get(t, s, otherID); !it.DueAt.Equal(w.End) {
		t.Errorf("another window's item: due %v, want %v", it.DueAt, w.End)
	}
	if _, _, err := s.EndMaintenance(ctx, "db-patch", at.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending an ended window = %v, want ErrNotFound", err)
	}
	// An upcoming window ended before it starts is cancelled.
	if ended, _, err := s.EndMaintenance(ctx, "later", at); err != nil || !ended.Start.Equal(at) || !ended.End.Equal(at) {
		t.Errorf("cancelling an upcoming window = %+v, %v; want start and end %v", ended, err, at)
	}
	if list, err := s.ListMaintenance(ctx, at); err != nil || len(list) != 0 {
		t.Errorf("ListMaintenance after both ended = %+v, %v; want none", list, err)
	}
	// An ended window's name is free again.
	again := w
	again.Start, again.End = at, at.Add(time.Hour)
	if err := s.PutMaintenance(ctx, again, at); err != nil {
		t.Fatalf("PutMaintenance over an ended window: %v", err)
	}
	if reopen != nil {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		defer s.Close()
	}
	if list, err := s.ListMaintenance(ctx, at); err != nil || !reflect.DeepEqual(list, []store.MaintenanceWindow{again}) {
		t.Errorf("ListMaintenance after reopen = %+v, %v; want %+v", list, err, again)
	}
}

// testFollowUpsAndStatus: a step's follow-up notification is merged into
// its slot in the same transaction (the Azure side's desired state, dirty
// for its workers); a status read that finds the work item resolved in
// the tool records who resolved it and its follow-up, only for the work
// item the read was about and only while no worker holds the item; every
// read moves the item to the back of the poll order.
func testFollowUpsAndStatus(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	a := Alert("a", sdk.ConditionFired, t0)
	res := ingest(t, s, notif(a, Delivery("file.x", "k")), notif(Alert("b", sdk.ConditionFired, t0), Delivery("file.x", "k2")))
	id, id2 := res[0].Deliveries[0].ItemID, res[1].Deliveries[0].ItemID
	now := t0.Add(2 * time.Hour)
	items := claim(t, s, "file.x", "A", now, 2)
	ack := store.FollowUp{Route: "r", Backend: "azure.feedback", CorrelationKey: "file.x|k", Condition: sdk.ConditionFired,
		EventAt: t0, Alert: a, Fields: map[string]any{"comment": "INC0001"}, ReopenWindow: 24 * time.Hour, Note: "created INC0001"}
	for _, it := range items {
		p := store.Progress{ItemID: it.ID, Owner: "A", Now: now, Remote: store.RemoteOpen, AppliedSeq: it.Seq, Done: true,
			Ref: &sdk.WorkItem{ID: fmt.Sprintf("sys-%d", it.ID), Key: "INC0001", State: sdk.StateOpen}}
		if it.ID == id {
			p.FollowUps = []store.FollowUp{ack}
		}
		if err := s.Record(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	fb, err := s.ListItems(ctx, store.ItemFilter{Backend: "azure.feedback"})
	if err != nil || len(fb) != 1 {
		t.Fatalf("azure slots %v, %v", fb, err)
	}
	slot := fb[0]
	if !slot.Dirty || slot.Condition != sdk.ConditionFired || slot.CorrelationKey != "file.x|k" || slot.Fields["comment"] != "INC0001" ||
		!slot.EventAt.Equal(t0) || slot.Intent != store.IntentCreating || slot.ReopenWindow != 24*time.Hour {
		t.Errorf("azure slot %+v", slot)
	}
	if evs := events(t, s, slot.ID); len(evs) != 1 || evs[0].Kind != store.EventNotification || !strings.Contains(evs[0].Message, "created INC0001") {
		t.Errorf("azure slot events %+v", evs)
	}

	// Poll order: never checked first, by id.
	open, err := s.OpenItems(ctx, "file.x", now, 10)
	if err != nil || len(open) != 2 || open[0].ID != id || open[1].ID != id2 {
		t.Fatalf("OpenItems = %s, %v", fmtIDs(open), err)
	}
	if byRef, err := s.OpenItemsByRef(ctx, "file.x", []string{fmt.Sprintf("sys-%d", id2)}); err != nil || len(byRef) != 1 || byRef[0].ID != id2 {
		t.Errorf("OpenItemsByRef = %s, %v", fmtIDs(byRef), err)
	}
	// A read about another work item, and a read of an item a worker
	// holds, change only the poll order.
	later := now.Add(time.Minute)
	claim(t, s, "file.x", "B", later, 0)
	resolvedAt := now.Add(30 * time.Second)
	close := ack
	close.Condition, close.EventAt, close.Fields = sdk.ConditionResolved, resolvedAt, map[string]any{"comment": "resolved by alice"}
	applied, err := s.RecordStatus(ctx, []store.StatusUpdate{
		{ItemID: id, RefID: "someone-else", Now: later, Resolved: true, ResolvedAt: resolvedAt},
		{ItemID: id2, RefID: fmt.Sprintf("sys-%d", id2), Now: later},
	})
	if err != nil || applied[0] || applied[1] {
		t.Fatalf("RecordStatus = %v, %v", applied, err)
	}
	if open, _ := s.OpenItems(ctx, "file.x", later, 10); len(open) != 2 || open[0].ID != id || !open[1].StatusCheckedAt.Equal(later) {
		t.Errorf("after the reads the poll order is %s", fmtIDs(open))
	}
	applied, err = s.RecordStatus(ctx, []store.StatusUpdate{{ItemID: id, RefID: fmt.Sprintf("sys-%d", id), Now: later, Resolved: true,
		ResolvedAt: resolvedAt, ResolvedBy: "alice", Resolution: "Solved (Permanently)",
		Events: []store.Event{{Kind: store.EventState, Op: "status", Message: "resolved in the tool by alice"}}, FollowUps: []store.FollowUp{close}}})
	if err != nil || !applied[0] {
		t.Fatalf("RecordStatus = %v, %v", applied, err)
	}
	got := get(t, s, id)
	if got.Remote != store.RemoteResolved || !got.HumanResolved || got.ResolvedBy != "alice" || got.Resolution != "Solved (Permanently)" ||
		!got.RemoteResolvedAt.Equal(resolvedAt) || got.Dirty || got.Ref == nil || got.Ref.State != sdk.StateResolved {
		t.Errorf("after the resolution: %+v", got)
	}
	if slot := get(t, s, slot.ID); slot.Condition != sdk.ConditionResolved || slot.Fields["comment"] != "resolved by alice" || !slot.Dirty {
		t.Errorf("azure slot after the close: %+v", slot)
	}
	if open, _ := s.OpenItems(ctx, "file.x", later, 10); len(open) != 1 || open[0].ID != id2 {
		t.Errorf("open items after the resolution: %s", fmtIDs(open))
	}
	// A worker's step carries the resolution fields as given.
	it := claim(t, s, "file.x", "C", later, 0)
	_ = it
	leased := ingest(t, s, notif(Alert("b", sdk.ConditionResolved, now.Add(time.Hour)), Delivery("file.x", "k2")))
	_ = leased
	w := claim(t, s, "file.x", "C", later.Add(time.Hour), 1)
	if len(w) != 1 || w[0].ID != id2 {
		t.Fatalf("claimed %s", fmtIDs(w))
	}
	if ap, err := s.RecordStatus(ctx, []store.StatusUpdate{{ItemID: id2, RefID: fmt.Sprintf("sys-%d", id2), Now: later.Add(time.Hour), Resolved: true, ResolvedAt: later}}); err != nil || ap[0] {
		t.Errorf("a resolution recorded on a leased item: %v, %v", ap, err)
	}
	if err := s.Record(ctx, store.Progress{ItemID: id2, Owner: "C", Now: later.Add(time.Hour), Remote: store.RemoteResolved, Ref: w[0].Ref,
		AppliedSeq: w[0].Seq, Done: true, ResolvedBy: "connector"}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, id2); got.HumanResolved || got.ResolvedBy != "connector" {
		t.Errorf("after the worker's resolve: human %v by %q", got.HumanResolved, got.ResolvedBy)
	}
}

// testTraceContext: the trace context of the notification that set the
// desired state is kept with it (claimed, read back, replaced by a newer
// applied notification, not by a stale one), its trace id is on the
// notification's events, and the events a worker records keep theirs.
func testTraceContext(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	const (
		tp1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		tp2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	)
	n := notif(Alert("a", sdk.ConditionFired, t0), Delivery("file.x", "k"))
	n.TraceParent = tp1
	id := ingest(t, s, n)[0].Deliveries[0].ItemID
	if got := get(t, s, id); got.TraceParent != tp1 {
		t.Errorf("TraceParent = %q, want %q", got.TraceParent, tp1)
	}
	now := t0.Add(2 * time.Hour)
	it := claim(t, s, "file.x", "A", now, 1)[0]
	if it.TraceParent != tp1 {
		t.Errorf("claimed TraceParent = %q, want %q", it.TraceParent, tp1)
	}
	if err := s.Record(ctx, store.Progress{ItemID: id, Owner: "A", Now: now, Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "1"},
		AppliedSeq: it.Seq, Done: true, Events: []store.Event{{Kind: store.EventCall, Op: "create", Outcome: "ok", TraceID: "0af7651916cd43dd8448eb211c80319c"},
			{Kind: store.EventState, Message: "untraced"}}}); err != nil {
		t.Fatal(err)
	}
	stale := notif(Alert("a", sdk.ConditionFired, t0.Add(-time.Minute)), Delivery("file.x", "k"))
	stale.TraceParent = tp2
	ingest(t, s, stale)
	if got := get(t, s, id); got.TraceParent != tp1 {
		t.Errorf("after a stale notification TraceParent = %q, want %q kept", got.TraceParent, tp1)
	}
	resolved := notif(Alert("a", sdk.ConditionResolved, t0.Add(time.Minute)), Delivery("file.x", "k"))
	resolved.TraceParent = tp2
	ingest(t, s, resolved)
	untraced := notif(Alert("b", sdk.ConditionFired, t0), Delivery("file.x", "k2"))
	id2 := ingest(t, s, untraced)[0].Deliveries[0].ItemID
	check := func(s store.Store) {
		t.Helper()
		if got := get(t, s, id); got.TraceParent != tp2 {
			t.Errorf("after the Resolved TraceParent = %q, want %q", got.TraceParent, tp2)
		}
		if got := get(t, s, id2); got.TraceParent != "" {
			t.Errorf("untraced item TraceParent = %q, want empty", got.TraceParent)
		}
		var ids []string
		for _, e := range events(t, s, id) {
			ids = append(ids, e.Kind+":"+e.TraceID)
		}
		want := []string{"notification:0af7651916cd43dd8448eb211c80319c", "call:0af7651916cd43dd8448eb211c80319c", "state:",
			"notification:4bf92f3577b34da6a3ce929d0e0e4736", "notification:4bf92f3577b34da6a3ce929d0e0e4736"}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("event trace ids = %q, want %q", ids, want)
		}
	}
	check(s)
	if reopen != nil {
		_ = s.Close()
		s2 := reopen()
		defer s2.Close()
		check(s2)
	}
}

// stormDelivery is a delivery of route "r" under a storm block of group
// "cpu high" (max_new new work items in 5 minutes), for key, covering one
// virtual machine named key.
func stormDelivery(key string, maxNew int) route.Delivery {
	d := Delivery("file.x", key)
	d.ConfigurationItems = []sdk.ConfigurationItem{{Name: key, ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/" + key}}
	d.Storm = &route.StormPolicy{Window: 5 * time.Minute, MaxNew: maxNew, Group: "cpu high"}
	return d
}

// stormItems returns the route's items: those with a work item of their
// own, the members and the parents.
func stormItems(t *testing.T, s store.Store) (own, members, parents []*store.Item) {
	t.Helper()
	items, err := s.ListItems(context.Background(), store.ItemFilter{Route: "r", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch {
		case it.Storm.Members > 0:
			parents = append(parents, it)
		case it.StormParent != 0:
			members = append(members, it)
		default:
			own = append(own, it)
		}
	}
	return own, members, parents
}

func testStorm(t *testing.T, s store.Store, reopen func() store.Store) {
	var res []store.IngestResult
	for i := range 5 {
		key := fmt.Sprintf("vm%d", i)
		res = append(res, ingest(t, s, notif(Alert(key, sdk.ConditionFired, t0.Add(time.Duration(i)*time.Second)), stormDelivery(key, 2)))...)
	}
	for i, r := range res {
		d := r.Deliveries[0]
		if joined := i >= 2; d.StormJoined != joined || d.StormStarted != (i == 2) || (d.StormParent != 0) != joined {
			t.Errorf("alert %d: %+v; want joined %v, started %v", i, d, joined, i == 2)
		}
	}
	own, members, parents := stormItems(t, s)
	if len(own) != 2 || len(members) != 3 || len(parents) != 1 {
		t.Fatalf("%d own, %d members, %d parents; want 2, 3, 1", len(own), len(members), len(parents))
	}
	p := parents[0]
	for _, it := range own {
		if it.Intent != store.IntentCreating || !it.Dirty {
			t.Errorf("own item %q: intent %q dirty %v; want its creating intent, dirty", it.CorrelationKey, it.Intent, it.Dirty)
		}
	}
	for _, m := range members {
		if m.StormParent != p.ID || m.Intent != store.IntentNone {
			t.Errorf("member %q: parent %d intent %q; want parent %d, no intent", m.CorrelationKey, m.StormParent, m.Intent, p.ID)
		}
	}
	if p.Storm.Members != 3 || p.Storm.Firing != 3 || p.Condition != sdk.ConditionFired || len(p.ConfigurationItems) != 3 ||
		p.Intent != store.IntentCreating || !p.Dirty || p.FiredSeq != p.Seq {
		t.Fatalf("parent: %+v; want 3 members firing, fired, 3 configuration items, creating, dirty", p)
	}
	if !strings.HasPrefix(p.CorrelationKey, route.StormKeyPrefix+"cpu high|") || p.Alert.Description != "storm: 3 resources affected by cpu high" {
		t.Errorf("parent key %q, description %q", p.CorrelationKey, p.Alert.Description)
	}
	// A webhook retry of a member changes nothing.
	r := ingest(t, s, notif(Alert("vm4", sdk.ConditionFired, t0.Add(4*time.Second)), stormDelivery("vm4", 2)))
	if r[0].Deliveries[0].Outcome != store.OutcomeDuplicate {
		t.Errorf("retried member: %s, want duplicate", r[0].Deliveries[0].Outcome)
	}
	seq := get(t, s, p.ID).Seq
	// Members resolve: the parent resolves with the last, once.
	for i := 2; i < 5; i++ {
		key := fmt.Sprintf("vm%d", i)
		ingest(t, s, notif(Alert(key, sdk.ConditionResolved, t0.Add(time.Minute+time.Duration(i)*time.Second)), stormDelivery(key, 2)))
		got := get(t, s, p.ID)
		last := i == 4
		if got.Storm.Firing != 4-i || (got.Condition == sdk.ConditionResolved) != last || (got.Seq > seq) != last {
			t.Errorf("after member %d resolved: parent firing %d, %s, seq %d (was %d)", i, got.Storm.Firing, got.Condition, got.Seq, seq)
		}
	}
	s = reopen()
	got := get(t, s, p.ID)
	if got.Condition != sdk.ConditionResolved || got.Storm.Members != 3 || got.Seq != seq+1 || !got.EventAt.Equal(t0.Add(time.Minute+4*time.Second)) {
		t.Errorf("parent after reopening: %s, %d members, seq %d, at %v", got.Condition, got.Storm.Members, got.Seq, got.EventAt)
	}
	evs := events(t, s, p.ID)
	var joins int
	for _, e := range evs {
		if strings.Contains(e.Message, "joined") {
			joins++
		}
	}
	if joins != 3 {
		t.Errorf("the parent's trail records %d joins, want 3", joins)
	}
	mevs := events(t, s, members[0].ID)
	if len(mevs) == 0 || !strings.Contains(mevs[0].Message, fmt.Sprintf("parent work item %d", p.ID)) {
		t.Errorf("a member's trail does not name its parent: %+v", mevs)
	}
}

// testStormConcurrent: alerts of one group committed concurrently (on
// PostgreSQL, in concurrent transactions) count each new work item once.
func testStormConcurrent(t *testing.T, s store.Store, _ func() store.Store) {
	const n, maxNew = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("vm%d", i)
			a := Alert(key, sdk.ConditionFired, t0.Add(time.Duration(i)*time.Second))
			_, err := s.Ingest(context.Background(), []store.Notification{notif(a, stormDelivery(key, maxNew))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
	}
	own, members, parents := stormItems(t, s)
	if len(own) != maxNew || len(members) != n-maxNew || len(parents) != 1 {
		t.Fatalf("%d own, %d members, %d parents; want %d, %d, 1", len(own), len(members), len(parents), maxNew, n-maxNew)
	}
	if p := parents[0]; p.Storm.Members != n-maxNew || p.Storm.Firing != n-maxNew || len(p.ConfigurationItems) != n-maxNew {
		t.Errorf("parent: %d members, %d firing, %d configuration items; want %d each", p.Storm.Members, p.Storm.Firing, len(p.ConfigurationItems), n-maxNew)
	}
	// The members resolve while as many new alerts join, concurrently:
	// every change of the parent counted once, without a deadlock.
	errs = make(chan error, 2*len(members))
	for i, m := range members {
		wg.Add(2)
		go func() {
			defer wg.Done()
			a := Alert(m.AlertID, sdk.ConditionResolved, t0.Add(time.Hour))
			_, err := s.Ingest(context.Background(), []store.Notification{notif(a, stormDelivery(m.CorrelationKey, maxNew))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("vm%d", n+i)
			a := Alert(key, sdk.ConditionFired, t0.Add(time.Minute))
			_, err := s.Ingest(context.Background(), []store.Notification{notif(a, stormDelivery(key, maxNew))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
	}
	_, members, parents = stormItems(t, s)
	if p := parents[0]; len(parents) != 1 || p.Storm.Members != 2*(n-maxNew) || p.Storm.Firing != n-maxNew || len(members) != 2*(n-maxNew) {
		t.Errorf("%d parents, the first with %d members (%d firing), %d members; want 1, %d (%d), %d",
			len(parents), p.Storm.Members, p.Storm.Firing, len(members), 2*(n-maxNew), n-maxNew, 2*(n-maxNew))
	}
}

// testStormHeld: an alert a maintenance window holds is not counted
// against storm.max_new and joins no storm.
func testStormHeld(t *testing.T, s store.Store, _ func() store.Store) {
	hold := &route.MaintenanceHold{Window: "patch", Until: t0.Add(2 * time.Hour), OnEnd: route.OnEndCreate}
	for i := range 3 {
		key := fmt.Sprintf("vm%d", i)
		n := notif(Alert(key, sdk.ConditionFired, t0), stormDelivery(key, 1))
		n.Hold = hold
		if r := ingest(t, s, n); r[0].Deliveries[0].StormParent != 0 || !r[0].Deliveries[0].Held {
			t.Errorf("held alert %d: %+v; want held, no storm", i, r[0].Deliveries[0])
		}
	}
	// The first alert outside the window is the first new work item.
	r := ingest(t, s, notif(Alert("vm3", sdk.ConditionFired, t0), stormDelivery("vm3", 1)))
	if r[0].Deliveries[0].StormParent != 0 {
		t.Errorf("the first new work item after held alerts joined a storm: %+v", r[0].Deliveries[0])
	}
	if own, members, parents := stormItems(t, s); len(own) != 4 || len(members) != 0 || len(parents) != 0 {
		t.Errorf("%d own, %d members, %d parents; want 4, 0, 0", len(own), len(members), len(parents))
	}
}
