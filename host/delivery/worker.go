package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// runner dispatches one backend's work: it claims due items only while it
// has free in-flight slots, so a slow or failing backend holds its own items
// and never anyone else's.
type runner struct {
	e      *Engine
	ref    string
	limits Limits
	bucket *bucket
	wakeCh chan struct{}
	active atomic.Int32
}

func newRunner(e *Engine, ref string, l Limits) *runner {
	return &runner{e: e, ref: ref, limits: l, bucket: newBucket(l.RateLimit, l.Burst), wakeCh: make(chan struct{}, 1)}
}

func (r *runner) wake() {
	select {
	case r.wakeCh <- struct{}{}:
	default:
	}
}

func (r *runner) inFlight() int { return int(r.active.Load()) }

func (r *runner) loop(loopCtx, callCtx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	log := r.e.log.With("backend", r.ref)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := r.e.opt.PollInterval
		if p := r.bucket.paused(time.Now()); p > 0 {
			wait = min(wait, p)
		} else if free := r.limits.MaxInFlight - r.inFlight(); free > 0 {
			items, err := r.e.st.Claim(loopCtx, r.ref, r.e.opt.InstanceID, r.e.opt.Now(), r.e.opt.LeaseDuration, free)
			if err != nil && loopCtx.Err() == nil {
				log.Error("claiming work failed; retrying", "error", err)
			}
			for _, it := range items {
				r.active.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer r.wake()
					defer r.active.Add(-1)
					r.reconcile(callCtx, it)
				}()
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-loopCtx.Done():
			return
		case <-r.wakeCh:
		case <-timer.C:
		}
	}
}

// job is one claim of one item: the item as the worker sees it, changed
// locally as calls succeed and written back with each step.
type job struct {
	r        *runner
	it       *store.Item
	b        Backend
	events   []store.Event
	lookedUp bool
	// createToResolve is set when this claim recorded the creating intent
	// for a resolved alert, whose reason is already in the audit trail.
	createToResolve bool
}

// errPaused ends a claim without a call while the backend's Retry-After holds.
var errPaused = errors.New("backend asked to wait (Retry-After)")

func (r *runner) reconcile(ctx context.Context, it *store.Item) {
	b, ok := r.e.res.Backend(r.ref)
	j := &job{r: r, it: it, b: b}
	if !ok {
		j.note(store.EventState, "backend is no longer configured; retrying later")
		j.logErr(j.save(store.Progress{Retry: true, RetryAt: r.e.opt.Now().Add(r.e.opt.BackoffMax)}))
		return
	}
	for range 16 {
		finished, err := j.step(ctx)
		if err != nil {
			j.logErr(err)
			return
		}
		if finished {
			return
		}
	}
	j.note(store.EventState, "reconcile took too many steps; retrying")
	j.logErr(j.save(store.Progress{Retry: true, RetryAt: r.e.opt.Now()}))
}

func (j *job) logErr(err error) {
	if err == nil {
		return
	}
	level := j.r.e.log.Error
	if errors.Is(err, store.ErrLeaseLost) {
		level = j.r.e.log.Warn
	}
	level("recording delivery progress failed; the item is retried when its lease ends",
		"backend", j.r.ref, "item", j.it.ID, "correlation_key", j.it.CorrelationKey, "error", err)
}

