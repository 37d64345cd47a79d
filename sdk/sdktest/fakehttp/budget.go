package fakehttp

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultRateWindow is a [Budget]'s window when it sets none.
const DefaultRateWindow = time.Minute

// Budget is a request budget per fixed window, as rate-limited APIs have:
// Limit requests are allowed from the first request of a window until
// Window has passed, then a new window starts. The zero Limit means
// unlimited. Set the fields before use; it is safe for concurrent use.
type Budget struct {
	// Limit is the number of requests allowed per window.
	Limit int
	// Window is the window's length; zero means DefaultRateWindow.
	Window time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	start time.Time
	count int
}

// Spend counts one request against the budget. When the budget is spent
// it counts nothing and returns how long until the window ends.
func (b *Budget) Spend() (wait time.Duration, limited bool) {
	if b.Limit <= 0 {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	window := b.Window
	if window <= 0 {
		window = DefaultRateWindow
	}
	if b.start.IsZero() || !now.Before(b.start.Add(window)) {
		b.start, b.count = now, 0
	}
	if b.count >= b.Limit {
		return b.start.Add(window).Sub(now), true
	}
	b.count++
	return 0, false
}

// Limited spends one request and, when the budget is spent, sets
// Retry-After (whole seconds, rounded up) and X-RateLimit-Limit on w and
// returns when the window resets. The caller then adds its backend's other
// headers and writes its 429 answer.
func (b *Budget) Limited(w http.ResponseWriter) (reset time.Time, limited bool) {
	wait, limited := b.Spend()
	if !limited {
		return time.Time{}, false
	}
	w.Header().Set("Retry-After", RetryAfter(wait))
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(b.Limit))
	return b.now().Add(wait), true
}

// ResetRateLimit starts a new rate-limit window with the next request.
func (b *Budget) ResetRateLimit() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start, b.count = time.Time{}, 0
}

func (b *Budget) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// RetryAfter renders a wait as a Retry-After value: whole seconds,
// rounded up, so a client that honours it is never early.
func RetryAfter(wait time.Duration) string {
	return strconv.Itoa(int(math.Ceil(wait.Seconds())))
}
