package route

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestPolicyOf(t *testing.T) {
	tests := []struct {
		name string
		rt   config.Route
		want Policy
	}{
		{"none", config.Route{}, Policy{}},
		{"field_policy alone defaults to create", config.Route{FieldPolicy: map[string]string{"priority": "comment"}},
			Policy{Fields: map[string]FieldPolicy{"priority": FieldComment}, Default: FieldCreate}},
		{"default alone", config.Route{FieldPolicyDefault: "always"}, Policy{Default: FieldAlways}},
		{"wont_fix alone", config.Route{WontFix: &config.WontFix{Resolutions: []string{"Won't Fix"}}}, Policy{WontFix: []string{"Won't Fix"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PolicyOf(&tt.rt); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PolicyOf = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestPolicyOfField(t *testing.T) {
	p := Policy{Fields: map[string]FieldPolicy{"priority": FieldComment, "title": FieldAlways}, Default: FieldCreate}
	tests := []struct {
		field      string
		routeField bool
		want       FieldPolicy
		ok         bool
	}{
		{"priority", true, FieldComment, true},
		{"urgency", true, FieldCreate, true},
		{"title", false, FieldAlways, true},
		{"body", false, "", false}, // a per-alert attribute field_policy does not name
	}
	for _, tt := range tests {
		if got, ok := p.Of(tt.field, tt.routeField); got != tt.want || ok != tt.ok {
			t.Errorf("Of(%q, %v) = %q, %v; want %q, %v", tt.field, tt.routeField, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := (Policy{}).Of("urgency", true); ok {
		t.Error("a route without a field policy governs its fields")
	}
	w := Policy{WontFix: []string{"Won't Fix", " Won't Do"}}
	for res, want := range map[string]bool{"won't fix": true, "Won't Do": true, "Done": false, "": false} {
		if got := w.IsWontFix(res); got != want {
			t.Errorf("IsWontFix(%q) = %v, want %v", res, got, want)
		}
	}
}

func TestCheckPolicies(t *testing.T) {
	const head = `
auth "none" {}
backend "servicenow" "prod" {}
backend "file" "local" {}
`
	applies := PluginFacts{Plugin: "servicenow", Capabilities: sdk.Capabilities{FieldPolicy: true, ReadStatus: true}}
	noRead := PluginFacts{Plugin: "servicenow", Capabilities: sdk.Capabilities{FieldPolicy: true}}
	file := PluginFacts{Plugin: "file", PerAlert: []string{"title"}}
	fileApplies := PluginFacts{Plugin: "file", PerAlert: []string{"title"}, Capabilities: sdk.Capabilities{FieldPolicy: true}}
	tests := []struct {
		name     string
		route    string
		backends map[string]PluginFacts
		err      string // part of the error; "" for none
		errLine  int
	}{
		{name: "route fields", route: `send_to = [backend.servicenow.prod]
  fields = { priority = "2", assignment_group = "Network" }
  field_policy = { priority = "comment", assignment_group = "never_after_human" }`,
			backends: map[string]PluginFacts{"servicenow.prod": applies}},
		{name: "unknown field names it", route: `send_to = [backend.servicenow.prod]
  fields = { priority = "2" }
  field_policy = { priority = "comment", priorty = "always" }`,
			backends: map[string]PluginFacts{"servicenow.prod": applies},
			err:      `field_policy.priorty of route "r" names no field the route sends: its fields are priority; its backends' plugins have no per-alert attributes. Did you mean "priority"?`, errLine: 8},
		{name: "per-alert attribute", route: `send_to = [backend.file.local]
  field_policy = { title = "always" }`,
			backends: map[string]PluginFacts{"file.local": fileApplies}},
		{name: "map fields: any name", route: `send_to = [backend.servicenow.prod]
  fields = merge({ a = "1" }, { for k, v in alert.custom_properties : k => v })
  field_policy = { anything = "always" }`,
			backends: map[string]PluginFacts{"servicenow.prod": applies}},
		{name: "plugin without the capability", route: `send_to = [backend.servicenow.prod, backend.file.local]
  fields = { priority = "2" }
  field_policy_default = "always"`,
			backends: map[string]PluginFacts{"servicenow.prod": applies, "file.local": file},
			err:      `backend.file.local's plugin "file" does not apply one`, errLine: 8},
		{name: "never_after_human without status reads", route: `send_to = [backend.servicenow.prod]
  fields = { assignee = "alice" }
  field_policy = { assignee = "never_after_human" }`,
			backends: map[string]PluginFacts{"servicenow.prod": noRead},
			err:      `Route "r" gives a field the policy "never_after_human", which needs the field's current value in the tool`, errLine: 8},
		{name: "wont_fix without status reads", route: `send_to = [backend.servicenow.prod]
  wont_fix { resolutions = ["Won't Fix"] }`,
			backends: map[string]PluginFacts{"servicenow.prod": noRead},
			err:      `Route "r" sets wont_fix, which needs the resolution a person gave a work item`, errLine: 7},
		{name: "wont_fix with status reads", route: `send_to = [backend.servicenow.prod]
  wont_fix { resolutions = ["Won't Fix"] }`,
			backends: map[string]PluginFacts{"servicenow.prod": applies}},
		{name: "no field policy, no check", route: `send_to = [backend.file.local]
  fields = { priority = "2" }`,
			backends: map[string]PluginFacts{"file.local": file}},
		{name: "a backend whose plugin did not start is skipped", route: `send_to = [backend.file.local]
  field_policy = { priority = "always" }`,
			backends: map[string]PluginFacts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := head + "route \"r\" {\n  " + tt.route + "\n}\n"
			c, diags := config.Load([]byte(src), "inline.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			r, diags := Compile(c.Routes, map[string]bool{"servicenow.prod": true, "file.local": true})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = r.CheckPolicies(c, tt.backends)
			if tt.err == "" {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics: %v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != hcl.DiagError || !strings.Contains(diags[0].Detail, tt.err) {
				t.Fatalf("want one error containing %q, got %v", tt.err, diags)
			}
			if s := diags[0].Subject; s == nil || s.Start.Line != tt.errLine {
				t.Errorf("error points at %v, want line %d", s, tt.errLine)
			}
		})
	}
}

func TestDeliveryCarriesPolicy(t *testing.T) {
	const src = `
auth "none" {}
backend "servicenow" "prod" {}
route "r" {
  send_to = [backend.servicenow.prod]
  fields = { priority = "2" }
  field_policy = { priority = "comment" }
  wont_fix { resolutions = ["Won't Fix"] }
}
`
	c, diags := config.Load([]byte(src), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	r, diags := Compile(c.Routes, map[string]bool{"servicenow.prod": true})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	d, _ := r.Route(&sdk.Alert{ID: "a", Condition: sdk.ConditionFired})
	want := Policy{Fields: map[string]FieldPolicy{"priority": FieldComment}, Default: FieldCreate, WontFix: []string{"Won't Fix"}}
	if len(d.Deliveries) != 1 || !reflect.DeepEqual(d.Deliveries[0].Policy, want) {
		t.Errorf("deliveries = %+v, want one with policy %+v", d.Deliveries, want)
	}
}
