package route

import (
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
