package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// countingStore records PruneEvents calls and can fail the next one.
type countingStore struct {
	store.Store
	mu     sync.Mutex
	limits []int
	fail   error
}

func (c *countingStore) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	c.mu.Lock()
	c.limits = append(c.limits, limit)
	err := c.fail
	c.fail = nil
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Store.PruneEvents(ctx, before, limit)
}

func (c *countingStore) calls() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.limits...)
}

// manualTimer stands in for time.After: the loop's waits are reported on
// waits, and a pass starts only when the test fires.
type manualTimer struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newManualTimer() *manualTimer {
	return &manualTimer{waits: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (m *manualTimer) after(d time.Duration) <-chan time.Time {
	m.waits <- d
	return m.fire
}

// next returns the wait the loop asked for next: it asks once it is idle,
// so receiving it means the previous pass is over.
func (m *manualTimer) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-m.waits:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("pruning loop never waited for its next pass")
		return 0
	}
}

func (m *manualTimer) trigger(t *testing.T) {
	t.Helper()
	select {
	case m.fire <- time.Time{}:
	case <-time.After(30 * time.Second):
		t.Fatal("pruning loop is not waiting for a pass")
	}
}

var pruneNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const testRetention = 30 * 24 * time.Hour

type retentionFixture struct {
	st           *countingStore
	clean, dirty int64
	logs         *fakehttp.LogBuffer
	timer        *manualTimer
	p            *pruner
}

