package delivery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// Limits bound how the engine talks to one backend.
type Limits struct {
	// RateLimit is plugin calls per second; zero is unlimited.
	RateLimit float64
	// Burst is how many calls may go at once after a quiet spell; zero
	// means max(1, RateLimit).
	Burst int
	// MaxInFlight caps concurrent calls (and so concurrent work items);
	// zero means DefaultMaxInFlight.
	MaxInFlight int
	// MaxAttempts dead-letters a change after this many consecutive
	// retryable failures; zero means no cap (MaxAge still applies).
	MaxAttempts int
	// MaxAge dead-letters a change still failing this long after it became
	// pending; zero means DefaultMaxAge.
	MaxAge time.Duration
}

// Defaults for [Limits].
const (
	DefaultMaxInFlight = 4
	DefaultMaxAge      = 24 * time.Hour
)

func (l Limits) withDefaults() Limits {
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = DefaultMaxInFlight
	}
	if l.MaxAge <= 0 {
		l.MaxAge = DefaultMaxAge
	}
	if l.Burst <= 0 {
		l.Burst = int(math.Max(1, math.Ceil(l.RateLimit)))
	}
	return l
}

// Validate reports limits that make no sense, naming the attribute.
func (l Limits) Validate() error {
	switch {
	case l.RateLimit < 0 || math.IsNaN(l.RateLimit) || math.IsInf(l.RateLimit, 0):
		return fmt.Errorf("rate_limit must be a positive number of requests per second (or 0 for none), got %v", l.RateLimit)
	case l.Burst < 0:
		return fmt.Errorf("burst must not be negative, got %d", l.Burst)
	case l.MaxInFlight < 0:
		return fmt.Errorf("max_in_flight must not be negative, got %d", l.MaxInFlight)
	case l.MaxAttempts < 0:
		return fmt.Errorf("max_attempts must not be negative, got %d", l.MaxAttempts)
	case l.MaxAge < 0:
		return fmt.Errorf("max_age must not be negative, got %v", l.MaxAge)
	}
	return nil
}

// Backend is what the engine needs to deliver to one configured backend.
type Backend struct {
	Client hostside.Client
	// Capabilities say which lifecycle calls the plugin implements; the
	// engine never calls one it does not.
	Capabilities sdk.Capabilities
	Limits       Limits
	// ReadAfterWriteDelay is how long a new work item may take to become
	// visible to the plugin's Lookup (sdk.Info.ReadAfterWriteDelay).
	ReadAfterWriteDelay time.Duration
	// AdoptExisting makes the first Create of a slot (no work item recorded
	// for it yet) go after a Lookup, which adopts an open work item the
	// backend already has for the correlation key: for migrating from
	// another tool. It needs a plugin with Lookup.
	AdoptExisting bool
	// StatusPollInterval is how often the backend's open work items are
	// read in the tool (status_poll_interval) to find those a person
	// resolved there; zero never. Only a plugin with Capabilities.ReadStatus
	// is polled.
	StatusPollInterval time.Duration
	// MaxStatusBatch is the most work items one ReadStatus carries (the
	// plugin's Info.StatusBatch); zero means sdk.DefaultMaxStatusBatch.
	MaxStatusBatch int
}

// Validate reports a backend that cannot be delivered to as configured,
// naming the attribute.
func (b Backend) Validate() error {
	if b.AdoptExisting && !b.Capabilities.Lookup {
		return errors.New("adopt_existing = true needs a plugin that can look work items up, and this plugin has no Lookup")
	}
	return b.Limits.Validate()
}

// Resolver gives the engine the configured backends by "type.name".
type Resolver interface {
	// Backends lists every backend reference.
	Backends() []string
	// Backend returns one backend; false when it is not configured.
	Backend(ref string) (Backend, bool)
}

// StaticBackends is a fixed [Resolver].
type StaticBackends map[string]Backend

var _ Resolver = StaticBackends(nil)

// Backends lists the references.
func (s StaticBackends) Backends() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	return out
}

// Backend returns one backend.
func (s StaticBackends) Backend(ref string) (Backend, bool) {
	b, ok := s[ref]
	return b, ok
}

// bucket is a token bucket with a pause, for a backend's rate limit and its
// Retry-After answers.
type bucket struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
	pausedUntil time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// reserve takes a token at now, or says how long to wait before asking again.
func (b *bucket) reserve(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.pausedUntil) {
		return b.pausedUntil.Sub(now)
	}
	if b.rate <= 0 {
		return 0
	}
	if !b.last.IsZero() {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// wait blocks until a call may go.
func (b *bucket) wait(ctx context.Context) error {
	for {
		d := b.reserve(time.Now())
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// pause stops calls until until (a backend's Retry-After).
func (b *bucket) pause(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// paused returns how long calls stay paused after now.
func (b *bucket) paused(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.pausedUntil) {
		return b.pausedUntil.Sub(now)
	}
	return 0
}

// retryDelay is the wait before the next attempt after op failed
// retryably, given the backoff (or the backend's Retry-After). A failed
// Create may have acted remotely, and the next attempt starts with Lookup:
// it waits at least the backend's read-after-write delay, so that Lookup
// can see what the Create made.
func retryDelay(op string, backoff, readAfterWrite time.Duration) time.Duration {
	if op == "create" {
		return max(backoff, readAfterWrite)
	}
	return backoff
}

// backoff is the delay before retry number attempt (1-based): exponential
// from base, capped at limit, with "equal jitter" (half fixed, half random)
// so that many items failing together do not retry in lockstep.
func backoff(base, limit time.Duration, attempt int, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := limit
	if attempt <= 32 {
		if x := base << (attempt - 1); x > 0 && x < limit {
			d = x
		}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return d/2 + time.Duration(rnd()*float64(d/2))
}
