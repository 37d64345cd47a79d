package console

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestWeblink(t *testing.T) {
	for u, want := range map[string]bool{
		"https://acme.service-now.com/incident.do?sys_id=1": true,
		"HTTP://jira.example/browse/OPS-1":                  true,
		"javascript:alert(1)":                               false,
		"JavaScript:alert(1)":                               false,
		" javascript:alert(1)":                              false,
		"data:text/html,<script>":                           false,
		"file:///var/lib/itsm/items/1.json":                 false,
		"//evil.example/x":                                  false,
		"https:///nohost":                                   false,
		"":                                                  false,
	} {
		if got := weblink(u); got != want {
			t.Errorf("weblink(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12*time.Minute + 59*time.Second: "12m", 3 * time.Hour: "3h",
		3*time.Hour + 10*time.Minute: "3h10m", 50 * time.Hour: "2d2h", 48 * time.Hour: "2d",
	} {
		if got := age(now, now.Add(-d)); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
	if got := age(now, time.Time{}); got != "-" {
		t.Errorf("age(zero) = %q", got)
	}
}

func TestItemStateAndCISummary(t *testing.T) {
	for _, c := range []struct {
		it    store.Item
		state string
		cis   string
		class string
	}{
		{store.Item{}, "in sync", "-", ""},
		{store.Item{Dirty: true}, "pending", "-", ""},
		{store.Item{Dirty: true, Attempts: 2}, "failing (2 attempts)", "-", ""},
		{store.Item{Dead: true, Attempts: 5}, "dead letter", "-", ""},
		{store.Item{Ref: &sdk.WorkItem{ID: "1", Bindings: []sdk.CIBinding{{BoundID: "a"}, {BoundID: "b"}}}}, "in sync", "2/2 bound", "ok"},
		{store.Item{Ref: &sdk.WorkItem{ID: "1", Bindings: []sdk.CIBinding{{BoundID: "a"}, {Reason: "not found"}, {}}}}, "in sync", "1/3 bound", "warn"},
	} {
		if got := itemState(&c.it).Text; got != c.state {
			t.Errorf("itemState(%+v) = %q, want %q", c.it, got, c.state)
		}
		if got := ciSummary(&c.it); got.Text != c.cis || got.Class != c.class {
			t.Errorf("ciSummary(%+v) = %+v, want %q %q", c.it, got, c.cis, c.class)
		}
	}
}

// TestSamplerBoundedAndRates: the ring keeps one window of samples per
// backend, for a bounded number of backends; the charts turn counters
// into rates and scale into the box.
func TestSamplerBoundedAndRates(t *testing.T) {
	var calls float64
	s := &Sampler{Every: time.Minute, Window: 10 * time.Minute, Read: func(context.Context) (map[string]Reading, error) {
		calls += 120
		return map[string]Reading{"jira.ops": {Queued: 4, OldestPending: 90 * time.Second, InFlight: 2, Calls: calls, Failures: calls / 4}}, nil
	}}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 30 {
		s.Sample(context.Background(), start.Add(time.Duration(i)*time.Minute))
	}
	if n := len(s.rings["jira.ops"].buf); n != 11 {
		t.Errorf("ring of %d samples, want 11 (10m every 1m, and one)", n)
	}
	now := start.Add(29 * time.Minute)
	c, ok := s.Charts("jira.ops", now)
	if !ok {
		t.Fatal("no charts")
	}
	if c.Deliveries.Now != "2.0" || c.Failures.Now != "0.5" || c.Queued.Now != "4" || c.OldestPending.Now != "1m" || c.InFlight.Max != "2" {
		t.Errorf("charts = %+v", c)
	}
	if pts := strings.Fields(c.Queued.Points); len(pts) != 11 || pts[len(pts)-1] != "120.0,1.0" {
		t.Errorf("queue points %q; want 11, the last at the right edge and top", c.Queued.Points)
	}
	if _, ok := s.Charts("file.x", now); ok {
		t.Error("charts of a backend never sampled")
	}
	// A failed read misses one sample and keeps the others.
	s.Read = func(context.Context) (map[string]Reading, error) { return nil, errors.New("database is locked") }
	s.Sample(context.Background(), now.Add(time.Minute))
	if c, _ := s.Charts("jira.ops", now); c.Queued.Now != "4" {
		t.Errorf("after a failed read: %+v", c.Queued)
	}
	// Backends beyond MaxBackends are not kept.
	many := map[string]Reading{}
	for i := range MaxBackends + 10 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i)] = Reading{}
	}
	s.Read = func(context.Context) (map[string]Reading, error) { return many, nil }
	s.Sample(context.Background(), now)
	if len(s.rings) != MaxBackends {
		t.Errorf("%d rings, want at most %d", len(s.rings), MaxBackends)
	}
}

func TestSamplerStartStop(t *testing.T) {
	got := make(chan struct{}, 1)
	s := &Sampler{Every: time.Hour, Read: func(context.Context) (map[string]Reading, error) {
		select {
		case got <- struct{}{}:
		default:
		}
		return map[string]Reading{"file.x": {}}, nil
	}}
	stop := s.Start(context.Background())
	<-got // the first sample is taken at once
	stop()
	if _, ok := s.Charts("file.x", time.Now()); !ok {
		t.Error("no sample after Start")
	}
}
