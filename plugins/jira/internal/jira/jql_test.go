package jira

import (
	"context"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestJQLString: every string becomes one JQL string literal that Jira's
// grammar reads back as the same string: nothing in it ends the literal,
// and nothing in it is a character the grammar refuses inside quotes.
func TestJQLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"itsm-0123abcd", `"itsm-0123abcd"`},
		{"", `""`},
		{`x" OR labels = "y`, `"x\" OR labels = \"y"`},
		{`x' OR labels = 'y`, `"x' OR labels = 'y"`},
		{`trailing\`, `"trailing\\"`},
		{`\"`, `"\\\""`},
		{`\u0022 stays text`, `"\\u0022 stays text"`},
		{"line\nbreak\r\n", `"line\nbreak\r\n"`},
		{"tab\there", `"tab\there"`},
		{"nul\x00 bel\x07 esc\x1b", `"nul\u0000 bel\u0007 esc\u001b"`},
		{"del\x7f c1\u0085\u009f", `"del\u007f c1\u0085\u009f"`},
		{"non\ufdd0\ufdef\ufffe\uffff", `"non\ufdd0\ufdef\ufffe\uffff"`},
		{"AND OR NOT EMPTY NULL ORDER BY created", `"AND OR NOT EMPTY NULL ORDER BY created"`},
		{`( ) , = != ~ ! [ ] { } * ? ^ | & + - : ; / % @ #`, `"( ) , = != ~ ! [ ] { } * ? ^ | & + - : ; / % @ #"`},
		{"émoji 🚨 ﬁ \u2028", "\"émoji 🚨 ﬁ \u2028\""},
	}
	for _, tc := range tests {
		if got := jqlString(tc.in); got != tc.want {
			t.Errorf("jqlString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestCorrelationFieldHostileKeys: with correlation.field the key itself
// is in the search's JQL. Keys that try to end the string, add clauses,
// or carry characters JQL refuses inside quotes are searched as they are:
// a restarted process (no memory of its creates) finds each issue through
// the search, and only it.
func TestCorrelationFieldHostileKeys(t *testing.T) {
	keys := []string{
		`x" OR labels is not EMPTY OR summary ~ "y`,
		`x\" OR project = OPS OR key = "y`,
		`ends with a backslash\`,
		`\u0022 OR \u0022`,
		"tab\tin the key",
		"nul\x00 del\x7f c1\u0085",
		"non-character \ufdd0",
		`reserved ( ) , = ~ ! [ ] { } * ? ^ | & + - : ORDER BY created`,
	}
	forFlavors(t, func(t *testing.T, flavor string) {
		withField := func(cfg map[string]any) { cfg["correlation"] = map[string]any{"field": "Alert correlation key"} }
		e := newEnv(t, flavor, nil, withField)
		created := map[string]string{}
		for _, k := range keys {
			created[k] = e.create(k, alert()).ID
		}
		cfg := baseConfig(flavor, e.fake.URL)
		withField(cfg)
		restarted := e.newPlugin(cfg)
		for _, k := range keys {
			found, err := restarted.Lookup(context.Background(), e.request(k, alert(), nil))
			if err != nil || found == nil || found.ID != created[k] {
				t.Errorf("Lookup(%q) = %+v, %v; want %s", k, found, err, created[k])
			}
		}
		for _, r := range e.fake.Requests() {
			if strings.Contains(r.Path, "/search") && r.Status != 200 {
				t.Errorf("search %s answered %d", r.Body, r.Status)
			}
		}
	})
}

// TestCorrelationFieldMustBeCustom: the field's id is written into the JQL
// as cf[<number>]; a system field (Summary, a string too) is refused
// before anything is created or searched.
func TestCorrelationFieldMustBeCustom(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) { cfg["correlation"] = map[string]any{"field": "Summary"} })
	_, err := e.p.Create(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "correlation.field") || !strings.Contains(err.Error(), "not a custom field") {
		t.Errorf("Create with Summary as the correlation field = %v", err)
	}
	if n := len(e.fake.RequestsTo("POST", "/issue")); n != 0 {
		t.Errorf("%d issues created; want none", n)
	}
}
