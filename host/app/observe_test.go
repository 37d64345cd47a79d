package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
)

// TestObserverAzureMetrics: the Azure side's calls count as changes by
// state, outcome and reason; status reads and people's resolutions have
// their own counters.
func TestObserverAzureMetrics(t *testing.T) {
	m := metrics.New()
	obs := observer(m)
	forbidden := azure.Classify(http.StatusForbidden, nil, []byte(`{"error":{"code":"AuthorizationFailed","message":"no"}}`), time.Now())
	obs(delivery.Observation{Backend: route.FeedbackBackend, Op: "create", Outcome: "ok"})
	obs(delivery.Observation{Backend: route.FeedbackBackend, Op: "resolve", Outcome: "permanent", Err: forbidden})
	obs(delivery.Observation{Backend: "servicenow.prod", Op: delivery.OpReadStatus, Outcome: "ok"})
	obs(delivery.Observation{Backend: "servicenow.prod", Op: delivery.OpHumanResolved, Outcome: "ok"})
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"acknowledged ok", testutil.ToFloat64(m.AzureChanges.WithLabelValues("Acknowledged", "ok", ""))},
		{"closed, forbidden", testutil.ToFloat64(m.AzureChanges.WithLabelValues("Closed", "permanent", azure.ReasonForbidden))},
		{"status read", testutil.ToFloat64(m.StatusReads.WithLabelValues("servicenow.prod", "ok"))},
		{"human resolution", testutil.ToFloat64(m.HumanResolutions.WithLabelValues("servicenow.prod"))},
		{"the Azure side's calls are deliveries too", testutil.ToFloat64(m.Deliveries.WithLabelValues(route.FeedbackBackend, "resolve", "permanent"))},
	} {
		if c.got != 1 {
			t.Errorf("%s: %v, want 1", c.name, c.got)
		}
	}
	if n := testutil.ToFloat64(m.Deliveries.WithLabelValues("servicenow.prod", delivery.OpReadStatus, "ok")); n != 0 {
		t.Errorf("a status read counted as a delivery: %v", n)
	}
}
