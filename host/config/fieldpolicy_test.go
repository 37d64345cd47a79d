package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestFieldPolicy(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name    string
		attrs   string
		policy  map[string]string
		def     string
		has     bool
		err     string // part of the error text; "" for none
		errLine int    // the line the error points at (the route block starts at 4)
	}{
		{name: "none", has: false},
		{name: "map", attrs: `field_policy = { assignment_group = "create", short_description = "always", priority = "comment", urgency = "never_after_human" }`,
			policy: map[string]string{"assignment_group": "create", "short_description": "always", "priority": "comment", "urgency": "never_after_human"}, has: true},
		{name: "default alone", attrs: `field_policy_default = "always"`, def: "always", has: true},
		{name: "unknown policy names the field", attrs: "field_policy = {\n    priority = \"sometimes\"\n  }",
			err: `field_policy.priority = "sometimes" in route "r" is not a policy; use "create", "always", "comment" or "never_after_human"`, errLine: 7},
		{name: "unknown default", attrs: `field_policy_default = "once"`, err: `field_policy_default = "once" in route "r" is not a policy`, errLine: 6},
		{name: "empty default", attrs: `field_policy_default = ""`, err: `field_policy_default = "" in route "r" is not a policy`, errLine: 6},
		{name: "not a map", attrs: `field_policy = "always"`, err: "Unsuitable value type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := rest + "route \"r\" {\n  send_to = [backend.file.a]\n  " + tc.attrs + "\n}\n"
			c, diags := Load([]byte(src), "inline.hcl")
			text := diagText(c, diags)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				if tc.errLine != 0 {
					for _, d := range diags {
						if d.Severity == hcl.DiagError && (d.Subject == nil || d.Subject.Start.Line != tc.errLine) {
							t.Errorf("error points at %v, want line %d", d.Subject, tc.errLine)
						}
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", text)
			}
			r := c.Routes[0]
			if !reflect.DeepEqual(r.FieldPolicy, tc.policy) || r.FieldPolicyDefault != tc.def || r.HasFieldPolicy() != tc.has {
				t.Errorf("field_policy = %v, default %q, has %v; want %v, %q, %v", r.FieldPolicy, r.FieldPolicyDefault, r.HasFieldPolicy(), tc.policy, tc.def, tc.has)
			}
		})
	}
}

func TestWontFix(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name  string
		block string
		want  []string // nil: no block
		err   string
	}{
		{"absent", "", nil, ""},
		{"resolutions", `wont_fix { resolutions = ["Won't Fix", "Won't Do"] }`, []string{"Won't Fix", "Won't Do"}, ""},
		{"empty list", `wont_fix { resolutions = [] }`, nil, `wont_fix of route "r" lists no resolutions`},
		{"empty entry", `wont_fix { resolutions = ["Won't Fix", " "] }`, nil, `wont_fix.resolutions[1] of route "r" is empty`},
		{"missing resolutions", `wont_fix {}`, nil, `The argument "resolutions" is required`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := rest + "route \"r\" {\n  send_to = [backend.file.a]\n  " + tc.block + "\n}\n"
			c, diags := Load([]byte(src), "inline.hcl")
			text := diagText(c, diags)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", text)
			}
			var got []string
			if w := c.Routes[0].WontFix; w != nil {
				got = w.Resolutions
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("wont_fix resolutions = %q, want %q", got, tc.want)
			}
		})
	}
}
