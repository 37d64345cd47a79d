// Package delivery turns routed alerts into work items: Ingest commits each
// alert's desired state durably (group-committed), and per-backend workers
// reconcile every dirty work item toward it by calling the backend's plugin,
// with retries, backoff, rate limits and dead letters.
//
// The reconcile is level-triggered: a worker compares the newest desired
// state (fired or resolved) with what the backend holds (none, open,
// resolved) and makes the one call that closes the gap:
//
//	stored     desired                 call
//	none       fired                   Create (the "creating" intent was recorded at ingest)
//	open       fired, newer notice     Update (when supported); ReadStatus first when a
//	                                   never_after_human field needs the tool's value
//	open       resolved                Resolve (when supported)
//	resolved   fired, inside window    Reopen (Create when not supported); with wont_fix,
//	                                   ReadStatus first, and Update (a comment, the item
//	                                   left resolved) for a resolution it lists
//	resolved   fired, after window     Create a new item
//	none       resolved, its Fired     as for fired (Create), then Resolve,
//	           acknowledged            whatever the route says
//	resolved   resolved, a re-fire     as for fired (Reopen inside the window, else
//	           acknowledged            Create), then Resolve
//	none       resolved, no Fired      the route's on_resolved_without_item:
//	           acknowledged            record: an audit note only;
//	                                   create_and_resolve: as for fired, then Resolve
//
// A Fired is acknowledged when ingest applied it (the webhook answered 202);
// until its work item exists, or a Reopen delivered it, the item's FiredSeq
// is above its AppliedSeq and a later Resolved does not cancel it.
//
// The reopen window is measured between the alert times: the new fired time
// minus the resolved time of the alert that resolved the item. A NotFound
// from Update, Resolve or Reopen means the item was deleted remotely: the ref
// is forgotten, and a firing alert gets a new item (a resolved one needs
// nothing more, whatever its policy). Ingest records the "creating" intent
// and the claim marks the attempt, so a Create is durable before it goes
// out without a commit of its own; an attempt whose outcome is unknown (a
// crash after the claim, a timeout, a retryable failure) is settled by
// Lookup first, so a work item is never created twice for a plugin that
// supports Lookup. decide (decide.go) is the table as one pure function;
// planFields (fields.go) decides which fields each call writes (the route's
// field_policy).
//
// The lifecycle policy changes rows of the table: a flapping alert
// (store.ObserveFlap) gets one Update with a note, no call for its re-fires,
// and its resolution waits for the route's quiet period; an item a
// maintenance window holds (store.Hold) without an open work item waits for
// the window's end, when the hold is settled as its on_end says.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// ErrUnavailable means the alert could not be committed (the store failed,
// or the engine is stopping); the webhook answers 503 so the sender retries.
var ErrUnavailable = errors.New("delivery unavailable")

// Options tune the engine; zero values take the defaults.
type Options struct {
	// InstanceID names this host in leases; it must be unique among hosts
	// sharing a store and stable across restarts (default: the hostname).
	InstanceID string
	// PollInterval is how often idle backends look for due work that was
	// not signalled in-process (retries coming due, other replicas); 1s.
	PollInterval time.Duration
	// LeaseDuration is how long a claimed item stays reserved without
	// progress; 5m. It must exceed CallTimeout.
	LeaseDuration time.Duration
	// CallTimeout bounds one plugin call; 60s.
	CallTimeout time.Duration
	// BackoffBase and BackoffMax shape the retry delays; 1s and 5m.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxBatch caps how many alerts one ingest transaction commits; 512.
	MaxBatch int
	// Router routes an unmatched dead letter's alert again on replay; nil
	// makes such replays fail with a clear error.
	Router func(*sdk.Alert) (route.Decision, error)
	// Observer, when set, hears about every plugin call and dead letter
	// (for metrics). It must not block.
	Observer func(Observation)
	// Feedback returns a route's azure_feedback (nil when it has none): a
	// work item created, found or reopened then asks the Azure side
	// (route.FeedbackBackend) to acknowledge the alert, and a work item a
	// person resolved in the tool to close it. Nil: no route has any.
	Feedback func(route string) *route.Feedback
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Tracer records the commit of each alert, group commits and
	// reconciles (package telemetry); nil, the default, records nothing.
	Tracer trace.Tracer
}

// Why a dead letter was written: Observation.Outcome when Op is
// "dead_letter".
const (
	DeadLetterPermanent   = "permanent"    // the plugin said retrying cannot help
	DeadLetterMaxAttempts = "max_attempts" // retries exhausted
	DeadLetterMaxAge      = "max_age"      // pending too long
	DeadLetterUnmatched   = "unmatched"    // no route took the alert
)

// OpStorm is the Observation.Op of an alert attached to a storm's parent
// work item (Observation.Route is its route); its Outcome is StormStarted
// when the alert started the storm, StormJoined otherwise.
const OpStorm = "storm"

