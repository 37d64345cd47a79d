package harness

import (
	"os"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestAlerts(t *testing.T) {
	sample, err := os.ReadFile("../testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := Alerts(sample, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want 3", len(alerts))
	}
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[a.ID] {
			t.Errorf("alert id %s twice", a.ID)
		}
		seen[a.ID] = true
		fired, err := commonschema.Decode(a.Fired)
		if err != nil {
			t.Fatalf("fired %s: %v", a.ID, err)
		}
		resolved, err := commonschema.Decode(a.Resolved)
		if err != nil {
			t.Fatalf("resolved %s: %v", a.ID, err)
		}
		refired, err := commonschema.Decode(a.Refired)
		if err != nil {
			t.Fatalf("refired %s: %v", a.ID, err)
		}
		if fired.ID != a.ID || resolved.ID != a.ID || refired.ID != a.ID {
			t.Errorf("decoded ids %q, %q, %q; want %q", fired.ID, resolved.ID, refired.ID, a.ID)
		}
		if refired.Condition != sdk.ConditionFired || !refired.FiredAt.Equal(a.FiredAt.Add(RefireAfter)) || refired.ResolvedAt != nil {
			t.Errorf("refired: condition %q, fired at %v, resolved at %v; want Fired at %v, not resolved",
				refired.Condition, refired.FiredAt, refired.ResolvedAt, a.FiredAt.Add(RefireAfter))
		}
		if fired.Condition != sdk.ConditionFired || resolved.Condition != sdk.ConditionResolved {
			t.Errorf("conditions %q, %q", fired.Condition, resolved.Condition)
		}
		if !fired.FiredAt.Equal(a.FiredAt) || !resolved.FiredAt.Equal(a.FiredAt) {
			t.Errorf("fired at %v and %v, want %v", fired.FiredAt, resolved.FiredAt, a.FiredAt)
		}
		if resolved.ResolvedAt == nil || !resolved.ResolvedAt.Equal(a.FiredAt.Add(ResolveAfter)) {
			t.Errorf("resolved at %v, want %v", resolved.ResolvedAt, a.FiredAt.Add(ResolveAfter))
		}
		if fired.Rule != "test-metricAlertRule" {
			t.Errorf("rule %q: the sample's essentials were not kept", fired.Rule)
		}
	}
	again, err := Alerts(sample, 5, 3)
	if err != nil || string(again[2].Resolved) != string(alerts[2].Resolved) {
		t.Errorf("Alerts is not deterministic (%v)", err)
	}
}

func TestAlertsRejectsBadSamples(t *testing.T) {
	tests := map[string]string{
		"not JSON":        `{`,
		"no essentials":   `{"data":{}}`,
		"odd alert id":    `{"data":{"essentials":{"alertId":"x","firedDateTime":"2025-04-15T18:17:12Z","monitorCondition":"Fired"}}}`,
		"bad fired time":  `{"data":{"essentials":{"alertId":"/alerts/x","firedDateTime":"yesterday","monitorCondition":"Fired"}}}`,
		"resolved sample": `{"data":{"essentials":{"alertId":"/alerts/x","firedDateTime":"2025-04-15T18:17:12Z","monitorCondition":"Resolved"}}}`,
	}
	for name, sample := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Alerts([]byte(sample), 0, 1); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/db1?sslmode=disable"},
		{"postgresql://u:p@h/x", "postgresql://u:p@h/db1"},
		{"host=127.0.0.1 user=postgres dbname=test", "host=127.0.0.1 user=postgres dbname=test dbname=db1"},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "db1")
		if err != nil || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
		}
	}
}
