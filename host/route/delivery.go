package route

import (
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Decision is what routing made of one alert.
type Decision struct {
	// Deliveries are the work items the alert drives, one per matched
	// route × backend (× configuration item when the route sets per_ci).
	Deliveries []Delivery
	// Unmatched explains why no route took the alert; empty when one did.
	// An unmatched alert is kept as a dead letter with this reason.
	Unmatched string
	// Hold is the maintenance window the alert falls in when it arrives;
	// nil outside every window. The router leaves it nil: the caller adds
	// it (maintenance.Windows.Hold), since windows depend on the time and
	// on the ad-hoc windows the store holds.
	Hold *MaintenanceHold `json:"hold,omitempty"`
}

// Values of a maintenance window's on_end: what happens to an alert still
// firing when its window ends.
const (
	// OnEndCreate delivers it as if it had just fired: its work item is
	// created (or reopened). The default.
	OnEndCreate = config.OnEndCreate
	// OnEndDrop gives it up: it gets no work item, unless it fires again
	// after the window.
	OnEndDrop = config.OnEndDrop
)

// MaintenanceHold is the maintenance window an alert falls in: until its
// end no work item is created or reopened for the alert; at the end, an
// alert still firing is delivered or given up as OnEnd says.
type MaintenanceHold struct {
	Window string    `json:"window"`
	Until  time.Time `json:"until"`
	OnEnd  string    `json:"on_end"`
}

// Delivery is one work item's desired state as decided for one alert.
type Delivery struct {
	// Route is the matching route's name.
	Route string `json:"route"`
	// Backend is the target backend as "type.name", e.g. "servicenow.prod".
	Backend string `json:"backend"`
	// CorrelationKey identifies the work item; with per_ci it ends in the
	// configuration item's resource id (or name).
	CorrelationKey string `json:"correlation_key"`
	// Fields are the route's fields rendered for the alert (JSON values).
	Fields map[string]any `json:"fields,omitempty"`
	// ConfigurationItems this work item covers.
	ConfigurationItems []sdk.ConfigurationItem `json:"configuration_items,omitempty"`
	// ReopenWindow: a resolved item whose alert fires again within it is
	// reopened; after it a new item is created. Zero never reopens.
	ReopenWindow time.Duration `json:"reopen_window"`
	// OnResolvedWithoutItem is what a Resolved notification does when the
	// alert has no work item in this backend. Empty means ResolvedRecord.
	OnResolvedWithoutItem ResolvedPolicy `json:"on_resolved_without_item"`
	// Note explains a routing decision about this work item for the audit
	// trail and the route dry run: set on the work item that covers the
	// configuration items beyond a per_ci route's max_configuration_items.
	Note string `json:"note,omitempty"`
	// Flap is the route's flap block; nil when it has none (no alert is
	// ever marked flapping).
	Flap *FlapPolicy `json:"flap,omitempty"`
	// Storm is the route's storm block with its group for this alert; nil
	// when it has none (every alert gets its own work item).
	Storm *StormPolicy `json:"storm,omitempty"`
	// Policy is the route's field policy and wont_fix (the flap block is
	// Flap), kept with the work item like ReopenWindow and replaced by
	// every applied notification.
	Policy Policy `json:"policy"`
}

// StormPolicy is a route's storm block as it applies to one alert: once
// more than MaxNew new work items would open for Group inside Window,
// further alerts of the group are attached to one parent work item
// instead of opening their own. The rule is store.ObserveStorm (ingest);
// the parent's desired state follows its members (store.JoinStorm).
type StormPolicy struct {
	Window time.Duration `json:"window"`
	MaxNew int           `json:"max_new"`
	// Group is the route's group_by rendered for the alert.
	Group string `json:"group"`
}

// StormKeyPrefix begins the correlation key of a storm's parent work
// item: "storm|<group>|<start>", the group and when the storm started.
const StormKeyPrefix = "storm|"

// FlapPolicy is a route's flap block: an alert whose fire and resolve
// transitions exceed MaxTransitions inside Window is flapping. One note
// says so, further transitions are recorded but not sent, the work item is
// held open, and it is resolved once the alert has stayed resolved for
// QuietPeriod. The rule is store.ObserveFlap (ingest) and the worker's
// decide (delivery).
type FlapPolicy struct {
	Window         time.Duration `json:"window"`
	MaxTransitions int           `json:"max_transitions"`
	QuietPeriod    time.Duration `json:"quiet_period"`
}

// FieldPolicy is when a field the route sends is written: one of the
// values of a route's field_policy.
type FieldPolicy string

// Field policies; the values are those of connector.hcl.
const (
	FieldCreate          FieldPolicy = config.FieldPolicyCreate
	FieldAlways          FieldPolicy = config.FieldPolicyAlways
	FieldComment         FieldPolicy = config.FieldPolicyComment
	FieldNeverAfterHuman FieldPolicy = config.FieldPolicyNeverAfterHuman
)

// Policy is the part of a route's lifecycle policy that governs what its
// work items are told after they exist: field_policy,
// field_policy_default and wont_fix. The zero Policy is a route that sets
// none of them, whose calls carry no field policy.
type Policy struct {
	// Fields maps the fields field_policy names to their policies.
	Fields map[string]FieldPolicy `json:"fields,omitempty"`
	// Default is the policy of the route fields Fields does not name:
	// field_policy_default, or FieldCreate when the route sets only
	// field_policy. Empty when the route sets neither.
	Default FieldPolicy `json:"default,omitempty"`
	// WontFix lists the resolutions (or close codes) of wont_fix: a
	// re-fire inside the reopen window of a work item resolved with one
	// of them adds a comment instead of reopening it.
	WontFix []string `json:"wont_fix,omitempty"`
}

// HasFieldPolicy reports whether the route sets a field policy, so its
// calls carry one.
func (p Policy) HasFieldPolicy() bool { return p.Default != "" }

// Of returns the policy of field, a route field or per-alert attribute: its
// entry in Fields, else for a route field Default. ok is false when the
// field is not governed (no field policy, or a per-alert attribute that
// field_policy does not name).
func (p Policy) Of(field string, routeField bool) (_ FieldPolicy, ok bool) {
	if fp, named := p.Fields[field]; named {
		return fp, true
	}
	if routeField && p.Default != "" {
		return p.Default, true
	}
	return "", false
}

// IsWontFix reports whether resolution is one of WontFix, without regard
// to case or surrounding space.
func (p Policy) IsWontFix(resolution string) bool {
	resolution = strings.TrimSpace(resolution)
	if resolution == "" {
		return false
	}
	for _, w := range p.WontFix {
		if strings.EqualFold(strings.TrimSpace(w), resolution) {
			return true
		}
	}
	return false
}

// PolicyOf builds the lifecycle policy of a route as configured.
func PolicyOf(rt *config.Route) Policy {
	var p Policy
	if rt.HasFieldPolicy() {
		p.Default = FieldPolicy(rt.FieldPolicyDefault)
		if p.Default == "" {
			p.Default = FieldPolicy(config.DefaultFieldPolicy)
		}
		if len(rt.FieldPolicy) > 0 {
			p.Fields = make(map[string]FieldPolicy, len(rt.FieldPolicy))
			for k, v := range rt.FieldPolicy {
				p.Fields[k] = FieldPolicy(v)
			}
		}
	}
	if rt.WontFix != nil {
		p.WontFix = rt.WontFix.Resolutions
	}
	return p
}

// ResolvedPolicy is a route's on_resolved_without_item: what a Resolved
// notification does for an alert that has no work item, because the
// connector was down when it fired, the route did not exist yet, or its
// Fired was dead-lettered and dropped.
type ResolvedPolicy string

// Resolved policies; the values are those of connector.hcl.
const (
	// ResolvedRecord notes the resolution in the audit trail and calls
	// nothing (the default).
	ResolvedRecord ResolvedPolicy = config.OnResolvedRecord
	// ResolvedCreateAndResolve creates the work item and resolves it at
	// once, so that the ITSM tool has a record of the incident.
	ResolvedCreateAndResolve ResolvedPolicy = config.OnResolvedCreateAndResolve
)

// OrDefault returns p, or ResolvedRecord when p is empty (a Delivery built
// in code).
func (p ResolvedPolicy) OrDefault() ResolvedPolicy {
	if p == "" {
		return ResolvedRecord
	}
	return p
}
