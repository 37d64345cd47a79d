package commonschema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files, assembled payloads and docs/alert-fields.md")

// fullSamples are Microsoft's complete payloads plus the ones assembled
// from alertContext-only fragments.
func fullSamples(t testing.TB) []string {
	t.Helper()
	full, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	assembled, err := filepath.Glob("testdata/assembled/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(full) < 15 || len(assembled) < 15 {
		t.Fatalf("found %d samples and %d assembled payloads; testdata is incomplete", len(full), len(assembled))
	}
	return append(full, assembled...)
}

// goldenPath maps testdata/x.json to testdata/golden/x.json and
// testdata/assembled/x.json to testdata/golden/assembled-x.json.
func goldenPath(sample string) string {
	name := filepath.Base(sample)
	if filepath.Base(filepath.Dir(sample)) == "assembled" {
		name = "assembled-" + name
	}
	return filepath.Join("testdata", "golden", name)
}

// marshalAlert renders a normalized alert for a golden file. The raw
// context is left out (TestContextIsRawAlertContext checks it) so the
// files show what normalization did.
func marshalAlert(t testing.TB, a *sdk.Alert) []byte {
	t.Helper()
	c := *a
	c.Context = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&c); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	assemble(t)
	for _, sample := range fullSamples(t) {
		t.Run(strings.TrimPrefix(sample, "testdata/"), func(t *testing.T) {
			body, err := os.ReadFile(sample)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := marshalAlert(t, a)
			golden := goldenPath(sample)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./host/commonschema -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("normalized alert differs from %s (run with -update after checking the change):\ngot:\n%s", golden, got)
			}
		})
	}
}

