package route

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

// compileFile loads a configuration and compiles its routes, returning the
// error diagnostics of both steps.
func compileFile(t testing.TB, path string) (*Router, *config.Config, hcl.Diagnostics) {
	t.Helper()
	c, diags := config.LoadFile(path)
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if diags.HasErrors() {
		return nil, c, errs
	}
	known := map[string]bool{}
	for _, b := range c.Backends {
		known[b.Ref()] = true
	}
	r, d := Compile(c.Routes, known)
	return r, c, append(errs, d...)
}

func mustCompile(t testing.TB, path string) *Router {
	t.Helper()
	r, c, diags := compileFile(t, path)
	if len(diags) > 0 {
		var buf bytes.Buffer
		_ = config.WriteDiagnostics(&buf, c.Files, diags, false)
		t.Fatalf("unexpected diagnostics:\n%s", buf.String())
	}
	return r
}

func sev(n int) *int { return &n }

func TestRoute(t *testing.T) {
	r := mustCompile(t, "testdata/routes.hcl")
	vm1 := sdk.ConfigurationItem{Name: "vm1", ResourceID: "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM1"}
	vm2 := sdk.ConfigurationItem{Name: "vm2"}
	audit := func(id string, cis ...sdk.ConfigurationItem) Delivery {
		return Delivery{Route: "audit", Backend: "file.audit", CorrelationKey: id, ConfigurationItems: cis, ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord}
	}
	tests := []struct {
		name    string
		alert   sdk.Alert
		want    []Delivery
		skipped map[string]string // route → substring of its error
	}{
		{
			name: "critical prod alert goes to servicenow with rendered fields and stops",
			alert: sdk.Alert{ID: "a1", Rule: "cpu", RuleID: "/rules/cpu", Severity: sev(0), SeverityLabel: "Sev0", SignalType: "Metric",
				ResourceGroup: "prod-web", ResourceName: "vm1", Condition: sdk.ConditionFired,
				CustomProperties: map[string]string{"team": "web"}, ConfigurationItems: []sdk.ConfigurationItem{vm1}},
			want: []Delivery{
				audit("a1", vm1),
				{Route: "prod-critical", Backend: "servicenow.prod", CorrelationKey: "cpu|vm1", ReopenWindow: 2 * time.Hour, OnResolvedWithoutItem: ResolvedCreateAndResolve,
					ConfigurationItems: []sdk.ConfigurationItem{vm1},
					Fields: map[string]any{
						"short_description": "[Sev0] cpu on vm1",
						"urgency":           float64(1),
						"impact":            float64(2),
						"tags":              []any{"azure", "metric"},
						"team":              "web",
						"details":           map[string]any{"rule_id": "/rules/cpu", "stateless": false},
					}},
			},
		},
		{
			name:  "missing custom property renders as null through try",
			alert: sdk.Alert{ID: "a2", Rule: "cpu", Severity: sev(1), SeverityLabel: "Sev1", SignalType: "Metric", ResourceGroup: "prod-x", ResourceName: "vm"},
			want: []Delivery{
				audit("a2"),
				{Route: "prod-critical", Backend: "servicenow.prod", CorrelationKey: "cpu|vm", ReopenWindow: 2 * time.Hour, OnResolvedWithoutItem: ResolvedCreateAndResolve,
					Fields: map[string]any{
						"short_description": "[Sev1] cpu on vm", "urgency": float64(2), "impact": float64(2),
						"tags": []any{"azure", "metric"}, "team": nil,
						"details": map[string]any{"rule_id": "", "stateless": false},
					}},
			},
		},
		{
			name:  "low severity falls through to the catch-all",
			alert: sdk.Alert{ID: "a3", Severity: sev(3), ResourceGroup: "prod-web", Condition: sdk.ConditionFired},
			want: []Delivery{audit("a3"),
				{Route: "everything-else", Backend: "jira.ops", CorrelationKey: "a3", ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord}},
		},
		{
			name:  "null severity makes prod-critical's when fail: skipped, not matched",
			alert: sdk.Alert{ID: "budget", SignalType: "Budget", ResourceGroup: "prod-costs", Condition: sdk.ConditionFired},
			want: []Delivery{audit("budget"),
				{Route: "everything-else", Backend: "jira.ops", CorrelationKey: "budget", ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord}},
			skipped: map[string]string{"prod-critical": "when: testdata/routes.hcl:14"},
		},
		{
			name:  "a missing map key makes per-vm's when fail: skipped",
			alert: sdk.Alert{ID: "log0", Severity: sev(2), SignalType: "Log"},
			want: []Delivery{audit("log0"),
				{Route: "everything-else", Backend: "jira.ops", CorrelationKey: "log0", ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord}},
			skipped: map[string]string{"per-vm": "Invalid index"},
		},
		{
			name: "per_ci fans out one delivery per configuration item",
			alert: sdk.Alert{ID: "log1", Severity: sev(2), SignalType: "Log", CustomProperties: map[string]string{"fanout": "yes"},
				ConfigurationItems: []sdk.ConfigurationItem{vm1, vm2, vm2}},
			want: []Delivery{audit("log1", vm1, vm2, vm2),
				{Route: "per-vm", Backend: "jira.ops", CorrelationKey: "log1|/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1",
					ConfigurationItems: []sdk.ConfigurationItem{vm1}, ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord},
				{Route: "per-vm", Backend: "jira.ops", CorrelationKey: "log1|vm2",
					ConfigurationItems: []sdk.ConfigurationItem{vm2}, ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord},
			},
		},
		{
			name:  "per_ci without configuration items keeps one delivery",
			alert: sdk.Alert{ID: "log2", Severity: sev(2), SignalType: "Log", CustomProperties: map[string]string{"fanout": "yes"}},
			want: []Delivery{audit("log2"),
				{Route: "per-vm", Backend: "jira.ops", CorrelationKey: "log2", ReopenWindow: 24 * time.Hour, OnResolvedWithoutItem: ResolvedRecord}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := r.Route(&tc.alert)
			if err != nil {
				t.Fatal(err)
			}
			if d.Unmatched != "" {
				t.Errorf("Unmatched = %q, want empty", d.Unmatched)
			}
			if !reflect.DeepEqual(d.Deliveries, tc.want) {
				t.Errorf("deliveries:\n got %#v\nwant %#v", d.Deliveries, tc.want)
			}
			e, err := r.Explain(&tc.alert)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Decision, d) {
				t.Errorf("Explain's decision differs from Route's")
			}
			for _, res := range e.Routes {
				want, skip := tc.skipped[res.Route]
				if skip != (res.Error != "") || !strings.Contains(res.Error, want) {
					t.Errorf("route %q error = %q, want containing %q", res.Route, res.Error, want)
				}
			}
		})
	}
}

