package sdktest

import (
	"encoding/json"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// SampleAlert returns a realistic fired metric alert on one virtual machine,
// the default alert of the conformance suite. Each call returns a new value.
func SampleAlert() sdk.Alert {
	const vm = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
		"/providers/Microsoft.Compute/virtualMachines/vm-web-01"
	sev := 1
	value := 97.5
	return sdk.Alert{
		ID: "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.AlertsManagement" +
			"/alerts/b9569717-bc32-442f-add5-83a997729330",
		Rule: "High CPU on web tier",
		RuleID: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
			"/providers/microsoft.insights/metricAlerts/High CPU on web tier",
		Severity:            &sev,
		SeverityLabel:       "Sev1",
		SignalType:          "Metric",
		Condition:           sdk.ConditionFired,
		MonitoringService:   "Platform",
		Targets:             []string{vm},
		ConfigurationItems:  []sdk.ConfigurationItem{{Name: "vm-web-01", ResourceID: vm}},
		OriginAlertID:       "00000000-0000-0000-0000-000000000000_prod-web_microsoft.insights_metricAlerts_High CPU",
		FiredAt:             time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		Description:         "CPU above 90% for 5 minutes",
		CustomProperties:    map[string]string{"team": "web"},
		EssentialsVersion:   "1.0",
		AlertContextVersion: "1.0",
		Resource: sdk.Resource{
			ID: vm, Subscription: "00000000-0000-0000-0000-000000000000", ResourceGroup: "prod-web",
			Provider: "Microsoft.Compute", ResourceType: "virtualMachines", Name: "vm-web-01",
		},
		Subscription:  "00000000-0000-0000-0000-000000000000",
		ResourceGroup: "prod-web",
		ResourceType:  "Microsoft.Compute/virtualMachines",
		ResourceName:  "vm-web-01",
		Metric: &sdk.MetricSummary{
			Name: "Percentage CPU", Namespace: "Microsoft.Compute/virtualMachines", Operator: "GreaterThan",
			Threshold: "90", Value: &value, Aggregation: "Average", WindowSize: "PT5M",
		},
		Context: json.RawMessage(`{"conditionType":"SingleResourceMultipleMetricCriteria"}`),
	}
}

// Resolved returns a copy of a marked resolved at the given time.
func Resolved(a sdk.Alert, at time.Time) sdk.Alert {
	a.Condition = sdk.ConditionResolved
	a.ResolvedAt = &at
	return a
}
