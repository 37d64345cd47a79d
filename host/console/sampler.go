package console

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Reading is one backend's state at one moment, as the sampler takes it.
type Reading struct {
	Queued        int64
	OldestPending time.Duration
	InFlight      int64
	// Calls and Failures are this process's plugin calls since it started
	// (counters); the charts show their rate between samples.
	Calls, Failures float64
}

// sample is a Reading and its time.
type sample struct {
	at time.Time
	Reading
}

// Sampler keeps the last hour of every backend's readings in memory, one
// every Every, for the overview's charts: a ring of Window/Every samples
// per backend, for at most MaxBackends backends, so its memory is bounded
// (about 120 samples of 56 bytes per backend with the defaults).
type Sampler struct {
	// Read takes the readings of every backend.
	Read func(ctx context.Context) (map[string]Reading, error)
	// Every is the time between samples (30s); Window how far back the
	// charts go (1h).
	Every, Window time.Duration
	Logger        hclog.Logger

	mu    sync.Mutex
	rings map[string]*ring
}

// MaxBackends bounds how many backends the sampler keeps samples of.
const MaxBackends = 64

type ring struct {
	buf  []sample
	next int
	full bool
}

func (r *ring) add(s sample) {
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

// all returns the samples oldest first.
func (r *ring) all() []sample {
	if !r.full {
		return append([]sample(nil), r.buf[:r.next]...)
	}
	return append(append([]sample(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}

func (s *Sampler) every() time.Duration {
	if s.Every <= 0 {
		return 30 * time.Second
	}
	return s.Every
}

func (s *Sampler) window() time.Duration {
	if s.Window <= 0 {
		return time.Hour
	}
	return s.Window
}

// Start takes a sample at once and then every s.Every until ctx ends or
// the returned stop is called; stop waits for the sampling goroutine.
func (s *Sampler) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.every())
		defer t.Stop()
		for {
			s.Sample(ctx, time.Now())
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Sample takes one sample of every backend at now.
func (s *Sampler) Sample(ctx context.Context, now time.Time) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rs, err := s.Read(rctx)
	if err != nil {
		if s.Logger != nil && ctx.Err() == nil {
			s.Logger.Warn("console: sampling the backends failed; the charts miss this sample", "error", err)
		}
		return
	}
	s.record(now, rs)
}

func (s *Sampler) record(now time.Time, rs map[string]Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rings == nil {
		s.rings = map[string]*ring{}
	}
	size := int(s.window()/s.every()) + 1
	names := make([]string, 0, len(rs))
	for b := range rs {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		r, ok := s.rings[b]
		if !ok {
			if len(s.rings) >= MaxBackends {
				continue
			}
			r = &ring{buf: make([]sample, size)}
			s.rings[b] = r
		}
		r.add(sample{at: now, Reading: rs[b]})
	}
}

// Charts are one backend's charts over the window.
type Charts struct {
	Queued, OldestPending, InFlight, Deliveries, Failures Chart
}

// Chart is one small inline SVG line chart: its points in a
// ChartWidth×ChartHeight box, and its labels.
type Chart struct {
	// Points is the polyline's points attribute; empty with fewer than
	// two values.
	Points string
	// Now and Max are the latest and the largest value, formatted.
	Now, Max string
	Label    string
}

// Chart box, in SVG user units.
const (
	ChartWidth  = 120
	ChartHeight = 28
)

// Charts returns backend's charts at now; ok is false when it has no
// samples yet.
func (s *Sampler) Charts(backend string, now time.Time) (Charts, bool) {
	s.mu.Lock()
	r, ok := s.rings[backend]
	var ss []sample
	if ok {
		ss = r.all()
	}
	s.mu.Unlock()
	if !ok || len(ss) == 0 {
		return Charts{}, false
	}
	start := now.Add(-s.window())
	var q, o, f, d, fl []point
	for i, x := range ss {
		if x.at.Before(start) {
			continue
		}
		q = append(q, point{x.at, float64(x.Queued)})
		o = append(o, point{x.at, x.OldestPending.Seconds()})
		f = append(f, point{x.at, float64(x.InFlight)})
		if i > 0 {
			prev := ss[i-1]
			if dt := x.at.Sub(prev.at).Seconds(); dt > 0 {
				d = append(d, point{x.at, max(x.Calls-prev.Calls, 0) / dt})
				fl = append(fl, point{x.at, max(x.Failures-prev.Failures, 0) / dt})
			}
		}
	}
	win := s.window()
	return Charts{
		Queued:        chart("queue depth", q, start, win, count),
		OldestPending: chart("oldest pending", o, start, win, seconds),
		InFlight:      chart("in flight", f, start, win, count),
		Deliveries:    chart("deliveries/s", d, start, win, rate),
		Failures:      chart("failures/s", fl, start, win, rate),
	}, true
}

type point struct {
	at time.Time
	v  float64
}

func count(v float64) string   { return strconv.FormatFloat(v, 'f', 0, 64) }
func seconds(v float64) string { return compact(time.Duration(v * float64(time.Second))) }
func rate(v float64) string {
	if v != 0 && v < 0.1 {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// chart scales ps into the chart box: x by time over [start,
// start+window], y from 0 to the largest value (at least 1).
func chart(label string, ps []point, start time.Time, window time.Duration, format func(float64) string) Chart {
	c := Chart{Label: label, Now: "-", Max: "-"}
	if len(ps) == 0 {
		return c
	}
	top := 0.0
	for _, p := range ps {
		top = max(top, p.v)
	}
	c.Now, c.Max = format(ps[len(ps)-1].v), format(top)
	if len(ps) < 2 {
		return c
	}
	scale := max(top, 1)
	var b strings.Builder
	for i, p := range ps {
		x := float64(p.at.Sub(start)) / float64(window) * ChartWidth
		y := ChartHeight - 1 - p.v/scale*(ChartHeight-2)
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", min(max(x, 0), ChartWidth), y)
	}
	c.Points = b.String()
	return c
}