func TestRouteFirstMatchWins(t *testing.T) {
	r := mustCompile(t, "testdata/routes.hcl")
	e, _ := r.Explain(&sdk.Alert{ID: "x", Severity: sev(0), ResourceGroup: "prod-a"})
	var names []string
	for _, res := range e.Routes {
		names = append(names, res.Route)
	}
	// audit continues; prod-critical matches and stops evaluation.
	if want := []string{"audit", "prod-critical"}; !reflect.DeepEqual(names, want) {
		t.Errorf("evaluated routes = %v, want %v", names, want)
	}
}

// TestResolvedPolicyDefault: a route built in code without
// on_resolved_without_item records only, like a route that leaves it out of
// connector.hcl.
func TestResolvedPolicyDefault(t *testing.T) {
	routes := []*config.Route{
		{Name: "code", SendTo: []config.BackendRef{{Type: "file", Name: "a"}}, Continue: true},
		{Name: "explicit", SendTo: []config.BackendRef{{Type: "file", Name: "b"}}, OnResolvedWithoutItem: config.OnResolvedCreateAndResolve},
	}
	r, diags := Compile(routes, map[string]bool{"file.a": true, "file.b": true})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	d, err := r.Route(&sdk.Alert{ID: "a"})
	if err != nil || len(d.Deliveries) != 2 {
		t.Fatalf("Route = %+v, %v; want two deliveries", d, err)
	}
	if got := d.Deliveries[0].OnResolvedWithoutItem; got != ResolvedRecord {
		t.Errorf("route without the setting: %q, want %q", got, ResolvedRecord)
	}
	if got := d.Deliveries[1].OnResolvedWithoutItem; got != ResolvedCreateAndResolve {
		t.Errorf("route with create_and_resolve: %q, want %q", got, ResolvedCreateAndResolve)
	}
}