// step makes at most one plugin call and records it. finished reports that
// the claim ended (done, retry scheduled or dead-lettered).
func (j *job) step(ctx context.Context) (finished bool, err error) {
	it, caps, c := j.it, j.b.Capabilities, j.b.Client
	if it.Intent == store.IntentCreating {
		if caps.Lookup && !j.lookedUp {
			j.lookedUp = true
			wi, err := j.call(ctx, "lookup", c.Lookup, false)
			if err != nil && sdk.KindOf(err) != sdk.KindNotFound {
				return true, j.fail(ctx, "lookup", err)
			}
			if err == nil && wi != nil && wi.State != sdk.StateResolved && (it.Ref == nil || wi.ID != it.Ref.ID) {
				j.setRef(wi)
				it.Remote, it.Intent, it.RemoteResolvedAt = store.RemoteOpen, store.IntentNone, time.Time{}
				if it.Condition == sdk.ConditionFired {
					it.AppliedSeq = it.Seq
				}
				j.note(store.EventState, fmt.Sprintf("found work item %s by correlation key; not creating another", refName(wi)))
				return false, j.save(store.Progress{})
			}
		}
		if it.Condition != sdk.ConditionFired {
			need := resolvedWithoutItem(it)
			if need == needNothing {
				it.Intent = store.IntentNone
				j.note(store.EventState, "the alert resolved before its work item was created; nothing to create")
				return false, j.save(store.Progress{})
			}
			if !j.createToResolve {
				j.createToResolve = true
				j.note(store.EventState, "the alert resolved before its work item was created; "+whyCreate(need)+cannotResolve(caps))
			}
		}
		wi, err := j.call(ctx, "create", c.Create, false)
		if err == nil && wi == nil {
			err = sdk.Permanent(errors.New("the plugin's Create returned no work item"))
		}
		if err != nil {
			if sdk.KindOf(err) == sdk.KindNotFound {
				err = sdk.Permanent(err)
			}
			return true, j.fail(ctx, "create", err)
		}
		j.setRef(wi)
		it.Remote, it.Intent, it.RemoteResolvedAt, it.AppliedSeq = store.RemoteOpen, store.IntentNone, time.Time{}, it.Seq
		return false, j.save(store.Progress{})
	}

	if it.Condition == sdk.ConditionFired {
		if it.Remote != store.RemoteOpen {
			return j.newIncident(ctx)
		}
		if it.AppliedSeq >= it.Seq {
			return true, j.save(store.Progress{Done: true})
		}
		if !caps.Update {
			it.AppliedSeq = it.Seq
			j.note(store.EventState, "alert fired again; the plugin has no Update, so only recorded")
			return false, j.save(store.Progress{})
		}
		wi, err := j.call(ctx, "update", c.Update, true)
		if err != nil {
			return j.failOrForget(ctx, "update", err)
		}
		j.setRef(wi)
		it.AppliedSeq = it.Seq
		return false, j.save(store.Progress{})
	}

	// Desired: resolved.
	if it.Remote == store.RemoteOpen {
		if !caps.Resolve {
			it.AppliedSeq = it.Seq
			j.note(store.EventState, "alert resolved; the plugin cannot resolve, so only recorded")
			return true, j.save(store.Progress{Done: true})
		}
		wi, err := j.call(ctx, "resolve", c.Resolve, true)
		if err != nil {
			return j.failOrForget(ctx, "resolve", err)
		}
		j.setRef(wi)
		it.Remote, it.RemoteResolvedAt, it.AppliedSeq = store.RemoteResolved, it.EventAt, it.Seq
		return false, j.save(store.Progress{})
	}
	switch need := resolvedWithoutItem(it); need {
	case needAcknowledgedFired, needCreateAndResolve:
		// The same path as a firing alert's; once the item is open, the
		// step above resolves it.
		j.createToResolve = true
		j.note(store.EventState, "alert resolved with no work item open; "+whyCreate(need)+cannotResolve(caps))
		return j.newIncident(ctx)
	}
	if it.Remote == store.RemoteNone && it.AppliedSeq < it.Seq {
		j.note(store.EventState, "alert resolved with no work item open; recorded only")
	}
	it.AppliedSeq = it.Seq
	return true, j.save(store.Progress{Done: true})
}

// newIncident brings a Fired to a slot whose work item is resolved or
// absent: Reopen inside the reopen window, else the crash-safe create (the
// "creating" intent is recorded; the next step looks up, then creates).
func (j *job) newIncident(ctx context.Context) (finished bool, err error) {
	it, caps := j.it, j.b.Capabilities
	if it.Remote == store.RemoteResolved {
		gap := firedAt(it).Sub(it.RemoteResolvedAt)
		inside := it.ReopenWindow > 0 && !it.RemoteResolvedAt.IsZero() && gap <= it.ReopenWindow
		switch {
		case inside && caps.Reopen:
			wi, err := j.call(ctx, "reopen", j.b.Client.Reopen, true)
			if err != nil {
				return j.failOrForget(ctx, "reopen", err)
			}
			j.setRef(wi)
			it.Remote, it.RemoteResolvedAt, it.AppliedSeq = store.RemoteOpen, time.Time{}, it.Seq
			return false, j.save(store.Progress{})
		case inside:
			j.note(store.EventState, "fired again inside the reopen window, but the plugin cannot reopen; creating a new work item")
		case it.ReopenWindow > 0:
			j.note(store.EventState, fmt.Sprintf("fired again %v after resolution, outside the reopen window of %v; creating a new work item", gap, it.ReopenWindow))
		default:
			j.note(store.EventState, "fired again after resolution and the route does not reopen; creating a new work item")
		}
	}
	it.Intent = store.IntentCreating
	j.lookedUp = false
	j.note(store.EventState, "intent recorded: creating a work item")
	return false, j.save(store.Progress{})
}

