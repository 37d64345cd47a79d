package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// FlapState is what ingest keeps of an alert's flapping: the event times of
// its recent fire and resolve transitions, oldest first, and since when it
// flaps (zero while it does not).
type FlapState struct {
	Transitions []time.Time
	Since       time.Time
}

// Flapping reports whether the alert is marked flapping.
func (s FlapState) Flapping() bool { return !s.Since.IsZero() }

// IsTransition reports whether a notification of condition cond, applied
// over the desired condition prev (empty for a new slot), is a fire or
// resolve transition: a Fired after a resolution (or as the slot's first
// notification), or a Resolved after a Fired. A re-fire is none.
func IsTransition(prev, cond sdk.Condition) bool {
	if cond == sdk.ConditionFired {
		return prev != sdk.ConditionFired
	}
	return prev == sdk.ConditionFired
}

// ObserveFlap is the flapping rule, applied by ingest to every notification
// that replaces an item's desired state (condition prev) with condition
// cond at event time at, under the route's policy p:
//   - without a policy nothing is kept, and nothing flaps;
//   - a notification that is no transition changes nothing;
//   - a transition is recorded; the alert flaps when more than
//     p.MaxTransitions transitions (this one included) lie inside p.Window
//     ending at it (at minus a transition's time below the window);
//   - a flapping alert stays flapping at its next transitions until one
//     comes at least p.QuietPeriod after the one before it (the alert was
//     steady that long) without exceeding the limit again. The worker
//     resolves a flapping item once its resolution is p.QuietPeriod old.
//
// Since is the time of the transition that started the flapping. At most
// p.MaxTransitions+1 transitions are kept: enough to tell.
func ObserveFlap(p *route.FlapPolicy, st FlapState, prev, cond sdk.Condition, at time.Time) FlapState {
	if p == nil || p.MaxTransitions <= 0 || p.Window <= 0 {
		return FlapState{}
	}
	if !IsTransition(prev, cond) {
		return st
	}
	var last time.Time
	if n := len(st.Transitions); n > 0 {
		last = st.Transitions[n-1]
	}
	kept := make([]time.Time, 0, min(len(st.Transitions)+1, p.MaxTransitions+1))
	for _, t := range st.Transitions {
		if at.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	kept = append(kept, at)
	if len(kept) > p.MaxTransitions+1 {
		kept = kept[len(kept)-p.MaxTransitions-1:]
	}
	out := FlapState{Transitions: kept}
	exceeded := len(kept) > p.MaxTransitions
	steady := !last.IsZero() && at.Sub(last) >= p.QuietPeriod
	switch {
	case st.Flapping() && (exceeded || !steady):
		out.Since = st.Since
	case exceeded:
		out.Since = at
	}
	return out
}

// PolicyNote explains, for a notification's audit event, what the
// lifecycle policy made of delivery d: whether its alert flaps, whether it
// is a storm's member and whether the maintenance window hold holds it. Empty when neither applies or the
// notification changed nothing.
func PolicyNote(out DeliveryOutcome, d route.Delivery, hold *route.MaintenanceHold) string {
	if out.Outcome != OutcomeNew && out.Outcome != OutcomeApplied {
		return ""
	}
	var notes []string
	if f := d.Flap; f != nil {
		switch {
		case out.FlapStarted:
			notes = append(notes, fmt.Sprintf("flapping: more than %d fire/resolve transitions within %v (flap.max_transitions); one note says so, "+
				"further transitions are recorded here but not sent, and the work item stays open until the alert has stayed resolved for %v",
				f.MaxTransitions, f.Window, f.QuietPeriod))
		case out.Flapping:
			notes = append(notes, "flapping: recorded, not sent")
		}
	}
	switch {
	case out.StormStarted:
		notes = append(notes, fmt.Sprintf("storm: more than %d new work items of group %q within %v (storm.max_new); the storm's parent work item %d holds this alert and lists its configuration items, no work item of its own",
			d.Storm.MaxNew, d.Storm.Group, d.Storm.Window, out.StormParent))
	case out.StormJoined:
		notes = append(notes, fmt.Sprintf("storm: attached to the storm's parent work item %d, no work item of its own", out.StormParent))
	case out.StormParent != 0:
		notes = append(notes, fmt.Sprintf("storm member: the storm's parent work item %d carries it", out.StormParent))
	}
	if out.Held && hold != nil {
		notes = append(notes, fmt.Sprintf("in maintenance window %q until %s: no work item is created or reopened before it ends (on_end = %q)",
			hold.Window, hold.Until.UTC().Format(time.RFC3339), hold.OnEnd))
	}
	return strings.Join(notes, "; ")
}
