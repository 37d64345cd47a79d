package store

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// StormGroup is what ingest keeps per route, backend and storm group (the
// route's storm.group_by rendered for an alert): the counting window of
// new work items and the storm it is in, if any. Ingest reads and writes it
// in the transaction that acknowledges the alert, under the group row's
// lock (PostgreSQL) or the single writer (SQLite).
type StormGroup struct {
	// WindowStart is when the current counting window began; Opened is how
	// many new work items of the group opened inside it.
	WindowStart time.Time
	Opened      int
	// Until is when the storm ends unless another alert of the group
	// would open a new work item before (zero or past: no storm).
	Until time.Time
	// Started is when the current (or last) storm began; ParentID is its
	// parent work item.
	Started  time.Time
	ParentID int64
}

// InStorm reports whether the group is in a storm at now.
func (g StormGroup) InStorm(now time.Time) bool { return now.Before(g.Until) }

// ObserveStorm is the storm rule, applied by ingest (at now, when the
// alert arrived) to a notification that would open a new work item of
// the group under the route's policy p. It returns the group's new state,
// whether the alert joins the storm's parent instead of opening its own
// work item, and whether it starts the storm (a new parent):
//   - without a policy nothing is kept, and nothing joins;
//   - counting windows are fixed: the first new work item after the last
//     window ended starts a window of p.Window;
//   - inside a window the first p.MaxNew new work items open their own;
//     the next one starts a storm;
//   - while the storm lasts, every new work item of the group joins the
//     parent, and each one keeps the storm on for p.Window more: the storm
//     ends once p.Window passes with no new alert of the group.
func ObserveStorm(p *route.StormPolicy, g StormGroup, now time.Time) (_ StormGroup, join, starts bool) {
	if p == nil || p.MaxNew <= 0 || p.Window <= 0 {
		return g, false, false
	}
	if g.InStorm(now) {
		g.Until = now.Add(p.Window)
		return g, true, false
	}
	if g.WindowStart.IsZero() || now.Sub(g.WindowStart) >= p.Window || now.Before(g.WindowStart) {
		g.WindowStart, g.Opened = now, 0
	}
	if g.Opened < p.MaxNew {
		g.Opened++
		return g, false, false
	}
	g.Until, g.Started, g.ParentID = now.Add(p.Window), now, 0
	return g, true, true
}

// StormKey is the correlation key of the parent work item of the storm of
// group that started at started.
func StormKey(group string, started time.Time) string {
	return route.StormKeyPrefix + group + "|" + started.UTC().Format(time.RFC3339Nano)
}

// StormParent is the desired state of a storm's parent work item, derived
// from its members: firing while any member fires, resolved once all have
// resolved, covering the union of their configuration items.
type StormParent struct {
	// Members counts the alerts attached to the parent; Firing those of
	// them whose newest notification is a Fired.
	Members, Firing int
	// ConfigurationItems is the union of the members' configuration items,
	// in the order they joined.
	ConfigurationItems []sdk.ConfigurationItem
	// EventAt is the newest member notification's time that changed the
	// parent's desired state.
	EventAt time.Time
}

// Condition is the parent's desired condition.
func (p StormParent) Condition() sdk.Condition {
	if p.Firing > 0 {
		return sdk.ConditionFired
	}
	return sdk.ConditionResolved
}

// StormMember is one member notification applied by ingest: whether it
// attaches the alert (a new member), the member's condition before (empty
// for a new member) and now, its configuration items and its time.
type StormMember struct {
	Joined   bool
	Was, Now sdk.Condition
	Items    []sdk.ConfigurationItem
	At       time.Time
}

// JoinStorm is how a member notification changes its parent's desired
// state. changed reports whether the parent needs reconciling (its
// desired state moved: a seq of its own, dirty), which is so when a
// member joins (one Update per claim carries all members that joined
// since the last), when the first member fires again after all had
// resolved, and when the last firing member resolves. A member that
// resolves while others still fire, or one that fires again while the
// parent fires, changes only the count.
func JoinStorm(p StormParent, m StormMember) (_ StormParent, changed bool) {
	wasFiring, firing := p.Firing > 0, m.Now == sdk.ConditionFired
	switch {
	case m.Was == sdk.ConditionFired && !firing:
		p.Firing = max(0, p.Firing-1)
	case m.Was != sdk.ConditionFired && firing:
		p.Firing++
	}
	if m.Joined {
		p.Members++
		p.ConfigurationItems = unionCIs(p.ConfigurationItems, m.Items)
		changed = true
	}
	if wasFiring != (p.Firing > 0) {
		changed = true
	}
	if changed && m.At.After(p.EventAt) {
		p.EventAt = m.At
	}
	return p, changed
}

// unionCIs appends to have each item of add it does not hold yet (by
// resource id, case-insensitively, or by name without one).
func unionCIs(have, add []sdk.ConfigurationItem) []sdk.ConfigurationItem {
	key := func(c sdk.ConfigurationItem) string {
		if c.ResourceID != "" {
			return "id:" + strings.ToLower(c.ResourceID)
		}
		return "name:" + c.Name
	}
	for _, c := range add {
		if !slices.ContainsFunc(have, func(h sdk.ConfigurationItem) bool { return key(h) == key(c) }) {
			have = append(have, c)
		}
	}
	return have
}

// StormTitle is what a storm's parent work item says of itself.
func StormTitle(members int, rule string) string {
	return fmt.Sprintf("storm: %d resources affected by %s", members, rule)
}

// StormAlert is the alert a storm's parent work item is reconciled with:
// the alert that started the storm (first), with the parent's key as its
// id, its title as the description, the parent's configuration items and
// condition, and, once resolved, the time the last member resolved.
func StormAlert(first *sdk.Alert, key string, p StormParent) *sdk.Alert {
	a := *first
	a.ID = key
	rule := a.Rule
	if rule == "" {
		rule = "an alert rule"
	}
	a.Description = StormTitle(p.Members, rule)
	a.ConfigurationItems = p.ConfigurationItems
	a.Condition = p.Condition()
	a.ResolvedAt = nil
	if a.Condition == sdk.ConditionResolved {
		at := p.EventAt
		a.ResolvedAt = &at
	}
	return &a
}
