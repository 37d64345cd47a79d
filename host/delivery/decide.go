package delivery

import (
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// resolvedNeed is what a resolved alert needs when its slot holds no open
// work item (none, or a resolved one of an earlier incident).
type resolvedNeed int

const (
	// needNothing: the resolution is recorded only.
	needNothing resolvedNeed = iota
	// needAcknowledgedFired: a Fired the connector acknowledged has not
	// reached the backend. Its work item is delivered as for a firing alert
	// (Create, or Reopen inside the reopen window) and then resolved,
	// whatever the route's on_resolved_without_item says.
	needAcknowledgedFired
	// needCreateAndResolve: no Fired was acknowledged for the slot and no
	// item exists; the route's on_resolved_without_item is
	// create_and_resolve, so the item is created and then resolved.
	needCreateAndResolve
)

// resolvedWithoutItem decides what a resolved alert whose slot holds no open
// work item needs. on_resolved_without_item governs only a resolution whose
// Fired this connector never acknowledged (it was down when the alert fired,
// the route did not exist yet, or an operator dropped the Fired's dead
// letter); an acknowledged Fired always gets its work item.
func resolvedWithoutItem(it *store.Item) resolvedNeed {
	switch {
	case it.FiredSeq > it.AppliedSeq:
		return needAcknowledgedFired
	case it.Remote == store.RemoteNone && it.AppliedSeq < it.Seq &&
		it.OnResolvedWithoutItem == route.ResolvedCreateAndResolve:
		return needCreateAndResolve
	default:
		return needNothing
	}
}

// firedAt is when the Fired the worker delivers fired: the desired state's
// time for a firing alert, and for a resolved alert whose acknowledged Fired
// is still owed its item, the fired time the resolution carries.
func firedAt(it *store.Item) time.Time {
	if it.Condition != sdk.ConditionFired && it.Alert != nil && !it.Alert.FiredAt.IsZero() {
		return it.Alert.FiredAt
	}
	return it.EventAt
}
