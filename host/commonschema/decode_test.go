package commonschema

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// payload builds a body from essentials and context JSON fragments.
func payload(essentials, context string) []byte {
	return []byte(fmt.Sprintf(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{%s},"alertContext":%s}}`, essentials, context))
}

const minimal = `"alertId":"a1","monitorCondition":"Fired"`

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		reason Reason
		field  string
		msg    string
	}{
		{"empty", "", ReasonMalformed, "", "empty"},
		{"white space", " \n", ReasonMalformed, "", "empty"},
		{"not JSON", "{alertId:", ReasonMalformed, "", "not valid JSON"},
		{"truncated", `{"schemaId":"azureMonitorCommonAlertSchema","data":{`, ReasonMalformed, "", "not valid JSON"},
		{"array", `[]`, ReasonMalformed, "", "must be a JSON object, not an array"},
		{"no schemaId", `{"data":{"essentials":{` + minimal + `}}}`, ReasonNotCommonSchema, "schemaId", "must enable the common alert schema"},
		{"null schemaId", `{"schemaId":null,"data":{}}`, ReasonNotCommonSchema, "schemaId", "must enable the common alert schema"},
		{"legacy metric schema", `{"schemaId":"AzureMonitorMetricAlert","data":{}}`, ReasonNotCommonSchema, "schemaId", `"AzureMonitorMetricAlert" is not the Common Alert Schema`},
		{"no data", `{"schemaId":"azureMonitorCommonAlertSchema"}`, ReasonMissingField, "data", "missing"},
		{"data string", `{"schemaId":"azureMonitorCommonAlertSchema","data":"x"}`, ReasonMalformed, "data", "must be a JSON object, not a string"},
		{"no essentials", `{"schemaId":"azureMonitorCommonAlertSchema","data":{"alertContext":{}}}`, ReasonMissingField, "data.essentials", "missing"},
		{"essentials array", `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":[]}}`, ReasonMalformed, "data.essentials", "not an array"},
		{"no alertId", string(payload(`"monitorCondition":"Fired"`, "{}")), ReasonMissingField, "data.essentials.alertId", "required"},
		{"null alertId", string(payload(`"alertId":null,"monitorCondition":"Fired"`, "{}")), ReasonMissingField, "data.essentials.alertId", "required"},
		{"blank alertId", string(payload(`"alertId":"  ","monitorCondition":"Fired"`, "{}")), ReasonMissingField, "data.essentials.alertId", "required"},
		{"no monitorCondition", string(payload(`"alertId":"a1"`, "{}")), ReasonMissingField, "data.essentials.monitorCondition", "required"},
		{"unknown monitorCondition", string(payload(`"alertId":"a1","monitorCondition":"Acknowledged"`, "{}")), ReasonInvalidField, "data.essentials.monitorCondition", `got "Acknowledged"`},
		{"NUL in alertId", string(payload(`"alertId":"a\u0000","monitorCondition":"Fired"`, "{}")), ReasonInvalidField, "data.essentials.alertId", `contains a NUL character (\u0000); an alertId is matched exactly`},
		{"invalid UTF-8 in alertId", string(payload("\"alertId\":\"a\xff\",\"monitorCondition\":\"Fired\"", "{}")), ReasonInvalidField, "data.essentials.alertId", "is not valid UTF-8"},
		{"lone high surrogate in alertId", string(payload(`"alertId":"a\ud83dx","monitorCondition":"Fired"`, "{}")), ReasonInvalidField, "data.essentials.alertId", `\ud83d, half of a UTF-16 surrogate pair, alone`},
		{"lone low surrogate in alertId", string(payload(`"alertId":"a\uDE00","monitorCondition":"Fired"`, "{}")), ReasonInvalidField, "data.essentials.alertId", `\ude00, half`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode([]byte(tt.body))
			if err == nil {
				t.Fatalf("Decode accepted it: %+v", a)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Reason != tt.reason || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("got reason %q field %q message %q; want %q, %q, containing %q", e.Reason, e.Field, e.Message, tt.reason, tt.field, tt.msg)
			}
		})
	}
}

