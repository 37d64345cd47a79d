package route

import (
	"bytes"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/config"
)

// TestCompileChecksEveryAlertReference compiles one route per expression
// shape. A misspelt field must be reported wherever it sits, including the
// parts an evaluation against an unknown alert skips (the right side of
// && and ||, the branches of ?:, for expressions), and valid references
// must stay accepted.
func TestCompileChecksEveryAlertReference(t *testing.T) {
	tests := []struct {
		name string
		attr string // when, correlation_key or fields
		expr string
		want []string // substrings of the printed diagnostics; nil: valid
	}{
		{"typo after &&", "when", `alert.severity <= 1 && startswith(alert.resourcegroup, "prod-")`,
			[]string{"Unsupported attribute", "line 6", `startswith(alert.resourcegroup, "prod-")`, `alert.resourcegroup does not exist`, `Did you mean "resource_group"?`}},
		{"typo after ||", "when", `alert.severity <= 1 || alert.sevrity == 2`,
			[]string{"Unsupported attribute", `alert.sevrity does not exist`, `Did you mean "severity"?`, "docs/alert-fields.md"}},
		{"typo before ||", "when", `alert.sevrity == 2 || alert.severity <= 1`,
			[]string{`alert.sevrity does not exist`}},
		{"typo in the true branch", "when", `alert.severity == 0 ? alert.rulle == "x" : false`,
			[]string{`alert.rulle does not exist`, `Did you mean "rule"?`}},
		{"typo in the false branch of a nested conditional", "when", `alert.severity == 0 ? true : (alert.severity == 1 ? alert.signal_type == "Metric" : alert.condtion == "Fired")`,
			[]string{`alert.condtion does not exist`, `Did you mean "condition"?`}},
		{"typo in a function argument", "when", `alert.severity <= 1 && contains(alert.targts, "x")`,
			[]string{`alert.targts does not exist`, `Did you mean "targets"?`}},
		{"typo in a template", "correlation_key", `"${alert.rule}|${alert.rulee}"`,
			[]string{`alert.rulee does not exist`, `Did you mean "rule"?`}},
		{"typo in a field value", "fields", `{ title = alert.severity == 0 ? "P1" : alert.severity_lable }`,
			[]string{`alert.severity_lable does not exist`, `Did you mean "severity_label"?`}},
		{"typo behind a literal index", "when", `alert.severity <= 1 && alert["sevrity"] == 1`,
			[]string{`alert["sevrity"] does not exist`, `Did you mean "severity"?`}},
		{"typo in a nested object", "when", `alert.severity <= 1 && alert.metric.nmae == "cpu"`,
			[]string{`alert.metric.nmae does not exist`, `alert.metric has no attribute named "nmae"`, `Did you mean "name"?`}},
		{"field at the wrong depth", "when", `alert.severity <= 1 || alert.dimensions["host"] == "x"`,
			[]string{`alert.dimensions does not exist`, `Did you mean alert.metric.dimensions?`}},
		{"collection of a for expression", "fields", `{ cis = [for ci in alert.configuration_itmes : ci.name] }`,
			[]string{`alert.configuration_itmes does not exist`, `Did you mean "configuration_items"?`}},
		{"attribute of a for iterator", "fields", `{ cis = [for ci in alert.configuration_items : ci.nmae] }`,
			[]string{`ci.nmae does not exist`, `Did you mean "name"?`}},
		{"attribute of a splat", "fields", `{ cis = alert.configuration_items[*].resource_di }`,
			[]string{`alert.configuration_items[*].resource_di does not exist`, `Did you mean "resource_id"?`}},
		{"attribute of a list", "when", `alert.severity <= 1 && alert.configuration_items.name == "x"`,
			[]string{`alert.configuration_items.name does not exist`, "list of object"}},
		{"string index on a list", "when", `alert.severity <= 1 || alert.targets["first"] == "x"`,
			[]string{"Invalid index", `alert.targets["first"]`}},
		{"index on a string", "when", `alert.severity <= 1 || alert.rule[0] == "x"`,
			[]string{"Invalid index", "alert.rule[0]"}},
		{"unknown variable after &&", "when", `alert.severity <= 1 && alret.rule == "x"`,
			[]string{"Unknown variable", `There is no variable named "alret". These expressions can read: alert.`}},

		{"valid: the issue's expressions, spelt right", "when", `alert.severity <= 1 && startswith(alert.resource_group, "prod-") || alert.severity == 0 ? alert.rule == "x" : false`, nil},
		{"valid: map by attribute and by key", "when", `alert.custom_properties.team == "db" || alert.custom_properties["on-call"] == "x"`, nil},
		{"valid: nested map", "when", `alert.severity <= 1 && alert.metric.dimensions["host"] == "vm1"`, nil},
		{"valid: list index", "correlation_key", `"${alert.targets[0]}|${alert.configuration_items[0].resource_id}"`, nil},
		{"valid: for over a list and a map", "fields", `{ cis = [for i, ci in alert.configuration_items : "${i}:${ci.name}" if ci.resource_id != ""], props = {for k, v in alert.custom_properties : upper(k) => v} }`, nil},
		{"valid: for iterator named like alert", "fields", `{ ids = [for alert in alert.targets : lower(alert)] }`, nil},
		{"valid: splat", "fields", `{ names = alert.configuration_items[*].name }`, nil},
		{"valid: try and can", "when", `try(alert.custom_properties["tier"], "") == "gold" || can(alert.metric.value)`, nil},
		{"valid: computed index", "when", `alert[lower("RULE")] == "cpu" || alert.custom_properties[alert.rule] == "x"`, nil},
		{"valid: the whole alert", "fields", `{ raw = jsonencode(alert) }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "auth \"none\" {}\nbackend \"file\" \"local\" {}\n\nroute \"r\" {\n  send_to = [backend.file.local]\n  " + tt.attr + " = " + tt.expr + "\n}\n"
			c, diags := config.Load([]byte(src), "connector.hcl")
			if !diags.HasErrors() {
				_, d := Compile(c.Routes, map[string]bool{"file.local": true})
				diags = append(diags, d...)
			}
			var buf bytes.Buffer
			_ = config.WriteDiagnostics(&buf, c.Files, diags, false)
			out := buf.String()
			if tt.want == nil {
				if diags.HasErrors() {
					t.Fatalf("want no errors, got:\n%s", out)
				}
				return
			}
			if !diags.HasErrors() {
				t.Fatalf("want an error, got none for %s", tt.expr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, out)
				}
			}
			if n := len(diags.Errs()); n != 1 {
				t.Errorf("got %d errors, want exactly 1:\n%s", n, out)
			}
		})
	}
}