func TestRouteUnmatched(t *testing.T) {
	src := `
auth "none" {}
backend "file" "a" {}
route "critical" {
  when    = alert.severity == 0
  send_to = [backend.file.a]
}
route "by-team" {
  when    = alert.custom_properties["team"] == "db"
  send_to = [backend.file.a]
}
route "empty-key" {
  correlation_key = alert.rule
  send_to         = [backend.file.a]
}
route "nul-key" {
  correlation_key = base64decode("YQBi")
  send_to         = [backend.file.a]
}
`
	c, diags := config.Load([]byte(src), "unmatched.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r, diags := Compile(c.Routes, map[string]bool{"file.a": true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d, err := r.Route(&sdk.Alert{ID: "a", Severity: sev(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Deliveries) != 0 {
		t.Fatalf("want no deliveries, got %v", d.Deliveries)
	}
	for _, want := range []string{`"critical" (when is false)`, `"by-team" (when: unmatched.hcl:9`, `"empty-key" (correlation_key: the key is empty)`,
		`"nul-key" (correlation_key: the key contains a NUL character (\u0000), which cannot be stored)`} {
		if !strings.Contains(d.Unmatched, want) {
			t.Errorf("Unmatched = %q, want it to contain %q", d.Unmatched, want)
		}
	}

	empty, _ := Compile(nil, nil)
	d, _ = empty.Route(&sdk.Alert{ID: "a"})
	if !strings.Contains(d.Unmatched, "no routes are configured") {
		t.Errorf("Unmatched = %q", d.Unmatched)
	}
	if _, err := empty.Route(nil); err == nil {
		t.Error("Route(nil) must fail")
	}
}

