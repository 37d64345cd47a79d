package store

import (
	"context"
	"errors"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Errors the engines return, for callers to test with errors.Is.
var (
	// ErrNotFound: no work item or dead letter has the requested id.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost: the item is no longer leased to the caller (its lease
	// expired and another worker took it); the caller must stop working on it.
	ErrLeaseLost = errors.New("lease lost")
	// ErrConflict: the write would replace something that must stay, such
	// as a maintenance window that has not ended.
	ErrConflict = errors.New("conflict")
)

// Store is the durable state of delivery: each work item's desired state
// (what the latest alert notification asks for), its remote state (what the
// backend holds), the dirty marks that drive reconciliation, dead letters and
// the audit trail. Every method is safe for concurrent use.
type Store interface {
	// Ingest applies notifications in one transaction: each delivery's
	// desired state is merged (see [Merge]) and marked dirty; an unmatched
	// notification becomes a dead letter. Nothing is written when it fails.
	Ingest(ctx context.Context, ns []Notification) ([]IngestResult, error)

	// Claim leases up to limit dirty, due, unleased items of backend to
	// owner until now+lease, oldest due first. In the same commit it marks
	// the attempt of every claimed item with IntentCreating and no attempt
	// marked yet: its CreateAttemptAt becomes now. An item whose
	// CreateAttemptAt is set but differs from now was marked by an earlier
	// claim, whose Create may have reached the backend.
	Claim(ctx context.Context, backend, owner string, now time.Time, lease time.Duration, limit int) ([]*Item, error)
	// Record writes the outcome of one reconcile step on an item leased to
	// p.Owner; ErrLeaseLost when it is not.
	Record(ctx context.Context, p Progress) error
	// RecordAll writes the outcomes of many reconcile steps (of different
	// items) in one transaction, as Record writes each, and then makes
	// claims, as Claim makes each, in the same transaction: one commit
	// ends some claims and starts others. The lease is checked per item:
	// Errs[i] wraps ErrLeaseLost when ps[i]'s item is not leased to its
	// Owner, and nothing of ps[i] is written; the others are. An error
	// means the transaction failed and nothing was written.
	RecordAll(ctx context.Context, ps []Progress, claims []ClaimRequest) (RecordResult, error)
	// ReleaseLeases frees every lease held by owner, so that a restarted
	// instance resumes its items at once instead of waiting for expiry.
	ReleaseLeases(ctx context.Context, owner string) error

	// ListItems returns work items matching f, newest first.
	ListItems(ctx context.Context, f ItemFilter) ([]*Item, error)
	// GetItem returns one work item; ErrNotFound when absent.
	GetItem(ctx context.Context, id int64) (*Item, error)
	// Events returns an item's audit trail, oldest first.
	Events(ctx context.Context, itemID int64) ([]Event, error)
	// ListEvents returns a page of an item's audit trail, newest first.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// PruneEvents deletes up to limit audit events older than before (by
	// their At), first written first, and returns how many it deleted. Events of
	// items that are dirty or dead are kept whatever their age: those are
	// the trails an operator investigates. It bounds the audit trail's
	// growth; callers loop in batches so that no single statement holds
	// the writer for long.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error)

	// ListDeadLetters returns dead letters matching f, newest first.
	ListDeadLetters(ctx context.Context, f DeadLetterFilter) ([]*DeadLetter, error)
	// GetDeadLetter returns one dead letter; ErrNotFound when absent.
	GetDeadLetter(ctx context.Context, id int64) (*DeadLetter, error)
	// ReplayDeadLetter sends a delivery's dead letter back to reconcile: its
	// item becomes live, dirty and due now, with a fresh retry budget, and
	// the letter is deleted. An unmatched letter (ItemID 0) is only returned:
	// the caller routes its alert again, ingests it and drops the letter.
	ReplayDeadLetter(ctx context.Context, id int64, now time.Time) (*DeadLetter, error)
	// DropDeadLetter deletes a dead letter; its item (if any) stays dead
	// until a new notification or a replay revives it.
	DropDeadLetter(ctx context.Context, id int64) error

	// OpenItems returns up to limit items of backend whose work item is
	// open in the tool (Remote open, not dead, not leased at now), the ones
	// whose status was read longest ago first: what a status poll reads.
	OpenItems(ctx context.Context, backend string, now time.Time, limit int) ([]*Item, error)
	// OpenItemsByRef returns the items of backend whose open work item has
	// one of refIDs as its Ref.ID (an inbound change notification names
	// the tool's id).
	OpenItemsByRef(ctx context.Context, backend string, refIDs []string) ([]*Item, error)
	// RecordStatus writes the outcome of status reads in one transaction:
	// each item's StatusCheckedAt, and for a resolution found in the tool
	// the remote state (resolved, by whom, when, how) with its events and
	// follow-up notifications. A resolution is applied only while the
	// item's work item is still the open Ref.ID the read was about and the
	// item is not leased at u.Now (a worker's own step would overwrite
	// it); Applied[i] reports it.
	RecordStatus(ctx context.Context, us []StatusUpdate) (applied []bool, err error)

	// PutMaintenance stores an ad-hoc maintenance window. A window of the
	// same name that has not ended by now is kept, and the error wraps
	// ErrConflict; one that has ended is replaced.
	PutMaintenance(ctx context.Context, w MaintenanceWindow, now time.Time) error
	// ListMaintenance returns the ad-hoc maintenance windows that have not
	// ended by now (on, or still to come), by start.
	ListMaintenance(ctx context.Context, now time.Time) ([]MaintenanceWindow, error)
	// EndMaintenance ends ad-hoc maintenance window name at at, in one
	// transaction with the work items it holds: their hold ends at at too
	// (Item.Hold.Until), and a held item due later is due then. It returns
	// the window as ended and how many work items it released; the error
	// wraps ErrNotFound when no window of that name is on or to come at at.
	EndMaintenance(ctx context.Context, name string, at time.Time) (MaintenanceWindow, int64, error)

	// Stats counts queued work and dead letters per backend.
	Stats(ctx context.Context, now time.Time) (Stats, error)
	// Close releases the engine's connections.
	Close() error
}

// Notification is one alert as routed, to be ingested.
type Notification struct {
	Alert *sdk.Alert
	// Deliveries are the work items the alert drives.
	Deliveries []route.Delivery
	// Unmatched, when set (or when Deliveries is empty), makes the
	// notification a dead letter with this reason.
	Unmatched string
	// ReceivedAt is when the webhook accepted the alert; it stands in for a
	// missing fired or resolved time.
	ReceivedAt time.Time
	// AlertJSON is Alert already encoded as JSON, or nil for Ingest to
	// encode it. Callers that batch encode it beforehand, in parallel, to
	// keep that work out of the single write transaction.
	AlertJSON []byte
	// TraceParent is the W3C trace context of the webhook request that
	// brought the alert ("" when it is not traced): kept with the desired
	// state it sets, and its trace id on the notification's audit events.
	TraceParent string
	// Hold, when set, is the maintenance window the alert fell in: ingest
	// records it on every delivery's item (Item.Hold), and an item without
	// an open work item is due, and counts as pending, from the window's
	// end.
	Hold *route.MaintenanceHold
}

// IngestResult reports what ingest did with one notification.
type IngestResult struct {
	// Deliveries has one outcome per delivery, in order.
	Deliveries []DeliveryOutcome
	// DeadLetterID is set when the notification became a dead letter.
	DeadLetterID int64
}

// DeliveryOutcome is what one delivery of a notification did to its item.
type DeliveryOutcome struct {
	ItemID  int64
	Outcome Outcome
	Backend string
	// Flapping: the item's alert flaps after this notification (see
	// ObserveFlap); FlapStarted: this notification made it flap.
	Flapping, FlapStarted bool
	// Held: a maintenance window holds the notification (Notification.Hold).
	Held bool
	// StormParent is the parent work item the item is a storm member of
	// (0: none); StormJoined: this notification attached it, and
	// StormStarted: it also started the storm (see ObserveStorm).
	StormParent               int64
	StormJoined, StormStarted bool
}

// RemoteState is what the host knows of the remote work item.
type RemoteState string

// Remote states.
const (
	RemoteNone     RemoteState = "none"
	RemoteOpen     RemoteState = "open"
	RemoteResolved RemoteState = "resolved"
)

// Intent is a recorded plan whose outcome is not yet known.
type Intent string

// Intents.
const (
	IntentNone Intent = ""
	// IntentCreating: the slot needs (or may need) a new work item. Ingest
	// records it in the commit that acknowledges a Fired (or a Resolved
	// that create_and_resolve turns into one) for a slot without an open
	// item; a worker records it itself before a Create ingest did not
	// foresee. With Item.CreateAttemptAt it tells a Create never attempted
	// from one whose outcome is unknown.
	IntentCreating Intent = "creating"
)

// Item is one work item slot: identity route + backend + correlation key,
// the desired state from the newest notification, and the remote state.
type Item struct {
	ID             int64
	Route          string
	Backend        string
	CorrelationKey string

	// Desired state, from the newest applied notification.
	Condition          sdk.Condition
	AlertID            string
	Alert              *sdk.Alert
	Fields             map[string]any
	ConfigurationItems []sdk.ConfigurationItem
	ReopenWindow       time.Duration
	// OnResolvedWithoutItem is the route's policy for a resolution when
	// there is no remote work item; never empty when read from a store.
	OnResolvedWithoutItem route.ResolvedPolicy
	// Policy is the route's lifecycle policy (field_policy, wont_fix),
	// replaced by every applied notification like ReopenWindow.
	Policy route.Policy
	// EventAt is the notification's own time (fired or resolved time).
	EventAt time.Time
	// Seq counts applied notifications; AppliedSeq is the last one the
	// backend was brought in line with.
	Seq        int64
	AppliedSeq int64
	// FiredSeq is the Seq of the newest Fired notification applied (0 when
	// none), set by ingest in the same transaction and kept through later
	// Resolved ones. While it is above AppliedSeq, a Fired the connector
	// acknowledged has not reached the backend yet.
	FiredSeq int64
	// TraceParent is the trace context of the notification that set the
	// desired state ("" when untraced): reconciling it continues that
	// alert's trace.
	TraceParent string

	// Flap is the route's flap policy (nil: none), replaced by every
	// applied notification like ReopenWindow.
	Flap *route.FlapPolicy
	// FlapState is the alert's recent transitions and whether it flaps,
	// kept by ingest (ObserveFlap).
	FlapState FlapState
	// FlapNoted is the FlapState.Since whose flapping note a worker
	// delivered (or recorded that the plugin cannot take one); the note of
	// the current flapping is owed while it differs from FlapState.Since.
	FlapNoted time.Time

	// Hold is the maintenance window that holds the item's newest
	// notifications back; its Seq is 0 when none does.
	Hold Hold

	// StormParent is the work item of the storm this item is a member of
	// (0: none): a member makes no calls of its own, its parent carries
	// it. Storm is set on a parent (Storm.Members > 0): its desired state
	// follows its members (JoinStorm).
	StormParent int64
	Storm       StormParent

	// Remote state.
	Remote RemoteState
	// Ref is the current remote work item; after a reopen window passed it
	// still names the previous item until the new one is created.
	Ref *sdk.WorkItem
	// RemoteResolvedAt is when the alert that resolved Ref resolved, or,
	// when HumanResolved, when it was resolved in the tool.
	RemoteResolvedAt time.Time
	// HumanResolved: Ref was resolved in the tool (a status read found
	// it), not by the connector's Resolve. ResolvedBy and Resolution are
	// what the tool says about it.
	HumanResolved bool
	ResolvedBy    string
	Resolution    string
	// StatusCheckedAt is when Ref's status was last read in the tool.
	StatusCheckedAt time.Time
	Intent          Intent
	// CreateAttemptAt is when a claim that may have called Create for the
	// creating intent began (see Store.Claim); zero while no Create was
	// attempted since the intent was recorded, and whenever Intent is none.
	CreateAttemptAt time.Time
	// FieldState is what the connector knows of the fields of Ref that the
	// route's field policy governs, by field name; written by the worker.
	FieldState map[string]FieldState

	// Scheduling.
	Dirty      bool
	Dead       bool
	DueAt      time.Time
	DirtySince time.Time
	Attempts   int
	LastError  string
	LeaseOwner string
	LeaseUntil time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Hold is a maintenance window's hold on a work item: the newest
// notification it held and the window. While the window lasts, the item
// gets no new work item (an open one is updated and resolved as usual); at
// its end the worker settles the hold (see delivery's decide).
type Hold struct {
	// Seq is the Seq of the newest notification the window held; 0 when
	// the item has no hold.
	Seq int64
	// Condition is that notification's condition.
	Condition sdk.Condition
	// PriorFiredSeq is the item's FiredSeq when the window began holding
	// it: a Fired acknowledged before the window. While it is above
	// AppliedSeq that Fired is still owed its work item; the window may
	// give up only the notifications it held.
	PriorFiredSeq int64
	route.MaintenanceHold
}

// FieldState is what the connector knows of one field of a remote work
// item, for the route's field policy.
type FieldState struct {
	// Written is the value the connector last wrote to the field, or put
	// into a comment for it, as text (sdktext.Scalar of the JSON value).
	Written string `json:"written"`
	// Human is set once a person changed the field in the ITSM tool: the
	// connector no longer writes a never_after_human field. It stays set
	// for the life of the work item.
	Human bool `json:"human,omitempty"`
}

// ClaimRequest is one claim made by [Store.RecordAll]: the arguments of
// [Store.Claim].
type ClaimRequest struct {
	Backend, Owner string
	Now            time.Time
	Lease          time.Duration
	Limit          int
}

// RecordResult is what [Store.RecordAll] did.
type RecordResult struct {
	// Errs has one entry per Progress: nil when it was written, or an
	// error wrapping ErrLeaseLost.
	Errs []error
	// Claimed has the items leased by each ClaimRequest, in order.
	Claimed [][]*Item
}

// Progress is the outcome of one reconcile step on a leased item.
type Progress struct {
	ItemID int64
	Owner  string
	Now    time.Time

	Remote           RemoteState
	Ref              *sdk.WorkItem
	RemoteResolvedAt time.Time
	// HumanResolved, ResolvedBy and Resolution are written as given.
	HumanResolved bool
	ResolvedBy    string
	Resolution    string
	Intent        Intent
	// CreateAttemptAt is written as given (zero when Intent is none): the
	// worker keeps the mark of a Create whose outcome is unknown and clears
	// its own claim's mark when no Create went out.
	CreateAttemptAt time.Time
	// FieldState is written as given.
	FieldState map[string]FieldState
	// AppliedSeq never moves back; a lower value leaves it unchanged.
	AppliedSeq int64
	Attempts   int
	LastError  string
	// FlapNoted is written as given (see Item.FlapNoted).
	FlapNoted time.Time
	// HoldSettled is the Hold.Seq whose end the worker settled: the hold is
	// cleared, unless ingest held a newer notification meanwhile. Zero
	// leaves the hold as it is.
	HoldSettled int64

	// Done ends the claim successfully: the item stays dirty (due now) only
	// when a newer notification arrived meanwhile.
	Done bool
	// Retry ends the claim for a later attempt at RetryAt.
	Retry   bool
	RetryAt time.Time
	// DirtySince, when set with Retry, is when the item counts as pending
	// from (Item.DirtySince, which max_age and the oldest-pending gauge
	// measure from): the end of a policy's hold, so that waiting for it is
	// not counted as falling behind.
	DirtySince time.Time
	// DeadLetter, when set, ends the claim and dead-letters the item with
	// this reason.
	DeadLetter string
	// LeaseUntil renews the lease when the claim goes on.
	LeaseUntil time.Time

	// Events are appended to the item's audit trail.
	Events []Event
	// FollowUps are notifications this step causes on other work items
	// (the Azure side's desired state), ingested in the same transaction
	// when the step is written.
	FollowUps []FollowUp
}

// FollowUp is a notification one work item's outcome causes on another
// slot, merged into that slot's desired state as ingest merges an alert
// (see [Merge]), with EventAt as its time: the Azure side's "acknowledge"
// (Condition fired) when the ITSM side created or found a work item, and
// "close" (Condition resolved) when a human resolved it.
type FollowUp struct {
	Route          string
	Backend        string
	CorrelationKey string
	Condition      sdk.Condition
	EventAt        time.Time
	Alert          *sdk.Alert
	Fields         map[string]any
	ReopenWindow   time.Duration
	// Note is recorded with the notification in the slot's audit trail.
	Note string
	// TraceParent is the trace context of the work item whose outcome
	// causes the follow-up; empty when untraced.
	TraceParent string
}

// StatusUpdate is the outcome of reading one open item's status in the tool.
type StatusUpdate struct {
	ItemID int64
	// RefID is the work item the read was about.
	RefID string
	Now   time.Time
	// Resolved: the tool says the work item is resolved (by a human).
	Resolved   bool
	ResolvedAt time.Time
	ResolvedBy string
	Resolution string
	// Events and FollowUps are written with a resolution.
	Events    []Event
	FollowUps []FollowUp
}

// Event kinds in the audit trail.
const (
	EventNotification = "notification"
	EventCall         = "call"
	EventState        = "state"
	EventDeadLetter   = "dead_letter"
	EventReplay       = "replay"
)

// Event is one entry of a work item's audit trail.
type Event struct {
	ID     int64
	ItemID int64
	At     time.Time
	// Kind is one of the Event* constants.
	Kind string
	// Op is the plugin call (lookup, create, update, resolve, reopen) or
	// the notification's condition.
	Op string
	// Outcome: ok, retryable, permanent, not_found for calls; an [Outcome]
	// for notifications.
	Outcome  string
	Message  string
	Duration time.Duration
	// TraceID is the trace (32 hex digits) the event belongs to: the
	// alert's for a notification, the reconcile's for a call; "" when
	// untraced.
	TraceID string
}

// DeadLetter is a notification or delivery that needs an operator.
type DeadLetter struct {
	// ID is never given again, also after the letter is replayed or dropped.
	ID int64
	// ItemID is zero for an alert that matched no route.
	ItemID         int64
	Route          string
	Backend        string
	CorrelationKey string
	Reason         string
	LastError      string
	Attempts       int
	Alert          *sdk.Alert
	CreatedAt      time.Time
}

// ItemFilter selects work items; zero values match everything.
type ItemFilter struct {
	Backend string
	Route   string
	// CorrelationKey matches exactly.
	CorrelationKey string
	// DirtyOnly keeps items waiting for reconcile.
	DirtyOnly bool
	// State keeps the items in one reconcile state.
	State ItemState
	// Severity matches the alert's severity label exactly ("Sev0" …
	// "Sev4").
	Severity string
	// Search matches exactly one of the correlation key, the alert rule's
	// name or the ticket's key (its id when the plugin gave no key).
	Search string
	// BeforeID pages: only items with a smaller id.
	BeforeID int64
	// Limit caps the result; zero means 100.
	Limit int
}

// ItemState is a work item's reconcile state, as an [ItemFilter] selects it.
type ItemState string

// Item states.
const (
	ItemStateAll ItemState = ""
	// ItemStatePending: waiting for reconcile (dirty, not dead).
	ItemStatePending ItemState = "pending"
	// ItemStateFailing: pending after at least one failed attempt.
	ItemStateFailing ItemState = "failing"
	// ItemStateDead: dead-lettered, waiting for an operator.
	ItemStateDead ItemState = "dead"
	// ItemStateInSync: the backend holds what the newest notification asks.
	ItemStateInSync ItemState = "in_sync"
)

// ItemStates are the states an [ItemFilter] takes, ItemStateAll aside.
var ItemStates = []ItemState{ItemStatePending, ItemStateFailing, ItemStateDead, ItemStateInSync}

// DeadLetterFilter selects dead letters; zero values match everything.
type DeadLetterFilter struct {
	Backend string
	// Unmatched keeps the letters of alerts no route took.
	Unmatched bool
	// ItemID keeps the letters of one work item.
	ItemID   int64
	BeforeID int64
	Limit    int
}

// EventFilter selects a page of one work item's audit trail.
type EventFilter struct {
	ItemID int64
	// BeforeID pages: only events with a smaller id.
	BeforeID int64
	// Limit caps the result; zero means 100.
	Limit int
}

// Stats counts work per backend.
type Stats struct {
	Backends map[string]BackendStats
	// Unmatched counts dead letters of alerts no route took.
	Unmatched int64
}

// BackendStats counts one backend's work.
type BackendStats struct {
	// Queued items are dirty and not dead: the reconcile queue depth.
	Queued int64
	// Due items are queued and may run now.
	Due int64
	// Leased items are being worked on.
	Leased int64
	// DeadLetters waiting for an operator.
	DeadLetters int64
	// OldestPending is when the longest-waiting queued item became dirty;
	// zero when nothing is queued. Its age is how far behind the backend is.
	OldestPending time.Time
}

// TicketKey is what names the ticket ref stands for: its key, or its id
// when the plugin gave no key. The console shows it and searches by it.
func TicketKey(ref *sdk.WorkItem) string {
	if ref == nil {
		return ""
	}
	if ref.Key != "" {
		return ref.Key
	}
	return ref.ID
}

// TraceIDOf is the trace id of a W3C traceparent
// ("00-<trace id>-<span id>-<flags>"), or "" when it is not one: what
// ingest records on a notification's audit events.
func TraceIDOf(traceParent string) string {
	if len(traceParent) != 55 || traceParent[:3] != "00-" || traceParent[35] != '-' {
		return ""
	}
	return traceParent[3:35]
}

// MaintenanceWindow is an ad-hoc maintenance window, started through the
// admin API: from Start to End, alerts When matches get no work item.
type MaintenanceWindow struct {
	Name string
	// When is the HCL expression over `alert`, as written; empty matches
	// every alert.
	When       string
	Start, End time.Time
	// OnEnd is route.OnEndCreate or route.OnEndDrop.
	OnEnd string
	// Reason is the operator's note, e.g. a change ticket.
	Reason    string
	CreatedAt time.Time
}
