package sdkhttp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// StatusBatch is the frame of a plugin's ReadStatus (sdk.StatusReader):
// what every batch status read checks and how it answers, around the
// request that reads the batch from the tool.
type StatusBatch struct {
	// Op prefixes the error for a request with too many items, e.g.
	// "acme: read status".
	Op string
	// Max is the plugin's Info.MaxStatusBatch: a request with more items
	// is refused as a permanent error (the host never sends one). Zero
	// means sdk.DefaultMaxStatusBatch.
	Max int
	// Valid reports whether an ID can name an item in the tool (a sys_id,
	// an issue id). An item whose ID it rejects is answered not found
	// without being asked for, and logged, so that no odd ID reaches a
	// query. Nil accepts every ID.
	Valid func(id string) bool
	// Log receives that line; nil means slog's default logger.
	Log *slog.Logger
}

// Read answers req. It refuses more than Max items, calls read with the
// items to ask the tool about (those Valid accepts, in req's order; read
// is not called when there are none), and answers every item of req once,
// in req's order and with its ID as asked: the status read returned for
// that ID, else not found (Found false). read returns the statuses it
// found by ID, and may leave out an item it cannot find or return
// statuses of items it was not asked for (they are ignored). An error
// from read fails the whole call.
func (sb StatusBatch) Read(ctx context.Context, req *sdk.StatusRequest, read func(ctx context.Context, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error)) ([]sdk.WorkItemStatus, error) {
	max := sb.Max
	if max <= 0 {
		max = sdk.DefaultMaxStatusBatch
	}
	if len(req.Items) > max {
		return nil, sdk.Permanent(fmt.Errorf("%s: %d work items asked for; at most %d per call", sb.Op, len(req.Items), max))
	}
	ask := make([]sdk.WorkItem, 0, len(req.Items))
	for _, wi := range req.Items {
		if sb.Valid == nil || sb.Valid(wi.ID) {
			ask = append(ask, wi)
			continue
		}
		log := sb.Log
		if log == nil {
			log = slog.Default()
		}
		log.Warn("status read: the work item's id cannot name an item in the tool; answering it as not found", "id", wi.ID)
	}
	var found map[string]sdk.WorkItemStatus
	if len(ask) > 0 {
		var err error
		if found, err = read(ctx, ask); err != nil {
			return nil, err
		}
	}
	out := make([]sdk.WorkItemStatus, 0, len(req.Items))
	for _, wi := range req.Items {
		st, ok := found[wi.ID]
		if !ok || sb.Valid != nil && !sb.Valid(wi.ID) {
			st = sdk.WorkItemStatus{ID: wi.ID}
		}
		st.ID = wi.ID
		out = append(out, st)
	}
	return out, nil
}
