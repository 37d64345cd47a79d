package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRouteEverySample runs the `route` dry run of the annotated example
// configuration over every Microsoft sample payload: each one decodes, and
// the printed routes, backends, keys and fields match the golden file.
func TestRouteEverySample(t *testing.T) {
	samples, err := filepath.Glob("../../host/commonschema/testdata/*.json")
	if err != nil || len(samples) < 15 {
		t.Fatalf("found %d samples: %v", len(samples), err)
	}
	var out, errOut bytes.Buffer
	// A Wednesday: the example's maintenance windows are off.
	args := append([]string{"route", "-config", "../../connector.hcl.example", "-at", "2026-03-04T12:00:00Z"}, samples...)
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("route exited %d:\n%s%s", code, errOut.String(), out.String())
	}
	golden := "testdata/route/samples.golden"
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("route output differs from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}

// TestRouteShowsConfigurationItemCap: the dry run shows how a per_ci route
// splits an alert with more configuration items than its
// max_configuration_items, and the note the last work item carries.
func TestRouteShowsConfigurationItemCap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.hcl")
	alert := filepath.Join(dir, "alert.json")
	if err := os.WriteFile(cfg, []byte(`auth "none" {}
backend "file" "x" {}
route "per-vm" {
  send_to                 = [backend.file.x]
  per_ci                  = true
  max_configuration_items = 2
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alert, []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"a1","monitorCondition":"Fired",
"configurationItems":["vm1","vm2","vm3","vm4"]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"route", "-config", cfg, alert}, &out, &errOut); code != 0 {
		t.Fatalf("route exited %d:\n%s%s", code, errOut.String(), out.String())
	}
	want := `  delivery file.x via route per-vm
    correlation_key = a1|OTHERS
    note: the alert has 4 configuration items, more than route "per-vm"'s max_configuration_items (2): this work item covers the 2 after the first 2
    configuration_item = vm3 (no resource id)
    configuration_item = vm4 (no resource id)
`
	if !strings.Contains(out.String(), want) || strings.Count(out.String(), "delivery file.x") != 3 {
		t.Errorf("route output:\n%s\nwant three deliveries, the last:\n%s", out.String(), want)
	}
}

// TestRouteShowsPolicy: the dry run shows the maintenance window an alert
// falls in at -at (or that it is in none), the route's flap block, and from
// the store whether the alert's work item flaps.
func TestRouteShowsPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.hcl")
	db := filepath.Join(dir, "c.db")
	alert := filepath.Join(dir, "alert.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`auth "none" {}
store { path = %q }
backend "file" "x" {}
route "flappy" {
  send_to = [backend.file.x]
  flap {
    window          = "30m"
    max_transitions = 2
  }
  storm {
    window   = "5m"
    max_new  = 20
    group_by = "${alert.rule}"
  }
}
maintenance "db-patch" {
  start  = "2026-03-01T22:00:00Z"
  end    = "2026-03-02T02:00:00Z"
  when   = alert.resource_group == "rg-db"
  on_end = "drop"
}
maintenance "web" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-02T02:00:00Z"
  when  = alert.custom_properties["team"] == "web"
}
`, db)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alert, []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"a1","monitorCondition":"Fired",
"alertTargetIDs":["/subscriptions/s/resourceGroups/rg-db/providers/Microsoft.Compute/virtualMachines/vm1"]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The alert's work item flaps: three transitions, more than two.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	d := route.Delivery{Route: "flappy", Backend: "file.x", CorrelationKey: "a1",
		Flap: &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 2, QuietPeriod: 30 * time.Minute}}
	t0 := time.Date(2026, 3, 1, 21, 0, 0, 0, time.UTC)
	for i, cond := range []sdk.Condition{sdk.ConditionFired, sdk.ConditionResolved, sdk.ConditionFired} {
		a := storetest.Alert("a1", cond, t0.Add(time.Duration(i)*time.Minute))
		if _, err := st.Ingest(context.Background(), []store.Notification{{Alert: a, Deliveries: []route.Delivery{d}, ReceivedAt: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	code, out, errOut := runCLI(t, "route", "-config", cfg, "-at", "2026-03-01T23:00:00+01:00", alert)
	if code != 0 {
		t.Fatalf("route exited %d:\n%s%s", code, errOut, out)
	}
	for _, want := range []string{
		`maintenance window web is on but does not take the alert: when:`,
		`policy: in maintenance window db-patch until 2026-03-02T02:00:00Z: acknowledged and recorded, no work item is created or reopened before it ends (on_end = drop)`,
		`flap: more than 2 fire/resolve transitions within 30m0s is flapping; quiet_period 30m0s`,
		`policy: flapping since 2026-03-01T21:02:00Z: transitions are recorded, not sent (suppressed)`,
		`storm: group ""; more than 20 new work items of the group within 5m0s join one parent work item instead of opening their own`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("route output lacks %q:\n%s", want, out)
		}
	}
	// Before the window.
	_, out, _ = runCLI(t, "route", "-config", cfg, "-at", "2026-03-01T21:00:00Z", "-store=false", alert)
	if !strings.Contains(out, "policy: in no maintenance window at 2026-03-01T21:00:00Z") || strings.Contains(out, "flapping since") {
		t.Errorf("route output before the window, without the store:\n%s", out)
	}
}

// TestRouteShowsFieldPolicy: the dry run shows which field policy
// applies to each field the route sends, the per-alert attributes it
// names, the default and wont_fix.
func TestRouteShowsFieldPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.hcl")
	alert := filepath.Join(dir, "alert.json")
	if err := os.WriteFile(cfg, []byte(`auth "none" {}
backend "file" "x" {}
route "r" {
  send_to = [backend.file.x]
  fields = {
    assignment_group  = "network"
    short_description = alert.rule
    priority          = 2
  }
  field_policy = {
    short_description = "always"
    priority          = "comment"
    title             = "never_after_human"
  }
  wont_fix { resolutions = ["Won't Fix", "Won't Do"] }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alert, []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"a1","alertRule":"cpu","monitorCondition":"Fired"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"route", "-config", cfg, alert}, &out, &errOut); code != 0 {
		t.Fatalf("route exited %d:\n%s%s", code, errOut.String(), out.String())
	}
	want := `    fields.assignment_group = "network"  (field_policy: create)
    fields.priority = 2  (field_policy: comment)
    fields.short_description = "cpu"  (field_policy: always)
    field_policy.title = never_after_human  (a per-alert attribute of the plugin, or a field this alert does not send)
    field_policy_default = create  (route fields field_policy does not name)
    wont_fix = ["Won't Fix", "Won't Do"]  (a re-fire inside the reopen window of an item resolved so comments instead of reopening)
`
	if !strings.Contains(out.String(), want) {
		t.Errorf("route output:\n%s\nwant:\n%s", out.String(), want)
	}
}
