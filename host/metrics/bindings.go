package metrics

import (
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Reasons a configuration item is unbound: the reason label of
// itsm_ci_unbound_total. A plugin's reason is free text naming the item,
// so it is classified into these few, and the text stays in the audit
// trail and on the console.
const (
	// UnboundNoIdentifier: the item has neither a resource id nor a name
	// to look up.
	UnboundNoIdentifier = "no_identifier"
	// UnboundNotFound: the CMDB has no record for it.
	UnboundNotFound = "not_found"
	// UnboundLookupFailed: the lookup failed (permissions, a bad answer).
	UnboundLookupFailed = "lookup_failed"
	// UnboundUnspecified: the plugin gave no reason.
	UnboundUnspecified = "unspecified"
)

// UnboundReason classifies an unbound binding (empty BoundID) for the
// metric: no_identifier when the item has neither resource id nor name;
// unspecified without a reason; not_found when the reason says so ("not
// found", or "no …" as in "no cmdb_ci record with …"); any other reason is
// a lookup that failed. It returns "" for a bound item.
func UnboundReason(b sdk.CIBinding) string {
	reason := strings.ToLower(strings.TrimSpace(b.Reason))
	switch {
	case b.BoundID != "":
		return ""
	case b.ConfigurationItem.Name == "" && b.ConfigurationItem.ResourceID == "":
		return UnboundNoIdentifier
	case reason == "":
		return UnboundUnspecified
	case strings.Contains(reason, "not found") || strings.HasPrefix(reason, "no "):
		return UnboundNotFound
	default:
		return UnboundLookupFailed
	}
}

// ObserveBindings counts the unbound items of a call's bindings.
func (m *Metrics) ObserveBindings(backend string, bindings []sdk.CIBinding) {
	for _, b := range bindings {
		if r := UnboundReason(b); r != "" {
			m.UnboundCIs.WithLabelValues(backend, r).Inc()
		}
	}
}
