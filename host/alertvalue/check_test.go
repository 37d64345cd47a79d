package alertvalue

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestCheckRefs checks single expressions against a scope: the reported
// reference, where it is in the source, and what stays accepted.
func TestCheckRefs(t *testing.T) {
	vars := map[string]cty.Type{
		"alert": Type(),
		"pair":  cty.Tuple([]cty.Type{cty.String, cty.Object(map[string]cty.Type{"id": cty.String})}),
		"tags":  cty.Set(cty.String),
		"any":   cty.DynamicPseudoType,
	}
	tests := []struct {
		expr    string
		summary string // "": valid
		detail  string // substring of the detail
		subject string // the source text the diagnostic points at
	}{
		{`alert.severity <= 1 && alert.sevrity == 2`, "Unsupported attribute", `alert.sevrity does not exist: alert has no attribute named "sevrity". Did you mean "severity"?`, "alert.sevrity"},
		{`true || alert.metric.dimensions.host.x == ""`, "Unsupported attribute", "alert.metric.dimensions.host is a string, which has no attributes.", "alert.metric.dimensions.host.x"},
		{`false ? alert["rulle"] : ""`, "Unsupported attribute", `alert["rulle"] does not exist`, `alert["rulle"]`},
		{`alert.targets[1.5]`, "Invalid index", "indexed by whole numbers from 0", "alert.targets[1.5]"},
		{`pair[2]`, "Invalid index", "pair has 2 elements", "pair[2]"},
		{`pair[1].name`, "Unsupported attribute", `pair[1].name does not exist: pair[1] has no attribute named "name"`, "pair[1].name"},
		{`tags[0]`, "Invalid index", "set of string, which cannot be indexed", "tags[0]"},
		{`(alert).rul`, "Unsupported attribute", `(alert).rul does not exist`, "(alert).rul"},
		{`[for ci in alert.configuration_items : [for t in alert.targets : "${t}${ci.nmae}"]]`, "Unsupported attribute", `ci.nmae does not exist: ci has no attribute named "nmae". Did you mean "name"?`, "ci.nmae"},
		{`[for ci in alert.configuration_items : [for ci in alert.targets : ci.name]]`, "Unsupported attribute", "ci is a string", "ci.name"},
		{`[for i, t in alert.targets : i.x]`, "Unsupported attribute", "i is a number", "i.x"},
		{`{for k, v in alert.custom_properties : k => v.x}`, "Unsupported attribute", "v is a string", "v.x"},
		{`alert.configuration_items[*].resource_id.x`, "Unsupported attribute", "alert.configuration_items[*].resource_id is a string", "alert.configuration_items[*].resource_id.x"},
		{`alert.configuration_items.name`, "Unsupported attribute", "Read one element's with alert.configuration_items[0].name, or every element's with alert.configuration_items[*].name.", "alert.configuration_items.name"},
		{`"${upper(alrt.rule)}"`, "Unknown variable", `There is no variable named "alrt". These expressions can read: alert, any, pair, tags.`, "alrt"},

		{`alert.custom_properties.team`, "", "", ""},
		{`alert.configuration_items["0"].name`, "", "", ""},
		{`pair[0] == pair[1].id`, "", "", ""},
		{`any.whatever[3]["x"].y`, "", "", ""},
		{`[for alert in alert.targets : alert]`, "", "", ""},
		{`[for k, v in alert : v.anything]`, "", "", ""},
		{`[for t in tags : t]`, "", "", ""},
		{`alert[any].anything`, "", "", ""},
		{`alert.metric.dimensions[alert.rule]`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr, diags := hclsyntax.ParseTemplate([]byte("${"+tt.expr+"}"), "test.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = CheckRefs(expr, vars)
			if tt.summary == "" {
				if len(diags) > 0 {
					t.Fatalf("want no diagnostics, got %s", diags.Error())
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %s", len(diags), diags.Error())
			}
			d := diags[0]
			if d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("got %q: %q\nwant %q: …%s…", d.Summary, d.Detail, tt.summary, tt.detail)
			}
			src := "${" + tt.expr + "}"
			if d.Subject == nil {
				t.Fatal("no subject range")
			}
			if got := src[d.Subject.Start.Byte:d.Subject.End.Byte]; got != tt.subject {
				t.Errorf("subject %q, want %q", got, tt.subject)
			}
		})
	}
}