// whyCreate completes the audit note of a work item created for a resolved
// alert.
func whyCreate(need resolvedNeed) string {
	if need == needAcknowledgedFired {
		return "its acknowledged Fired still needs its work item, whatever on_resolved_without_item says: delivering it, then resolving it"
	}
	return "creating and resolving it per the route's on_resolved_without_item"
}

// cannotResolve completes the audit note of a create for a resolved alert
// when the plugin has no Resolve.
func cannotResolve(caps sdk.Capabilities) string {
	if caps.Resolve {
		return ""
	}
	return "; the plugin cannot resolve, so the work item stays open"
}

// failOrForget handles a failed call on an existing item: NotFound means it
// was deleted remotely, so the ref is forgotten and reconcile goes on. A
// resolved alert whose item was deleted needs nothing more: the deletion was
// someone's decision, so on_resolved_without_item does not create it again.
// Only a Reopen of a resolved alert delivered a newer acknowledged Fired
// (a new incident): that one still gets its item, created.
func (j *job) failOrForget(ctx context.Context, op string, err error) (bool, error) {
	if sdk.KindOf(err) != sdk.KindNotFound {
		return true, j.fail(ctx, op, err)
	}
	it := j.it
	msg := fmt.Sprintf("work item %s no longer exists in the backend; forgotten", refName(it.Ref))
	if it.Condition != sdk.ConditionFired && op != "reopen" {
		it.AppliedSeq = it.Seq
		msg += "; the alert resolved, so nothing is left to do"
	}
	j.note(store.EventState, msg)
	it.Remote, it.Ref, it.RemoteResolvedAt, it.Intent = store.RemoteNone, nil, time.Time{}, store.IntentNone
	return false, j.save(store.Progress{})
}

func refName(wi *sdk.WorkItem) string {
	switch {
	case wi == nil:
		return "(none)"
	case wi.Key != "":
		return wi.Key
	default:
		return wi.ID
	}
}

func (j *job) setRef(wi *sdk.WorkItem) {
	if wi == nil {
		return
	}
	n := *wi
	n.Note = "" // recorded with the call, not kept on the item
	if n.ID == "" && j.it.Ref != nil {
		n.ID = j.it.Ref.ID
	}
	j.it.Ref = &n
	j.it.Attempts, j.it.LastError = 0, ""
}

func (j *job) note(kind, msg string) {
	j.events = append(j.events, store.Event{At: j.r.e.opt.Now(), Kind: kind, Message: msg})
}

// call runs one plugin call under the backend's limits and audits it.
func (j *job) call(ctx context.Context, op string, fn func(context.Context, *sdk.Request) (*sdk.WorkItem, error), withRef bool) (*sdk.WorkItem, error) {
	if j.r.bucket.paused(time.Now()) > 0 {
		return nil, errPaused
	}
	if err := j.r.bucket.wait(ctx); err != nil {
		return nil, err
	}
	it := j.it
	req := &sdk.Request{CorrelationKey: it.CorrelationKey, Alert: *it.Alert, Fields: it.Fields, ConfigurationItems: it.ConfigurationItems}
	if withRef {
		req.Ref = it.Ref
	}
	cctx, cancel := context.WithTimeout(ctx, j.r.e.opt.CallTimeout)
	start := time.Now()
	wi, err := fn(cctx, req)
	d := time.Since(start)
	cancel()
	outcome, msg := "ok", op+" succeeded"
	if err != nil {
		outcome, msg = string(sdk.KindOf(err)), fmt.Sprintf("%s failed: %v", op, err)
	} else if wi != nil {
		msg = fmt.Sprintf("%s succeeded: %s", op, refName(wi))
		if wi.Note != "" {
			msg += "; " + wi.Note
		}
	} else if op == "lookup" {
		msg = "lookup found no work item"
	}
	j.events = append(j.events, store.Event{At: j.r.e.opt.Now(), Kind: store.EventCall, Op: op, Outcome: outcome, Message: msg, Duration: d})
	if obs := j.r.e.opt.Observer; obs != nil {
		obs(Observation{Backend: j.r.ref, Op: op, Outcome: outcome, Duration: d})
	}
	j.r.e.log.Debug("plugin call", "backend", j.r.ref, "op", op, "correlation_key", it.CorrelationKey, "outcome", outcome, "duration", d)
	return wi, err
}

