package delivery

import (
	"context"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
)

// recordReq is a worker's step to record (p, when set) and a claim of up
// to claim items of r's backend, committed together with other requests.
type recordReq struct {
	p     *store.Progress
	r     *runner
	claim int
	done  chan recordRes
}

type recordRes struct {
	err   error
	items []*store.Item
	// claimedAt is the claims' time: the attempt mark of the items.
	claimedAt time.Time
}

// write commits req through the recorder and returns once it is durable
// (or failed): an item's next plugin call waits for its step to be
// recorded, as it waited for a commit of its own.
func (e *Engine) write(req *recordReq) recordRes {
	req.done = make(chan recordRes, 1)
	e.recordCh <- req
	return <-req.done
}

// recordLoop commits what workers and runners queued in groups: while one
// commit (and its fsync) runs, steps and claims queue and go together into
// the next, so a commit ends many claims and starts as many. It runs from
// New until Stop has seen every worker end.
func (e *Engine) recordLoop() {
	defer close(e.recorderDone)
	batch := make([]*recordReq, 0, e.opt.MaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-e.recordCh:
			batch = append(batch, r)
		case <-e.recorderStop:
			return
		}
		e.recordBatch(fillBatch(batch, e.recordCh, e.opt.MaxBatch))
	}
}

// recordBatch writes a batch in one transaction: every step, then one
// claim per backend for what the batch's requests asked, shared out in
// request order.
func (e *Engine) recordBatch(batch []*recordReq) {
	var (
		ps     []store.Progress
		claims []store.ClaimRequest
		idx    = map[*runner]int{}
	)
	now := e.opt.Now()
	for _, r := range batch {
		if r.p != nil {
			ps = append(ps, *r.p)
		}
		if r.claim <= 0 {
			continue
		}
		i, ok := idx[r.r]
		if !ok {
			i = len(claims)
			idx[r.r] = i
			claims = append(claims, store.ClaimRequest{Backend: r.r.ref, Owner: e.opt.InstanceID, Now: now, Lease: e.opt.LeaseDuration})
		}
		claims[i].Limit += r.claim
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.st.RecordAll(ctx, ps, claims)
	if err != nil && len(batch) > 1 {
		// One item's failure must not fail its neighbours: one by one.
		e.log.Warn("grouped record failed; recording items one by one", "requests", len(batch), "error", err)
		for _, r := range batch {
			e.recordBatch([]*recordReq{r})
		}
		return
	}
	if err != nil {
		batch[0].done <- recordRes{err: err}
		return
	}
	for _, p := range ps {
		if len(p.FollowUps) > 0 {
			e.kick(route.FeedbackBackend)
			break
		}
	}
	k := 0
	for _, r := range batch {
		out := recordRes{claimedAt: now}
		if r.p != nil {
			out.err = res.Errs[k]
			k++
		}
		if r.claim > 0 {
			got := &res.Claimed[idx[r.r]]
			n := min(r.claim, len(*got))
			out.items, *got = (*got)[:n:n], (*got)[n:]
		}
		r.done <- out
	}
}

// stopRecorder ends recordLoop once no worker can record any more.
func (e *Engine) stopRecorder() {
	e.recorderOnce.Do(func() { close(e.recorderStop) })
	<-e.recorderDone
}
