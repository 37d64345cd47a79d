package main

import (
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestPayloadsDecode(t *testing.T) {
	bodies, err := newPayloads(defaultPayload)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		n    notice
		want sdk.Condition
	}{
		{"fired", notice{alertID: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/run-0"}, sdk.ConditionFired},
		{"resolved", notice{alertID: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/run-1", resolved: true}, sdk.ConditionResolved},
		{"id needing JSON escapes", notice{alertID: `a"b\c`}, sdk.ConditionFired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bodies.render(nil, tt.n, at)
			a, err := commonschema.Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, body)
			}
			if a.ID != tt.n.alertID || a.Condition != tt.want {
				t.Errorf("got id %q condition %q, want %q %q", a.ID, a.Condition, tt.n.alertID, tt.want)
			}
			if !a.FiredAt.Equal(at) {
				t.Errorf("fired at %v, want %v", a.FiredAt, at)
			}
			if tt.n.resolved && (a.ResolvedAt == nil || !a.ResolvedAt.Equal(at)) {
				t.Errorf("resolved at %v, want %v", a.ResolvedAt, at)
			}
			if !tt.n.resolved && a.ResolvedAt != nil {
				t.Errorf("a fired notice has resolved time %v", a.ResolvedAt)
			}
		})
	}
}

func TestNewPayloadsRejects(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", "{", "not JSON"},
		{"no essentials", `{"schemaId":"azureMonitorCommonAlertSchema","data":{}}`, "no data.essentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPayloads([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSequence(t *testing.T) {
	tests := []struct {
		name     string
		ids      int
		resolved float64
		want     []string // id number, "r" prefix for a resolution
	}{
		{"distinct fired", 0, 0, []string{"0", "1", "2", "3"}},
		{"half resolved resolves the oldest open", 0, 0.5, []string{"0", "r0", "1", "r1", "2", "r2"}},
		{"quarter resolved", 0, 0.25, []string{"0", "1", "2", "r0", "3", "4", "5", "r1"}},
		{"all resolved fires when nothing is open", 0, 1, []string{"0", "r0", "1", "r1"}},
		{"repeats", 3, 0, []string{"0", "1", "2", "0", "1", "2", "0"}},
		{"repeats with resolutions", 2, 0.5, []string{"0", "1", "r0", "r1", "0", "1", "r0", "r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSequence("p-", tt.ids, tt.resolved)
			for i, w := range tt.want {
				n := s.nextNotice()
				got := strings.TrimPrefix(n.alertID, "p-")
				if n.resolved {
					got = "r" + got
				}
				if got != w {
					t.Fatalf("request %d: got %s, want %s", i, got, w)
				}
			}
		})
	}
}
