package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Observation ops of status reads.
const (
	// OpReadStatus is one ReadStatus call (Outcome: ok, retryable,
	// permanent).
	OpReadStatus = "read_status"
	// OpHumanResolved is one work item found resolved in the tool.
	OpHumanResolved = "human_resolved"
)

// humanResolution decides what a status read means for an item the host
// records as open: resolved reports that a person resolved or closed the
// work item in the tool. A status about another work item than the item's
// (the slot moved on meanwhile), an item not found (deleted, or not
// visible to the plugin: nothing to record, the next call finds out) and
// an open item change nothing.
func humanResolution(it *store.Item, st sdk.WorkItemStatus) (resolved bool) {
	return it.Remote == store.RemoteOpen && it.Ref != nil && st.ID == it.Ref.ID && st.Found && st.State == sdk.StateResolved
}

// pollStatus runs r's status poll every interval until ctx ends: each pass
// reads every open work item of the backend once, oldest-checked first, in
// batches of the plugin's MaxStatusBatch, each call within the backend's
// rate limit (the deliveries' token bucket) and Retry-After.
func (r *runner) pollStatus(ctx context.Context, interval time.Duration) {
	log := r.e.log.With("backend", r.ref)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.statusPass(ctx); err != nil && ctx.Err() == nil {
			log.Warn("status poll stopped early; the next one goes on", "error", err)
		}
		t.Reset(interval)
	}
}

// statusPass reads the status of every open item of the backend not read
// since the pass began.
func (r *runner) statusPass(ctx context.Context) error {
	b, ok := r.e.res.Backend(r.ref)
	if !ok || !b.Capabilities.ReadStatus {
		return nil
	}
	start := r.e.opt.Now()
	for {
		items, err := r.e.st.OpenItems(ctx, r.ref, r.e.opt.Now(), b.statusBatch())
		if err != nil {
			return err
		}
		var due []*store.Item
		for _, it := range items {
			if it.StatusCheckedAt.Before(start) && it.Ref != nil && it.Ref.ID != "" {
				due = append(due, it)
			}
		}
		if len(due) == 0 {
			return nil
		}
		if err := r.readStatus(ctx, b, due); err != nil {
			return err
		}
	}
}

// CheckStatus reads at once, through the plugin, the state of backend's
// open work items whose id (or key) is one of refIDs: an inbound change
// notification is a hint, never data. It returns how many it found
// resolved.
func (e *Engine) CheckStatus(ctx context.Context, backend string, refIDs []string) (int, error) {
	r, ok := e.runners[backend]
	if !ok {
		return 0, fmt.Errorf("backend %q is not configured", backend)
	}
	b, ok := e.res.Backend(backend)
	if !ok || !b.Capabilities.ReadStatus {
		return 0, fmt.Errorf("backend %q cannot read work items' status", backend)
	}
	items, err := e.st.OpenItemsByRef(ctx, backend, refIDs)
	if err != nil {
		return 0, err
	}
	n := 0
	for len(items) > 0 {
		batch := items[:min(len(items), b.statusBatch())]
		items = items[len(batch):]
		before := r.resolvedCount.Load()
		if err := r.readStatus(ctx, b, batch); err != nil {
			return n, err
		}
		n += int(r.resolvedCount.Load() - before)
	}
	return n, nil
}

func (b Backend) statusBatch() int {
	if b.MaxStatusBatch > 0 {
		return b.MaxStatusBatch
	}
	return sdk.DefaultMaxStatusBatch
}

