package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// DeliveryTotals are one backend's plugin calls since the process started.
type DeliveryTotals struct {
	// Calls counts every plugin call; Failures those whose outcome was
	// retryable or permanent (as the suggested ItsmDeliveryFailures alert
	// counts them).
	Calls, Failures float64
}

// DeliveryTotals reads itsm_deliveries_total by backend, for the console's
// charts, without gathering the whole registry (whose runtime collector
// queries the store).
func (m *Metrics) DeliveryTotals() map[string]DeliveryTotals {
	out := map[string]DeliveryTotals{}
	each(m.Deliveries, func(labels map[string]string, v float64) {
		t := out[labels["backend"]]
		t.Calls += v
		if o := labels["outcome"]; o == "retryable" || o == "permanent" {
			t.Failures += v
		}
		out[labels["backend"]] = t
	})
	return out
}

// AuthFailureTotals reads itsm_auth_failures_total by reason.
func (m *Metrics) AuthFailureTotals() map[string]float64 {
	out := map[string]float64{}
	each(m.AuthFailures, func(labels map[string]string, v float64) { out[labels["reason"]] += v })
	return out
}

// each calls fn with the labels and value of every counter c holds.
func each(c prometheus.Collector, fn func(labels map[string]string, v float64)) {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		labels := make(map[string]string, len(d.Label))
		for _, l := range d.Label {
			labels[l.GetName()] = l.GetValue()
		}
		fn(labels, d.Counter.GetValue())
	}
}
