package sdk

import (
	"context"
	"fmt"
	"time"
)

// StatusReader reads the current remote state of many work items in one
// call: whether a human resolved, closed, reopened or deleted them in the
// tool since the host last touched them. The host asks for the items it
// knows to be open, at most [Info.MaxStatusBatch] at a time, and treats the
// answer as the tool's word; it is optional, found by type assertion like
// the lifecycle interfaces, and becomes [Capabilities].ReadStatus.
type StatusReader interface {
	// ReadStatus answers one WorkItemStatus per item of req, in any order,
	// each with the item's ID. An item the plugin gives no answer for is
	// not known this time (the host asks again later); an item deleted in
	// the tool, or not visible to the plugin's credentials, is answered
	// with Found false. An error fails the whole batch, classified as for
	// the other calls (a rate limit is retryable, a refused credential
	// permanent).
	ReadStatus(ctx context.Context, req *StatusRequest) ([]WorkItemStatus, error)
}

// StatusRequest is the batch of work items whose remote state the host
// asks for.
type StatusRequest struct {
	// Items are the work items as the host recorded them (Create's answer,
	// stored), each ID once, at most Info.MaxStatusBatch of them.
	Items []WorkItem `json:"items"`
}

// WorkItemStatus is the remote state of one work item as the tool reports
// it now.
type WorkItemStatus struct {
	// ID is the requested item's ID, echoed, so answers match refs.
	ID string `json:"id"`
	// Found is false when the item was deleted or is not visible in the
	// tool; the other fields are then empty.
	Found bool `json:"found"`
	// State is StateOpen, or StateResolved when the tool has the item
	// resolved or closed (canceled included).
	State WorkItemState `json:"state,omitempty"`
	// ResolvedBy names who resolved or closed the item, as the tool names
	// them (a user name, an account's display name); empty when open or
	// when the tool does not say.
	ResolvedBy string `json:"resolved_by,omitempty"`
	// ResolvedAt is when the item was resolved or closed; zero when open or
	// when the tool does not say.
	ResolvedAt time.Time `json:"resolved_at,omitempty"`
	// Resolution is the close code or resolution name, e.g. "Won't Fix";
	// empty when none.
	Resolution string `json:"resolution,omitempty"`
	// Fields are the current values of fields the plugin writes, by the
	// plugin's names for them, for later per-field policies; may be empty.
	Fields map[string]string `json:"fields,omitempty"`
}

// DefaultMaxStatusBatch is the batch size of ReadStatus for a plugin whose
// Info leaves MaxStatusBatch at 0.
const DefaultMaxStatusBatch = 50

// StatusBatch is the most work items one ReadStatus call may carry for a
// plugin with this Info: MaxStatusBatch, or DefaultMaxStatusBatch when it is
// not positive.
func (i Info) StatusBatch() int {
	if i.MaxStatusBatch > 0 {
		return i.MaxStatusBatch
	}
	return DefaultMaxStatusBatch
}

// checkStatusRequest refuses a request the host should never send: an item
// without an ID, or an ID twice. No retry fixes it.
func checkStatusRequest(req *StatusRequest) error {
	if req == nil {
		return fmt.Errorf("nil request")
	}
	seen := make(map[string]bool, len(req.Items))
	for i, wi := range req.Items {
		switch {
		case wi.ID == "":
			return fmt.Errorf("items[%d] has no id", i)
		case seen[wi.ID]:
			return fmt.Errorf("items[%d]: work item %q is asked for twice", i, wi.ID)
		}
		seen[wi.ID] = true
	}
	return nil
}

// CheckStatusAnswer checks a ReadStatus answer against its request: at most
// one status per requested item, each with the ID of an item asked for. Any
// other answer is a plugin bug; the error says what is wrong. A state the
// reader does not know (from a newer protocol) is not an error here.
func CheckStatusAnswer(req *StatusRequest, got []WorkItemStatus) error {
	var items []WorkItem
	if req != nil {
		items = req.Items
	}
	if len(got) > len(items) {
		return fmt.Errorf("answered %d statuses for %d work items asked for", len(got), len(items))
	}
	asked := make(map[string]bool, len(items))
	for _, wi := range items {
		asked[wi.ID] = true
	}
	answered := make(map[string]bool, len(got))
	for i, st := range got {
		switch {
		case !asked[st.ID]:
			return fmt.Errorf("statuses[%d] is for work item %q, which was not asked for", i, st.ID)
		case answered[st.ID]:
			return fmt.Errorf("statuses[%d]: work item %q is answered twice", i, st.ID)
		}
		answered[st.ID] = true
	}
	return nil
}
