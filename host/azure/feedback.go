package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// FeedbackBackend is the reserved backend reference of the Azure side's
// work items: each ITSM work item whose route has azure_feedback gets one
// slot under it, whose desired state the ITSM side's outcomes write
// (Fired: acknowledge; Resolved: close). Backend blocks cannot be named so
// (a backend type is a plugin's name, and no plugin is called "azure").
const FeedbackBackend = "azure.feedback"

// CommentField is the field of an Azure slot's desired state that holds
// the rendered comment of the change it asks for.
const CommentField = "comment"

// Feedback is the Azure side as a delivery backend: a [hostside.Client]
// whose lifecycle calls change the alert's state through ARM. Create
// acknowledges (the ITSM side created or found a work item), Update
// acknowledges a newer alert instance of the same slot, Resolve closes (a
// human resolved the work item), Reopen acknowledges a re-fire. Each is
// idempotent, so the engine retries any of them freely, also a Create
// after a crash; it has no Lookup, so a Create whose outcome is unknown is
// simply sent again instead of looked up (an acknowledgement twice is
// harmless; see docs/architecture.md). Never flap: an alert the connector
// closed is not acknowledged again (see [NextChange]).
type Feedback struct {
	ARM interface {
		ChangeState(ctx context.Context, alertID string, state State, comment string) error
	}
}

var _ hostside.Client = (*Feedback)(nil)

// Info describes the backend: its lifecycle steps, no configuration.
func (f *Feedback) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "azure", Version: "1", Capabilities: sdk.Capabilities{Update: true, Resolve: true, Reopen: true, Comment: true}}, nil
}

// Configure accepts the empty configuration.
func (f *Feedback) Configure(context.Context, sdk.Config) error { return nil }

// Lookup is not offered (Capabilities.Lookup is false).
func (f *Feedback) Lookup(context.Context, *sdk.Request) (*sdk.WorkItem, error) {
	return nil, sdk.Permanent(errors.New("the Azure side has no Lookup"))
}

// ReadStatus is not offered (Capabilities.ReadStatus is false).
func (f *Feedback) ReadStatus(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	return nil, sdk.Permanent(errors.New("the Azure side has no status read"))
}

// Create acknowledges the alert.
func (f *Feedback) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, req, nil, StateAcknowledged)
}

// Update acknowledges the slot's current alert, when it is not the one the
// connector last changed.
func (f *Feedback) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, req, req.Ref, StateAcknowledged)
}

// Reopen acknowledges a re-fired alert, unless the connector closed it.
func (f *Feedback) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, req, req.Ref, StateAcknowledged)
}

// Resolve closes the alert.
func (f *Feedback) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, req, req.Ref, StateClosed)
}

// Record is what the connector last did to a slot's alert, as kept on the
// slot's work item ref: the alert's id and the state it set.
type Record struct {
	AlertID string
	State   State
}

// recordOf reads a slot's ref.
func recordOf(ref *sdk.WorkItem) Record {
	if ref == nil {
		return Record{}
	}
	return Record{AlertID: ref.ID, State: State(ref.Attributes["state"])}
}

// NextChange decides whether the connector asks ARM to move alertID to
// want, given what it last did (last): the no-flap rule, as one pure
// function. An alert the connector closed is never acknowledged again (a
// stale or repeated Fired must not undo a close); asking again for the
// state the connector already set on the same alert is skipped; anything
// else is called. why explains a skipped call for the audit trail.
func NextChange(last Record, alertID string, want State) (call bool, why string) {
	same := last.AlertID != "" && strings.EqualFold(last.AlertID, alertID)
	switch {
	case same && last.State == StateClosed && want == StateAcknowledged:
		return false, "the connector closed this alert; it is not acknowledged again"
	case same && last.State == want:
		return false, fmt.Sprintf("the alert is already %s", want)
	}
	return true, ""
}

func (f *Feedback) change(ctx context.Context, req *sdk.Request, ref *sdk.WorkItem, want State) (*sdk.WorkItem, error) {
	id := req.Alert.ID
	if call, why := NextChange(recordOf(ref), id, want); !call {
		out := *ref
		out.Note = why
		return &out, nil
	}
	comment, _ := req.Fields[CommentField].(string)
	if err := f.ARM.ChangeState(ctx, id, want, comment); err != nil {
		return nil, err
	}
	state := sdk.StateOpen
	if want == StateClosed {
		state = sdk.StateResolved
	}
	return &sdk.WorkItem{ID: id, Key: shortID(id), State: state, CorrelationKey: req.CorrelationKey,
		Attributes: map[string]string{"state": string(want)},
		Note:       fmt.Sprintf("alert %s set to %s", shortID(id), want)}, nil
}

// shortID is the alert's own GUID, the last segment of its id.
func shortID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
