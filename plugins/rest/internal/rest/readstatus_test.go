package rest

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// batchStatus is a read_status block for the fake's show_many.
func batchStatus() map[string]any {
	return map[string]any{
		"url":   "/api/v2/tickets/show_many",
		"query": map[string]string{"ids": "${work_items.ids}"},
		"result": map[string]any{
			"items": "tickets", "id": "id", "state": "status", "resolved_states": []string{"solved", "closed"},
			"resolved_by": "solved_by", "resolved_at": "solved_at", "resolution": "resolution",
			"fields": map[string]string{"priority": "priority"},
		},
	}
}

// itemStatus is a read_status block with a request per ticket.
func itemStatus() map[string]any {
	return map[string]any{
		"url": "/api/v2/tickets/${work_item.id}",
		"result": map[string]any{
			"id": "ticket.id", "state": "ticket.status", "resolved_states": []string{"solved", "closed"},
			"resolved_by": "ticket.solved_by", "resolved_at": "ticket.solved_at", "resolution": "ticket.resolution",
		},
	}
}

func (e *env) readStatus(items ...*sdk.WorkItem) map[string]sdk.WorkItemStatus {
	e.t.Helper()
	return sdktest.ReadStatus(e.t, e.p, items...)
}

func ticketID(t *testing.T, wi *sdk.WorkItem) int {
	t.Helper()
	id, err := strconv.Atoi(wi.ID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReadStatusModes reads tickets agents solved, closed, reopened and
// deleted, in one request for the batch and in one request per ticket.
func TestReadStatusModes(t *testing.T) {
	for _, mode := range []struct {
		name     string
		block    func() map[string]any
		requests int
		batch    int
	}{{"batch", batchStatus, 1, defaultStatusBatch}, {"per item", itemStatus, 5, defaultStatusPerItem}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) { cfg["read_status"] = mode.block() })
			info, err := sdktest.Connect(t, e.p).Info(context.Background())
			if err != nil || !info.Capabilities.ReadStatus || info.MaxStatusBatch != mode.batch {
				t.Fatalf("Info = %+v, %v; want read_status in batches of %d", info, err, mode.batch)
			}
			var items []*sdk.WorkItem
			for i := range 5 {
				items = append(items, e.create("k"+strconv.Itoa(i)))
			}
			solved, closed, reopened, open, deleted := items[0], items[1], items[2], items[3], items[4]
			e.clock.Advance(time.Hour)
			at := e.clock.Now().UTC().Truncate(time.Second)
			for _, err := range []error{
				e.fake.SolveAs(ticketID(t, solved), "beth", "fixed"),
				e.fake.CloseAs(ticketID(t, closed), "fred", "duplicate"),
				e.fake.SolveAs(ticketID(t, reopened), "beth", "fixed"),
				e.fake.ReopenAs(ticketID(t, reopened), "beth"),
				e.fake.SetPriorityAs(ticketID(t, open), "beth", "urgent"),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			e.fake.Delete(ticketID(t, deleted))
			e.fake.ResetRequests()

			got := e.readStatus(items...)

			if n := len(e.fake.Requests()); n != mode.requests {
				t.Errorf("%d requests, want %d", n, mode.requests)
			}
			if mode.name == "batch" {
				ids := []string{solved.ID, closed.ID, reopened.ID, open.ID, deleted.ID}
				if q := e.fake.Requests()[0].Query.Get("ids"); q != strings.Join(ids, ",") {
					t.Errorf("ids = %q", q)
				}
			}
			if st := got[solved.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "beth" || !st.ResolvedAt.Equal(at) || st.Resolution != "fixed" {
				t.Errorf("solved ticket: %+v; want resolved by beth at %v, fixed", st, at)
			}
			if st := got[closed.ID]; st.State != sdk.StateResolved || st.ResolvedBy != "fred" || st.Resolution != "duplicate" {
				t.Errorf("closed ticket: %+v", st)
			}
			if st := got[reopened.ID]; !st.Found || st.State != sdk.StateOpen || st.ResolvedBy != "" || !st.ResolvedAt.IsZero() {
				t.Errorf("reopened ticket: %+v; want open", st)
			}
			if st := got[open.ID]; st.State != sdk.StateOpen || (mode.name == "batch" && st.Fields["priority"] != "urgent") {
				t.Errorf("open ticket: %+v", st)
			}
			if st := got[deleted.ID]; st.Found {
				t.Errorf("deleted ticket: %+v; want not found", st)
			}
		})
	}
}

// TestReadStatusAfterThePlugin: the plugin's own resolve shows as the API's.
func TestReadStatusAfterThePlugin(t *testing.T) {
	e := newEnv(t, restfake.Options{}, func(cfg map[string]any) { cfg["read_status"] = batchStatus() })
	wi := e.create("k")
	if _, err := e.p.Resolve(context.Background(), e.request("k", wi)); err != nil {
		t.Fatal(err)
	}
	if st := e.readStatus(wi)[wi.ID]; st.State != sdk.StateResolved || st.ResolvedBy != "api" {
		t.Errorf("after the plugin resolved it: %+v", st)
	}
}

