package servicenow

import (
	"context"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestQueryValueProblem(t *testing.T) {
	tests := []struct {
		in   string
		want string // a word of the reason; "" when the value is safe
	}{
		{"vm-web-01", ""},
		{"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", ""},
		{"rule|javascript:x", ""}, // not at the start: a plain string
		{"javascript", ""},
		{"java script:x", ""},
		{"", ""},
		{"a^b", "^"},
		{"a^ORb=c", "^"},
		{"a^NQb=c", "^"},
		{"a\nb", "line break"},
		{"a\rb", "line break"},
		{"javascript:gs.sleep(20000)", "script"},
		{"JavaScript:gs.sleep(1)", "script"},
		{"JAVASCRIPT:x", "script"},
		{" javascript:x", "script"},
		{"\tjavascript:x", "script"},
		{"\u00a0javascript:x", "script"}, // no-break space
		{"\u200bjavascript:x", "script"}, // zero-width space
		{"\ufeffjavascript:x", "script"}, // byte order mark
		{"\x00javascript:x", "script"},   // NUL
		{"\u3000JavaScript:x", "script"}, // ideographic space
	}
	for _, tc := range tests {
		got := queryValueProblem(tc.in)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("queryValueProblem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// scriptValues are alert values an instance would run as server-side
// script if they reached an encoded query.
var scriptValues = []string{"javascript:gs.sleep(20000)", " JavaScript:gs.sleep(20000)", "\tJAVASCRIPT:gs.sleep(1)", "\u00a0javascript:gs.sleep(1)"}

// TestScriptNeverReachesAQuery: a "javascript:" value from the alert never
// reaches a sysparm_query, whichever lookup it would feed: the CMDB by
// name or by object_id (the item stays unbound, with the reason), or the
// incident lookup by correlation key (the key is stored and searched as
// its SHA-256).
func TestScriptNeverReachesAQuery(t *testing.T) {
	for _, v := range scriptValues {
		t.Run(strings.TrimSpace(v), func(t *testing.T) {
			e := newEnv(t, nil, func(cfg map[string]any) {
				cfg["cmdb"] = map[string]any{"match_order": []any{"object_id", "name"}}
			})
			a := alert()
			a.ConfigurationItems = []sdk.ConfigurationItem{{Name: v}, {ResourceID: v}}
			item := e.create(v, a)
			for i, b := range item.Bindings {
				field := []string{"name", "object_id"}[i]
				if b.BoundID != "" || !strings.Contains(b.Reason, field) || !strings.Contains(b.Reason, "server-side script") {
					t.Errorf("binding %d = %+v; want unbound, the reason naming %s and the script", i, b, field)
				}
			}
			if cid := e.fake.Record("incident", item.ID)["correlation_id"]; len(cid) != 64 || strings.Contains(strings.ToLower(cid), "javascript") {
				t.Errorf("correlation_id = %q; want the key's SHA-256", cid)
			}
			found, err := e.p.Lookup(context.Background(), e.request(v, a, nil))
			if err != nil || found == nil || found.ID != item.ID {
				t.Errorf("Lookup = %+v, %v; want %s", found, err, item.ID)
			}
			if got := e.fake.ScriptQueries(); len(got) != 0 {
				t.Errorf("the instance evaluated script from queries %q", got)
			}
		})
	}
}