func newRetentionFixture(t *testing.T, oldEvents int) *retentionFixture {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connector.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	cutoff := pruneNow.Add(-testRetention)
	old := cutoff.Add(-24 * time.Hour)
	notify := func(d route.Delivery, at time.Time) int64 {
		res, err := raw.Ingest(ctx, []store.Notification{{Alert: storetest.Alert("a-"+d.CorrelationKey, sdk.ConditionFired, old),
			Deliveries: []route.Delivery{d}, ReceivedAt: at}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Deliveries[0].ItemID
	}
	// A clean item with oldEvents events past the retention (its first
	// notification and duplicates of it) and one an hour inside it.
	d := storetest.Delivery("file.x", "clean")
	clean := notify(d, old)
	items, err := raw.Claim(ctx, "file.x", "test", old, time.Minute, 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("Claim = %v, %v", items, err)
	}
	if err := raw.Record(ctx, store.Progress{ItemID: clean, Owner: "test", Now: old, Remote: store.RemoteOpen,
		Ref: &sdk.WorkItem{ID: "1"}, AppliedSeq: items[0].Seq, Done: true}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < oldEvents; i++ {
		notify(d, old.Add(time.Duration(i)*time.Minute))
	}
	notify(d, cutoff.Add(time.Hour))
	// A dirty item whose only event is past the retention.
	dirty := notify(storetest.Delivery("jira.y", "dirty"), old)

	f := &retentionFixture{st: &countingStore{Store: raw}, clean: clean, dirty: dirty, logs: &fakehttp.LogBuffer{}, timer: newManualTimer()}
	log := hclog.New(&hclog.LoggerOptions{Name: "retention", Output: f.logs, Level: hclog.Info})
	f.p = newPruner(f.st, testRetention, log)
	f.p.batch = 2
	f.p.now = func() time.Time { return pruneNow }
	f.p.after = f.timer.after
	return f
}

func (f *retentionFixture) events(t *testing.T, id int64) int {
	t.Helper()
	evs, err := f.st.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestPrunerPasses(t *testing.T) {
	tests := []struct {
		name      string
		oldEvents int
		// wantCalls counts the PruneEvents calls of the first pass:
		// batches of 2 until one comes back short.
		wantCalls int
		wantLog   string
	}{
		{"odd backlog", 5, 3, "events=5"},
		{"backlog a multiple of the batch", 4, 3, "events=4"},
		{"one event", 1, 1, "events=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newRetentionFixture(t, tc.oldEvents)
			stop := f.p.start(context.Background())
			defer stop()
			if d := f.timer.next(t); d != pruneFirstDelay {
				t.Errorf("first pass after %v, want %v", d, pruneFirstDelay)
			}
			f.timer.trigger(t)
			if d := f.timer.next(t); d != pruneInterval {
				t.Errorf("next pass after %v, want %v", d, pruneInterval)
			}
			calls := f.st.calls()
			if len(calls) != tc.wantCalls {
				t.Errorf("first pass made %d PruneEvents calls %v, want %d", len(calls), calls, tc.wantCalls)
			}
			for _, l := range calls {
				if l != 2 {
					t.Errorf("PruneEvents limit %d, want the batch size 2", l)
				}
			}
			if n := f.events(t, f.clean); n != 1 {
				t.Errorf("clean item has %d events, want the 1 inside the retention", n)
			}
			if n := f.events(t, f.dirty); n != 1 {
				t.Errorf("dirty item has %d events, want its 1 kept", n)
			}
			logs := f.logs.String()
			if !strings.Contains(logs, "pruned audit events") || !strings.Contains(logs, tc.wantLog) ||
				!strings.Contains(logs, "older_than=2026-05-02T12:00:00Z") {
				t.Errorf("logs lack the pruned count %s and cutoff:\n%s", tc.wantLog, logs)
			}

			// A pass with nothing to prune makes one call and logs nothing.
			f.timer.trigger(t)
			f.timer.next(t)
			if got := len(f.st.calls()); got != tc.wantCalls+1 {
				t.Errorf("idle pass: %d calls in all, want %d", got, tc.wantCalls+1)
			}
			if n := strings.Count(f.logs.String(), "pruned audit events"); n != 1 {
				t.Errorf("%d info lines after an idle pass, want only the first:\n%s", n, f.logs.String())
			}
		})
	}
}

func TestPrunerKeepsGoingAfterError(t *testing.T) {
	f := newRetentionFixture(t, 3)
	f.st.fail = errors.New("database is locked")
	stop := f.p.start(context.Background())
	defer stop()
	f.timer.next(t)
	f.timer.trigger(t)
	f.timer.next(t)
	logs := f.logs.String()
	if !strings.Contains(logs, "[WARN]") || !strings.Contains(logs, "database is locked") {
		t.Errorf("want a warning with the error, got:\n%s", logs)
	}
	if strings.Contains(logs, "pruned audit events") {
		t.Errorf("failed pass logged a count:\n%s", logs)
	}
	if n := f.events(t, f.clean); n != 4 {
		t.Errorf("clean item has %d events after the failed pass, want all 4", n)
	}
	f.timer.trigger(t)
	f.timer.next(t)
	if n := f.events(t, f.clean); n != 1 {
		t.Errorf("clean item has %d events after the next pass, want 1", n)
	}
	if !strings.Contains(f.logs.String(), "events=3") {
		t.Errorf("next pass did not log its count:\n%s", f.logs.String())
	}
}

func TestPrunerStop(t *testing.T) {
	f := newRetentionFixture(t, 1)
	stop := f.p.start(context.Background())
	f.timer.next(t)
	stop() // returns only once the loop has ended
	if calls := f.st.calls(); len(calls) != 0 {
		t.Errorf("stopped before any pass, yet PruneEvents ran %d times", len(calls))
	}

	// Ending the parent context ends the loop too.
	ctx, cancel := context.WithCancel(context.Background())
	stop = f.p.start(ctx)
	f.timer.next(t)
	cancel()
	stop()
}

func TestPrunerDisabled(t *testing.T) {
	f := newRetentionFixture(t, 1)
	f.p.retention = 0
	f.p.start(context.Background())()
	select {
	case d := <-f.timer.waits:
		t.Errorf("retention 0 started a loop (it waited %v)", d)
	default:
	}
	if n := f.events(t, f.clean); n != 2 {
		t.Errorf("retention 0: clean item has %d events, want both kept", n)
	}
}
