package store

import (
	"slices"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestIsTransition(t *testing.T) {
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	tests := []struct {
		prev, cond sdk.Condition
		want       bool
	}{
		{"", fired, true},
		{"", resolved, false},
		{resolved, fired, true},
		{fired, resolved, true},
		{fired, fired, false},
		{resolved, resolved, false},
	}
	for _, tt := range tests {
		if got := IsTransition(tt.prev, tt.cond); got != tt.want {
			t.Errorf("IsTransition(%q, %q) = %v, want %v", tt.prev, tt.cond, got, tt.want)
		}
	}
}

func TestObserveFlap(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	mins := func(ms ...int) []time.Time {
		var out []time.Time
		for _, x := range ms {
			out = append(out, m(x))
		}
		return out
	}
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	// Four transitions inside 30 minutes are allowed, the fifth flaps; the
	// alert must stay steady 10 minutes to stop.
	p := &route.FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: 10 * time.Minute}
	tests := []struct {
		name       string
		p          *route.FlapPolicy
		st         FlapState
		prev, cond sdk.Condition
		at         time.Time
		want       FlapState
	}{
		{name: "no policy keeps nothing", p: nil, st: FlapState{Transitions: mins(0, 1), Since: m(1)}, prev: resolved, cond: fired, at: m(2),
			want: FlapState{}},
		{name: "first Fired of a slot is a transition", p: p, prev: "", cond: fired, at: m(0),
			want: FlapState{Transitions: mins(0)}},
		{name: "first Resolved of a slot is none", p: p, prev: "", cond: resolved, at: m(0),
			want: FlapState{}},
		{name: "re-fire is no transition", p: p, st: FlapState{Transitions: mins(0)}, prev: fired, cond: fired, at: m(1),
			want: FlapState{Transitions: mins(0)}},
		{name: "fourth transition within the window: not yet", p: p, st: FlapState{Transitions: mins(0, 1, 2)}, prev: fired, cond: resolved, at: m(3),
			want: FlapState{Transitions: mins(0, 1, 2, 3)}},
		{name: "fifth transition within the window: flapping", p: p, st: FlapState{Transitions: mins(0, 1, 2, 3)}, prev: resolved, cond: fired, at: m(4),
			want: FlapState{Transitions: mins(0, 1, 2, 3, 4), Since: m(4)}},
		{name: "fifth transition, the first outside the window", p: p, st: FlapState{Transitions: mins(0, 10, 20, 29)}, prev: resolved, cond: fired, at: m(30),
			want: FlapState{Transitions: mins(10, 20, 29, 30)}},
		{name: "flapping: only the newest max+1 are kept", p: p, st: FlapState{Transitions: mins(0, 1, 2, 3, 4), Since: m(4)}, prev: fired, cond: resolved, at: m(5),
			want: FlapState{Transitions: mins(1, 2, 3, 4, 5), Since: m(4)}},
		{name: "flapping, under the limit but soon after the last transition: still flapping", p: p,
			st: FlapState{Transitions: mins(25), Since: m(4)}, prev: fired, cond: resolved, at: m(30),
			want: FlapState{Transitions: mins(25, 30), Since: m(4)}},
		{name: "flapping, steady for the quiet period, under the limit: ends", p: p,
			st: FlapState{Transitions: mins(0, 1, 2, 3, 4), Since: m(4)}, prev: fired, cond: resolved, at: m(14),
			want: FlapState{Transitions: mins(1, 2, 3, 4, 14), Since: m(4)}},
		{name: "flapping, steady for the quiet period, window emptied: ends", p: p,
			st: FlapState{Transitions: mins(0, 1, 2, 3, 4), Since: m(4)}, prev: fired, cond: resolved, at: m(60),
			want: FlapState{Transitions: mins(60)}},
		{name: "flapping, steady but over the limit again: stays", p: p,
			st: FlapState{Transitions: mins(20, 21, 22, 23), Since: m(4)}, prev: resolved, cond: fired, at: m(33),
			want: FlapState{Transitions: mins(20, 21, 22, 23, 33), Since: m(4)}},
		{name: "not flapping, a resolution while resolved changes nothing", p: p,
			st: FlapState{Transitions: mins(0, 1)}, prev: resolved, cond: resolved, at: m(2),
			want: FlapState{Transitions: mins(0, 1)}},
		{name: "max_transitions 1: the second transition flaps", p: &route.FlapPolicy{Window: time.Hour, MaxTransitions: 1, QuietPeriod: time.Hour},
			st: FlapState{Transitions: mins(0)}, prev: fired, cond: resolved, at: m(59),
			want: FlapState{Transitions: mins(0, 59), Since: m(59)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ObserveFlap(tt.p, tt.st, tt.prev, tt.cond, tt.at)
			if !slices.EqualFunc(got.Transitions, tt.want.Transitions, time.Time.Equal) || !got.Since.Equal(tt.want.Since) {
				t.Errorf("ObserveFlap = %v since %v, want %v since %v", got.Transitions, got.Since, tt.want.Transitions, tt.want.Since)
			}
		})
	}
}
