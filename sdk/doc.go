// Package sdk is the public contract between the itsm-connector host and its
// plugins. A plugin is a separately compiled program that adapts one ITSM tool
// (ServiceNow, Jira, a REST API, files, ...) to the connector: it implements
// [Plugin] and calls [Serve] from main.
//
// The host owns correlation and lifecycle decisions; a plugin is a stateless
// adapter that does exactly what it is told: look a work item up by its
// correlation key, create it, update it, resolve it or reopen it. Everything a
// plugin needs for a call arrives in the [Request]: the normalized [Alert], the
// route's rendered fields, the per-alert values of the plugin's own schema and,
// for calls on an existing item, the [WorkItem] the host recorded. A plugin
// may also read back, many items at a time, the state people left its work
// items in ([StatusReader]).
//
// Only plain Go types appear here; the wire protocol (gRPC over
// hashicorp/go-plugin, see sdk/proto/itsm/v1) is an implementation detail.
package sdk

//go:generate go test -run TestJSONSchema . -update
