package sdk

// WorkItemState is the coarse state of a remote work item as the host sees it.
type WorkItemState string

// Work item states.
const (
	StateOpen     WorkItemState = "open"
	StateResolved WorkItemState = "resolved"
)

// WorkItem is a plugin's reference to a remote work item. The host records it
// after Create and passes it back as Request.Ref on later calls.
type WorkItem struct {
	// ID is the backend's stable identifier (sys_id, issue id, file name).
	ID string `json:"id"`
	// Key is the human-facing number or key (INC0010001, OPS-42).
	Key string `json:"key,omitempty"`
	// URL links to the item in the backend's UI.
	URL string `json:"url,omitempty"`
	// State is the item's state after the call.
	State WorkItemState `json:"state,omitempty"`
	// CorrelationKey is the key the item is stamped with, when known.
	CorrelationKey string `json:"correlation_key,omitempty"`
	// Bindings report how each configuration item was bound to the CMDB.
	Bindings []CIBinding `json:"bindings,omitempty"`
	// Attributes carries plugin-specific values the plugin wants back on
	// later calls (e.g. a project key). Keep it small.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// CIBinding is the outcome of binding one configuration item to the CMDB.
type CIBinding struct {
	ConfigurationItem ConfigurationItem `json:"configuration_item"`
	// BoundID is the CMDB record's identifier; empty when unbound.
	BoundID string `json:"bound_id,omitempty"`
	// BoundBy says how it was found: "resource_id" or "name".
	BoundBy string `json:"bound_by,omitempty"`
	// Reason explains an unbound item.
	Reason string `json:"reason,omitempty"`
}