// Outcomes of OpStorm.
const (
	StormStarted = "started"
	StormJoined  = "joined"
)

// OutcomeSuppressed is the Observation.Outcome of a call a lifecycle
// policy (Observation.Policy) kept from the backend.
const OutcomeSuppressed = "suppressed"

// Lifecycle policies that suppress calls: Observation.Policy.
const (
	PolicyFlapping    = "flapping"
	PolicyMaintenance = "maintenance"
)

// Observation is one event for metrics.
type Observation struct {
	Backend string
	// Route is the route of an OpStorm observation; empty otherwise.
	Route string
	// Op is the plugin call (lookup, create, update, resolve, reopen),
	// "dead_letter", or OpStorm.
	Op string
	// Outcome is ok, retryable, permanent or not_found for calls, one of
	// the DeadLetter reasons for dead letters, and OutcomeSuppressed for a
	// call a lifecycle policy kept from the backend.
	Outcome  string
	Duration time.Duration
	// Policy is the lifecycle policy that suppressed the call (Outcome
	// OutcomeSuppressed): PolicyFlapping or PolicyMaintenance.
	Policy string
	// Bindings are the configuration item bindings the call's work item
	// reports (see sdk.WorkItem.Bindings); none for a failed call.
	Bindings []sdk.CIBinding
	// Err is a failed call's error, for metrics that tell reasons apart.
	Err error
}

func (o Options) withDefaults() Options {
	if o.InstanceID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "itsm-connector"
		}
		o.InstanceID = h
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 5 * time.Minute
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 60 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports inconsistent options, naming the field.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.LeaseDuration <= o.CallTimeout {
		return fmt.Errorf("delivery options: LeaseDuration (%v) must exceed CallTimeout (%v), or a slow call loses its lease", o.LeaseDuration, o.CallTimeout)
	}
	if o.BackoffMax < o.BackoffBase {
		return fmt.Errorf("delivery options: BackoffMax (%v) is below BackoffBase (%v)", o.BackoffMax, o.BackoffBase)
	}
	return nil
}

// Engine ingests alerts and reconciles work items. Create it with [New],
// run the workers with [Engine.Start], and [Engine.Stop] it to drain.
type Engine struct {
	st  store.Store
	res Resolver
	opt Options
	log hclog.Logger

	ingestCh      chan *ingestReq
	closing       chan struct{}
	committerDone chan struct{}
	closeOnce     sync.Once

	recordCh     chan *recordReq
	recorderStop chan struct{}
	recorderDone chan struct{}
	recorderOnce sync.Once

	mu         sync.Mutex
	started    bool
	runners    map[string]*runner
	loopCancel context.CancelFunc
	callCancel context.CancelFunc
	wg         sync.WaitGroup
}

// New returns an engine on st. Ingest works at once; workers run after
// Start. Call Stop to release it, even when it was never started.
func New(st store.Store, backends Resolver, opts Options, logger hclog.Logger) (*Engine, error) {
	if st == nil || backends == nil {
		return nil, errors.New("delivery: New needs a store and a backend resolver")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	for _, ref := range backends.Backends() {
		b, _ := backends.Backend(ref)
		if err := b.Validate(); err != nil {
			return nil, fmt.Errorf("backend %q: %w", ref, err)
		}
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	e := &Engine{
		st: st, res: backends, opt: opts, log: logger,
		ingestCh:      make(chan *ingestReq, opts.MaxBatch*2),
		closing:       make(chan struct{}),
		committerDone: make(chan struct{}),
		recordCh:      make(chan *recordReq, opts.MaxBatch),
		recorderStop:  make(chan struct{}),
		recorderDone:  make(chan struct{}),
		runners:       map[string]*runner{},
	}
	for _, ref := range backends.Backends() {
		b, _ := backends.Backend(ref)
		e.runners[ref] = newRunner(e, ref, b.Limits.withDefaults())
	}
	go e.commitLoop()
	go e.recordLoop()
	return e, nil
}

// Start resumes this instance's interrupted work (its old leases are
// released, so dirty items and unfinished "creating" intents are picked up
// at once) and starts one dispatcher per backend.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("delivery: engine already started")
	}
	select {
	case <-e.closing:
		// Its recorder has stopped: runners would wait on it forever.
		return errors.New("delivery: engine already stopped")
	default:
	}
	if err := e.st.ReleaseLeases(ctx, e.opt.InstanceID); err != nil {
		return fmt.Errorf("delivery: resuming interrupted work: %w", err)
	}
	loopCtx, loopCancel := context.WithCancel(context.WithoutCancel(ctx))
	callCtx, callCancel := context.WithCancel(context.WithoutCancel(ctx))
	e.loopCancel, e.callCancel = loopCancel, callCancel
	e.started = true
	for _, r := range e.runners {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			r.loop(loopCtx, callCtx)
		}()
		if b, ok := e.res.Backend(r.ref); ok && b.Capabilities.ReadStatus && b.StatusPollInterval > 0 {
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				r.pollStatus(loopCtx, b.StatusPollInterval)
			}()
		}
	}
	e.log.Info("delivery started", "backends", len(e.runners), "instance", e.opt.InstanceID)
	return nil
}

