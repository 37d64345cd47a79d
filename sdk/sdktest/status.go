package sdktest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// wantStatus is what a ReadStatus answer must say about one item.
type wantStatus struct {
	found bool
	state sdk.WorkItemState
}

// readStatus calls ReadStatus for items until every answer is as want says
// (by ID), for at most Suite.LookupWait, and returns the last answer by ID.
// It fails t when the answer is malformed: a status missing for an item,
// or one that breaks the contract of sdk.WorkItemStatus.
func (r *runner) readStatus(t *testing.T, c hostside.Client, items []sdk.WorkItem, want map[string]wantStatus) map[string]sdk.WorkItemStatus {
	t.Helper()
	deadline := time.Now().Add(r.s.LookupWait)
	for {
		got, err := c.ReadStatus(r.ctx(t), &sdk.StatusRequest{Items: items})
		if err != nil {
			r.noSecret(t, "ReadStatus", err)
			t.Fatalf("ReadStatus of %d work items: %v", len(items), err)
		}
		byID := make(map[string]sdk.WorkItemStatus, len(got))
		for _, st := range got {
			byID[st.ID] = st
		}
		var missing []string
		settled := true
		for _, wi := range items {
			st, ok := byID[wi.ID]
			if !ok {
				missing = append(missing, wi.ID)
				continue
			}
			if w := want[wi.ID]; st.Found != w.found || st.Found && st.State != w.state {
				settled = false
			}
		}
		if len(missing) > 0 {
			t.Fatalf("ReadStatus answered %d statuses for %d work items; none for %q. Answer every item asked for, "+
				"with Found false for one deleted or not visible in the tool", len(got), len(items), missing)
		}
		if settled || !time.Now().Before(deadline) {
			for _, st := range got {
				checkStatus(t, st)
			}
			return byID
		}
		time.Sleep(min(100*time.Millisecond, time.Until(deadline)))
	}
}

// checkStatus checks one status against the contract of sdk.WorkItemStatus.
func checkStatus(t *testing.T, st sdk.WorkItemStatus) {
	t.Helper()
	if !st.Found {
		if st.State != "" || st.ResolvedBy != "" || !st.ResolvedAt.IsZero() || st.Resolution != "" || len(st.Fields) > 0 {
			t.Errorf("ReadStatus: work item %s is not found, yet its status says more: %+v; leave the other fields empty", st.ID, st)
		}
		return
	}
	switch st.State {
	case sdk.StateOpen:
		if !st.ResolvedAt.IsZero() {
			t.Errorf("ReadStatus: work item %s is open with a resolution time (%v); an open item has none", st.ID, st.ResolvedAt)
		}
	case sdk.StateResolved:
	default:
		t.Errorf("ReadStatus: work item %s has state %q; a found item is %q or %q", st.ID, st.State, sdk.StateOpen, sdk.StateResolved)
	}
}

// expect fails t when st is not as w says.
func expect(t *testing.T, what string, st sdk.WorkItemStatus, w wantStatus) {
	t.Helper()
	switch {
	case st.Found != w.found:
		t.Errorf("ReadStatus: %s (work item %s) has Found %v, want %v", what, st.ID, st.Found, w.found)
	case w.found && st.State != w.state:
		t.Errorf("ReadStatus: %s (work item %s) has state %q, want %q", what, st.ID, st.State, w.state)
	}
}

// testReadStatus reads the state of an open item, of one resolved through
// the plugin and, with Suite.Delete, of one deleted in the tool.
func (r *runner) testReadStatus(t *testing.T) {
	c, info := r.configured(t)
	if !info.Capabilities.ReadStatus {
		t.Skip("the plugin does not implement sdk.StatusReader")
	}
	ctx := r.ctx(t)
	fired := r.alert()
	create := func() *sdk.WorkItem {
		t.Helper()
		key := r.key(t)
		wi, err := c.Create(ctx, r.request(key, fired, nil))
		if err != nil {
			r.noSecret(t, "Create", err)
			t.Fatalf("Create: %v", err)
		}
		checkItem(t, "Create", wi, sdk.StateOpen, key, nil)
		return wi
	}
	open, other := create(), create()
	items := []sdk.WorkItem{*open, *other}
	want := map[string]wantStatus{open.ID: {true, sdk.StateOpen}, other.ID: {true, sdk.StateOpen}}
	otherIs := "the second open item"

	if info.Capabilities.Resolve {
		resolved, err := c.Resolve(ctx, r.request(other.CorrelationKey, Resolved(fired, fired.FiredAt.Add(10*time.Minute)), other))
		if err != nil {
			r.noSecret(t, "Resolve", err)
			t.Fatalf("Resolve: %v", err)
		}
		checkItem(t, "Resolve", resolved, sdk.StateResolved, other.CorrelationKey, other)
		want[other.ID] = wantStatus{true, sdk.StateResolved}
		otherIs = "the item resolved through the plugin"
	} else {
		t.Log("the plugin does not implement sdk.Resolver: the status of a resolved item not checked")
	}
	got := r.readStatus(t, c, items, want)
	expect(t, "the open item", got[open.ID], want[open.ID])
	expect(t, otherIs, got[other.ID], want[other.ID])

	if r.s.Delete == nil {
		t.Log("Suite.Delete not set: the status of a deleted item not checked (set it to delete an item in the test backend)")
		return
	}
	r.s.Delete(t, open)
	want[open.ID] = wantStatus{found: false}
	got = r.readStatus(t, c, items, want)
	expect(t, "the deleted item", got[open.ID], want[open.ID])
	expect(t, otherIs+", after another was deleted", got[other.ID], want[other.ID])
}

// testReadStatusBatch reads a full batch, Info.MaxStatusBatch items (or
// the host's default), in one call.
func (r *runner) testReadStatusBatch(t *testing.T) {
	c, info := r.configured(t)
	if !info.Capabilities.ReadStatus {
		t.Skip("the plugin does not implement sdk.StatusReader")
	}
	n := info.StatusBatch()
	ctx := r.ctx(t)
	fired := r.alert()
	items := make([]sdk.WorkItem, 0, n)
	want := make(map[string]wantStatus, n)
	for i := range n {
		key := r.key(t)
		wi, err := c.Create(ctx, r.request(key, fired, nil))
		if err != nil {
			r.noSecret(t, "Create", err)
			t.Fatalf("Create %d of %d: %v", i+1, n, err)
		}
		checkItem(t, "Create", wi, sdk.StateOpen, key, nil)
		items = append(items, *wi)
		want[wi.ID] = wantStatus{true, sdk.StateOpen}
	}
	// The host's order is its own (oldest first); the plugin must not rely
	// on it.
	slices.Reverse(items)
	got := r.readStatus(t, c, items, want)
	for i, wi := range items {
		expect(t, fmt.Sprintf("item %d of the batch of %d", i+1, n), got[wi.ID], want[wi.ID])
	}
}
