package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
)

// drained is how the spawned connector delivered what one run acknowledged.
type drained struct {
	// Empty: the queue emptied within the -drain bound.
	Empty bool
	// After is how long after the last response the queue was seen empty
	// (or the bound, when it was not).
	After time.Duration
	// Total runs from the first request to the empty queue.
	Total time.Duration
	Acked int
	// QueuedAtEnd is the queue depth when the load ended: what the
	// connector delivered in After with no ingest beside it.
	QueuedAtEnd float64
	// Calls counts the plugin calls by operation, all outcomes, since the
	// connector started.
	Calls map[string]float64
	// ToTicket holds, sorted, each new work item's time to ticket: from
	// the 202 of its alert's Fired to its Create returning (see
	// ticketTimes); nil when the backend stamps no creation time.
	ToTicket []time.Duration
}

// drainPoll is how often waitDrain reads the queue depth. Every scrape of
// /metrics counts the queue in the store (a read of every queued row), so
// polling at 20 Hz took half of the connector's CPU while it drained.
const drainPoll = 250 * time.Millisecond

// waitDrain polls the spawned connector's queue depth (itsm_queue_depth,
// read from the store, which replicas share) until no work item is queued
// or bound passes. out is the connector's run, which ended just now. The
// plugin calls are summed over the replicas.
func waitDrain(ctx context.Context, fleet replicas, out outcome, bound time.Duration) (drained, error) {
	conn := fleet[0]
	ended := time.Now()
	d := drained{Acked: out.Acked}
	first := true
	for {
		depth, err := conn.metric(ctx, "itsm_queue_depth")
		if err != nil {
			return d, err
		}
		var queued float64
		for _, v := range depth {
			queued += v
		}
		d.After = time.Since(ended)
		if first {
			d.QueuedAtEnd, first = queued, false
		}
		if queued == 0 {
			d.Empty = true
			break
		}
		if d.After >= bound || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(drainPoll):
		case <-ctx.Done():
		}
	}
	d.Total = out.Elapsed + d.After
	calls, err := fleet.metricSum(ctx, "itsm_deliveries_total")
	if err != nil {
		return d, err
	}
	d.Calls = map[string]float64{}
	for labels, v := range calls {
		d.Calls[labelValue(labels, "operation")] += v
	}
	d.ToTicket, err = conn.ticketTimes(ctx, out.FiredAckedAt)
	return d, err
}

// ticketTimes reads the times to ticket from the connector's store; there
// are none to report (nil) when the store is PostgreSQL, which loadgen
// does not read.
func (s *spawned) ticketTimes(ctx context.Context, firedAckedAt map[string]time.Time) ([]time.Duration, error) {
	st, err := s.openStore(ctx)
	if errors.Is(err, errNoSQLiteStore) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return ticketTimes(ctx, st, firedAckedAt)
}

// createdAttr is the work item attribute in which the slow test plugin
// (slowplugin) stamps when its Create returned, in Unix nanoseconds.
const createdAttr = "created_unix_nano"

// ticketTimes returns, sorted, the time to ticket of every work item in st
// whose alert this run acknowledged and whose plugin stamped createdAttr:
// the stamp minus the arrival of the alert's first 202. Both clocks are
// this machine's wall clock (the plugin runs here too). Only the slow test
// plugin stamps its items; other backends give nil.
func ticketTimes(ctx context.Context, st store.Store, ackedAt map[string]time.Time) ([]time.Duration, error) {
	var out []time.Duration
	f := store.ItemFilter{Limit: 1000}
	for {
		items, err := st.ListItems(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("reading the connector's work items: %w", err)
		}
		for _, it := range items {
			acked, ok := ackedAt[it.AlertID]
			if !ok || it.Ref == nil {
				continue
			}
			ns, err := strconv.ParseInt(it.Ref.Attributes[createdAttr], 10, 64)
			if err != nil {
				continue
			}
			out = append(out, time.Unix(0, ns).Sub(acked))
		}
		if len(items) < f.Limit {
			break
		}
		f.BeforeID = items[len(items)-1].ID
	}
	slices.Sort(out)
	return out, nil
}

// percentile is the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method; 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(p/100*float64(n)+0.999999999) - 1
	return sorted[min(max(rank, 0), n-1)]
}

// labelValue returns one label's value from a sample's labels as
// parseMetric keys them (name="value",...).
func labelValue(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func (d drained) write(w io.Writer) {
	if !d.Empty {
		fmt.Fprintf(w, "\ndelivery: queue not empty %v after the load ended (-drain)\n", d.After.Round(time.Millisecond))
	} else {
		rate := 0.0
		if d.Total > 0 {
			rate = float64(d.Acked) / d.Total.Seconds()
		}
		fmt.Fprintf(w, "\ndelivery: queue empty %v after the load ended; %d acknowledged alerts delivered in %v from the first request: %.0f alerts/s\n",
			d.After.Round(time.Millisecond), d.Acked, d.Total.Round(time.Millisecond), rate)
		if d.QueuedAtEnd > 0 && d.After > 0 {
			fmt.Fprintf(w, "after the load (no ingest beside it): %.0f queued items delivered in %v: %.0f items/s\n",
				d.QueuedAtEnd, d.After.Round(time.Millisecond), d.QueuedAtEnd/d.After.Seconds())
		}
	}
	if d.Acked == 0 {
		return
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(d.Calls)) {
		parts = append(parts, fmt.Sprintf("%s %.2f", op, d.Calls[op]/float64(d.Acked)))
	}
	fmt.Fprintf(w, "plugin calls per acknowledged alert: %s\n", strings.Join(parts, ", "))
	if len(d.ToTicket) > 0 {
		fmt.Fprintf(w, "time to ticket (202 to Create returned), %d new work items: p50 %v, p90 %v, p99 %v, max %v\n", len(d.ToTicket),
			percentile(d.ToTicket, 50).Round(time.Microsecond*10), percentile(d.ToTicket, 90).Round(time.Microsecond*10),
			percentile(d.ToTicket, 99).Round(time.Microsecond*10), d.ToTicket[len(d.ToTicket)-1].Round(time.Microsecond*10))
	}
}
