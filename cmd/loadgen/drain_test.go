package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestTicketTimes: time to ticket is each created item's stamp minus its
// alert's 202, for the alerts of this run whose item carries a stamp.
func TestTicketTimes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	acked := map[string]time.Time{}
	var want []time.Duration
	for i := range 1203 { // more than one page
		id := fmt.Sprint("a", i)
		res, err := st.Ingest(ctx, []store.Notification{{Alert: &sdk.Alert{ID: id, Condition: sdk.ConditionFired, FiredAt: t0},
			Deliveries: []route.Delivery{{Route: "r", Backend: "slow.api", CorrelationKey: id}}, ReceivedAt: t0}})
		if err != nil {
			t.Fatal(err)
		}
		ref := &sdk.WorkItem{ID: id}
		switch {
		case i%3 == 0: // not this run's alert
		case i%3 == 1:
			acked[id] = t0.Add(time.Duration(i) * time.Millisecond)
			ref.Attributes = map[string]string{createdAttr: strconv.FormatInt(t0.Add(time.Duration(2*i)*time.Millisecond).UnixNano(), 10)}
			want = append(want, time.Duration(i)*time.Millisecond)
		default: // a backend without stamps
			acked[id] = t0
		}
		item := res[0].Deliveries[0].ItemID
		if _, err := st.Claim(ctx, "slow.api", "A", t0, time.Minute, 1); err != nil {
			t.Fatal(err)
		}
		if err := st.Record(ctx, store.Progress{ItemID: item, Owner: "A", Now: t0, Remote: store.RemoteOpen, Ref: ref, AppliedSeq: 1, Done: true}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ticketTimes(ctx, st, acked)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d times (%v…), want %d (%v…)", len(got), got[:min(3, len(got))], len(want), want[:3])
	}
}

// A connector on PostgreSQL keeps no SQLite file: -drain then reports no
// times to ticket instead of failing after the queue drained.
func TestTicketTimesWithoutSQLiteStore(t *testing.T) {
	conn := &spawned{Dir: t.TempDir()}
	times, err := conn.ticketTimes(context.Background(), map[string]time.Time{"a": time.Now()})
	if err != nil || times != nil {
		t.Fatalf("got %v, %v; want no times and no error", times, err)
	}
}
