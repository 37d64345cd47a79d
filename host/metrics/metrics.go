// Package metrics defines the connector's Prometheus metrics in one place, so
// every package records with the same names and labels and the admin
// listener exposes one registry.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors. The zero value is not usable; call New.
type Metrics struct {
	Registry *prometheus.Registry

	// AlertsReceived counts webhook requests by outcome: accepted, rejected.
	AlertsReceived *prometheus.CounterVec
	// AlertsRejected counts rejected requests by reason (bad_json,
	// too_large, wrong_schema, unauthorized reasons, unavailable, ...).
	AlertsRejected *prometheus.CounterVec
	// AuthFailures counts token rejections by reason.
	AuthFailures *prometheus.CounterVec
	// AuthKeyRefreshes counts signing-key refresh rounds (discovery
	// documents and key sets fetched from the issuer) by trigger (start,
	// periodic, unknown_kid, manual) and outcome (ok, failed).
	AuthKeyRefreshes *prometheus.CounterVec
	// AuthUnknownKeys counts tokens whose signing key was not in the key
	// set, by outcome: found, rejected, throttled, issuer_unavailable.
	AuthUnknownKeys *prometheus.CounterVec
	// RouteMatches counts deliveries decided, by route and backend;
	// unmatched alerts count under route "".
	RouteMatches *prometheus.CounterVec
	// Deliveries counts plugin calls by backend, operation and outcome.
	Deliveries *prometheus.CounterVec
	// DeliveryDuration observes plugin call latency by backend and operation.
	DeliveryDuration *prometheus.HistogramVec
	// IngestDuration observes the webhook's time to acknowledge.
	IngestDuration prometheus.Histogram
	// DeadLetters counts dead letters recorded, by reason kind.
	DeadLetters *prometheus.CounterVec
	// UnboundCIs counts configuration items that plugin calls reported
	// unbound (no CMDB record), by backend and reason ([UnboundReason]).
	UnboundCIs *prometheus.CounterVec
	// AzureChanges counts changestate calls to Azure Resource Manager by
	// the state asked for (Acknowledged, Closed), outcome (ok, retryable,
	// permanent) and reason of a failure (throttled, unavailable,
	// forbidden, not_found, bad_request, unauthorized, credential,
	// network, invalid_alert_id, other; "" when ok).
	AzureChanges *prometheus.CounterVec
	// StatusReads counts ReadStatus calls by backend and outcome.
	StatusReads *prometheus.CounterVec
	// HumanResolutions counts work items found resolved in the tool by a
	// person, by backend.
	HumanResolutions *prometheus.CounterVec
	// InboundEvents counts change notifications pushed to the inbound
	// endpoint by backend and outcome (accepted, unauthorized, too_large,
	// bad_request, unknown_backend, replayed, unavailable).
	InboundEvents *prometheus.CounterVec
}

// New registers every collector on a fresh registry, with Go and process
// collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		AlertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_alerts_received_total", Help: "Webhook requests by outcome.",
		}, []string{"outcome"}),
		AlertsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_alerts_rejected_total", Help: "Rejected webhook requests by reason.",
		}, []string{"reason"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_auth_failures_total", Help: "Bearer token rejections by reason.",
		}, []string{"reason"}),
		AuthKeyRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_auth_key_refreshes_total", Help: "Signing-key refresh rounds by trigger and outcome.",
		}, []string{"trigger", "outcome"}),
		AuthUnknownKeys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_auth_unknown_key_total", Help: "Tokens whose signing key was not in the key set, by outcome.",
		}, []string{"outcome"}),
		RouteMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_route_matches_total", Help: "Deliveries decided by route and backend.",
		}, []string{"route", "backend"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_deliveries_total", Help: "Plugin calls by backend, operation and outcome.",
		}, []string{"backend", "operation", "outcome"}),
		DeliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "itsm_delivery_duration_seconds", Help: "Plugin call latency.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"backend", "operation"}),
		IngestDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "itsm_ingest_duration_seconds", Help: "Time from request to acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 10),
		}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_dead_letters_total", Help: "Dead letters recorded by reason.",
		}, []string{"reason"}),
		UnboundCIs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_ci_unbound_total", Help: "Configuration items plugin calls reported unbound to the CMDB, by backend and reason.",
		}, []string{"backend", "reason"}),
		AzureChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_azure_changes_total", Help: "Azure Monitor alert state changes by state, outcome and failure reason.",
		}, []string{"state", "outcome", "reason"}),
		StatusReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_status_reads_total", Help: "Batch status reads of open work items by backend and outcome.",
		}, []string{"backend", "outcome"}),
		HumanResolutions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_human_resolutions_total", Help: "Work items found resolved in the ITSM tool by a person, by backend.",
		}, []string{"backend"}),
		InboundEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "itsm_inbound_events_total", Help: "Change notifications pushed by ITSM tools, by backend and outcome.",
		}, []string{"backend", "outcome"}),
	}
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.AlertsReceived, m.AlertsRejected, m.AuthFailures, m.AuthKeyRefreshes, m.AuthUnknownKeys, m.RouteMatches,
		m.Deliveries, m.DeliveryDuration, m.IngestDuration, m.DeadLetters, m.UnboundCIs,
		m.AzureChanges, m.StatusReads, m.HumanResolutions, m.InboundEvents,
	)
	return m
}
