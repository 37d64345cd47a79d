package delivery

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// countingStore counts the store's write commits: ingest transactions,
// claims that leased something alone, and record transactions (which may
// claim too); and the items' steps those recorded.
type countingStore struct {
	store.Store
	ingests, claims, recordCommits, records atomic.Int64
}

func (c *countingStore) Ingest(ctx context.Context, ns []store.Notification) ([]store.IngestResult, error) {
	c.ingests.Add(1)
	return c.Store.Ingest(ctx, ns)
}

func (c *countingStore) Claim(ctx context.Context, backend, owner string, now time.Time, lease time.Duration, limit int) ([]*store.Item, error) {
	items, err := c.Store.Claim(ctx, backend, owner, now, lease, limit)
	if len(items) > 0 {
		c.claims.Add(1)
	}
	return items, err
}

func (c *countingStore) Record(ctx context.Context, p store.Progress) error {
	c.recordCommits.Add(1)
	c.records.Add(1)
	return c.Store.Record(ctx, p)
}

func (c *countingStore) RecordAll(ctx context.Context, ps []store.Progress, claims []store.ClaimRequest) (store.RecordResult, error) {
	res, err := c.Store.RecordAll(ctx, ps, claims)
	leased := false
	for _, items := range res.Claimed {
		leased = leased || len(items) > 0
	}
	if len(ps) > 0 || leased {
		c.recordCommits.Add(1)
	}
	if len(ps) == 0 && leased {
		c.claims.Add(1) // a commit of claims alone
	}
	c.records.Add(int64(len(ps)))
	return res, err
}

// waitDrained waits until f has created n items and raw's queue is empty.
func waitDrained(t *testing.T, raw store.Store, f *fake, n int) {
	t.Helper()
	var st store.Stats
	var err error
	waitWithin(t, 3*time.Minute, func() string {
		return fmt.Sprintf("every work item: %d of %d created, stats %+v, %v", f.total(), n, st, err)
	}, func() bool {
		st, err = raw.Stats(context.Background(), time.Now())
		return err == nil && st.Backends["fake.a"].Queued == 0 && f.total() == n
	})
}

