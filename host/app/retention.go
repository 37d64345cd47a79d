package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/store"
)

// Audit retention defaults: the first pass runs shortly after start (not at
// once, so it never competes with resuming interrupted work), then hourly,
// in batches small enough that no statement holds SQLite's writer for long.
const (
	pruneFirstDelay = time.Minute
	pruneInterval   = time.Hour
	pruneBatch      = 10000
)

// pruner deletes audit events older than the retention while the
// connector serves, keeping the store from growing without bound. Events
// of dirty and dead items are kept (store.PruneEvents skips them).
type pruner struct {
	st        store.Store
	retention time.Duration
	log       hclog.Logger

	// batch caps the events one statement deletes.
	batch int
	// firstDelay and interval space the passes.
	firstDelay, interval time.Duration
	// now is the clock the cutoff is taken from.
	now func() time.Time
	// after waits for the next pass; tests fire it by hand.
	after func(time.Duration) <-chan time.Time
}

func newPruner(st store.Store, retention time.Duration, log hclog.Logger) *pruner {
	return &pruner{st: st, retention: retention, log: log, batch: pruneBatch,
		firstDelay: pruneFirstDelay, interval: pruneInterval, now: time.Now, after: time.After}
}

// start runs the pruning loop in the background until the returned stop
// function is called (or ctx ends); stop waits for a running pass to end,
// so the store can be closed after it. A zero retention keeps events
// forever and starts nothing.
func (p *pruner) start(ctx context.Context) (stop func()) {
	if p.retention <= 0 {
		p.log.Debug("audit retention disabled: events are kept forever")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// run prunes once after firstDelay and then every interval until ctx ends.
func (p *pruner) run(ctx context.Context) {
	wait := p.firstDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.after(wait):
		}
		p.pass(ctx)
		wait = p.interval
	}
}

// pass deletes every expired event, one batch per statement, until a batch
// comes back short. Errors are logged and the next pass tries again.
func (p *pruner) pass(ctx context.Context) {
	before := p.now().Add(-p.retention)
	batch := p.batch
	if batch <= 0 {
		batch = pruneBatch
	}
	var total int64
	for {
		n, err := p.st.PruneEvents(ctx, before, batch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("pruning audit events failed; retrying at the next pass",
					"error", err, "pruned", total, "older_than", before.UTC().Format(time.RFC3339))
			}
			return
		}
		if n < int64(batch) {
			break
		}
	}
	if total > 0 {
		p.log.Info("pruned audit events", "events", total, "older_than", before.UTC().Format(time.RFC3339),
			"retention", p.retention.String())
	}
}