// TestReadStatusErrors: a failed read fails the whole call, classified by
// retryable_statuses (default 408, 429, 5xx), a 404 of a batch request
// included: only a request per item reads 404 as deleted.
func TestReadStatusErrors(t *testing.T) {
	retryable := map[int]bool{http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true,
		http.StatusUnauthorized: false, http.StatusForbidden: false, http.StatusNotFound: false}
	for status, retry := range retryable {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) { cfg["read_status"] = batchStatus() })
			wi := e.create("k")
			e.fake.FailAll(status, http.Header{"Retry-After": {"30"}}, "")
			_, err := sdktest.Connect(t, e.p).ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{*wi}})
			if retry {
				sdktest.CheckError(t, err, sdk.KindRetryable, 30*time.Second, "read_status")
			} else {
				sdktest.CheckError(t, err, sdk.KindPermanent, 0, "read_status")
			}
		})
	}
}

// TestReadStatusBadAnswers: an answer the block cannot read is a permanent
// error naming the attribute.
func TestReadStatusBadAnswers(t *testing.T) {
	for _, tt := range []struct {
		name, body, want string
	}{
		{"not JSON", `<html>`, "the response body is not JSON"},
		{"items not an array", `{"tickets":{"id":1}}`, "result.items: the value at tickets is not an array"},
		{"an item without id", `{"tickets":[{"status":"open"}]}`, "result.id: item 0 of tickets has no value at id"},
		{"no status", `{"tickets":[{"id":1001}]}`, "result.state: work item 1001: the item has no status at status"},
		{"an unreadable time", `{"tickets":[{"id":1001,"status":"solved","solved_at":"yesterday"}]}`, `result.resolved_at: work item 1001: "yesterday" at solved_at: not a time`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) { cfg["read_status"] = batchStatus() })
			wi := e.create("k")
			e.fake.FailNext(1, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, tt.body)
			_, err := e.p.ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{*wi}})
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadStatus error %v; want a permanent error saying %q", err, tt.want)
			}
		})
	}
}

func TestReadStatusWithoutTheBlock(t *testing.T) {
	e := newEnv(t, restfake.Options{}, nil)
	if sdk.CapabilitiesOf(e.p).ReadStatus {
		t.Error("read_status reported without a read_status block")
	}
	n := len(e.fake.Requests())
	if _, err := e.p.ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{{ID: "1"}}}); sdk.KindOf(err) != sdk.KindPermanent ||
		!strings.Contains(err.Error(), "no read_status block") || len(e.fake.Requests()) != n {
		t.Errorf("ReadStatus without the block: %v; want a permanent error and no request", err)
	}
}

func TestReadStatusConfig(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(rs map[string]any)
		path   []string
		want   string
	}{
		{"no url", func(rs map[string]any) { delete(rs, "url") }, []string{"read_status", "url"}, "url is required"},
		{"items not named", func(rs map[string]any) { rs["query"] = map[string]string{"ids": "all"} },
			[]string{"read_status", "url"}, "read_status does not name the items"},
		{"both modes", func(rs map[string]any) { rs["url"] = "/t/${work_item.id}" },
			[]string{"read_status", "url"}, "mixes a batch and a request per item"},
		{"unknown reference", func(rs map[string]any) { rs["url"] = "/t/${alert.rule}" },
			[]string{"read_status", "url"}, "invalid reference"},
		{"ids in a body", func(rs map[string]any) { rs["body"] = `{"ids": "${work_items.ids}"}` },
			[]string{"read_status", "body"}, "invalid reference"},
		{"batch without items", func(rs map[string]any) { delete(rs["result"].(map[string]any), "items") },
			[]string{"read_status", "result", "items"}, "items is required in a batch"},
		{"batch without id", func(rs map[string]any) { delete(rs["result"].(map[string]any), "id") },
			[]string{"read_status", "result", "id"}, "id is required in a batch"},
		{"no resolved states", func(rs map[string]any) { delete(rs["result"].(map[string]any), "resolved_states") },
			[]string{"read_status", "result", "resolved_states"}, "resolved_states is required"},
		{"a header source", func(rs map[string]any) { rs["result"].(map[string]any)["resolved_by"] = "header:X-By" },
			[]string{"read_status", "result", "resolved_by"}, "reads items from the body"},
		{"not found in a batch", func(rs map[string]any) { rs["not_found_statuses"] = []any{404} },
			[]string{"read_status", "not_found_statuses"}, "needs a request per item"},
		{"batch too large", func(rs map[string]any) { rs["batch"] = 5000 }, []string{"read_status", "batch"}, "invalid batch"},
		{"batch not whole", func(rs map[string]any) { rs["batch"] = 2.5 }, []string{"read_status", "batch"}, "invalid batch"},
		{"bad method", func(rs map[string]any) { rs["method"] = "get it" }, []string{"read_status", "method"}, "not an HTTP method"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := batchStatus()
			tt.mutate(rs)
			cfg := ticketConfig("https://tickets.example.com")
			cfg["read_status"] = rs
			err := New(Options{}).Configure(context.Background(), sdktest.ConfigOf(t, cfg))
			for _, d := range sdk.AsDiagnostics(err) {
				if slices.Equal(d.Path, tt.path) && strings.Contains(d.Summary, tt.want) {
					return
				}
			}
			t.Errorf("Configure = %v; want a diagnostic at %v saying %q", err, tt.path, tt.want)
		})
	}
}

func TestParseStatusTime(t *testing.T) {
	want := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	for _, s := range []string{"2025-03-14T09:26:53Z", "2025-03-14T10:26:53+01:00", "2025-03-14 09:26:53", "1741944413"} {
		if got, err := parseStatusTime(s); err != nil || !got.Equal(want) {
			t.Errorf("parseStatusTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"yesterday", "14/03/2025", "-5"} {
		if _, err := parseStatusTime(s); err == nil {
			t.Errorf("parseStatusTime(%q) succeeded", s)
		}
	}
}
