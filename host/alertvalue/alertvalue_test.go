package alertvalue

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
)

func TestValueConformsToType(t *testing.T) {
	sev := 1
	v := 42.5
	tests := map[string]*sdk.Alert{
		"empty": {},
		"full": {
			ID: "a1", Rule: "cpu", Severity: &sev, SeverityLabel: "Sev1", Condition: sdk.ConditionFired,
			Targets:            []string{"/subscriptions/s/resourceGroups/rg/providers/p/t/n"},
			ConfigurationItems: []sdk.ConfigurationItem{{Name: "n", ResourceID: "/subscriptions/s"}},
			FiredAt:            time.Date(2025, 4, 15, 18, 17, 12, 0, time.UTC),
			CustomProperties:   map[string]string{"k": "v"},
			Metric:             &sdk.MetricSummary{Name: "Percentage CPU", Value: &v, Dimensions: map[string]string{"a": "b"}},
		},
	}
	for name, a := range tests {
		t.Run(name, func(t *testing.T) {
			val := Value(a)
			if !val.Type().Equals(Type()) {
				t.Fatalf("value type %#v does not equal Type() %#v", val.Type(), Type())
			}
		})
	}
}

func TestValueContents(t *testing.T) {
	sev := 0
	a := &sdk.Alert{ID: "x", Severity: &sev, Condition: sdk.ConditionResolved}
	val := Value(a)
	if got := val.GetAttr("severity"); !got.RawEquals(cty.NumberIntVal(0)) {
		t.Errorf("severity = %#v", got)
	}
	if got := val.GetAttr("condition"); !got.RawEquals(cty.StringVal("resolved")) {
		t.Errorf("condition = %#v", got)
	}
	if got := val.GetAttr("resolved_at"); !got.IsNull() {
		t.Errorf("resolved_at = %#v, want null", got)
	}
	if got := val.GetAttr("metric"); !got.IsNull() {
		t.Errorf("metric = %#v, want null", got)
	}
	if Type().HasAttribute("context") {
		t.Errorf("raw context must not be reachable from expressions")
	}
}

func TestFieldsListsNestedPaths(t *testing.T) {
	want := map[string]string{"id": "string", "severity": "number", "targets": "list(string)", "metric.dimensions": "map(string)", "resource.name": "string"}
	got := map[string]string{}
	for _, f := range Fields() {
		got[f.Path] = f.Type
	}
	for p, ty := range want {
		if got[p] != ty {
			t.Errorf("field %s: type %q, want %q", p, got[p], ty)
		}
	}
}

func TestProjection(t *testing.T) {
	sev := 2
	a := &sdk.Alert{ID: "x", Rule: "cpu", Severity: &sev, CustomProperties: map[string]string{"team": "db"}}
	tests := []struct {
		name  string
		exprs []string
		want  []string // attributes of the projected object; nil: the whole object
	}{
		{"attributes", []string{`alert.rule == "cpu"`, `"${alert.severity}-${alert.id}"`}, []string{"id", "rule", "severity"}},
		{"nested and indexed", []string{`alert.custom_properties["team"]`, `alert["rule"]`}, []string{"custom_properties", "rule"}},
		{"no alert reference", []string{`"static"`, `upper("x")`}, []string{}},
		{"the whole alert", []string{`alert.rule`, `jsonencode(alert)`}, nil},
		{"for over the alert", []string{`[for k, v in alert : k]`}, nil},
		{"computed index", []string{`alert[lower("RULE")]`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refs []hcl.Traversal
			for _, src := range tt.exprs {
				expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				refs = append(refs, expr.Variables()...)
			}
			val := ProjectionFor(refs).Value(a)
			if tt.want == nil {
				if !val.Type().Equals(Type()) {
					t.Fatalf("projection is %#v, want the whole alert", val.Type())
				}
				return
			}
			var got []string
			for name := range val.Type().AttributeTypes() {
				got = append(got, name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("projected attributes %v, want %v", got, tt.want)
			}
			for _, name := range got {
				if whole := Value(a).GetAttr(name); !val.GetAttr(name).RawEquals(whole) {
					t.Errorf("alert.%s = %#v, want %#v as in the whole object", name, val.GetAttr(name), whole)
				}
			}
		})
	}
}
