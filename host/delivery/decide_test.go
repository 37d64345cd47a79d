package delivery

import (
	"testing"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
)

func TestResolvedWithoutItem(t *testing.T) {
	record, create := route.ResolvedRecord, route.ResolvedCreateAndResolve
	tests := []struct {
		name                string
		remote              store.RemoteState
		seq, applied, fired int64
		policy              route.ResolvedPolicy
		want                resolvedNeed
	}{
		{"acknowledged Fired, record", store.RemoteNone, 2, 0, 1, record, needAcknowledgedFired},
		{"acknowledged Fired, create_and_resolve", store.RemoteNone, 2, 0, 1, create, needAcknowledgedFired},
		{"acknowledged re-fire after a resolved item", store.RemoteResolved, 4, 2, 3, record, needAcknowledgedFired},
		{"no Fired acknowledged, record", store.RemoteNone, 1, 0, 0, record, needNothing},
		{"no Fired acknowledged, create_and_resolve", store.RemoteNone, 1, 0, 0, create, needCreateAndResolve},
		{"Fired delivered, then resolved", store.RemoteNone, 2, 1, 1, record, needNothing},
		{"Fired delivered, item deleted, create_and_resolve", store.RemoteNone, 2, 2, 1, create, needNothing},
		{"resolved item, nothing newer", store.RemoteResolved, 2, 2, 1, create, needNothing},
		{"resolved item, newer resolution only", store.RemoteResolved, 3, 2, 1, create, needNothing},
		{"stale Fired after its Resolved", store.RemoteNone, 1, 1, 0, record, needNothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := &store.Item{Remote: tt.remote, Seq: tt.seq, AppliedSeq: tt.applied, FiredSeq: tt.fired, OnResolvedWithoutItem: tt.policy}
			if got := resolvedWithoutItem(it); got != tt.want {
				t.Errorf("resolvedWithoutItem = %d, want %d", got, tt.want)
			}
		})
	}
}
