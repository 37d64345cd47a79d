package route

import (
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// BenchmarkRoute routes one metric alert through a 10-route configuration
// where the ninth route matches: nine `when` evaluations, one correlation
// key and one fields object rendered.
func BenchmarkRoute(b *testing.B) {
	r := mustCompile(b, "testdata/bench.hcl")
	v := 93.2
	a := &sdk.Alert{
		ID: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a1", Rule: "High CPU", Severity: sev(1),
		SeverityLabel: "Sev1", SignalType: "Metric", Condition: sdk.ConditionFired, MonitoringService: "Platform",
		Targets:            []string{"/subscriptions/s/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/vm1"},
		ConfigurationItems: []sdk.ConfigurationItem{{Name: "vm1", ResourceID: "/subscriptions/s/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/vm1"}},
		FiredAt:            time.Date(2025, 4, 15, 18, 17, 12, 0, time.UTC),
		CustomProperties:   map[string]string{"team": "team-8"},
		ResourceGroup:      "prod-web", ResourceName: "vm1",
		Metric: &sdk.MetricSummary{Name: "Percentage CPU", Operator: "GreaterThan", Threshold: "90", Value: &v},
	}
	d, err := r.Route(a)
	if err != nil || len(d.Deliveries) != 1 || d.Deliveries[0].Route != "team-8" {
		b.Fatalf("unexpected decision %+v, %v", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(a); err != nil {
			b.Fatal(err)
		}
	}
}