// Stop stops taking alerts and new work, commits alerts already queued, and
// waits for calls in flight until ctx ends; calls still running then are
// cancelled and their items retried after the next start.
func (e *Engine) Stop(ctx context.Context) error {
	e.closeOnce.Do(func() { close(e.closing) })
	<-e.committerDone
	e.mu.Lock()
	started := e.started
	e.mu.Unlock()
	if !started {
		e.stopRecorder()
		return nil
	}
	e.loopCancel()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		e.callCancel()
		e.stopRecorder()
		return nil
	case <-ctx.Done():
		e.callCancel()
		<-done
		e.stopRecorder()
		return fmt.Errorf("delivery: stopped before calls in flight finished: %w", ctx.Err())
	}
}

// Stats is the delivery state for metrics and the console.
type Stats struct {
	Backends map[string]BackendStats
	// Unmatched counts dead letters of alerts no route took.
	Unmatched int64
}

// BackendStats is one backend's delivery state.
type BackendStats struct {
	store.BackendStats
	// InFlight counts items this instance is working on now.
	InFlight int
	// PausedFor is how long the backend's Retry-After still holds calls.
	PausedFor time.Duration
}

// Stats reads queue depth and dead letters from the store and adds this
// instance's in-flight work.
func (e *Engine) Stats(ctx context.Context) (Stats, error) {
	now := e.opt.Now()
	st, err := e.st.Stats(ctx, now)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Backends: map[string]BackendStats{}, Unmatched: st.Unmatched}
	for b, bs := range st.Backends {
		out.Backends[b] = BackendStats{BackendStats: bs}
	}
	for ref, r := range e.runners {
		bs := out.Backends[ref]
		bs.InFlight = r.inFlight()
		bs.PausedFor = r.bucket.paused(time.Now())
		out.Backends[ref] = bs
	}
	return out, nil
}

// ErrUnroutable means a replay could not route an unmatched dead letter's
// alert: it still matches no route, or no routes were given. The letter is
// kept.
var ErrUnroutable = errors.New("cannot route the alert")

// Replay sends a dead letter back through reconcile (see [Replay]) with the
// running routes, wakes the backends' workers and returns them.
func (e *Engine) Replay(ctx context.Context, id int64) ([]string, error) {
	backends, err := Replay(ctx, e.st, id, e.opt.Router, e.opt.Now())
	for _, b := range backends {
		e.kick(b)
	}
	return backends, err
}

// Replay sends dead letter id back through reconcile. A delivery's letter
// revives its work item, with a fresh retry budget; an unmatched alert is
// routed again with router, ingested, and its letter dropped. It returns
// the backends that got work. Errors wrap [store.ErrNotFound] for an
// unknown id and [ErrUnroutable] when the alert still matches no route or
// router is nil; the letter is then kept. Only the running connector has
// the routes an unmatched alert needs: the command line replays through
// its admin API ([Engine.Replay]) and passes no router when it works on
// the store alone.
func Replay(ctx context.Context, st store.Store, id int64, router func(*sdk.Alert) (route.Decision, error), now time.Time) ([]string, error) {
	dl, err := st.ReplayDeadLetter(ctx, id, now)
	if err != nil {
		return nil, err // the store's errors name the letter
	}
	if dl.ItemID != 0 {
		return []string{dl.Backend}, nil
	}
	if router == nil {
		return nil, fmt.Errorf("dead letter %d: alert %q matched no route, and replaying it needs the running connector's routes: %w", id, dl.Alert.ID, ErrUnroutable)
	}
	d, err := router(dl.Alert)
	if err != nil {
		return nil, fmt.Errorf("dead letter %d: routing alert %q: %v: %w", id, dl.Alert.ID, err, ErrUnroutable)
	}
	if d.Unmatched != "" || len(d.Deliveries) == 0 {
		return nil, fmt.Errorf("dead letter %d: alert %q still matches no route (%s): %w", id, dl.Alert.ID, d.Unmatched, ErrUnroutable)
	}
	if _, err := st.Ingest(ctx, []store.Notification{{Alert: dl.Alert, Deliveries: d.Deliveries, ReceivedAt: now}}); err != nil {
		return nil, fmt.Errorf("replaying dead letter %d: %w", id, err)
	}
	if err := st.DropDeadLetter(ctx, id); err != nil {
		return nil, fmt.Errorf("replaying dead letter %d: alert ingested but its letter not dropped: %w", id, err)
	}
	var backends []string
	for _, del := range d.Deliveries {
		backends = append(backends, del.Backend)
	}
	return backends, nil
}

func (e *Engine) kick(backend string) {
	if r, ok := e.runners[backend]; ok {
		r.wake()
	}
}
