package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
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
	// Calls counts the plugin calls by operation, all outcomes, since the
	// connector started.
	Calls map[string]float64
}

// waitDrain polls the spawned connector's queue depth (itsm_queue_depth,
// read from the store, which replicas share) until no work item is queued
// or bound passes. out is the connector's run, which ended just now. The
// plugin calls are summed over the replicas.
func waitDrain(ctx context.Context, fleet replicas, out outcome, bound time.Duration) (drained, error) {
	conn := fleet[0]
	ended := time.Now()
	d := drained{Acked: out.Acked}
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
		if queued == 0 {
			d.Empty = true
			break
		}
		if d.After >= bound || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(50 * time.Millisecond):
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
	return d, nil
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
	}
	if d.Acked == 0 {
		return
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(d.Calls)) {
		parts = append(parts, fmt.Sprintf("%s %.2f", op, d.Calls[op]/float64(d.Acked)))
	}
	fmt.Fprintf(w, "plugin calls per acknowledged alert: %s\n", strings.Join(parts, ", "))
}
