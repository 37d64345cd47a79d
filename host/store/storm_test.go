package store

import (
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestObserveStorm(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &route.StormPolicy{Window: 5 * time.Minute, MaxNew: 2, Group: "cpu"}
	tests := []struct {
		name              string
		p                 *route.StormPolicy
		g                 StormGroup
		now               time.Time
		want              StormGroup
		wantJoin, wantNew bool
	}{
		{"no policy", nil, StormGroup{}, t0, StormGroup{}, false, false},
		{"first new item opens a window", p, StormGroup{}, t0,
			StormGroup{WindowStart: t0, Opened: 1}, false, false},
		{"up to max_new open their own", p, StormGroup{WindowStart: t0, Opened: 1}, t0.Add(time.Minute),
			StormGroup{WindowStart: t0, Opened: 2}, false, false},
		{"one more starts the storm", p, StormGroup{WindowStart: t0, Opened: 2}, t0.Add(2 * time.Minute),
			StormGroup{WindowStart: t0, Opened: 2, Until: t0.Add(7 * time.Minute), Started: t0.Add(2 * time.Minute)}, true, true},
		{"during the storm every new item joins and keeps it on", p,
			StormGroup{WindowStart: t0, Opened: 2, Until: t0.Add(7 * time.Minute), Started: t0, ParentID: 9}, t0.Add(6 * time.Minute),
			StormGroup{WindowStart: t0, Opened: 2, Until: t0.Add(11 * time.Minute), Started: t0, ParentID: 9}, true, false},
		{"a window later, counting starts again", p, StormGroup{WindowStart: t0, Opened: 2}, t0.Add(5 * time.Minute),
			StormGroup{WindowStart: t0.Add(5 * time.Minute), Opened: 1}, false, false},
		{"after the storm ended, items open their own again", p,
			StormGroup{WindowStart: t0, Opened: 2, Until: t0.Add(7 * time.Minute), Started: t0, ParentID: 9}, t0.Add(7 * time.Minute),
			StormGroup{WindowStart: t0.Add(7 * time.Minute), Opened: 1, Until: t0.Add(7 * time.Minute), Started: t0, ParentID: 9}, false, false},
		{"a storm after an ended one is a new storm", p,
			StormGroup{WindowStart: t0.Add(8 * time.Minute), Opened: 2, Until: t0.Add(7 * time.Minute), Started: t0, ParentID: 9}, t0.Add(9 * time.Minute),
			StormGroup{WindowStart: t0.Add(8 * time.Minute), Opened: 2, Until: t0.Add(14 * time.Minute), Started: t0.Add(9 * time.Minute)}, true, true},
		{"a clock behind the window restarts it", p, StormGroup{WindowStart: t0, Opened: 2}, t0.Add(-time.Minute),
			StormGroup{WindowStart: t0.Add(-time.Minute), Opened: 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, join, starts := ObserveStorm(tt.p, tt.g, tt.now)
			if got != tt.want || join != tt.wantJoin || starts != tt.wantNew {
				t.Errorf("ObserveStorm = %+v, join %v, starts %v; want %+v, %v, %v", got, join, starts, tt.want, tt.wantJoin, tt.wantNew)
			}
		})
	}
}

func TestObserveStormCounts30(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &route.StormPolicy{Window: 5 * time.Minute, MaxNew: 20}
	var g StormGroup
	own, joined, started := 0, 0, 0
	for i := range 30 {
		var join, starts bool
		g, join, starts = ObserveStorm(p, g, t0.Add(time.Duration(i)*time.Second))
		switch {
		case join:
			joined++
		default:
			own++
		}
		if starts {
			started++
		}
	}
	if own != 20 || joined != 10 || started != 1 {
		t.Errorf("30 new alerts, max_new 20: %d own, %d joined, %d storms; want 20, 10, 1", own, joined, started)
	}
}

func TestJoinStorm(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fired, resolved := sdk.ConditionFired, sdk.ConditionResolved
	vm := func(n string) sdk.ConfigurationItem {
		return sdk.ConfigurationItem{Name: n, ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + n}
	}
	tests := []struct {
		name        string
		p           StormParent
		m           StormMember
		want        StormParent
		wantChanged bool
	}{
		{"the first member makes the parent fire", StormParent{},
			StormMember{Joined: true, Now: fired, Items: []sdk.ConfigurationItem{vm("a")}, At: t0},
			StormParent{Members: 1, Firing: 1, ConfigurationItems: []sdk.ConfigurationItem{vm("a")}, EventAt: t0}, true},
		{"a member joins: the list grows", StormParent{Members: 1, Firing: 1, ConfigurationItems: []sdk.ConfigurationItem{vm("a")}, EventAt: t0},
			StormMember{Joined: true, Now: fired, Items: []sdk.ConfigurationItem{vm("b")}, At: t0.Add(time.Second)},
			StormParent{Members: 2, Firing: 2, ConfigurationItems: []sdk.ConfigurationItem{vm("a"), vm("b")}, EventAt: t0.Add(time.Second)}, true},
		{"a resource listed already is listed once", StormParent{Members: 1, Firing: 1, ConfigurationItems: []sdk.ConfigurationItem{vm("a")}, EventAt: t0},
			StormMember{Joined: true, Now: fired, Items: []sdk.ConfigurationItem{{Name: "A", ResourceID: vm("a").ResourceID + ""}}, At: t0},
			StormParent{Members: 2, Firing: 2, ConfigurationItems: []sdk.ConfigurationItem{vm("a")}, EventAt: t0}, true},
		{"a member resolves while others fire: only counted", StormParent{Members: 2, Firing: 2, EventAt: t0},
			StormMember{Was: fired, Now: resolved, At: t0.Add(time.Minute)},
			StormParent{Members: 2, Firing: 1, EventAt: t0}, false},
		{"the last member resolves: the parent resolves", StormParent{Members: 2, Firing: 1, EventAt: t0},
			StormMember{Was: fired, Now: resolved, At: t0.Add(2 * time.Minute)},
			StormParent{Members: 2, Firing: 0, EventAt: t0.Add(2 * time.Minute)}, true},
		{"a member fires again after all resolved: the parent fires", StormParent{Members: 2, EventAt: t0.Add(2 * time.Minute)},
			StormMember{Was: resolved, Now: fired, At: t0.Add(3 * time.Minute)},
			StormParent{Members: 2, Firing: 1, EventAt: t0.Add(3 * time.Minute)}, true},
		{"a re-fire of a firing member changes nothing", StormParent{Members: 2, Firing: 2, EventAt: t0},
			StormMember{Was: fired, Now: fired, At: t0.Add(time.Minute)},
			StormParent{Members: 2, Firing: 2, EventAt: t0}, false},
		{"a resolution of a resolved member changes nothing", StormParent{Members: 2, Firing: 1, EventAt: t0},
			StormMember{Was: resolved, Now: resolved, At: t0.Add(time.Minute)},
			StormParent{Members: 2, Firing: 1, EventAt: t0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := JoinStorm(tt.p, tt.m)
			if changed != tt.wantChanged || got.Members != tt.want.Members || got.Firing != tt.want.Firing ||
				!got.EventAt.Equal(tt.want.EventAt) || len(got.ConfigurationItems) != len(tt.want.ConfigurationItems) {
				t.Errorf("JoinStorm = %+v, changed %v; want %+v, %v", got, changed, tt.want, tt.wantChanged)
			}
			if got.Condition() != tt.want.Condition() {
				t.Errorf("condition %s, want %s", got.Condition(), tt.want.Condition())
			}
		})
	}
}

func TestStormAlert(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := &sdk.Alert{ID: "a1", Rule: "cpu high", Condition: sdk.ConditionFired, FiredAt: t0, Description: "CPU above 90%"}
	p := StormParent{Members: 10, Firing: 0, EventAt: t0.Add(time.Hour), ConfigurationItems: []sdk.ConfigurationItem{{Name: "vm1"}}}
	a := StormAlert(first, "storm|cpu high|x", p)
	if a.ID != "storm|cpu high|x" || a.Description != "storm: 10 resources affected by cpu high" || a.Condition != sdk.ConditionResolved ||
		a.ResolvedAt == nil || !a.ResolvedAt.Equal(t0.Add(time.Hour)) || len(a.ConfigurationItems) != 1 {
		t.Errorf("StormAlert = %+v", a)
	}
	if first.ID != "a1" || first.Description != "CPU above 90%" {
		t.Errorf("StormAlert changed the member's alert: %+v", first)
	}
}
