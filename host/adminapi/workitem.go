package adminapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// WorkItem is one work item slot as the command line and the API show it: the desired state from the newest notification, the remote
// state, and where its reconcile stands. Show adds its audit trail.
type WorkItem struct {
	ID             int64  `json:"id"`
	Route          string `json:"route"`
	Backend        string `json:"backend"`
	CorrelationKey string `json:"correlation_key"`

	// Desired state.
	Condition             sdk.Condition           `json:"condition"`
	AlertID               string                  `json:"alert_id"`
	Alert                 *sdk.Alert              `json:"alert"`
	Fields                map[string]any          `json:"fields"`
	ConfigurationItems    []sdk.ConfigurationItem `json:"configuration_items"`
	ReopenWindowSeconds   float64                 `json:"reopen_window_seconds"`
	OnResolvedWithoutItem string                  `json:"on_resolved_without_item"`
	EventAt               time.Time               `json:"event_at"`
	Seq                   int64                   `json:"seq"`
	AppliedSeq            int64                   `json:"applied_seq"`
	FiredSeq              int64                   `json:"fired_seq"`
	// TraceID is the trace of the notification that set the desired state
	// (docs/operations.md, "Traces"); empty when it was not traced.
	TraceID string `json:"trace_id"`
	// Policy is the route's field_policy and wont_fix, as the item keeps it.
	Policy route.Policy `json:"policy,omitzero"`

	// Remote state.
	Remote           store.RemoteState `json:"remote"`
	Ref              *sdk.WorkItem     `json:"ref"`
	RemoteResolvedAt time.Time         `json:"remote_resolved_at,omitzero"`
	// HumanResolved: a person resolved the work item in the tool (a status
	// read found it); ResolvedBy and Resolution are what the tool says.
	HumanResolved   bool         `json:"human_resolved,omitempty"`
	ResolvedBy      string       `json:"resolved_by,omitempty"`
	Resolution      string       `json:"resolution,omitempty"`
	Intent          store.Intent `json:"intent,omitempty"`
	CreateAttemptAt time.Time    `json:"create_attempt_at,omitzero"`
	// FieldState is what the connector last wrote to each field its field
	// policy governs, and whether a person has changed it since.
	FieldState map[string]store.FieldState `json:"field_state,omitempty"`

	// Lifecycle policy: the route's flap block, the alert's recent
	// transitions and since when it flaps; the maintenance window that
	// holds the item back.
	Flap            *Flap       `json:"flap,omitempty"`
	FlapTransitions []time.Time `json:"flap_transitions,omitempty"`
	FlappingSince   time.Time   `json:"flapping_since,omitzero"`
	FlapNotedAt     time.Time   `json:"flap_noted_at,omitzero"`
	Maintenance     *Hold       `json:"maintenance,omitempty"`
	// StormParent is the storm's parent work item a member belongs to;
	// StormMembers and StormFiring count a parent's members and those of
	// them firing (absent for others).
	StormParent  int64 `json:"storm_parent,omitempty"`
	StormMembers int   `json:"storm_members,omitempty"`
	StormFiring  int   `json:"storm_firing,omitempty"`

	// Pending: the item waits for reconcile (due at DueAt). Dead: it was
	// dead-lettered and waits for a replay.
	Pending    bool      `json:"pending"`
	Dead       bool      `json:"dead"`
	DueAt      time.Time `json:"due_at,omitzero"`
	DirtySince time.Time `json:"dirty_since,omitzero"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`

	// Events is the audit trail, oldest first; only in one item's answer.
	Events []Event `json:"events,omitempty"`
}

// Flap is a route's flap block as a work item keeps it.
type Flap struct {
	WindowSeconds      float64 `json:"window_seconds"`
	MaxTransitions     int     `json:"max_transitions"`
	QuietPeriodSeconds float64 `json:"quiet_period_seconds"`
}

// Hold is the maintenance window that holds a work item's newest
// notifications back until Until: Seq is the newest one it holds, and
// Condition that notification's condition.
type Hold struct {
	Window    string        `json:"window"`
	Until     time.Time     `json:"until"`
	OnEnd     string        `json:"on_end"`
	Seq       int64         `json:"seq"`
	Condition sdk.Condition `json:"condition"`
}

// Event is one entry of a work item's audit trail.
type Event struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Kind: notification, call, state, dead_letter or replay.
	Kind string `json:"kind"`
	// Op is the plugin call or the notification's condition.
	Op         string  `json:"op"`
	Outcome    string  `json:"outcome"`
	Message    string  `json:"message"`
	DurationMS float64 `json:"duration_ms,omitempty"`
	// TraceID is the trace the event belongs to: the alert's for a
	// notification, the reconcile's for a call; empty when untraced.
	TraceID string `json:"trace_id"`
}

// WorkItemList is a list of work items, newest first.
type WorkItemList struct {
	WorkItems []WorkItem `json:"work_items"`
}

// NewWorkItemList is the WorkItemList of items.
func NewWorkItemList(items []*store.Item) WorkItemList {
	out := WorkItemList{WorkItems: make([]WorkItem, 0, len(items))}
	for _, it := range items {
		out.WorkItems = append(out.WorkItems, WorkItemFromStore(it, nil))
	}
	return out
}