// TestNewAlertsCostOneCreateEach: 1,000 new alerts cost 1,000 Create calls
// and no Lookup, and one Record each: the creating intent is recorded by
// the ingest commit and the attempt marked by the claim, so nothing else
// is written before the Create.
func TestNewAlertsCostOneCreateEach(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: raw}
	defer st.Close()
	f := newFake()
	e, err := New(st, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxInFlight: 16}}}, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop(ctx) }()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.Ingest(ctx, alert(fmt.Sprint("a", i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 1,000 Records, each an fsync, on a shared machine (and under -race)
	// take longer than waitFor's deadline.
	waitDrained(t, raw, f, n)
	// The queue is empty once the last result is committed, which is before
	// countingStore.RecordAll returns and counts it: stop the engine, which
	// waits for the recorder, before reading the counters.
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts(), (counts{"create": n}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if r := st.records.Load(); r != n {
		t.Errorf("%d Records for %d new work items, want one each", r, n)
	}
	t.Logf("%d new work items: %d Create, %d Lookup; store commits: %d ingest transactions, %d record transactions (%d of them claims alone) of %d steps (%.2f commits per item)",
		n, f.count("create"), f.count("lookup"), st.ingests.Load(), st.recordCommits.Load(), st.claims.Load(), st.records.Load(),
		float64(st.ingests.Load()+st.recordCommits.Load())/n)
}

// TestAmbiguousCreateLooksUpNext: a Create that failed retryably may have
// acted (here it did); the next attempt looks the key up first and adopts
// what it made.
func TestAmbiguousCreateLooksUpNext(t *testing.T) {
	f := newFake()
	f.createThenFail = sdk.Retryable(errors.New("connection reset after the request was sent"))
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	en.settled()
	if got, want := f.counts(), (counts{"create": 1, "lookup": 1}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if n := len(f.byKey("k")); n != 1 {
		t.Errorf("%d remote items, want 1", n)
	}
	if it := en.item("fake.a", "k"); it.Remote != store.RemoteOpen || it.Intent != store.IntentNone || !it.CreateAttemptAt.IsZero() {
		t.Errorf("item %s attempt %v; want open, no intent, no attempt mark", fmtItems([]*store.Item{it}), it.CreateAttemptAt)
	}
}

// claimAndCrash claims every due item of fake.a as the env's instance, as
// a worker that then died before recording anything, and returns the
// claim's time.
func (en *env) claimAndCrash() time.Time {
	en.t.Helper()
	claimed := time.Now()
	items, err := en.st.Claim(context.Background(), "fake.a", en.opts.InstanceID, claimed, time.Minute, 10)
	if err != nil || len(items) == 0 {
		en.t.Fatalf("Claim = %s, %v; want the item", fmtItems(items), err)
	}
	return claimed
}

// TestCrashAfterClaimLooksUpFirst: the claim marked the Create attempt and
// the connector died (whether or not the Create reached the backend); after
// the restart the worker looks the key up before creating.
func TestCrashAfterClaimLooksUpFirst(t *testing.T) {
	for _, reached := range []bool{true, false} {
		t.Run(fmt.Sprintf("create reached the backend: %v", reached), func(t *testing.T) {
			f := newFake()
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, testOptions(), false)
			en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
			en.claimAndCrash()
			want := counts{"lookup": 1, "create": 1}
			if reached {
				f.seed("k")
				want = counts{"lookup": 1}
			}
			if err := en.e.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			en.settled()
			if got := f.counts(); !sameCounts(got, want) {
				t.Errorf("calls %v, want %v", got, want)
			}
			if n := len(f.byKey("k")); n != 1 {
				t.Errorf("%d remote items, want 1", n)
			}
		})
	}
}

// TestCrashAfterClaimWaitsForReadAfterWrite: after a crash with a Create
// attempt marked, the Lookup waits for the plugin's read-after-write delay
// counted from the attempt: the worker reschedules the item without a call.
func TestCrashAfterClaimWaitsForReadAfterWrite(t *testing.T) {
	const delay = time.Hour
	f := newFake()
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), ReadAfterWriteDelay: delay}}, testOptions(), false)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	claimed := en.claimAndCrash()
	if err := en.e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var it *store.Item
	waitFor(t, "the item rescheduled", func() bool {
		it = en.item("fake.a", "k")
		return it.LeaseOwner == "" && it.DueAt.After(claimed)
	})
	if !it.DueAt.Equal(claimed.Add(delay)) {
		t.Errorf("due at %v, want the attempt's time plus the read-after-write delay, %v", it.DueAt, claimed.Add(delay))
	}
	if !it.CreateAttemptAt.Equal(claimed) || it.Intent != store.IntentCreating || it.Attempts != 0 {
		t.Errorf("item %s attempt %v; want the intent and the first claim's mark kept, no failed attempt", fmtItems([]*store.Item{it}), it.CreateAttemptAt)
	}
	if got := f.counts(); !sameCounts(got, counts{}) {
		t.Errorf("calls %v, want none before the delay", got)
	}
	if notes := en.stateNotes(it.ID); !hasNote(notes, "read-after-write delay") {
		t.Errorf("audit notes %q lack the wait", notes)
	}
}

// TestAdoptExisting: with adopt_existing, a slot's first delivery looks
// the key up and adopts an open work item the backend already has; a slot
// that had its own item creates the next one directly.
func TestAdoptExisting(t *testing.T) {
	f := newFake()
	existing := f.seed("k1")
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), AdoptExisting: true}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k1", 0))
	en.ingest(alert("a2", sdk.ConditionFired, t0), decision("fake.a", "k2", 0))
	en.settled()
	if got, want := f.counts(), (counts{"lookup": 2, "create": 1}); !sameCounts(got, want) {
		t.Errorf("first deliveries: calls %v, want %v", got, want)
	}
	if it := en.item("fake.a", "k1"); it.Ref == nil || it.Ref.ID != existing {
		t.Errorf("k1 ref %+v, want the existing item %s", it.Ref, existing)
	}
	// k2 resolves and fires again after its reopen window (0: never
	// reopens): a new item, created without a Lookup.
	en.ingest(alert("a2", sdk.ConditionResolved, t0.Add(time.Minute)), decision("fake.a", "k2", 0))
	en.settled()
	en.ingest(alert("a3", sdk.ConditionFired, t0.Add(time.Hour)), decision("fake.a", "k2", 0))
	en.settled()
	if got, want := f.counts(), (counts{"lookup": 2, "create": 2, "resolve": 1}); !sameCounts(got, want) {
		t.Errorf("after a re-fire: calls %v, want %v", got, want)
	}
	if n := len(f.byKey("k2")); n != 2 {
		t.Errorf("k2 has %d remote items, want 2", n)
	}
}