// fail ends the claim after a failed call: a retry later, or a dead letter
// for a permanent error or an exhausted retry budget.
func (j *job) fail(ctx context.Context, op string, err error) error {
	it, now, l := j.it, j.r.e.opt.Now(), j.r.limits
	switch {
	case errors.Is(err, errPaused):
		at := now.Add(j.r.bucket.paused(time.Now()))
		return j.save(store.Progress{Retry: true, RetryAt: at})
	case ctx.Err() != nil:
		j.note(store.EventState, "interrupted by shutdown; retried after restart")
		return j.save(store.Progress{Retry: true, RetryAt: now.Add(retryDelay(op, 0, j.b.ReadAfterWriteDelay))})
	case sdk.KindOf(err) == sdk.KindPermanent:
		it.Attempts++ // the failed call counts, as a retryable one does
		it.LastError = err.Error()
		return j.deadLetter(DeadLetterPermanent, fmt.Sprintf("%s on %s failed permanently: %v", op, j.r.ref, err))
	}
	it.Attempts++
	it.LastError = fmt.Sprintf("%s: %v", op, err)
	age := now.Sub(it.DirtySince)
	if l.MaxAttempts > 0 && it.Attempts >= l.MaxAttempts {
		return j.deadLetter(DeadLetterMaxAttempts, fmt.Sprintf("gave up after %d attempts (max_attempts): %s: %v", it.Attempts, op, err))
	}
	if age >= l.MaxAge {
		return j.deadLetter(DeadLetterMaxAge, fmt.Sprintf("gave up after %v pending (max_age %v): %s: %v", age.Round(time.Second), l.MaxAge, op, err))
	}
	delay := backoff(j.r.e.opt.BackoffBase, j.r.e.opt.BackoffMax, it.Attempts, nil)
	if ra := sdk.RetryAfterOf(err); ra > 0 {
		delay = ra
		j.r.bucket.pause(time.Now().Add(ra))
	}
	delay = retryDelay(op, delay, j.b.ReadAfterWriteDelay)
	j.note(store.EventState, fmt.Sprintf("attempt %d failed; retrying in %v", it.Attempts, delay.Round(time.Millisecond)))
	j.r.e.log.Warn("delivery failed; will retry", "backend", j.r.ref, "op", op, "correlation_key", it.CorrelationKey,
		"attempt", it.Attempts, "retry_in", delay, "error", err)
	return j.save(store.Progress{Retry: true, RetryAt: now.Add(delay)})
}

func (j *job) deadLetter(kind, reason string) error {
	j.note(store.EventDeadLetter, reason)
	j.r.e.log.Error("delivery dead-lettered", "backend", j.r.ref, "correlation_key", j.it.CorrelationKey, "reason", reason)
	if obs := j.r.e.opt.Observer; obs != nil {
		obs(Observation{Backend: j.r.ref, Op: "dead_letter", Outcome: kind})
	}
	return j.save(store.Progress{DeadLetter: reason})
}

// save writes the item's local state with p's scheduling fields. It uses
// its own context so a shutdown still records what the calls did.
func (j *job) save(p store.Progress) error {
	it, now := j.it, j.r.e.opt.Now()
	p.ItemID, p.Owner, p.Now = it.ID, j.r.e.opt.InstanceID, now
	p.Remote, p.Ref, p.RemoteResolvedAt, p.Intent = it.Remote, it.Ref, it.RemoteResolvedAt, it.Intent
	p.AppliedSeq, p.Attempts, p.LastError = it.AppliedSeq, it.Attempts, it.LastError
	if p.Done {
		p.Attempts, p.LastError = 0, ""
	}
	if !p.Done && !p.Retry && p.DeadLetter == "" {
		p.LeaseUntil = now.Add(j.r.e.opt.LeaseDuration)
	}
	p.Events, j.events = j.events, nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.r.e.st.Record(ctx, p); err != nil {
		return fmt.Errorf("work item %d: %w", it.ID, err)
	}
	return nil
}