func TestDecodeTolerates(t *testing.T) {
	sev := func(n int) *int { return &n }
	tests := []struct {
		name  string
		body  []byte
		check func(t *testing.T, a *sdk.Alert)
	}{
		{"all optional essentials null", payload(minimal+`,"alertRule":null,"severity":null,"signalType":null,"monitoringService":null,"alertTargetIDs":null,"configurationItems":null,"firedDateTime":null,"description":null`, "null"),
			func(t *testing.T, a *sdk.Alert) {
				if a.Severity != nil || a.Rule != "" || len(a.Targets) != 0 || len(a.ConfigurationItems) != 0 || !a.FiredAt.IsZero() || a.Context != nil {
					t.Errorf("got %+v", a)
				}
			}},
		{"no alertContext at all", []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{` + minimal + `}}}`),
			func(t *testing.T, a *sdk.Alert) {
				if a.Context != nil || a.Metric != nil {
					t.Errorf("got %+v", a)
				}
			}},
		{"severity as number", payload(minimal+`,"severity":2`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Severity, sev(2)); eq(t, a.SeverityLabel, "Sev2") }},
		{"severity as digit string", payload(minimal+`,"severity":"1"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Severity, sev(1)) }},
		{"severity spaced lower case", payload(minimal+`,"severity":" sev 0 "`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Severity, sev(0)); eq(t, a.SeverityLabel, "Sev0") }},
		{"severity as level name", payload(minimal+`,"severity":"Warning"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Severity, sev(2)) }},
		{"severity out of range", payload(minimal+`,"severity":"Sev9"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Severity, (*int)(nil)); eq(t, a.SeverityLabel, "") }},
		{"monitorCondition case and spaces", payload(`"alertId":"a1","monitorCondition":" resolved "`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Condition, sdk.ConditionResolved) }},
		{"alertRuleID spelling", payload(minimal+`,"alertRuleID":"/subscriptions/s/rule"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.RuleID, "/subscriptions/s/rule") }},
		{"alertRuleId null beside alertRuleID", payload(minimal+`,"alertRuleID":"/r","alertRuleId":null`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.RuleID, "/r") }},
		{"key case varies", []byte(`{"SchemaId":"AZUREMONITORCOMMONALERTSCHEMA","Data":{"Essentials":{"AlertId":"a1","MonitorCondition":"FIRED"}}}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ID, "a1"); eq(t, a.Condition, sdk.ConditionFired) }},
		{"signalType and monitoringService spelled loosely", payload(minimal+`,"signalType":"activitylog","monitoringService":"activity log-administrative"`, "{}"),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.SignalType, "Activity Log")
				eq(t, a.MonitoringService, "Activity Log - Administrative")
				eq(t, a.Stateless, true)
			}},
		{"unknown service passes through", payload(minimal+`,"monitoringService":"  VM Insights - Health ","signalType":"Metric"`, `{"whatever":[1,2,{"x":null}]}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.MonitoringService, "VM Insights - Health")
				eq(t, string(a.Context), `{"whatever":[1,2,{"x":null}]}`)
				if a.Metric != nil || a.Log != nil || a.Stateless {
					t.Errorf("generic alert got a summary or stateless: %+v", a)
				}
			}},
		{"unknown service with activity log signal is stateless", payload(minimal+`,"monitoringService":"Activity Feed","signalType":"Activity Log"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Stateless, true) }},
		{"unknown keys everywhere", []byte(`{"schemaId":"azureMonitorCommonAlertSchema","extra":{"a":[1]},"data":{"essentials":{` + minimal + `,"investigationLink":"https://x","new":{"n":1}},"alertContext":{},"more":true}}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ID, "a1") }},
		{"targets and CIs JSON-encoded in strings", payload(minimal+`,"alertTargetIDs":"[\"/subscriptions/s/resourceGroups/rg/providers/P.X/t/vm1\"]","configurationItems":"[\"VM1\"]"`, "{}"),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.ConfigurationItems, []sdk.ConfigurationItem{{Name: "VM1", ResourceID: "/subscriptions/s/resourceGroups/rg/providers/P.X/t/vm1"}})
				eq(t, a.ResourceName, "vm1")
			}},
		{"single target as a string", payload(minimal+`,"alertTargetIDs":"/subscriptions/s"`, "{}"),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Targets, []string{"/subscriptions/s"})
				eq(t, a.Subscription, "s")
			}},
		{"alertId as number", payload(`"alertId":12345,"monitorCondition":"Fired"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ID, "12345") }},
		{"customProperties JSON-encoded with number values", []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{` + minimal + `},"customProperties":"{\"team\":\"db\",\"tier\":1}"}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.CustomProperties, map[string]string{"team": "db", "tier": "1"})
			}},
		{"alertContext JSON-encoded in a string", payload(minimal+`,"monitoringService":"Platform"`, `"{\"condition\":{\"allOf\":[{\"metricName\":\"CPU\",\"metricValue\":\"91.5\"}]}}"`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, string(a.Context), `{"condition":{"allOf":[{"metricName":"CPU","metricValue":"91.5"}]}}`)
				if a.Metric == nil || a.Metric.Name != "CPU" || a.Metric.Value == nil || *a.Metric.Value != 91.5 {
					t.Errorf("metric = %+v", a.Metric)
				}
			}},
		{"metric numbers as strings and strings as numbers", payload(minimal+`,"monitoringService":"Platform"`, `{"condition":{"windowSize":"PT1M","allOf":[{"metricName":"m","threshold":80,"metricValue":"12","dimensions":"[{\"name\":\"host\",\"value\":7}]"}]}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Metric.Threshold, "80")
				eq(t, *a.Metric.Value, 12.0)
				eq(t, a.Metric.Dimensions, map[string]string{"host": "7"})
			}},
		{"metric value not a number", payload(minimal+`,"monitoringService":"Platform"`, `{"condition":{"allOf":[{"metricName":"m","metricValue":"NaN"}]}}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Metric.Value, (*float64)(nil)) }},
		{"context of the wrong shape", payload(minimal+`,"monitoringService":"Platform"`, `{"condition":"x","properties":[1]}`),
			func(t *testing.T, a *sdk.Alert) {
				if a.Metric != nil || a.Log != nil {
					t.Errorf("summary from a malformed context: %+v %+v", a.Metric, a.Log)
				}
			}},
		{"service health resolved by stage", payload(minimal+`,"monitoringService":"ServiceHealth","firedDateTime":"2025-01-01T00:00:00Z"`, `{"status":"Active","properties":{"stage":"resolved","impactMitigationTime":"2025-01-01T02:00:00Z","impactedServices":[{"ServiceName":"SQL","ImpactedRegions":[{"RegionName":"East US"},{"RegionName":"West US"}]},{"ServiceName":"SQL","ImpactedRegions":[{"RegionName":"East US"}]}]}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Condition, sdk.ConditionResolved)
				eq(t, *a.ResolvedAt, time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC))
				eq(t, a.ServiceHealth.ImpactedServices, []string{"SQL"})
				eq(t, a.ServiceHealth.ImpactedRegions, []string{"East US", "West US"})
			}},
		{"service health resolved by status", payload(minimal+`,"monitoringService":"ServiceHealth","firedDateTime":"2025-01-01T00:00:00Z"`, `{"status":"Resolved","properties":{"stage":"Active"}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Condition, sdk.ConditionResolved)
				eq(t, *a.ResolvedAt, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			}},
		{"service health still active", payload(minimal+`,"monitoringService":"ServiceHealth"`, `{"status":"Active","properties":{"stage":"Active","service":"Storage","region":"West Europe"}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Condition, sdk.ConditionFired)
				eq(t, a.ResolvedAt, (*time.Time)(nil))
				eq(t, a.ServiceHealth.ImpactedServices, []string{"Storage"})
				eq(t, a.ServiceHealth.ImpactedRegions, []string{"West Europe"})
			}},
		{"resource health resolved", payload(minimal+`,"monitoringService":"Resource Health"`, `{"status":"Resolved","eventTimestamp":"2025-02-03T04:05:06Z","properties":{"currentHealthStatus":"Available"}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Condition, sdk.ConditionResolved)
				eq(t, *a.ResolvedAt, time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC))
			}},
		{"resource health summary beside activity_log", payload(minimal+`,"monitoringService":"ResourceHealth"`, `{"status":"Active","eventSource":"ResourceHealth","properties":{"Title":" VM rebooted ","CurrentHealthStatus":"Unavailable","previousHealthStatus":"Available","type":"Downtime","cause":"PlatformInitiated","details":" host update "}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.ResourceHealth, &sdk.ResourceHealthSummary{Title: "VM rebooted", CurrentHealthStatus: "Unavailable", PreviousHealthStatus: "Available", Type: "Downtime", Cause: "PlatformInitiated", Details: "host update"})
				eq(t, a.ActivityLog.Category, "ResourceHealth")
				eq(t, a.Condition, sdk.ConditionFired)
			}},
		{"resource health properties JSON-encoded, details not text", payload(minimal+`,"monitoringService":"Resource Health"`, `{"status":"Resolved","properties":"{\"title\":\"t\",\"currentHealthStatus\":\"Available\",\"details\":{\"a\":1},\"cause\":7}"}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.ResourceHealth, &sdk.ResourceHealthSummary{Title: "t", CurrentHealthStatus: "Available", Cause: "7"})
				eq(t, a.Condition, sdk.ConditionResolved)
			}},
		{"resource health without properties", payload(minimal+`,"monitoringService":"Resource Health"`, `{"properties":[1,2]}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ResourceHealth, &sdk.ResourceHealthSummary{}) }},
		{"log v2 dimensions JSON-encoded, odd entries skipped", payload(minimal+`,"monitoringService":"Log Alerts V2"`, `{"conditionType":"LogQueryCriteria","condition":{"allOf":[{"searchQuery":"Heartbeat","dimensions":"[{\"name\":\"Computer\",\"value\":\"vm1\"},{\"value\":\"no name\"},{\"name\":\"Port\",\"value\":443},7]"}]}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Log.Dimensions, map[string]string{"Computer": "vm1", "Port": "443"})
			}},
		{"log v2 dimensions of the wrong type", payload(minimal+`,"monitoringService":"Log Alerts V2"`, `{"conditionType":"LogQueryCriteria","condition":{"allOf":[{"searchQuery":"Heartbeat","dimensions":{"name":"x"}}]}}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Log.Dimensions, map[string]string{}) }},
		{"log v1 dimensions", payload(minimal+`,"monitoringService":"Application Insights"`, `{"SearchQuery":"requests","dimensions":[{"Name":"IP","Value":"1.1.1.1"}]}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Log.Dimensions, map[string]string{"IP": "1.1.1.1"}) }},
		{"log v1 without dimensions", payload(minimal+`,"monitoringService":"Log Analytics"`, `{"SearchQuery":"Perf","Dimensions":"none"}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Log.Dimensions, map[string]string{}) }},
		{"prometheus summary beside metric", payload(minimal+`,"monitoringService":"Prometheus","description":"from the rule"`, `{"Expression":"up == 0","expressionValue":12.5,"interval":"PT1M","For":"PT5M","labels":"{\"job\":\"node\",\"shard\":2}","annotations":{"summary":"node down"},"RuleGroup":"/subscriptions/s/rg"}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Prometheus, &sdk.PrometheusSummary{Expression: "up == 0", ExpressionValue: "12.5", Interval: "PT1M", For: "PT5M",
					Labels: map[string]string{"job": "node", "shard": "2"}, Annotations: map[string]string{"summary": "node down"}, RuleGroup: "/subscriptions/s/rg"})
				eq(t, *a.Metric.Value, 12.5)
				eq(t, a.Metric.Dimensions, a.Prometheus.Labels)
				eq(t, a.Description, "from the rule")
				a.Metric.Dimensions["job"] = "changed"
				eq(t, a.Prometheus.Labels["job"], "node")
			}},
		{"prometheus value not a number, maps of the wrong type", payload(minimal+`,"monitoringService":"Prometheus"`, `{"expression":"rate(x[5m]) > 0.01","expressionValue":"12.7m","labels":[1],"annotations":"summary"}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Prometheus.ExpressionValue, "12.7m")
				eq(t, a.Metric.Value, (*float64)(nil))
				eq(t, a.Prometheus.Labels, map[string]string{})
				eq(t, a.Prometheus.Annotations, map[string]string{})
				eq(t, a.Description, "")
			}},
		{"prometheus description falls back to the summary annotation", payload(minimal+`,"monitoringService":"Prometheus","description":" "`, `{"annotations":{"summary":" Pods not ready ","description":"longer text"}}`),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.Description, "Pods not ready") }},
		{"prometheus without context", payload(minimal+`,"monitoringService":"Prometheus"`, "null"),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.Prometheus, &sdk.PrometheusSummary{Labels: map[string]string{}, Annotations: map[string]string{}})
			}},
		{"no new summary for other kinds", payload(minimal+`,"monitoringService":"Platform"`, `{"condition":{"allOf":[{"metricName":"m"}]},"properties":{"title":"t"},"expression":"e"}`),
			func(t *testing.T, a *sdk.Alert) {
				if a.Prometheus != nil || a.ResourceHealth != nil || a.Log != nil {
					t.Errorf("got %+v %+v %+v", a.Prometheus, a.ResourceHealth, a.Log)
				}
			}},
		{"resolved metric keeps resolvedDateTime, fired ignores it", payload(minimal+`,"resolvedDateTime":"2025-01-01T00:00:00Z"`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ResolvedAt, (*time.Time)(nil)) }},
		{"numeric activity log level and source", payload(minimal+`,"monitoringService":"Activity Log - Administrative"`, `{"level":2,"eventSource":7,"operationName":"op"}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, a.ActivityLog.Level, "Warning")
				eq(t, a.ActivityLog.Category, "Administrative")
			}},
		{"budget amounts in European format", payload(minimal+`,"monitoringService":"CostAlerts"`, `{"AlertData":{"SpentAmount":"1.234,50 €","BudgetThreshold":1000,"NotificationThresholdAmount":"80%"}}`),
			func(t *testing.T, a *sdk.Alert) {
				eq(t, *a.Budget.Spent, 1234.5)
				eq(t, *a.Budget.Amount, 1000.0)
				eq(t, *a.Budget.Threshold, 80.0)
				eq(t, a.Severity, (*int)(nil))
			}},
		{"BOM and surrounding space", append([]byte("\xef\xbb\xbf \n"), payload(minimal, "{}")...),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ID, "a1") }},
		{"escaped strings", payload(`"alertId":"a\u00e9\/1","monitorCondition":"Fired","alertRule":"cpu \"high\""`, "{}"),
			func(t *testing.T, a *sdk.Alert) { eq(t, a.ID, "aé/1"); eq(t, a.Rule, `cpu "high"`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode(tt.body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.check(t, a)
		})
	}
}

