package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
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
	// resolvedCount counts work items found resolved in the tool.
	resolvedCount atomic.Int64
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
			// Only this loop takes free slots, and a worker gives its slot
			// up only after its last commit: free cannot shrink meanwhile.
			res := r.e.write(&recordReq{r: r, claim: free})
			if res.err != nil && loopCtx.Err() == nil {
				log.Error("claiming work failed; retrying", "error", res.err)
			}
			for _, it := range res.items {
				r.active.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer r.wake()
					defer r.active.Add(-1)
					// The commit that ends an item's claim claims the
					// next one for this slot (see job.save).
					for next, at := it, res.claimedAt; next != nil; {
						next, at = r.reconcile(loopCtx, callCtx, next, at)
					}
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
// locally as calls succeed and written back before the next call and when
// the claim ends.
type job struct {
	r      *runner
	it     *store.Item
	b      Backend
	events []store.Event
	notes  map[string]bool
	// followUps are written with the next save: the Azure side's
	// desired state this claim's outcomes cause.
	followUps []store.FollowUp
	// lookedUp: this claim called Lookup.
	lookedUp bool
	// marked: this claim's Create attempt is durable: the claim marked it
	// (CreateAttemptAt is the claim's time) or the worker recorded it.
	marked bool
	// createUnknown: a Create this claim sent may have acted remotely, and
	// its outcome is unknown (a retryable failure, a timeout, a shutdown).
	createUnknown bool
	// unsaved: the item changed locally since the last save.
	unsaved bool
	// holdSettled is the maintenance hold (its seq) this claim settled,
	// until a save records it.
	holdSettled int64
	// statusRead: this claim read the item's status; status is the answer.
	statusRead bool
	status     *sdk.WorkItemStatus
	// plan is the field policy of the last call (see planFields): its
	// State is recorded once the call succeeded.
	plan fieldPlan
	// loopCtx ends when the runner stops taking work; next and nextAt are
	// the item the commit ending this claim claimed for the same slot.
	loopCtx context.Context
	next    *store.Item
	nextAt  time.Time
	// span is the claim's reconcile span and traceCtx its context; traceID
	// is its trace on the audit events. Nil and empty when tracing is off.
	span     trace.Span
	traceCtx context.Context
	traceID  string
}

// errPaused ends a claim without a call while the backend's Retry-After holds.
var errPaused = errors.New("backend asked to wait (Retry-After)")

// reconcile works on one claimed item until its claim ends, and returns
// the item claimed for this worker's slot in the commit that ended it (nil
// when none was due, or the runner is stopping).
func (r *runner) reconcile(loopCtx, ctx context.Context, it *store.Item, claimedAt time.Time) (*store.Item, time.Time) {
	b, ok := r.e.res.Backend(r.ref)
	j := &job{r: r, it: it, b: b, notes: map[string]bool{}, loopCtx: loopCtx,
		marked: it.Intent == store.IntentCreating && it.CreateAttemptAt.Equal(claimedAt)}
	if tr := r.e.opt.Tracer; tr != nil {
		// A child of the request that set the desired state, kept with it
		// in the store: the alert's trace, also after a restart.
		parent := trace.ContextWithRemoteSpanContext(ctx, telemetry.ParseTraceParent(it.TraceParent))
		ctx, j.span = tr.Start(parent, telemetry.SpanReconcile, trace.WithAttributes(
			telemetry.AttrWorkItemID.Int64(it.ID), telemetry.AttrBackend.String(r.ref),
			telemetry.AttrRoute.String(it.Route), telemetry.AttrCorrelationKey.String(it.CorrelationKey)))
		j.traceCtx, j.traceID = ctx, telemetry.TraceID(j.span.SpanContext())
		defer j.span.End()
	}
	if !ok {
		j.note(store.EventState, "backend is no longer configured; retrying later")
		j.logErr(j.save(store.Progress{Retry: true, RetryAt: r.e.opt.Now().Add(r.e.opt.BackoffMax)}))
		return j.next, j.nextAt
	}
	for range 16 {
		finished, err := j.step(ctx)
		if err != nil {
			j.logErr(err)
			return j.next, j.nextAt
		}
		if finished {
			return j.next, j.nextAt
		}
	}
	j.note(store.EventState, "reconcile took too many steps; retrying")
	j.logErr(j.save(store.Progress{Retry: true, RetryAt: r.e.opt.Now()}))
	return j.next, j.nextAt
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

// step carries out decide's next move: at most one plugin call, recorded
// before the next call or with the end of the claim. finished reports that
// the claim ended (done, retry scheduled or dead-lettered).
func (j *job) step(ctx context.Context) (finished bool, err error) {
	it, c := j.it, j.b.Client
	d := decide(situation{Item: it, Caps: j.b.Capabilities, Marked: j.marked && it.Intent == store.IntentCreating, LookedUp: j.lookedUp,
		Adopt: j.b.AdoptExisting, ReadAfterWrite: j.b.ReadAfterWriteDelay, Now: j.r.e.opt.Now(),
		StatusRead: j.statusRead, Status: j.status})
	if d.Note != "" && !j.notes[d.Note] {
		j.notes[d.Note] = true
		j.note(store.EventState, d.Note)
	}
	var (
		op      string
		fn      func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
		withRef = true
		comment string
	)
	switch d.Move {
	case moveDone:
		if it.AppliedSeq < it.Seq {
			it.AppliedSeq = it.Seq
		}
		it.Intent = store.IntentNone
		return true, j.save(store.Progress{Done: true})
	case moveSkipResolve:
		it.AppliedSeq = it.Seq
		return true, j.save(store.Progress{Done: true})
	case moveSkipUpdate:
		it.AppliedSeq, j.unsaved = it.Seq, true
		return false, nil
	case moveWait:
		p := store.Progress{Retry: true, RetryAt: d.At}
		if it.Hold.Seq > 0 {
			p.DirtySince = d.At // waiting for a window is not falling behind
		}
		return true, j.save(p)
	case moveSettle:
		if d.Settle == settleGiveUp {
			if it.FiredSeq > it.AppliedSeq && it.FiredSeq <= it.Hold.Seq {
				j.suppressed("create", PolicyMaintenance)
			}
			it.AppliedSeq = max(it.AppliedSeq, it.Hold.Seq)
		}
		j.holdSettled, it.Hold, j.unsaved = it.Hold.Seq, store.Hold{}, true
		return false, nil
	case moveFlapNoted:
		it.FlapNoted, j.unsaved = it.FlapState.Since, true
		return false, nil
	case moveSuppress:
		j.suppressed("update", PolicyFlapping)
		it.AppliedSeq, j.unsaved = it.Seq, true
		return false, nil
	case moveHold:
		// The resolution is held once: AppliedSeq marks it, while the
		// item stays due (at d.At) until it is sent.
		if it.AppliedSeq < it.Seq {
			j.suppressed("resolve", PolicyFlapping)
			it.AppliedSeq = it.Seq
		}
		return true, j.save(store.Progress{Retry: true, RetryAt: d.At, DirtySince: d.At})
	case moveMarkCreate:
		it.Intent, it.CreateAttemptAt, j.marked = store.IntentCreating, j.r.e.opt.Now(), true
		j.note(store.EventState, "intent recorded: creating a work item")
		return false, j.save(store.Progress{})
	case moveReadStatus:
		return j.readStatus(ctx)
	case moveWontFix:
		if !j.b.Capabilities.Update {
			it.AppliedSeq, j.unsaved = it.Seq, true
			if d.Comment != "" {
				it.FlapNoted = it.FlapState.Since // no Update: no note either
			}
			return false, nil
		}
		op, fn, comment = "update", c.Update, d.Comment
	case moveLookup:
		j.lookedUp = true
		op, fn, withRef = "lookup", c.Lookup, false
	case moveCreate:
		op, fn, withRef, comment = "create", c.Create, false, d.Comment
	case moveUpdate:
		op, fn, comment = "update", c.Update, d.Comment
	case moveFlapNote:
		op, fn, comment = "update", c.Update, d.Comment
	case moveResolve:
		op, fn, comment = "resolve", c.Resolve, d.Comment
	case moveReopen:
		op, fn, comment = "reopen", c.Reopen, d.Comment
	}
	if j.unsaved {
		if err := j.save(store.Progress{}); err != nil {
			return true, err
		}
	}
	wi, err := j.call(ctx, op, fn, withRef, d.Move, comment)
	switch op {
	case "lookup":
		if err != nil && sdk.KindOf(err) != sdk.KindNotFound {
			return true, j.fail(ctx, op, err)
		}
		if err == nil && wi != nil && wi.State != sdk.StateResolved && (it.Ref == nil || wi.ID != it.Ref.ID) {
			j.setRef(wi)
			// What the tool holds counts as written: a person's later
			// change shows against it.
			it.FieldState = j.plan.State
			it.Remote, it.Intent, it.RemoteResolvedAt = store.RemoteOpen, store.IntentNone, time.Time{}
			j.clearResolution()
			if it.Condition == sdk.ConditionFired {
				it.AppliedSeq = it.Seq
			}
			j.unsaved = true
			j.note(store.EventState, fmt.Sprintf("found work item %s by correlation key; not creating another", refName(wi)))
			j.acknowledge("found")
		}
		return false, nil
	case "create":
		if err == nil && wi == nil {
			err = sdk.Permanent(errors.New("the plugin's Create returned no work item"))
		}
		if err != nil {
			if sdk.KindOf(err) == sdk.KindNotFound {
				err = sdk.Permanent(err)
			}
			return true, j.fail(ctx, op, err)
		}
		j.setRef(wi)
		it.FieldState = j.plan.State
		it.Remote, it.Intent, it.RemoteResolvedAt, it.AppliedSeq = store.RemoteOpen, store.IntentNone, time.Time{}, it.Seq
		// A new work item has not heard that the alert flaps (an earlier
		// one, resolved as wont_fix, may have).
		it.FlapNoted = time.Time{}
		j.clearResolution()
		j.unsaved = true
		j.acknowledge("created")
		return false, nil
	}
	if err != nil {
		return j.failOrForget(ctx, op, err)
	}
	if d.Move == moveWontFix {
		// The item stays resolved, as the person left it.
		if wi != nil {
			resolved := *wi
			resolved.State = sdk.StateResolved
			wi = &resolved
		}
		j.setRef(wi)
		it.AppliedSeq, j.unsaved = it.Seq, true
		if d.Comment != "" {
			it.FlapNoted = it.FlapState.Since // the comment was the flapping note
		}
		return false, nil
	}
	j.setRef(wi)
	switch {
	case d.Move == moveFlapNote:
		// The note applies a Fired; a resolution is still held.
		it.FlapNoted = it.FlapState.Since
		if it.Condition == sdk.ConditionFired {
			it.AppliedSeq = it.Seq
		}
	case op == "update":
		it.AppliedSeq, it.FieldState = it.Seq, j.plan.State
	case op == "resolve":
		it.Remote, it.RemoteResolvedAt, it.AppliedSeq = store.RemoteResolved, it.EventAt, it.Seq
		j.clearResolution()
	case op == "reopen":
		it.Remote, it.RemoteResolvedAt, it.AppliedSeq, it.Intent = store.RemoteOpen, time.Time{}, it.Seq, store.IntentNone
		it.FieldState = j.plan.State
		j.clearResolution()
		j.acknowledge("reopened")
	}
	j.unsaved = true
	return false, nil
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
	j.marked, j.unsaved = false, true
	j.statusRead, j.status = false, nil
	return false, nil
}

// clearResolution forgets a resolution made in the tool: the connector's
// own step made the work item's state.
func (j *job) clearResolution() {
	j.it.HumanResolved, j.it.ResolvedBy, j.it.Resolution = false, "", ""
}

// feedbackReopenWindow is the reopen window of the Azure side's slots: an
// alert is acknowledged again only by Reopen, which sees the alert the
// connector last changed and never re-acknowledges one it closed
// (azure.NextChange).
const feedbackReopenWindow = 100 * 365 * 24 * time.Hour

// acknowledge asks, with the next save, for the Azure side to acknowledge
// the alert whose work item this claim created, found or reopened (how),
// when the route has azure_feedback with on_created = "Acknowledged". The
// desired state is written in the transaction that records the outcome,
// so a crash loses neither or both.
func (j *job) acknowledge(how string) {
	it := j.it
	if j.r.ref == route.FeedbackBackend || j.r.e.opt.Feedback == nil || it.Condition != sdk.ConditionFired || it.Alert == nil || it.Ref == nil {
		return
	}
	fb := j.r.e.opt.Feedback(it.Route)
	if fb == nil || !fb.Acknowledge {
		return
	}
	if it.Storm.Members > 0 {
		j.note(store.EventState, "a storm's parent stands for no Azure alert of its own: azure_feedback does not acknowledge anything for it")
		return
	}
	wi := route.WorkItemView{ID: it.Ref.ID, Key: it.Ref.Key, URL: it.Ref.URL, State: string(it.Ref.State), Backend: j.r.ref}
	comment, err := fb.Comment(it.Alert, wi)
	if err != nil {
		j.note(store.EventState, fmt.Sprintf("the azure_feedback comment failed for this alert (%v); acknowledging with the default comment", err))
		comment, _ = (&route.Feedback{}).Comment(it.Alert, wi)
	}
	j.followUps = append(j.followUps, store.FollowUp{Route: it.Route, Backend: route.FeedbackBackend,
		CorrelationKey: FeedbackKey(j.r.ref, it.CorrelationKey), Condition: sdk.ConditionFired, EventAt: firedAt(it),
		Alert: it.Alert, Fields: map[string]any{azureCommentField: comment}, ReopenWindow: feedbackReopenWindow,
		Note: fmt.Sprintf("work item %s %s in %s", refName(it.Ref), how, j.r.ref), TraceParent: it.TraceParent})
	j.note(store.EventState, "Azure alert to be acknowledged: "+comment)
}

// FeedbackKey is the correlation key of the Azure side's slot of an ITSM
// work item: its backend and correlation key.
func FeedbackKey(backend, key string) string { return backend + "|" + key }

// azureCommentField is azure.CommentField.
const azureCommentField = "comment"

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
	if n.Bindings == nil && j.it.Ref != nil && j.it.Ref.ID == n.ID {
		// A call that reports no bindings (a resolve) leaves those of
		// the same item as they were, for the console to show.
		n.Bindings = j.it.Ref.Bindings
	}
	j.it.Ref = &n
	j.it.Attempts, j.it.LastError = 0, ""
}

func (j *job) note(kind, msg string) {
	j.events = append(j.events, store.Event{At: j.r.e.opt.Now(), Kind: kind, Message: msg, TraceID: j.traceID})
	if j.span != nil {
		j.span.AddEvent(msg, trace.WithAttributes(attribute.String("itsm.event.kind", kind)))
	}
}

// suppressed reports a call a lifecycle policy kept from the backend.
func (j *job) suppressed(op, policy string) {
	if obs := j.r.e.opt.Observer; obs != nil {
		obs(Observation{Backend: j.r.ref, Op: op, Outcome: OutcomeSuppressed, Policy: policy})
	}
}

// call runs one plugin call under the backend's limits and audits it.
// m is the move that makes the call (its field policy, see planFields);
// comment, when set, is the call's sdk.Request.Note.
func (j *job) call(ctx context.Context, op string, fn func(context.Context, *sdk.Request) (*sdk.WorkItem, error), withRef bool, m move, comment string) (*sdk.WorkItem, error) {
	if j.r.bucket.paused(time.Now()) > 0 {
		return nil, errPaused
	}
	if err := j.r.bucket.wait(ctx); err != nil {
		return nil, err
	}
	it := j.it
	req := &sdk.Request{CorrelationKey: it.CorrelationKey, Alert: *it.Alert, Fields: it.Fields, ConfigurationItems: it.ConfigurationItems, Note: comment}
	if withRef {
		req.Ref = it.Ref
	}
	if err := j.planFields(req, m); err != nil {
		j.events = append(j.events, store.Event{At: j.r.e.opt.Now(), Kind: store.EventCall, Op: op, Outcome: string(sdk.KindOf(err)),
			Message: fmt.Sprintf("%s not sent: %v", op, err)})
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, j.r.e.opt.CallTimeout)
	var span trace.Span
	if tr := j.r.e.opt.Tracer; tr != nil {
		cctx, span = tr.Start(cctx, telemetry.SpanPluginCall+" "+op, trace.WithAttributes(
			telemetry.AttrOperation.String(op), telemetry.AttrBackend.String(j.r.ref)))
	}
	start := time.Now()
	wi, err := fn(cctx, req)
	d := time.Since(start)
	cancel()
	if op == "create" && err != nil {
		// Unless the backend refused it, the Create may have acted.
		if k := sdk.KindOf(err); k != sdk.KindPermanent && k != sdk.KindNotFound {
			j.createUnknown = true
		}
	}
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
	if span != nil {
		span.SetAttributes(telemetry.AttrOutcome.String(outcome))
		telemetry.Fail(span, err)
		span.End()
	}
	j.events = append(j.events, store.Event{At: j.r.e.opt.Now(), Kind: store.EventCall, Op: op, Outcome: outcome, Message: msg, Duration: d,
		TraceID: j.traceID})
	if obs := j.r.e.opt.Observer; obs != nil {
		o := Observation{Backend: j.r.ref, Op: op, Outcome: outcome, Duration: d, Err: err}
		if err == nil && wi != nil {
			o.Bindings = wi.Bindings
		}
		obs(o)
	}
	j.r.e.log.Debug("plugin call", "backend", j.r.ref, "op", op, "correlation_key", it.CorrelationKey, "outcome", outcome, "duration", d)
	return wi, err
}

// valuesRenderer renders a plugin's per-alert attributes for a request
// (pluginhost.Backend).
type valuesRenderer interface {
	RenderValues(*sdk.Request) (sdk.Values, error)
}

// planFields decides, for the call move m makes, which fields it writes
// (the route's field policy, planFields) and puts that on req; j.plan.State
// is what the item's field state becomes once the call succeeded. The
// explanation goes into the audit trail.
func (j *job) planFields(req *sdk.Request, m move) error {
	it := j.it
	j.plan = fieldPlan{State: it.FieldState}
	if !it.Policy.HasFieldPolicy() {
		if m == moveCreate || m == moveLookup {
			j.plan.State = nil // a new work item: nothing written to it is known
		}
		return nil
	}
	in := fieldInput{Policy: it.Policy, State: it.FieldState}
	switch m {
	case moveCreate, moveLookup:
		in.Call = fieldsCreate
	case moveUpdate, moveReopen, moveWontFix, moveFlapNote:
		in.Call = fieldsRefire
	default:
		return nil
	}
	values, err := j.fieldValues(req)
	if err != nil {
		return err
	}
	in.Values = values
	if j.status != nil {
		in.Current = j.status.Fields
		if in.Current == nil {
			in.Current = map[string]string{}
		}
	}
	j.plan = planFields(in)
	req.FieldPolicy = j.plan.Wire
	if m == moveWontFix || m == moveFlapNote {
		// A comment on an item a person closed, or the note that the alert
		// flaps (whose changes are recorded, not sent): no field is
		// written, and the field state stays as it was.
		for f := range req.FieldPolicy {
			req.FieldPolicy[f] = sdk.FieldCreate
		}
		j.plan = fieldPlan{State: it.FieldState}
		return nil
	}
	if n := j.plan.Note; n != "" {
		j.note(store.EventState, n)
	}
	return nil
}

// fieldValues are the fields req sends, as text: the route's fields and,
// when the field policy names per-alert attributes, the plugin's
// top-level per-alert values, which it then renders into req.Values.
func (j *job) fieldValues(req *sdk.Request) (map[string]fieldValue, error) {
	out := make(map[string]fieldValue, len(req.Fields))
	for k, v := range req.Fields {
		out[k] = fieldValue{Text: sdktext.Scalar(v), Route: true}
	}
	var attrs []string
	for name := range j.it.Policy.Fields {
		if _, ok := out[name]; !ok {
			attrs = append(attrs, name)
		}
	}
	r, ok := j.b.Client.(valuesRenderer)
	if len(attrs) == 0 || !ok {
		return out, nil
	}
	vals, err := r.RenderValues(req)
	if err != nil || vals == nil {
		return out, err
	}
	req.Values = vals
	var top map[string]any
	if err := vals.Decode(&top); err != nil {
		return out, nil // not an object: no attribute to govern
	}
	for _, name := range attrs {
		if v, ok := top[name]; ok && v != nil {
			out[name] = fieldValue{Text: sdktext.Scalar(v)}
		}
	}
	return out, nil
}

// readStatus reads the item's status in the tool (moveReadStatus): what
// decide and the field policy need before a re-fire. An item the tool no
// longer has is forgotten, as after NotFound; a status the plugin does not
// give this time is retried later.
func (j *job) readStatus(ctx context.Context) (bool, error) {
	it, c := j.it, j.b.Client
	if j.unsaved {
		if err := j.save(store.Progress{}); err != nil {
			return true, err
		}
	}
	j.statusRead = true
	var statuses []sdk.WorkItemStatus
	_, err := j.call(ctx, "read_status", func(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
		var err error
		statuses, err = c.ReadStatus(ctx, &sdk.StatusRequest{Items: []sdk.WorkItem{*req.Ref}})
		return nil, err
	}, true, moveReadStatus, "")
	if err != nil {
		return j.failOrForget(ctx, "read_status", err)
	}
	i := slices.IndexFunc(statuses, func(st sdk.WorkItemStatus) bool { return st.ID == it.Ref.ID })
	switch {
	case i < 0:
		return true, j.fail(ctx, "read_status", sdk.Retryable(fmt.Errorf("the plugin gave no status for work item %s this time", refName(it.Ref))))
	case !statuses[i].Found:
		return j.failOrForget(ctx, "read_status", sdk.NotFound(fmt.Errorf("the tool no longer has work item %s", refName(it.Ref))))
	}
	st := statuses[i]
	j.status = &st
	j.note(store.EventState, statusText(it.Ref, st))
	return false, nil
}

// statusText is a status read for the audit trail.
func statusText(ref *sdk.WorkItem, st sdk.WorkItemStatus) string {
	msg := fmt.Sprintf("work item %s is %s in the tool", refName(ref), st.State)
	if st.Resolution != "" {
		msg += fmt.Sprintf(", resolved as %q", st.Resolution)
	}
	if st.ResolvedBy != "" {
		msg += " by " + st.ResolvedBy
	}
	if len(st.Fields) > 0 {
		var parts []string
		for _, k := range sortedNames(st.Fields) {
			parts = append(parts, fmt.Sprintf("%s=%q", k, st.Fields[k]))
		}
		msg += "; fields: " + strings.Join(parts, ", ")
	}
	return msg
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

// save writes the item's local state with p's scheduling fields and waits
// until it is durable. It is not cancelled by a shutdown, so a shutdown
// still records what the calls did. The save that ends the claim also
// claims the slot's next item (j.next), unless the runner is stopping or
// the backend's Retry-After holds calls.
func (j *job) save(p store.Progress) error {
	it, now := j.it, j.r.e.opt.Now()
	p.ItemID, p.Owner, p.Now = it.ID, j.r.e.opt.InstanceID, now
	p.Remote, p.Ref, p.RemoteResolvedAt, p.Intent, p.CreateAttemptAt = it.Remote, it.Ref, it.RemoteResolvedAt, it.Intent, it.CreateAttemptAt
	if (p.Done || p.Retry || p.DeadLetter != "") && j.marked && !j.createUnknown {
		// This claim's attempt sent no Create, or one whose outcome is
		// known: the next claim starts afresh, without a Lookup.
		p.CreateAttemptAt = time.Time{}
	}
	p.AppliedSeq, p.Attempts, p.LastError, p.FlapNoted = it.AppliedSeq, it.Attempts, it.LastError, it.FlapNoted
	p.FieldState = it.FieldState
	p.HoldSettled, j.holdSettled = j.holdSettled, 0
	p.HumanResolved, p.ResolvedBy, p.Resolution = it.HumanResolved, it.ResolvedBy, it.Resolution
	p.FollowUps, j.followUps = j.followUps, nil
	if p.Done {
		p.Attempts, p.LastError = 0, ""
	}
	j.unsaved = false
	if !p.Done && !p.Retry && p.DeadLetter == "" {
		p.LeaseUntil = now.Add(j.r.e.opt.LeaseDuration)
	}
	p.Events, j.events = j.events, nil
	req := &recordReq{p: &p, r: j.r}
	if ends := p.Done || p.Retry || p.DeadLetter != ""; ends && j.loopCtx.Err() == nil && j.r.bucket.paused(time.Now()) == 0 {
		req.claim = 1 // the slot's next item, in the same commit
	}
	var span trace.Span
	if j.span != nil {
		_, span = j.r.e.opt.Tracer.Start(j.traceCtx, telemetry.SpanRecord)
		if req.p.DeadLetter != "" {
			j.span.SetAttributes(telemetry.AttrOutcome.String("dead_letter"))
		} else if req.p.Retry {
			j.span.SetAttributes(telemetry.AttrOutcome.String("retry"))
		} else if req.p.Done {
			j.span.SetAttributes(telemetry.AttrOutcome.String("done"))
		}
	}
	res := j.r.e.write(req)
	if span != nil {
		telemetry.Fail(span, res.err)
		span.End()
	}
	if len(res.items) > 0 {
		j.next, j.nextAt = res.items[0], res.claimedAt
	}
	if res.err != nil {
		return fmt.Errorf("work item %d: %w", it.ID, res.err)
	}
	return nil
}
