package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// instance is one running plugin process, configured and ready for calls.
type instance interface {
	// client is the process's lifecycle API.
	client() hostside.Client
	// exited is a cheap check that the process is known to be gone.
	exited() bool
	// alive asks the process whether it still answers (a health check).
	alive() bool
	// kill stops the process.
	kill()
}

// launchFunc starts and configures a new instance.
type launchFunc func(ctx context.Context) (instance, error)

// Backoff bounds the delay between restarts of a crashing plugin. The first
// restart after a healthy period is immediate; each further consecutive one
// waits twice as long as the previous, from Min up to Max.
type Backoff struct {
	Min time.Duration
	Max time.Duration
}

// DefaultBackoff is used when Options.RestartBackoff is zero.
var DefaultBackoff = Backoff{Min: 200 * time.Millisecond, Max: 30 * time.Second}

// delay is the wait before restart attempt n (n consecutive failures so far).
func (b Backoff) delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// errClosed is returned by calls on a closed backend.
var errClosed = errors.New("backend is shut down")

// supervisor keeps one plugin process running for a backend: it restarts a
// process that died (with backoff while it keeps dying). A call in flight
// when the process died fails retryably; it is never repeated here.
type supervisor struct {
	name    string
	launch  launchFunc
	log     hclog.Logger
	backoff Backoff
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// restartMu serializes restarts; a channel so waiting honours ctx.
	restartMu chan struct{}

	mu       sync.RWMutex
	cur      instance
	gen      uint64
	closed   bool
	failures int // consecutive failed launches or crashes, reset by a successful call

	restarts atomic.Int64
}

func newSupervisor(name string, first instance, launch launchFunc, log hclog.Logger, b Backoff) *supervisor {
	return &supervisor{
		name:      name,
		launch:    launch,
		log:       log,
		backoff:   b,
		sleep:     sleepCtx,
		restartMu: make(chan struct{}, 1),
		cur:       first,
		gen:       1,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get returns a live instance, restarting the process if it is gone.
func (s *supervisor) get(ctx context.Context) (instance, uint64, error) {
	s.mu.RLock()
	cur, gen, closed := s.cur, s.gen, s.closed
	s.mu.RUnlock()
	if closed {
		return nil, 0, errClosed
	}
	if cur != nil && !cur.exited() {
		return cur, gen, nil
	}
	return s.restart(ctx, gen)
}

// restart replaces instance generation gen unless another caller already
// did, waiting out the backoff of consecutive failures first.
func (s *supervisor) restart(ctx context.Context, gen uint64) (instance, uint64, error) {
	select {
	case s.restartMu <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-s.restartMu }()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, 0, errClosed
	}
	if s.gen != gen && s.cur != nil && !s.cur.exited() {
		cur, g := s.cur, s.gen
		s.mu.Unlock()
		return cur, g, nil
	}
	old := s.cur
	s.cur = nil
	failures := s.failures
	s.mu.Unlock()
	if old != nil {
		old.kill()
	}

	if d := s.backoff.delay(failures); d > 0 {
		s.log.Warn("plugin keeps failing; waiting before the next restart", "delay", d.String(), "consecutive_failures", failures)
		if err := s.sleep(ctx, d); err != nil {
			return nil, 0, err
		}
	}
	s.log.Info("starting plugin process again", "restart", s.restarts.Load()+1)
	inst, err := s.launch(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	if err != nil {
		return nil, 0, fmt.Errorf("restart plugin: %w", err)
	}
	if s.closed {
		inst.kill()
		return nil, 0, errClosed
	}
	s.restarts.Add(1)
	s.cur = inst
	s.gen++
	return inst, s.gen, nil
}

// healthy records a successful call: the crash loop, if any, is over.
func (s *supervisor) healthy() {
	s.mu.RLock()
	f := s.failures
	s.mu.RUnlock()
	if f != 0 {
		s.mu.Lock()
		s.failures = 0
		s.mu.Unlock()
	}
}

// call runs fn on a live process, restarting one found gone first. When the
// process dies during fn, it is restarted for the calls to come, but fn is
// not repeated and nothing is looked up: the call may have reached the
// backend (a Create may have created), and settling that is the delivery
// engine's job (it looks the key up before creating again, and knows which
// item a hit may be). The error comes back retryable, so the engine tries
// again later: nothing is lost.
func (s *supervisor) call(ctx context.Context, op string, fn func(hostside.Client) (*sdk.WorkItem, error)) (*sdk.WorkItem, error) {
	inst, gen, err := s.get(ctx)
	if err != nil {
		return nil, s.unavailable(op, err)
	}
	wi, err := fn(inst.client())
	if err == nil {
		s.healthy()
		return wi, nil
	}
	if ctx.Err() != nil || inst.alive() {
		// The plugin answered: its classified error stands.
		return nil, err
	}
	s.log.Warn("plugin process died during a call; restarting it (the call is not repeated here: delivery retries it)", "call", op, "error", err)
	if _, _, rerr := s.restart(ctx, gen); rerr != nil {
		return nil, s.unavailable(op, fmt.Errorf("%w (after the process died during the call: %w)", rerr, err))
	}
	return nil, s.unavailable(op, fmt.Errorf("the process died during the call, which may have reached the backend; restarted: %w", err))
}

// unavailable wraps err as retryable: the process is down, not the call wrong.
func (s *supervisor) unavailable(op string, err error) error {
	return sdk.Retryable(fmt.Errorf("backend %s: %s: plugin process unavailable: %w", s.name, op, err))
}

// close kills the process; later calls fail retryably.
func (s *supervisor) close() {
	s.mu.Lock()
	cur := s.cur
	s.cur, s.closed = nil, true
	s.mu.Unlock()
	if cur != nil {
		cur.kill()
	}
}
