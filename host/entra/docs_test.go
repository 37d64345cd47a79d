package entra

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestReasonsDocumented keeps the troubleshooting table of
// docs/entra-setup.md in step with Reasons: one row per reason, with the
// status the verifier answers it with.
func TestReasonsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/entra-setup.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (40[13]) \\|").FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = m[2]
	}
	forbidden := []string{ReasonWrongTenant, ReasonWrongApp, ReasonMissingRole}
	for _, r := range Reasons {
		want := "401"
		if slices.Contains(forbidden, r) {
			want = "403"
		}
		if got, ok := rows[r]; !ok {
			t.Errorf("reason %s has no row in the troubleshooting table of docs/entra-setup.md", r)
		} else if got != want {
			t.Errorf("reason %s is documented as %s, the verifier answers %s", r, got, want)
		}
	}
	for r := range rows {
		if !slices.Contains(Reasons, r) {
			t.Errorf("docs/entra-setup.md documents reason %s, which is not in Reasons", r)
		}
	}
}
