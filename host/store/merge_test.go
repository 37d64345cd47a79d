package store

import (
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fired := sdk.ConditionFired
	resolved := sdk.ConditionResolved
	tests := []struct {
		name    string
		cur     Desired
		cond    sdk.Condition
		at      time.Time
		alertID string
		want    Outcome
	}{
		{"newer fired re-fires", Desired{fired, t0, "a"}, fired, t0.Add(time.Minute), "a", OutcomeApplied},
		{"newer resolved applies", Desired{fired, t0, "a"}, resolved, t0.Add(time.Minute), "a", OutcomeApplied},
		{"older fired after resolved is stale", Desired{resolved, t0.Add(time.Minute), "a"}, fired, t0, "a", OutcomeStale},
		{"same notification again is duplicate", Desired{fired, t0, "a"}, fired, t0, "a", OutcomeDuplicate},
		{"same resolved again is duplicate", Desired{resolved, t0, "a"}, resolved, t0, "a", OutcomeDuplicate},
		{"other alert same time applies", Desired{fired, t0, "a"}, fired, t0, "b", OutcomeApplied},
		{"resolved wins a tie over fired", Desired{fired, t0, "a"}, resolved, t0, "a", OutcomeApplied},
		{"fired loses a tie to resolved", Desired{resolved, t0, "a"}, fired, t0, "a", OutcomeStale},
		{"newer fire after resolve applies", Desired{resolved, t0, "a"}, fired, t0.Add(time.Hour), "b", OutcomeApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Merge(tt.cur, tt.cond, tt.at, tt.alertID); got != tt.want {
				t.Errorf("Merge = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventTime(t *testing.T) {
	fired := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	res := fired.Add(10 * time.Minute)
	recv := fired.Add(time.Hour)
	tests := []struct {
		name  string
		alert sdk.Alert
		want  time.Time
	}{
		{"fired uses fired time", sdk.Alert{Condition: sdk.ConditionFired, FiredAt: fired}, fired},
		{"resolved uses resolved time", sdk.Alert{Condition: sdk.ConditionResolved, FiredAt: fired, ResolvedAt: &res}, res},
		{"fired without time uses receipt", sdk.Alert{Condition: sdk.ConditionFired}, recv},
		{"resolved without time uses receipt", sdk.Alert{Condition: sdk.ConditionResolved, FiredAt: fired}, recv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventTime(&tt.alert, recv); !got.Equal(tt.want) {
				t.Errorf("EventTime = %v, want %v", got, tt.want)
			}
		})
	}
}