// TestAdoptExistingNeedsLookup: adopt_existing on a plugin that cannot look
// work items up is refused, naming the setting.
func TestAdoptExistingNeedsLookup(t *testing.T) {
	caps := allCaps()
	caps.Lookup = false
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = New(st, StaticBackends{"fake.a": {Client: newFake(), Capabilities: caps, AdoptExisting: true}}, testOptions(), nil)
	if err == nil || !strings.Contains(err.Error(), "adopt_existing") || !strings.Contains(err.Error(), `"fake.a"`) {
		t.Errorf("New = %v; want an error naming adopt_existing and the backend", err)
	}
}

// leaseWatch records the most items of a backend leased at once, read
// after every write commit.
type leaseWatch struct {
	store.Store
	backend   string
	mu        sync.Mutex
	maxLeased int64
}

func (w *leaseWatch) RecordAll(ctx context.Context, ps []store.Progress, claims []store.ClaimRequest) (store.RecordResult, error) {
	res, err := w.Store.RecordAll(ctx, ps, claims)
	st, serr := w.Stats(ctx, time.Now())
	if serr == nil {
		w.mu.Lock()
		w.maxLeased = max(w.maxLeased, st.Backends[w.backend].Leased)
		w.mu.Unlock()
	}
	return res, err
}

// TestMaxInFlightWithGroupedCommits: with an instant backend, the commits
// that end claims claim the next items for the same slots, and still no
// more than max_in_flight items are leased or called at once.
func TestMaxInFlightWithGroupedCommits(t *testing.T) {
	const n, limit = 300, 3
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &leaseWatch{Store: raw, backend: "fake.a"}
	defer st.Close()
	f := newFake()
	e, err := New(st, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxInFlight: limit}}}, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := e.Ingest(ctx, alert(fmt.Sprint("a", i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop(ctx) }()
	waitWithin(t, 3*time.Minute, func() string { return fmt.Sprintf("%d of %d created", f.total(), n) },
		func() bool { return f.total() >= n })
	f.mu.Lock()
	calls := f.maxInFlight
	f.mu.Unlock()
	st.mu.Lock()
	leased := st.maxLeased
	st.mu.Unlock()
	if calls > limit || leased > limit || leased < 1 {
		t.Errorf("at most %d calls and %d items leased at once; max_in_flight is %d", calls, leased, limit)
	}
}

// failGrouped fails every grouped RecordAll (more than one step), as a
// PostgreSQL deadlock between a grouped record and an ingest batch does.
type failGrouped struct {
	store.Store
	failed atomic.Int64
}

func (s *failGrouped) RecordAll(ctx context.Context, ps []store.Progress, claims []store.ClaimRequest) (store.RecordResult, error) {
	if len(ps) > 1 {
		s.failed.Add(1)
		return store.RecordResult{}, errors.New("deadlock detected")
	}
	return s.Store.RecordAll(ctx, ps, claims)
}

// TestGroupedRecordFailureFallsBackToOneByOne: when a grouped record fails,
// the recorder records each request on its own; every worker still gets
// its result and its claims, so every alert gets exactly one work item and
// nothing is left queued.
func TestGroupedRecordFailureFallsBackToOneByOne(t *testing.T) {
	const n = 200
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st := &failGrouped{Store: raw}
	f := newFake()
	e, err := New(st, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxInFlight: 16}}}, testOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := e.Ingest(ctx, alert(fmt.Sprint("a", i), sdk.ConditionFired, t0), decision("fake.a", fmt.Sprint("k", i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop(ctx) }()
	waitDrained(t, raw, f, n)
	if got, want := f.counts(), (counts{"create": n}); !sameCounts(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if st.failed.Load() == 0 {
		t.Fatal("no grouped record was attempted, so the fallback was not exercised")
	}
}
