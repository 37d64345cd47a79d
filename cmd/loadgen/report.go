package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// describe says what the run does, for the top of the report.
func describe(o options) string {
	var b strings.Builder
	if o.Rate > 0 {
		fmt.Fprintf(&b, "open loop at %g requests/s over at most %d connections", o.Rate, o.Concurrency)
	} else {
		fmt.Fprintf(&b, "closed loop, %d connections", o.Concurrency)
	}
	switch {
	case o.Total > 0 && o.Duration > 0:
		fmt.Fprintf(&b, ", %d requests or %v", o.Total, o.Duration)
	case o.Total > 0:
		fmt.Fprintf(&b, ", %d requests", o.Total)
	default:
		fmt.Fprintf(&b, ", %v", o.Duration)
	}
	if o.IDs > 0 {
		fmt.Fprintf(&b, ", %d alert ids repeated", o.IDs)
	} else {
		b.WriteString(", distinct alert ids")
	}
	fmt.Fprintf(&b, ", %g%% resolved", o.Resolved*100)
	if o.Token != "" {
		b.WriteString(", the given token")
	} else {
		fmt.Fprintf(&b, ", %d dev token(s)", o.Tokens)
	}
	return b.String()
}

// loadAvg is the 1-minute load average (other work on the machine), or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var one float64
	if _, err := fmt.Sscanf(string(b), "%f", &one); err != nil {
		return -1
	}
	return one
}

// report is the result table.
type report struct{ rows []row }

type row struct {
	name                  string
	out                   outcome
	loadBefore, loadAfter float64
	serverCPU             time.Duration // 0 when unknown
	serverWait            time.Duration // run-queue wait of the host; 0 when unknown
	pluginCPU             time.Duration // CPU of the host's plugin processes
}

// write prints one line per target, then error details and, for the
// spawned connector, its CPU per alert.
func (r report) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\tacked\tacked/s\tp50\tp90\tp99\tmax\tfailed\tload 1m before/after\t")
	for _, x := range r.rows {
		o := x.out
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t%.2f / %.2f\t\n", x.name, o.Requests, o.Acked, o.AckRate(),
			ms(o.Percentile(50)), ms(o.Percentile(90)), ms(o.Percentile(99)), ms(o.Percentile(100)),
			o.Requests-o.Acked, x.loadBefore, x.loadAfter)
	}
	_ = tw.Flush()
	for _, x := range r.rows {
		o := x.out
		for _, code := range slices.Sorted(maps.Keys(o.Status)) {
			fmt.Fprintf(w, "%s: %d × HTTP %d\n", x.name, o.Status[code], code)
		}
		for _, kind := range slices.Sorted(maps.Keys(o.Errors)) {
			fmt.Fprintf(w, "%s: %d × %s (e.g. %s)\n", x.name, o.Errors[kind], kind, o.ErrorSample[kind])
		}
		if x.serverCPU > 0 && o.Acked > 0 {
			fmt.Fprintf(w, "%s: host used %.1f s CPU in %.1f s (%.0f µs per acknowledged alert) and waited %.1f s for a CPU; its plugins used %.1f s CPU\n", x.name,
				x.serverCPU.Seconds(), o.Elapsed.Seconds(), float64(x.serverCPU.Microseconds())/float64(o.Acked), x.serverWait.Seconds(), x.pluginCPU.Seconds())
		}
	}
}

// ms formats a latency in milliseconds with three significant figures.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}
