package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/sdk"
)

type ingestReq struct {
	n    store.Notification
	done chan error
	// span is the alert's commit span; nil when tracing is off.
	span trace.Span
}

// Ingest commits the alert's desired state for every delivery of d (or a
// dead letter when d is unmatched) and marks the items dirty, in one
// transaction shared with concurrent calls (group commit). When it returns
// nil the alert is durable and may be acknowledged. A store failure or a
// stopping engine returns an error wrapping [ErrUnavailable].
//
// With a Tracer, the wait is the commit span of the alert, a child of the
// span in ctx (the webhook request's), whose trace context the work items
// keep with their desired state.
func (e *Engine) Ingest(ctx context.Context, alert *sdk.Alert, d route.Decision) error {
	if e.opt.Tracer == nil {
		return e.ingest(ctx, alert, d, "", nil)
	}
	traceParent := telemetry.TraceParent(trace.SpanContextFromContext(ctx))
	ctx, span := e.opt.Tracer.Start(ctx, telemetry.SpanCommit)
	err := e.ingest(ctx, alert, d, traceParent, span)
	telemetry.Fail(span, err)
	span.End()
	return err
}

func (e *Engine) ingest(ctx context.Context, alert *sdk.Alert, d route.Decision, traceParent string, span trace.Span) error {
	if err := validate(alert, d); err != nil {
		return err
	}
	// Encode here, in the caller's goroutine, so the single committer
	// spends its time on SQL only.
	raw, err := json.Marshal(alert)
	if err != nil {
		return fmt.Errorf("delivery: encoding alert %q: %w", alert.ID, err)
	}
	req := &ingestReq{
		n: store.Notification{Alert: alert, AlertJSON: raw, Deliveries: d.Deliveries, Unmatched: d.Unmatched,
			ReceivedAt: e.opt.Now(), TraceParent: traceParent},
		done: make(chan error, 1),
		span: span,
	}
	select {
	case <-e.closing:
		return fmt.Errorf("%w: the delivery engine is stopping", ErrUnavailable)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case e.ingestCh <- req:
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	case <-e.committerDone:
		select {
		case err := <-req.done:
			return err
		default:
			return fmt.Errorf("%w: the delivery engine stopped", ErrUnavailable)
		}
	}
}

func validate(a *sdk.Alert, d route.Decision) error {
	if a == nil {
		return errors.New("delivery: Ingest got no alert")
	}
	if a.ID == "" {
		return errors.New("delivery: alert has no id")
	}
	if a.Condition != sdk.ConditionFired && a.Condition != sdk.ConditionResolved {
		return fmt.Errorf("delivery: alert %q has condition %q, want fired or resolved", a.ID, a.Condition)
	}
	for i, del := range d.Deliveries {
		if del.Route == "" || del.Backend == "" || del.CorrelationKey == "" {
			return fmt.Errorf("delivery: alert %q delivery %d lacks a route, backend or correlation key", a.ID, i)
		}
	}
	return nil
}

// commitLoop batches queued ingests into one transaction each: while one
// commit (and its fsync) runs, new requests queue and go together into the
// next, so throughput grows with concurrency instead of collapsing to one
// fsync per alert.
func (e *Engine) commitLoop() {
	defer close(e.committerDone)
	batch := make([]*ingestReq, 0, e.opt.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-e.ingestCh:
			batch = append(batch, r)
		case <-e.closing:
			for {
				select {
				case r := <-e.ingestCh:
					e.commit([]*ingestReq{r})
				default:
					return
				}
			}
		}
		e.commit(fillBatch(batch, e.ingestCh, e.opt.MaxBatch))
	}
}

// fillBatch appends to batch what is already queued on ch, without
// waiting, up to limit requests: the group a committer writes in one
// transaction.
func fillBatch[T any](batch []T, ch <-chan T, limit int) []T {
	for len(batch) < limit {
		select {
		case r := <-ch:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (e *Engine) commit(batch []*ingestReq) {
	ns := make([]store.Notification, len(batch))
	for i, r := range batch {
		ns[i] = r.n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group := e.groupSpan(batch)
	res, err := e.st.Ingest(ctx, ns)
	if group != nil {
		// Before any alert hears back and ends its commit span.
		telemetry.Fail(group, err)
		group.End()
		for _, r := range batch {
			if r.span != nil && r.span.IsRecording() {
				r.span.AddLink(trace.Link{SpanContext: group.SpanContext()})
				r.span.SetAttributes(telemetry.AttrBatchAlerts.Int(len(batch)))
			}
		}
	}
	if err != nil && len(batch) > 1 {
		// One bad alert must not fail its neighbours: commit one by one.
		e.log.Warn("group commit failed; committing alerts one by one", "alerts", len(batch), "error", err)
		for _, r := range batch {
			e.commit([]*ingestReq{r})
		}
		return
	}
	if err != nil {
		e.log.Error("committing alert failed", "alert", batch[0].n.Alert.ID, "error", err)
		batch[0].done <- fmt.Errorf("%w: committing alert %q: %w", ErrUnavailable, batch[0].n.Alert.ID, err)
		return
	}
	kicked := map[string]bool{}
	for i, r := range batch {
		for _, d := range res[i].Deliveries {
			if (d.Outcome == store.OutcomeNew || d.Outcome == store.OutcomeApplied) && !kicked[d.Backend] {
				kicked[d.Backend] = true
				e.kick(d.Backend)
			}
		}
		if res[i].DeadLetterID != 0 {
			e.log.Warn("alert matched no route; kept as a dead letter", "alert", r.n.Alert.ID, "dead_letter", res[i].DeadLetterID, "reason", r.n.Unmatched)
			if obs := e.opt.Observer; obs != nil {
				obs(Observation{Op: "dead_letter", Outcome: DeadLetterUnmatched})
			}
		}
		r.done <- nil
	}
}

// groupSpan starts the span of one group commit when tracing is on and an
// alert of the batch is traced: a trace of its own (the transaction serves
// many alerts' traces), linked to each traced alert's commit span, which
// commit links back to it. nil otherwise.
func (e *Engine) groupSpan(batch []*ingestReq) trace.Span {
	if e.opt.Tracer == nil {
		return nil
	}
	var links []trace.Link
	for _, r := range batch {
		if r.span != nil && r.span.SpanContext().IsSampled() {
			links = append(links, trace.Link{SpanContext: r.span.SpanContext()})
		}
	}
	if len(links) == 0 {
		return nil
	}
	_, span := e.opt.Tracer.Start(context.Background(), telemetry.SpanGroupCommit, trace.WithNewRoot(), trace.WithLinks(links...),
		trace.WithAttributes(telemetry.AttrBatchAlerts.Int(len(batch))))
	return span
}