func TestTimestampFormats(t *testing.T) {
	want := time.Date(2025, 4, 15, 18, 17, 12, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2025-04-15T18:17:12Z"`, want},
		{`"2025-04-15T18:17:12.8518765Z"`, want.Add(851876500)},
		{`"2025-04-15T18:17:12.851Z"`, want.Add(851 * time.Millisecond)},
		{`"2025-04-15T20:17:12+02:00"`, want},
		{`"2025-04-15T18:17:12.8518765+00:00"`, want.Add(851876500)},
		{`"2025-04-15T18:17:12"`, want},
		{`"2025-04-15T18:17:12.5"`, want.Add(500 * time.Millisecond)},
		{`"2025-04-15T18:17:12+0000"`, want},
		{`"2025-04-15 18:17:12"`, want},
		{`"4/15/2025 6:17:12 PM"`, want},
		{`"4/15/2025 6:17 PM"`, want.Add(-12 * time.Second)},
		{`"4/15/2025 18:17:12"`, want},
		{`"Tue, 15 Apr 2025 18:17:12 GMT"`, want},
		{`"/Date(1744741032000)/"`, want},
		{`1744741032`, want},
		{`1744741032000`, want},
		{`"1744741032"`, want},
		{`1744741032.5`, want.Add(500 * time.Millisecond)},
		{`"yesterday"`, time.Time{}},
		{`"9999-12-31T23:59:59-23:00"`, time.Time{}},
		{`-5`, time.Time{}},
		{`null`, time.Time{}},
		{`{}`, time.Time{}},
	}
	for _, tt := range tests {
		if got := tm([]byte(tt.in)); !got.Equal(tt.want) {
			t.Errorf("tm(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestConfigurationItems(t *testing.T) {
	vm := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/VM-1"
	ws := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
	tests := []struct {
		name           string
		names, targets []string
		want           []sdk.ConfigurationItem
	}{
		{"name matches target case-insensitively", []string{"vm-1"}, []string{vm}, []sdk.ConfigurationItem{{Name: "vm-1", ResourceID: vm}}},
		{"names from targets", nil, []string{vm, ws}, []sdk.ConfigurationItem{{Name: "VM-1", ResourceID: vm}, {Name: "law", ResourceID: ws}}},
		{"name without target keeps empty id", []string{"computer-7"}, []string{ws}, []sdk.ConfigurationItem{{Name: "computer-7", ResourceID: ""}}},
		{"name that is an ARM id", []string{vm}, nil, []sdk.ConfigurationItem{{Name: "VM-1", ResourceID: vm}}},
		{"duplicates dropped", []string{"VM-1", "vm-1"}, []string{vm}, []sdk.ConfigurationItem{{Name: "VM-1", ResourceID: vm}}},
		{"nothing", nil, nil, []sdk.ConfigurationItem{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { eq(t, configurationItems(tt.names, tt.targets), tt.want) })
	}
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		id   string
		want sdk.Resource
	}{
		{"/subscriptions/s1/resourcegroups/rg1/providers/microsoft.storage/storageaccounts/acct",
			sdk.Resource{Subscription: "s1", ResourceGroup: "rg1", Provider: "microsoft.storage", ResourceType: "storageaccounts", Name: "acct"}},
		{"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/srv/databases/db1",
			sdk.Resource{Subscription: "s1", ResourceGroup: "rg1", Provider: "Microsoft.Sql", ResourceType: "servers/databases", Name: "db1"}},
		{"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Insights/diagnosticSettings/ds",
			sdk.Resource{Subscription: "s1", ResourceGroup: "rg1", Provider: "Microsoft.Insights", ResourceType: "diagnosticSettings", Name: "ds"}},
		{"/subscriptions/s1/", sdk.Resource{Subscription: "s1", ResourceType: "subscriptions", Name: "s1"}},
		{"/subscriptions/s1/resourceGroups/rg1", sdk.Resource{Subscription: "s1", ResourceGroup: "rg1", ResourceType: "resourceGroups", Name: "rg1"}},
		{"/providers/Microsoft.Management/managementGroups/mg", sdk.Resource{Provider: "Microsoft.Management", ResourceType: "managementGroups", Name: "mg"}},
		{"budgets", sdk.Resource{Name: "budgets"}},
		{"", sdk.Resource{}},
		{"/", sdk.Resource{}},
	}
	for _, tt := range tests {
		tt.want.ID = tt.id
		eq(t, parseResource(tt.id), tt.want)
	}
}

func TestParseMoney(t *testing.T) {
	tests := map[string]float64{"$11,111.00": 11111, "$50.00": 50, "1.234,50 €": 1234.5, "50,00": 50, "1,234,567": 1234567, "USD 12.5": 12.5, "-3": -3}
	for in, want := range tests {
		if got, ok := parseMoney(in); !ok || got != want {
			t.Errorf("parseMoney(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := parseMoney("n/a"); ok {
		t.Errorf("parseMoney(n/a) succeeded")
	}
}

// TestValidMatchesEncodingJSON holds the validator to encoding/json on
// tricky inputs; FuzzDecode does the same on arbitrary ones.
func TestValidMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		``, ` `, `{}`, `[]`, `{"a":1}`, `{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `"\u00e9"`, `"\u00g9"`, `"\x"`, "\"\x01\"",
		`-0`, `01`, `1.`, `.5`, `1e`, `1e+5`, `-`, `tru`, `true `, `nul`, `[true,false,null]`, `{"a":[{"b":{}}]}`, `}`, `]`,
		`{"a":1}}`, `[[[]]`, `"abc`, `"\\"`, `"\\\""`, `{"a":"b" "c":1}`, "\xef\xbb\xbf{}", `1 2`, `[1 2]`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	}
	for _, in := range inputs {
		if got, want := valid([]byte(in)), jsonValid([]byte(in)); got != want {
			t.Errorf("valid(%.40q) = %v, encoding/json says %v", in, got, want)
		}
	}
	for _, f := range fullSamplesNoCheck() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !valid(b) {
			t.Errorf("valid(%s) = false", f)
		}
	}
}

func eq[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// TestText holds the text conversions to their rules: str returns valid
// UTF-8 without NUL, replacing what it cannot keep with U+FFFD; storable
// does the same to JSON text without changing what it means otherwise;
// inexact names what str would replace.
func TestText(t *testing.T) {
	tests := []struct {
		raw      string
		str      string
		storable string
		inexact  string
	}{
		{raw: `"plain"`, str: "plain", storable: `"plain"`},
		{raw: `"caf\u00e9 \ud83d\ude00"`, str: "café 😀", storable: `"caf\u00e9 \ud83d\ude00"`},
		{raw: "\"caf\xc3\xa9\"", str: "café", storable: "\"caf\xc3\xa9\""},
		{raw: `"uFFFD is kept: \ufffd \uFFFD"`, str: "uFFFD is kept: \uFFFD \uFFFD", storable: `"uFFFD is kept: \ufffd \uFFFD"`},
		{raw: `"a\u0000b"`, str: "a\uFFFDb", storable: `"a\ufffdb"`, inexact: `contains a NUL character (\u0000)`},
		{raw: `"escaped backslash \\u0000"`, str: `escaped backslash \u0000`, storable: `"escaped backslash \\u0000"`},
		{raw: `"\\\u0000"`, str: "\\\uFFFD", storable: `"\\\ufffd"`, inexact: `contains a NUL character (\u0000)`},
		{raw: "\"a\xffb\xfe\xfdc\"", str: "a\uFFFDb\uFFFD\uFFFDc", storable: "\"a\uFFFDb\uFFFD\uFFFDc\"", inexact: "is not valid UTF-8"},
		{raw: "\"\xe2\x82\"", str: "\uFFFD\uFFFD", storable: "\"\uFFFD\uFFFD\"", inexact: "is not valid UTF-8"},
		{raw: `"x\ud800"`, str: "x\uFFFD", storable: `"x\ud800"`, inexact: `contains \ud800, half of a UTF-16 surrogate pair, alone`},
		{raw: `"\ud800\u0041"`, str: "\uFFFDA", storable: `"\ud800\u0041"`, inexact: `contains \ud800, half`},
		{raw: `"\udc00\ud800"`, str: "\uFFFD\uFFFD", storable: `"\udc00\ud800"`, inexact: `contains \udc00, half`},
		{raw: `{"k":"\u0000","\u0000":1}`, str: `{"k":"\ufffd","\ufffd":1}`, storable: `{"k":"\ufffd","\ufffd":1}`},
		{raw: "[\"\xff\"]", str: "[\"\uFFFD\"]", storable: "[\"\uFFFD\"]"},
		{raw: `12.5`, str: "12.5", storable: `12.5`},
		{raw: `null`, str: "", storable: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if !valid([]byte(tt.raw)) {
				t.Fatalf("test input %q is not JSON", tt.raw)
			}
			if got := str([]byte(tt.raw)); got != tt.str {
				t.Errorf("str = %q, want %q", got, tt.str)
			}
			if got := string(storable([]byte(tt.raw))); got != tt.storable {
				t.Errorf("storable = %q, want %q", got, tt.storable)
			}
			if got := inexact([]byte(tt.raw)); !strings.Contains(got, tt.inexact) || (got == "") != (tt.inexact == "") {
				t.Errorf("inexact = %q, want %q", got, tt.inexact)
			}
		})
	}
}
