package store

import (
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Outcome is what a notification did to its item's desired state.
type Outcome string

// Merge outcomes.
const (
	// OutcomeNew: the notification created the item.
	OutcomeNew Outcome = "new"
	// OutcomeApplied: the notification is newer and replaced the desired state.
	OutcomeApplied Outcome = "applied"
	// OutcomeDuplicate: the same notification was already applied (a
	// webhook retry); nothing changes.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeStale: the notification is older than the desired state (a
	// Fired that arrived after its Resolved); nothing changes.
	OutcomeStale Outcome = "stale"
)

// Desired is the part of an item's desired state that ordering needs.
type Desired struct {
	Condition sdk.Condition
	EventAt   time.Time
	AlertID   string
}

// EventTime returns the time a notification speaks for: its resolved time
// when resolved, its fired time when fired, and receivedAt when the alert
// carries no such time.
func EventTime(a *sdk.Alert, receivedAt time.Time) time.Time {
	if a.Condition == sdk.ConditionResolved {
		if a.ResolvedAt != nil && !a.ResolvedAt.IsZero() {
			return a.ResolvedAt.UTC()
		}
		return receivedAt.UTC()
	}
	if !a.FiredAt.IsZero() {
		return a.FiredAt.UTC()
	}
	return receivedAt.UTC()
}

// Merge decides whether a notification (condition cond at time at, for
// alert alertID) replaces the desired state cur. The policy, so that an
// older notification never overrides a newer desired state:
//   - a notification older than the desired state is stale;
//   - at the same time, a resolution wins over a firing (a Fired arriving
//     after its own Resolved, both stamped alike, stays stale);
//   - the same alert, condition and time again is a duplicate (the sender
//     retried); it neither changes the state nor counts as a re-fire;
//   - anything else is applied and becomes the new desired state. A newer
//     Fired on an open item is a re-fire and leads to Update.
func Merge(cur Desired, cond sdk.Condition, at time.Time, alertID string) Outcome {
	switch {
	case at.Before(cur.EventAt):
		return OutcomeStale
	case at.After(cur.EventAt):
		return OutcomeApplied
	}
	// Same time.
	if cond == cur.Condition {
		if alertID == cur.AlertID {
			return OutcomeDuplicate
		}
		return OutcomeApplied
	}
	if cur.Condition == sdk.ConditionResolved {
		return OutcomeStale
	}
	return OutcomeApplied
}
