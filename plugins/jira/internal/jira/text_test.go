package jira

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", name, got)
	}
}

// logAlert is a log search alert, for the query and links rendering.
func logAlert() sdk.Alert {
	a := sdktest.SampleAlert()
	a.Metric = nil
	a.SignalType = "Log"
	n := 3.0
	a.Log = &sdk.LogSummary{
		Query:       "Heartbeat\n| where TimeGenerated > ago(5m)\n| summarize count() by Computer",
		ResultCount: &n, Operator: "GreaterThan", Threshold: "0",
		Links: []string{"https://portal.azure.com/#blade/Microsoft_OperationsManagementSuite_Workspace/search"},
	}
	return a
}

func TestDescriptionGolden(t *testing.T) {
	resolved := sdktest.Resolved(sdktest.SampleAlert(), time.Date(2025, 3, 14, 9, 46, 53, 0, time.UTC))
	cases := map[string]document{
		"description_metric": describe(ptr(sdktest.SampleAlert()), "High CPU|vm-web-01"),
		"description_log":    describe(ptr(logAlert()), "log-key"),
		"comment_refire":     refireComment(ptr(sdktest.SampleAlert()), skipped{count: 3, first: time.Date(2025, 3, 14, 9, 31, 0, 0, time.UTC), last: time.Date(2025, 3, 14, 9, 38, 0, 0, time.UTC)}, 10*time.Minute),
		"comment_resolve":    resolveComment(&resolved, time.Time{}, skipped{}, 10*time.Minute),
		"comment_reopen":     reopenComment(ptr(sdktest.SampleAlert())),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			adf, err := json.MarshalIndent(doc.ADF(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := jirafake.ValidateADF(adf); err != nil {
				t.Errorf("the ADF is not a valid document: %v", err)
			}
			golden(t, name+".adf.json", append(adf, '\n'))
			golden(t, name+".txt", []byte(doc.Text()+"\n"))
		})
	}
}

func TestADFShape(t *testing.T) {
	doc := document{
		paragraph(text(""), strong("bold"), text(" and "), code("mono"), text("\nnext line")),
		paragraph(text("")),
		bullets([]inline{text("")}),
		codeBlock("", ""),
		paragraph(link("the portal", "https://portal.azure.com/")),
	}
	got, _ := json.Marshal(doc.ADF())
	want := `{"content":[{"content":[{"marks":[{"type":"strong"}],"text":"bold","type":"text"},{"text":" and ","type":"text"},` +
		`{"marks":[{"type":"code"}],"text":"mono","type":"text"},{"type":"hardBreak"},{"text":"next line","type":"text"}],"type":"paragraph"},` +
		`{"content":[{"marks":[{"attrs":{"href":"https://portal.azure.com/"},"type":"link"}],"text":"the portal","type":"text"}],"type":"paragraph"}],` +
		`"type":"doc","version":1}`
	if string(got) != want {
		t.Errorf("ADF =\n%s\nwant\n%s", got, want)
	}
	if txt := doc.Text(); txt != "bold and mono\nnext line\n\nthe portal: https://portal.azure.com/" {
		t.Errorf("Text = %q", txt)
	}
}

func TestCorrelationLabel(t *testing.T) {
	keys := []string{"", "k", "High CPU on web tier|/subscriptions/x/resourceGroups/y", strings.Repeat("ü ", 1000)}
	seen := map[string]bool{}
	for _, k := range keys {
		l := CorrelationLabel("itsm-", k)
		if len(l) != len("itsm-")+16 || strings.ContainsAny(l, " \t\n") || seen[l] {
			t.Errorf("CorrelationLabel(%q) = %q; want itsm- and 16 hex digits, unique", k, l)
		}
		seen[l] = true
	}
	if got, want := CorrelationLabel("ops-", "k"), "ops-"+"8254c329a92850f6"; got != want {
		t.Errorf("CorrelationLabel(ops-, k) = %q, want %q (the first 16 hex digits of the key's SHA-256)", got, want)
	}
	if got := correlationFieldValue(strings.Repeat("x", 300)); !strings.HasPrefix(got, "sha256:") || len(got) != 71 {
		t.Errorf("correlationFieldValue of a long key = %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
