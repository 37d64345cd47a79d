package delivery

import (
	"strings"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBucket(10, 2)
	steps := []struct {
		at   time.Duration
		want time.Duration
	}{
		{0, 0}, {0, 0}, // the burst
		{0, 100 * time.Millisecond}, // empty: one token every 100ms
		{100 * time.Millisecond, 0}, // refilled one
		{150 * time.Millisecond, 50 * time.Millisecond},
		{time.Second, 0}, {time.Second, 0}, // refilled to the burst, not beyond
		{time.Second, 100 * time.Millisecond},
	}
	for i, s := range steps {
		if got := b.reserve(now.Add(s.at)); got != s.want {
			t.Errorf("step %d at %v: wait %v, want %v", i, s.at, got, s.want)
		}
	}
	b.pause(now.Add(5 * time.Second))
	if got := b.reserve(now.Add(2 * time.Second)); got != 3*time.Second {
		t.Errorf("paused: wait %v, want 3s", got)
	}
	if got := newBucket(0, 1).reserve(now); got != 0 {
		t.Errorf("unlimited bucket waits %v", got)
	}
}

func TestBackoff(t *testing.T) {
	base, limit := time.Second, time.Minute
	tests := []struct {
		attempt  int
		rnd      float64
		min, max time.Duration
	}{
		{1, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{1, 1, time.Second, time.Second},
		{3, 0, 2 * time.Second, 2 * time.Second},
		{3, 0.5, 3 * time.Second, 3 * time.Second},
		{10, 1, time.Minute, time.Minute},
		{200, 0, 30 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		got := backoff(base, limit, tt.attempt, func() float64 { return tt.rnd })
		if got < tt.min || got > tt.max {
			t.Errorf("backoff(attempt %d, rnd %v) = %v, want %v..%v", tt.attempt, tt.rnd, got, tt.min, tt.max)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		l    Limits
		want string
	}{
		{Limits{}, ""},
		{Limits{RateLimit: 5, MaxInFlight: 8, MaxAttempts: 10, MaxAge: time.Hour}, ""},
		{Limits{RateLimit: -1}, "rate_limit"},
		{Limits{MaxInFlight: -1}, "max_in_flight"},
		{Limits{MaxAttempts: -1}, "max_attempts"},
		{Limits{MaxAge: -time.Second}, "max_age"},
	}
	for _, tt := range tests {
		err := tt.l.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want mention of %q", tt.l, err, tt.want)
		}
	}
}
