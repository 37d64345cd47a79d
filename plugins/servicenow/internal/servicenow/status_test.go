package servicenow

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

func (e *env) readStatus(items ...*sdk.WorkItem) map[string]sdk.WorkItemStatus {
	e.t.Helper()
	return sdktest.ReadStatus(e.t, e.p, items...)
}

// TestReadStatusAfterPeople reads, in one query, incidents people resolved,
// closed, canceled and deleted in the instance, and one left open.
func TestReadStatusAfterPeople(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.AddUser("beth.anglin", "Beth Anglin")
	e.fake.AddUser("fred.luddy", "Fred Luddy")
	var items []*sdk.WorkItem
	for i := range 5 {
		items = append(items, e.create("k"+string(rune('a'+i)), alert()))
	}
	resolved, closed, canceled, open, deleted := items[0], items[1], items[2], items[3], items[4]
	e.clock.Advance(90 * time.Minute)
	resolvedAt := e.clock.Now().UTC().Truncate(time.Second)
	if err := e.fake.ResolveAs(resolved.ID, "beth.anglin", "Solved (Permanently)", "Restarted the VM."); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.fake.CloseAs(closed.ID, "fred.luddy", "Closed/Resolved by Caller", "Caller says fixed."); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.CancelAs(canceled.ID, "beth.anglin"); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.DeleteAs(deleted.ID, "fred.luddy"); err != nil {
		t.Fatal(err)
	}
	e.fake.ResetRequests()

	got := e.readStatus(items...)

	reqs := e.requests(http.MethodGet, "/api/now/table/incident")
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want one query for the batch", len(reqs))
	}
	q := reqs[0].Query
	if want := "sys_idIN" + resolved.ID + "," + closed.ID + "," + canceled.ID + "," + open.ID + "," + deleted.ID; q.Get("sysparm_query") != want {
		t.Errorf("sysparm_query = %q, want %q", q.Get("sysparm_query"), want)
	}
	if q.Get("sysparm_display_value") != "all" || q.Get("sysparm_limit") != "5" || q.Get("sysparm_exclude_reference_link") != "true" {
		t.Errorf("query parameters %v", q)
	}
	for _, f := range []string{"state", "resolved_by", "resolved_at", "close_code", "sys_id"} {
		if !strings.Contains(","+q.Get("sysparm_fields")+",", ","+f+",") {
			t.Errorf("sysparm_fields %q lacks %s", q.Get("sysparm_fields"), f)
		}
	}

	if st := got[resolved.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "Beth Anglin" ||
		!st.ResolvedAt.Equal(resolvedAt) || st.Resolution != "Solved (Permanently)" || st.Fields["state"] != StateResolved {
		t.Errorf("resolved incident: %+v; want resolved by Beth Anglin at %v (UTC, the stored value), Solved (Permanently)", st, resolvedAt)
	}
	if st := got[closed.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "Fred Luddy" ||
		st.ResolvedAt.IsZero() || st.Resolution != "Closed/Resolved by Caller" || st.Fields["state"] != StateClosed {
		t.Errorf("closed incident: %+v; want resolved, by Fred Luddy, at the closing time", st)
	}
	if st := got[canceled.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "beth.anglin" || st.Fields["state"] != StateCanceled {
		t.Errorf("canceled incident: %+v; want resolved, by the last updater beth.anglin", st)
	}
	if st := got[open.ID]; !st.Found || st.State != sdk.StateOpen || st.ResolvedBy != "" || !st.ResolvedAt.IsZero() ||
		st.Fields["assignment_group"] != "cloud-ops" || st.Fields["category"] != "software" || st.Fields["urgency"] == "" {
		t.Errorf("open incident: %+v; want open with the fields the plugin wrote", st)
	}
	if st := got[deleted.ID]; st.Found || st.State != "" {
		t.Errorf("deleted incident: %+v; want not found", st)
	}
}

// TestReadStatusFollowsReopenAndThePlugin: a person reopening a resolved
// incident makes it open again; the plugin's own Resolve names the
// integration user.
func TestReadStatusFollowsReopenAndThePlugin(t *testing.T) {
	e := newEnv(t, nil, nil)
	item := e.create("k1", alert())
	if err := e.fake.ResolveAs(item.ID, "beth.anglin", "Solved (Permanently)", "Done."); err != nil {
		t.Fatal(err)
	}
	if st := e.readStatus(item)[item.ID]; st.State != sdk.StateResolved {
		t.Fatalf("after a person resolved it: %+v", st)
	}
	if err := e.fake.ReopenAs(item.ID, "beth.anglin"); err != nil {
		t.Fatal(err)
	}
	if st := e.readStatus(item)[item.ID]; !st.Found || st.State != sdk.StateOpen || st.ResolvedBy != "" || !st.ResolvedAt.IsZero() {
		t.Errorf("after a person reopened it: %+v; want open, no resolver", st)
	}
	if err := e.fake.EditAs(item.ID, "beth.anglin", map[string]string{"urgency": "1", "work_notes": "Escalating."}); err != nil {
		t.Fatal(err)
	}
	if st := e.readStatus(item)[item.ID]; st.Fields["urgency"] != "1" || st.Fields["priority"] == "" {
		t.Errorf("after a person raised the urgency: %+v", st)
	}
	if _, err := e.p.Resolve(context.Background(), e.request("k1", sdktest.Resolved(alert(), alert().FiredAt.Add(time.Hour)), item)); err != nil {
		t.Fatal(err)
	}
	if st := e.readStatus(item)[item.ID]; st.State != sdk.StateResolved || st.ResolvedBy != testUser {
		t.Errorf("after the plugin resolved it: %+v; want resolved by the integration user %s", st, testUser)
	}
}

// TestReadStatusOnlyCountsWhatWasAsked: an instance that drops a query it
// cannot parse answers every record; records not asked for are ignored,
// and an id that is no sys_id never reaches the query.
func TestReadStatusOnlyCountsWhatWasAsked(t *testing.T) {
	e := newEnv(t, nil, nil)
	item := e.create("k1", alert())
	e.fake.FailNext(1, http.StatusOK, nil, `{"result":[{"sys_id":{"display_value":"0123","value":"0123"},"state":{"display_value":"Resolved","value":"6"}}]}`)
	hostile := &sdk.WorkItem{ID: item.ID + "^ORstate=6"}
	got := e.readStatus(item, hostile)
	if got[item.ID].Found || got[hostile.ID].Found {
		t.Errorf("statuses %+v; want both not found", got)
	}
	e.fake.ResetRequests()
	got = e.readStatus(item, hostile)
	if !got[item.ID].Found || got[hostile.ID].Found {
		t.Errorf("statuses %+v; want the incident found and the malformed id not", got)
	}
	if q := e.requests(http.MethodGet, "/api/now/table/incident")[0].Query.Get("sysparm_query"); q != "sys_idIN"+item.ID {
		t.Errorf("sysparm_query = %q; the malformed id must stay out of it", q)
	}
}

func TestReadStatusErrors(t *testing.T) {
	tests := []struct {
		name       string
		fail       func(*snowfake.Server)
		kind       sdk.ErrorKind
		retryAfter time.Duration
		want       string
	}{
		{"429", func(f *snowfake.Server) {
			f.FailNext(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, "")
		},
			sdk.KindRetryable, 30 * time.Second, "HTTP 429"},
		{"503", func(f *snowfake.Server) { f.FailNext(1, http.StatusServiceUnavailable, nil, "") }, sdk.KindRetryable, 0, "HTTP 503"},
		{"401", func(f *snowfake.Server) { f.FailAll(http.StatusUnauthorized, nil, "") }, sdk.KindPermanent, 0, "HTTP 401"},
		{"403 without the read role", func(f *snowfake.Server) { f.Deny("incident", snowfake.OpRead) }, sdk.KindPermanent, 0, "HTTP 403: User Not Authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			item := e.create("k1", alert())
			tt.fail(e.fake)
			_, err := sdktest.Connect(t, e.p).ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{*item}})
			sdktest.CheckError(t, err, tt.kind, tt.retryAfter, tt.want)
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("the password leaked into %q", err)
			}
		})
	}
}

func TestReadStatusNotInEventMode(t *testing.T) {
	e := newEnv(t, nil, func(cfg map[string]any) { cfg["mode"] = ModeEvent })
	info, err := sdktest.Connect(t, e.p).Info(context.Background())
	if err != nil || info.Capabilities.ReadStatus {
		t.Errorf("Info in event mode = %+v, %v; want no read_status", info.Capabilities, err)
	}
	if _, err := e.p.ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{{ID: "0123"}}}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("ReadStatus in event mode: %v, want a permanent error", err)
	}
	fresh := New(Options{Version: "test"})
	if !fresh.Capabilities().ReadStatus {
		t.Error("before Configure the plugin must report read_status (what it can do at all)")
	}
	if info, _ := fresh.Info(context.Background()); info.MaxStatusBatch != StatusBatch {
		t.Errorf("MaxStatusBatch = %d, want %d", info.MaxStatusBatch, StatusBatch)
	}
}