func TestContextIsRawAlertContext(t *testing.T) {
	for _, sample := range fullSamples(t) {
		body, err := os.ReadFile(sample)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data struct {
				AlertContext json.RawMessage `json:"alertContext"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		a, err := Decode(body)
		if err != nil {
			t.Fatalf("%s: %v", sample, err)
		}
		var want, got bytes.Buffer
		if err := json.Compact(&want, env.Data.AlertContext); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&got, a.Context); err != nil {
			t.Fatalf("%s: context is not JSON: %v", sample, err)
		}
		if want.String() != got.String() {
			t.Errorf("%s: context differs from data.alertContext", sample)
		}
	}
}

// fragmentEssentials are plausible essentials for each alertContext-only
// fragment Microsoft publishes, so the fragments decode as full payloads.
// They vary timestamp formats and spellings the way real payloads do.
var fragmentEssentials = map[string]map[string]any{
	"platform-metric-static": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000001", "alertRule": "WCUS-R2-Gen2",
		"alertRuleID": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/PipeLineAlertRG/providers/microsoft.insights/metricAlerts/WCUS-R2-Gen2",
		"severity":    "Sev3", "signalType": "Metric", "monitorCondition": "Fired", "monitoringService": "Platform",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/PipeLineAlertRG/providers/Microsoft.Compute/virtualMachines/WCUS-R2-Gen2"},
		"configurationItems": []string{"wcus-r2-gen2"},
		"firedDateTime":      "2019-03-22T13:45:24.3713213Z",
	},
	"platform-metric-dynamic": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000002", "alertRule": "storage-egress-dynamic",
		"severity": 2, "signalType": "Metric", "monitorCondition": "Resolved", "monitoringService": "Platform",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/storage-rg/providers/Microsoft.Storage/storageAccounts/contosodata"},
		"configurationItems": []string{"contosodata"},
		"firedDateTime":      "2021-07-20T05:12:26.363Z", "resolvedDateTime": "2021-07-20T05:27:26.363Z",
	},
	"platform-availability-webtest": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000003", "alertRule": "myAvailabilityTest-myApplication",
		"severity": "Sev1", "signalType": "Metric", "monitorCondition": "Fired", "monitoringService": "Platform",
		"alertTargetIDs": []string{
			"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/web-rg/providers/microsoft.insights/webtests/myAvailabilityTest-myApplication",
			"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/web-rg/providers/microsoft.insights/components/myApplication",
		},
		"configurationItems": []string{"myAvailabilityTest-myApplication", "myApplication"},
		"firedDateTime":      "2019-03-22T13:45:03.064",
	},
	"log-analytics-v1": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000004", "alertRule": "Gen2Alert-CPU",
		"severity": "Sev2", "signalType": "Log", "monitorCondition": "Fired", "monitoringService": "Log Analytics",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/pipelinealertrg/providers/microsoft.operationalinsights/workspaces/INC-OmsAlertRunner"},
		"configurationItems": []string{"INC-Gen2Alert"},
		"firedDateTime":      "2019-03-22T13:51:31.2917159+00:00", "alertContextVersion": "1.1",
	},
	"application-insights-v1": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000005", "alertRule": "requests-500",
		"severity": "Sev1", "signalType": "Log", "monitorCondition": "Fired", "monitoringService": "Application Insights",
		"alertTargetIDs": []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/web-rg/providers/microsoft.insights/components/myApplication"},
		"firedDateTime":  "3/22/2019 1:51:33 PM", "alertContextVersion": "1.1",
	},
	"log-alerts-v2": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000006", "alertRule": "heartbeat-missing",
		"alertRuleId": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/Contoso/providers/microsoft.insights/scheduledqueryrules/heartbeat-missing",
		"severity":    "Sev0", "signalType": "Log", "monitorCondition": "Fired", "monitoringService": "Log Alerts V2",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/Contoso/providers/Microsoft.Compute/virtualMachines/Contoso"},
		"configurationItems": []string{"TestComputer"},
		"firedDateTime":      "2020-07-09T13:54:34Z",
	},
	"simple-log-alert": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000007", "alertRule": "orders-exceptions",
		"severity": "Sev3", "signalType": "Log", "monitorCondition": "Fired", "monitoringService": "Simple Log Alert",
		"alertTargetIDs": []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/web-rg/providers/microsoft.insights/components/orders-api"},
		"firedDateTime":  1594302874,
	},
	"activity-log-administrative": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/PipeLineAlertRG/providers/microsoft.insights/activityLogAlerts/vm-restart", "alertRule": "vm-restart",
		"severity": "Sev4", "signalType": "Activity Log", "monitorCondition": "Fired", "monitoringService": "Activity Log - Administrative",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/PipeLineAlertRG/providers/Microsoft.Compute/virtualMachines/WCUS-R2-ActLog"},
		"configurationItems": []string{"WCUS-R2-ActLog"},
		"firedDateTime":      "2019-03-22T13:56:31.2917159+00:00",
	},
	"activity-log-policy": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/microsoft.insights/activityLogAlerts/policy-audit", "alertRule": "policy-audit",
		"severity": "Sev3", "signalType": "ActivityLog", "monitorCondition": "Fired", "monitoringService": "Activity Log - Policy",
		"alertTargetIDs": []string{"/subscriptions/11111111-1111-1111-1111-111111111111"},
		"firedDateTime":  "2019-08-25T11:12:46.1557298+00:00",
	},
	"activity-log-autoscale": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/testRG/providers/microsoft.insights/activityLogAlerts/vmss-scale", "alertRule": "vmss-scale",
		"severity": "Sev4", "signalType": "Activity Log", "monitorCondition": "Fired", "monitoringService": "Activity Log - Autoscale",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/testRG/providers/Microsoft.Compute/virtualMachineScaleSets/testVMSS"},
		"configurationItems": []string{"testVMSS"},
		"firedDateTime":      "2019-08-21T16:17:47.2410185+00:00",
	},
	"activity-log-security": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/testRG/providers/microsoft.insights/activityLogAlerts/security-alerts", "alertRule": "security-alerts",
		"severity": "Sev1", "signalType": "Activity Log", "monitorCondition": "Fired", "monitoringService": "activity log - security",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/testRG/providers/Microsoft.Compute/virtualMachines/testVM"},
		"configurationItems": []string{"testVM"},
		"firedDateTime":      "2019-08-26T09:28:58.3019107+00:00",
	},
	"servicehealth": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000012", "alertRule": "service-health",
		"severity": "Sev4", "signalType": "Activity Log", "monitorCondition": "Fired", "monitoringService": "ServiceHealth",
		"alertTargetIDs": []string{"/subscriptions/11111111-1111-1111-1111-111111111111"},
		"firedDateTime":  "2019-06-24T11:31:31.7147357+00:00",
	},
	"servicehealth-string-enums": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000013", "alertRule": "service-health",
		"severity": "Sev4", "signalType": "ActivityLog", "monitorCondition": "Fired", "monitoringService": "Service Health",
		"alertTargetIDs": []string{"/subscriptions/11111111-1111-1111-1111-111111111111"},
		"firedDateTime":  "2019-06-24T11:31:31.7147357+00:00",
	},
	"resourcehealth": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000014", "alertRule": "vm-health",
		"severity": "Sev2", "signalType": "Activity Log", "monitorCondition": "Fired", "monitoringService": "ResourceHealth",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/prod-vm-01"},
		"configurationItems": []string{"prod-vm-01"},
		"firedDateTime":      "2019-06-24T15:45:20.4488186+00:00",
	},
	"prometheus": {
		"alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/a1a1a1a1-0000-4000-8000-000000000015", "alertRule": "sql-availability",
		"severity": "Sev2", "signalType": "Metric", "monitorCondition": "Fired", "monitoringService": "Prometheus",
		"alertTargetIDs":     []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/myResourceGroup/providers/Microsoft.ContainerService/managedClusters/myCluster1"},
		"configurationItems": []string{"myCluster1"},
		"firedDateTime":      "2023-05-02T10:04:11.1234567Z",
	},
}

// assemble wraps every fragment in testdata/alertcontext with its
// essentials into testdata/assembled (rewritten with -update, checked
// otherwise), so the fragments are decoded as full payloads.
func assemble(t *testing.T) {
	t.Helper()
	fragments, err := filepath.Glob("testdata/alertcontext/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(fragments) != len(fragmentEssentials) {
		t.Fatalf("%d fragments but essentials for %d: give each fragment essentials", len(fragments), len(fragmentEssentials))
	}
	for _, f := range fragments {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		ess, ok := fragmentEssentials[name]
		if !ok {
			t.Fatalf("no essentials for fragment %s", f)
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var frag struct {
			AlertContext json.RawMessage `json:"alertContext"`
		}
		if err := json.Unmarshal(raw, &frag); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		full := map[string]any{
			"schemaId": SchemaID,
			"data": map[string]any{
				"essentials":   withVersions(ess),
				"alertContext": frag.AlertContext,
			},
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(full); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "assembled", name+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, buf.Bytes()) {
			t.Errorf("%s is stale or missing (run go test ./host/commonschema -update)", path)
		}
	}
}

func withVersions(ess map[string]any) map[string]any {
	out := map[string]any{"essentialsVersion": "1.0", "alertContextVersion": "1.0", "description": ""}
	for k, v := range ess {
		out[k] = v
	}
	return out
}