// WorkItemFromStore is the WorkItem that shows it with its audit trail
// events (none for a list).
func WorkItemFromStore(it *store.Item, events []store.Event) WorkItem {
	out := WorkItem{ID: it.ID, Route: it.Route, Backend: it.Backend, CorrelationKey: it.CorrelationKey,
		Condition: it.Condition, AlertID: it.AlertID, Alert: it.Alert, Fields: it.Fields, ConfigurationItems: it.ConfigurationItems,
		ReopenWindowSeconds: it.ReopenWindow.Seconds(), OnResolvedWithoutItem: string(it.OnResolvedWithoutItem), Policy: it.Policy, FieldState: it.FieldState,
		EventAt: it.EventAt, Seq: it.Seq, AppliedSeq: it.AppliedSeq, FiredSeq: it.FiredSeq, TraceID: store.TraceIDOf(it.TraceParent),
		Remote: it.Remote, Ref: it.Ref, RemoteResolvedAt: it.RemoteResolvedAt, Intent: it.Intent, CreateAttemptAt: it.CreateAttemptAt,
		HumanResolved: it.HumanResolved, ResolvedBy: it.ResolvedBy, Resolution: it.Resolution,
		Pending: it.Dirty, Dead: it.Dead, DueAt: it.DueAt, DirtySince: it.DirtySince, Attempts: it.Attempts, LastError: it.LastError,
		LeaseOwner: it.LeaseOwner, LeaseUntil: it.LeaseUntil, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
		FlapTransitions: it.FlapState.Transitions, FlappingSince: it.FlapState.Since, FlapNotedAt: it.FlapNoted,
		StormParent: it.StormParent, StormMembers: it.Storm.Members, StormFiring: it.Storm.Firing}
	if f := it.Flap; f != nil {
		out.Flap = &Flap{WindowSeconds: f.Window.Seconds(), MaxTransitions: f.MaxTransitions, QuietPeriodSeconds: f.QuietPeriod.Seconds()}
	}
	if h := it.Hold; h.Seq > 0 {
		out.Maintenance = &Hold{Window: h.Window, Until: h.Until, OnEnd: h.OnEnd, Seq: h.Seq, Condition: h.Condition}
	}
	for _, e := range events {
		out.Events = append(out.Events, EventFromStore(e))
	}
	return out
}

// EventList is a page of a work item's audit trail, newest first.
type EventList struct {
	Events []Event `json:"events"`
}

// NewEventList is the EventList of evs.
func NewEventList(evs []store.Event) EventList {
	out := EventList{Events: make([]Event, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, EventFromStore(e))
	}
	return out
}

// EventFromStore is the Event that shows e.
func EventFromStore(e store.Event) Event {
	return Event{ID: e.ID, At: e.At, Kind: e.Kind, Op: e.Op, Outcome: e.Outcome, Message: e.Message,
		DurationMS: float64(e.Duration) / float64(time.Millisecond), TraceID: e.TraceID}
}

// Severities are the severity labels a work item filter takes.
var Severities = []string{"Sev0", "Sev1", "Sev2", "Sev3", "Sev4"}

// ParseItemFilter reads the work item list's filter: backend, route,
// state (pending, failing, dead, in_sync), severity (Sev0 … Sev4), q (a
// correlation key, alert rule or ticket key, exactly), before_id and limit
// (1 to [MaxLimit], default [DefaultLimit]). Unknown parameters are
// refused. Empty values match everything, so a form's blank fields can be
// sent as they are.
func ParseItemFilter(q url.Values) (store.ItemFilter, error) {
	f := store.ItemFilter{Backend: q.Get("backend"), Route: q.Get("route"), Severity: q.Get("severity"),
		Search: strings.TrimSpace(q.Get("q")), State: store.ItemState(q.Get("state")), Limit: DefaultLimit}
	if err := known(q, "backend", "route", "state", "severity", "q", "before_id", "limit"); err != nil {
		return f, err
	}
	if f.State != store.ItemStateAll && !slices.Contains(store.ItemStates, f.State) {
		return f, fmt.Errorf("state=%q: want one of %s", f.State, joinStates())
	}
	if f.Severity != "" && !slices.Contains(Severities, f.Severity) {
		return f, fmt.Errorf("severity=%q: want one of %s", f.Severity, strings.Join(Severities, ", "))
	}
	var err error
	if f.BeforeID, err = positive(q, "before_id"); err != nil {
		return f, err
	}
	if f.Limit, err = limit(q, DefaultLimit); err != nil {
		return f, err
	}
	return f, nil
}

func joinStates() string {
	s := make([]string, len(store.ItemStates))
	for i, st := range store.ItemStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// ParseEventFilter reads an audit trail page: before_id and limit (1 to
// [MaxLimit], default 100). The item comes from the path.
func ParseEventFilter(q url.Values) (store.EventFilter, error) {
	f := store.EventFilter{Limit: 100}
	if err := known(q, "before_id", "limit"); err != nil {
		return f, err
	}
	var err error
	if f.BeforeID, err = positive(q, "before_id"); err != nil {
		return f, err
	}
	if f.Limit, err = limit(q, f.Limit); err != nil {
		return f, err
	}
	return f, nil
}