// readStatus reads one batch's status through the plugin and records it.
func (r *runner) readStatus(ctx context.Context, b Backend, items []*store.Item) error {
	if p := r.bucket.paused(time.Now()); p > 0 {
		return fmt.Errorf("%w for %v", errPaused, p.Round(time.Millisecond))
	}
	if err := r.bucket.wait(ctx); err != nil {
		return err
	}
	req := &sdk.StatusRequest{Items: make([]sdk.WorkItem, len(items))}
	for i, it := range items {
		req.Items[i] = *it.Ref
	}
	cctx, cancel := context.WithTimeout(ctx, r.e.opt.CallTimeout)
	start := time.Now()
	sts, err := b.Client.ReadStatus(cctx, req)
	d := time.Since(start)
	cancel()
	outcome := "ok"
	if err != nil {
		outcome = string(sdk.KindOf(err))
	}
	r.e.observe(Observation{Backend: r.ref, Op: OpReadStatus, Outcome: outcome, Duration: d, Err: err})
	if err != nil {
		if ra := sdk.RetryAfterOf(err); ra > 0 {
			r.bucket.pause(time.Now().Add(ra))
		}
		return fmt.Errorf("read_status of %d work items: %w", len(items), err)
	}
	byID := make(map[string]sdk.WorkItemStatus, len(sts))
	for _, st := range sts {
		byID[st.ID] = st
	}
	now := r.e.opt.Now()
	us := make([]store.StatusUpdate, len(items))
	for i, it := range items {
		us[i] = store.StatusUpdate{ItemID: it.ID, RefID: it.Ref.ID, Now: now}
		st, ok := byID[it.Ref.ID]
		if !ok || !humanResolution(it, st) {
			continue
		}
		u := &us[i]
		u.Resolved, u.ResolvedBy, u.Resolution, u.ResolvedAt = true, st.ResolvedBy, st.Resolution, st.ResolvedAt
		if u.ResolvedAt.IsZero() {
			u.ResolvedAt = now
		}
		msg := fmt.Sprintf("work item %s was resolved in %s%s at %s", refName(it.Ref), r.ref, byWhom(st.ResolvedBy), u.ResolvedAt.UTC().Format(time.RFC3339))
		if st.Resolution != "" {
			msg += " (" + st.Resolution + ")"
		}
		u.Events = append(u.Events, store.Event{At: now, Kind: store.EventState, Op: OpReadStatus, Outcome: "resolved", Message: msg})
		if fu, note := r.closeFollowUp(it, st, u.ResolvedAt); fu != nil {
			u.FollowUps = append(u.FollowUps, *fu)
			u.Events = append(u.Events, store.Event{At: now, Kind: store.EventState, Message: note})
		} else if note != "" {
			u.Events = append(u.Events, store.Event{At: now, Kind: store.EventState, Message: note})
		}
	}
	applied, err := r.e.st.RecordStatus(context.WithoutCancel(ctx), us)
	if err != nil {
		return err
	}
	kick := false
	for i, ok := range applied {
		if !ok {
			continue
		}
		r.resolvedCount.Add(1)
		r.e.observe(Observation{Backend: r.ref, Op: OpHumanResolved, Outcome: "ok"})
		r.e.log.Info("work item resolved in the tool", "backend", r.ref, "item", items[i].ID, "work_item", refName(items[i].Ref),
			"resolved_by", us[i].ResolvedBy, "close_alert", len(us[i].FollowUps) > 0)
		kick = kick || len(us[i].FollowUps) > 0
	}
	if kick {
		r.e.kick(route.FeedbackBackend)
	}
	return nil
}

// closeFollowUp is the Azure side's close of the alert of an item a person
// resolved, when its route has azure_feedback with on_human_resolved =
// "close_alert"; note says what happens for the audit trail.
func (r *runner) closeFollowUp(it *store.Item, st sdk.WorkItemStatus, at time.Time) (*store.FollowUp, string) {
	if r.e.opt.Feedback == nil || it.Alert == nil {
		return nil, ""
	}
	fb := r.e.opt.Feedback(it.Route)
	if fb == nil {
		return nil, ""
	}
	if !fb.CloseOnHumanResolved {
		return nil, "azure_feedback on_human_resolved = \"leave\": the Azure alert is left as it is"
	}
	wi := route.WorkItemView{ID: it.Ref.ID, Key: it.Ref.Key, URL: it.Ref.URL, State: string(sdk.StateResolved),
		ResolvedBy: st.ResolvedBy, ResolvedAt: at, Resolution: st.Resolution, Backend: r.ref}
	comment, err := fb.CloseComment(it.Alert, wi)
	note := "Azure alert to be closed: " + comment
	if err != nil {
		comment, _ = (&route.Feedback{}).CloseComment(it.Alert, wi)
		note = fmt.Sprintf("the azure_feedback close_comment failed for this alert (%v); closing with the default comment: %s", err, comment)
	}
	return &store.FollowUp{Route: it.Route, Backend: route.FeedbackBackend, CorrelationKey: FeedbackKey(r.ref, it.CorrelationKey),
		Condition: sdk.ConditionResolved, EventAt: at, Alert: it.Alert, Fields: map[string]any{azureCommentField: comment},
		ReopenWindow: feedbackReopenWindow, Note: fmt.Sprintf("work item %s resolved in %s%s", refName(it.Ref), r.ref, byWhom(st.ResolvedBy)),
		TraceParent: it.TraceParent}, note
}

func (e *Engine) observe(o Observation) {
	if e.opt.Observer != nil {
		e.opt.Observer(o)
	}
}
