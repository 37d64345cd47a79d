package route

import (
	"time"

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
}