// TestCompileDiagnosticsGolden checks the printed diagnostics (file, line,
// snippet, detail) for each testdata/diags/*.hcl. Run with -update to
// rewrite the golden files.
func TestCompileDiagnosticsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diags/*.hcl")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hcl"), func(t *testing.T) {
			_, c, diags := compileFile(t, f)
			if len(diags) == 0 {
				t.Fatal("want diagnostics, got none")
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
			}
			var buf bytes.Buffer
			if err := config.WriteDiagnostics(&buf, c.Files, diags, false); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".hcl")+".golden", buf.Bytes())
		})
	}
}

// TestExampleConfig loads the annotated reference configuration at the
// repository root and compiles its routes: it must stay valid.
func TestExampleConfig(t *testing.T) {
	// Backend config bodies are decoded later against the plugin's schema;
	// the env var is set so that step would succeed too.
	t.Setenv("SNOW_USERNAME", "itsm-connector")
	r, c, diags := compileFile(t, "../../connector.hcl.example")
	if len(diags) > 0 {
		var buf bytes.Buffer
		_ = config.WriteDiagnostics(&buf, c.Files, diags, false)
		t.Fatalf("connector.hcl.example:\n%s", buf.String())
	}
	d, err := r.Route(&sdk.Alert{ID: "a", Rule: "cpu", Severity: sev(1), SeverityLabel: "Sev1",
		ResourceGroup: "prod-web", ResourceName: "vm1", Condition: sdk.ConditionFired})
	if err != nil || len(d.Deliveries) == 0 {
		t.Fatalf("example routes do not take a Sev1 prod alert: %+v, %v", d, err)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestRouteConcurrent routes from several goroutines at once; run with
// -race. A Router is shared by every webhook request.
func TestRouteConcurrent(t *testing.T) {
	r := mustCompile(t, "testdata/routes.hcl")
	want, _ := r.Route(&sdk.Alert{ID: "c", Severity: sev(0), ResourceGroup: "prod-a", Rule: "r"})
	done := make(chan error)
	for range 4 {
		go func() {
			for range 50 {
				got, err := r.Route(&sdk.Alert{ID: "c", Severity: sev(0), ResourceGroup: "prod-a", Rule: "r"})
				if err == nil && !reflect.DeepEqual(got, want) {
					err = fmt.Errorf("decision differs: %+v", got)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestPerCIManyConfigurationItems: an alert with 20,000 configuration
// items on a per_ci route used to become 20,000 work items in one ingest
// transaction, holding the single writer for tens of seconds while other
// alerts waited. The route now gives the first max_configuration_items
// (default 100) their own work item and one more covers the rest, with a
// note saying so.
func TestPerCIManyConfigurationItems(t *testing.T) {
	r, diags := Compile([]*config.Route{{Name: "per-vm", SendTo: []config.BackendRef{{Type: "file", Name: "a"}}, PerCI: true}},
		map[string]bool{"file.a": true})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	a := &sdk.Alert{ID: "big"}
	for i := range 20000 {
		a.ConfigurationItems = append(a.ConfigurationItems, sdk.ConfigurationItem{Name: fmt.Sprintf("vm-%05d", i)})
	}
	e, err := r.Explain(a)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decision.Deliveries
	if want := config.DefaultMaxConfigurationItems + 1; len(d) != want {
		t.Fatalf("%d deliveries, want %d", len(d), want)
	}
	for i, del := range d[:len(d)-1] {
		if want := fmt.Sprintf("big|vm-%05d", i); del.CorrelationKey != want || len(del.ConfigurationItems) != 1 || del.Note != "" {
			t.Fatalf("delivery %d: key %q, %d CIs, note %q; want key %q, one CI, no note", i, del.CorrelationKey, len(del.ConfigurationItems), del.Note, want)
		}
	}
	rest := d[len(d)-1]
	if rest.CorrelationKey != "big|"+PerCIRest || len(rest.ConfigurationItems) != 19900 || rest.ConfigurationItems[0].Name != "vm-00100" {
		t.Errorf("last delivery: key %q, %d CIs from %v; want key %q covering the 19900 from vm-00100", rest.CorrelationKey, len(rest.ConfigurationItems), rest.ConfigurationItems[0], "big|"+PerCIRest)
	}
	if want := `the alert has 20000 configuration items, more than route "per-vm"'s max_configuration_items (100): this work item covers the 19900 after the first 100`; rest.Note != want {
		t.Errorf("note = %q\nwant %q", rest.Note, want)
	}
}

func TestPerCISlots(t *testing.T) {
	ci := func(name, id string) sdk.ConfigurationItem { return sdk.ConfigurationItem{Name: name, ResourceID: id} }
	a, b, c, d := ci("a", ""), ci("b", "/S/VM/B"), ci("c", ""), ci("d", "")
	type slot struct {
		Key  string
		CIs  []sdk.ConfigurationItem
		Note string
	}
	tests := []struct {
		name string
		cis  []sdk.ConfigurationItem
		max  int
		want []slot
	}{
		{"under the cap", []sdk.ConfigurationItem{a, b}, 3,
			[]slot{{"k|a", []sdk.ConfigurationItem{a}, ""}, {"k|/s/vm/b", []sdk.ConfigurationItem{b}, ""}}},
		{"exactly the cap", []sdk.ConfigurationItem{a, b, c}, 3,
			[]slot{{"k|a", []sdk.ConfigurationItem{a}, ""}, {"k|/s/vm/b", []sdk.ConfigurationItem{b}, ""}, {"k|c", []sdk.ConfigurationItem{c}, ""}}},
		{"duplicates count once, before the cap", []sdk.ConfigurationItem{a, a, ci("A", ""), b, b}, 2,
			[]slot{{"k|a", []sdk.ConfigurationItem{a}, ""}, {"k|/s/vm/b", []sdk.ConfigurationItem{b}, ""}}},
		{"over the cap: one more covers the rest", []sdk.ConfigurationItem{a, b, c, d}, 2,
			[]slot{{"k|a", []sdk.ConfigurationItem{a}, ""}, {"k|/s/vm/b", []sdk.ConfigurationItem{b}, ""},
				{"k|OTHERS", []sdk.ConfigurationItem{c, d}, `the alert has 4 configuration items, more than route "r"'s max_configuration_items (2): this work item covers the 2 after the first 2`}}},
		{"duplicates in the rest count once", []sdk.ConfigurationItem{a, b, c, b, c, a}, 1,
			[]slot{{"k|a", []sdk.ConfigurationItem{a}, ""},
				{"k|OTHERS", []sdk.ConfigurationItem{b, c}, `the alert has 3 configuration items, more than route "r"'s max_configuration_items (1): this work item covers the 2 after the first 1`}}},
		{"a CI named like the rest keeps its own lower-case key", []sdk.ConfigurationItem{ci("OTHERS", ""), a}, 1,
			[]slot{{"k|others", []sdk.ConfigurationItem{ci("OTHERS", "")}, ""},
				{"k|OTHERS", []sdk.ConfigurationItem{a}, `the alert has 2 configuration items, more than route "r"'s max_configuration_items (1): this work item covers the 1 after the first 1`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []slot
			for _, s := range perCISlots("r", "k", tt.cis, tt.max) {
				got = append(got, slot{s.key, s.cis, s.note})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("slots:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
