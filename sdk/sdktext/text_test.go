package sdktext_test

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abc", 10, "012345678…"},
		{"héllo wörld", 6, "héllo…"},
		{"日本語のテキストです", 5, "日本語の…"},
		{"🔥🔥🔥🔥", 3, "🔥🔥…"},
		{"bad\xffutf8", 20, "bad\uFFFDutf8"},
		{"bad\xffutf8 and long", 5, "bad\uFFFD…"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{"abc", -3, ""},
		{"", 5, ""},
	}
	for _, tt := range tests {
		got := sdktext.Truncate(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) || (tt.max > 0 && utf8.RuneCountInString(got) > tt.max) {
			t.Errorf("Truncate(%q, %d) = %q: invalid UTF-8 or longer than the limit", tt.in, tt.max, got)
		}
	}
}

func TestPortalLink(t *testing.T) {
	tests := []struct{ id, want string }{
		{"", ""},
		{"/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a b",
			"https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/" +
				"%2Fsubscriptions%2Fs%2Fproviders%2FMicrosoft.AlertsManagement%2Falerts%2Fa%20b"},
	}
	for _, tt := range tests {
		if got := sdktext.PortalLink(tt.id); got != tt.want {
			t.Errorf("PortalLink(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestSummaryAndCondition(t *testing.T) {
	tests := []struct {
		name      string
		alert     sdk.Alert
		summary   string
		condition string
	}{
		{"full", sdk.Alert{SeverityLabel: "Sev1", Rule: "High CPU", ResourceName: "vm-web-01", Condition: sdk.ConditionFired},
			"[Sev1] High CPU on vm-web-01", "fired"},
		{"no severity", sdk.Alert{Rule: "High CPU", ResourceName: "vm-web-01", Condition: sdk.ConditionResolved},
			"High CPU on vm-web-01", "resolved"},
		{"no rule, no resource", sdk.Alert{SeverityLabel: "Sev3"}, "[Sev3] Azure Monitor alert", "fired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdktext.Summary(&tt.alert); got != tt.summary {
				t.Errorf("Summary = %q, want %q", got, tt.summary)
			}
			if got := sdktext.ConditionWord(&tt.alert); got != tt.condition {
				t.Errorf("ConditionWord = %q, want %q", got, tt.condition)
			}
		})
	}
}

func TestResolvedNote(t *testing.T) {
	now := time.Date(2025, 3, 14, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	at := time.Date(2025, 3, 14, 9, 47, 12, 0, time.UTC)
	tests := []struct {
		name  string
		alert sdk.Alert
		want  string
	}{
		{"resolved time", sdk.Alert{Rule: "High CPU", ResolvedAt: &at},
			`Resolved automatically by itsm-connector: Azure Monitor alert "High CPU" resolved at 2025-03-14T09:47:12Z.`},
		{"no resolved time, no rule", sdk.Alert{},
			`Resolved automatically by itsm-connector: Azure Monitor alert "the alert" resolved at 2025-03-14T09:00:00Z.`},
	}
	for _, tt := range tests {
		if got := sdktext.ResolvedNote(&tt.alert, now); got != tt.want {
			t.Errorf("%s: ResolvedNote = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSmallFormatters(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	f := 1234.5
	tests := []struct{ name, got, want string }{
		{"time in UTC", sdktext.FormatTime(time.Date(2025, 3, 14, 10, 30, 0, 0, berlin)), "2025-03-14T09:30:00Z"},
		{"zero time", sdktext.FormatTime(time.Time{}), ""},
		{"paren", sdktext.Paren("Platform"), "(Platform)"},
		{"paren empty", sdktext.Paren(""), ""},
		{"join", sdktext.JoinNonEmpty("/", "Microsoft.Compute", "", "Percentage CPU"), "Microsoft.Compute/Percentage CPU"},
		{"join nothing", sdktext.JoinNonEmpty("/", "", ""), ""},
		{"number", sdktext.Number(&f), "1234.5"},
		{"no number", sdktext.Number(nil), "?"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestSortedKeys(t *testing.T) {
	got := sdktext.SortedKeys(map[string]string{"b": "2", "a": "1", "c": "3"})
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("SortedKeys = %v", got)
	}
	if got := sdktext.SortedKeys(map[string]int(nil)); len(got) != 0 {
		t.Errorf("SortedKeys(nil) = %v", got)
	}
}

func TestScalar(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"text", "text"},
		{float64(3), "3"},
		{1e21, "1000000000000000000000"},
		{0.25, "0.25"},
		{42, "42"},
		{int64(-7), "-7"},
		{true, "true"},
		{json.Number("12.50"), "12.50"},
		{map[string]any{"a": 1.0}, `{"a":1}`},
		{[]any{"x", 2.0}, `["x",2]`},
		{math.Inf(1), "+Inf"},
	}
	for _, tt := range tests {
		if got := sdktext.Scalar(tt.in); got != tt.want {
			t.Errorf("Scalar(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		summary string
	}{
		{"", time.Minute, ""},
		{"90s", 90 * time.Second, ""},
		{"soon", time.Minute, "cache_ttl must be a positive duration"},
		{"-1m", time.Minute, "cache_ttl must be a positive duration"},
		{"0s", time.Minute, "cache_ttl must be a positive duration"},
	}
	for _, tt := range tests {
		var diags sdk.Diagnostics
		got := sdktext.ParseDuration(tt.in, time.Minute, &diags, "cmdb", "cache_ttl")
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
		switch {
		case tt.summary == "" && len(diags) != 0:
			t.Errorf("ParseDuration(%q): unexpected diagnostics %v", tt.in, diags)
		case tt.summary != "" && (len(diags) != 1 || diags[0].Summary != tt.summary ||
			!slices.Equal(diags[0].Path, []string{"cmdb", "cache_ttl"}) || !diags.HasErrors()):
			t.Errorf("ParseDuration(%q): diagnostics %+v, want one error %q at cmdb.cache_ttl", tt.in, diags, tt.summary)
		}
	}
}

func TestFieldNote(t *testing.T) {
	if got := sdktext.FieldNote(nil, nil); got != "" {
		t.Errorf("no fields: %q", got)
	}
	vals := map[string]string{"priority": "1", "urgency": "2"}
	got := sdktext.FieldNote([]string{"priority", "urgency"}, func(n string) string { return vals[n] })
	want := "Changed values (field_policy \"comment\": noted here, the fields are left as they are):\npriority: 1\nurgency: 2"
	if got != want {
		t.Errorf("FieldNote = %q, want %q", got, want)
	}
}
