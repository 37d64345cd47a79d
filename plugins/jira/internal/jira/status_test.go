package jira

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

var beth = jirafake.User{Name: "beth@contoso.example", DisplayName: "Beth Anglin"}

func (e *env) readStatus(items ...*sdk.WorkItem) map[string]sdk.WorkItemStatus {
	e.t.Helper()
	return sdktest.ReadStatus(e.t, e.p, items...)
}

// searchPath is the flavor's search API.
func (e *env) searchPath() string {
	if e.flavor == FlavorCloud {
		return "/rest/api/3/search/jql"
	}
	return "/rest/api/2/search"
}

// TestReadStatusAfterPeople reads, in one search, issues people resolved,
// closed and reopened in Jira, and one left open.
func TestReadStatusAfterPeople(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		resolved, closed, reopened, open := e.create("k1", alert()), e.create("k2", alert()), e.create("k3", alert()), e.create("k4", alert())
		e.clock.Advance(45 * time.Minute)
		resolvedAt := e.clock.Now().UTC().Truncate(time.Millisecond)
		if err := e.fake.ResolveAs(resolved.Key, beth, "Won't Do"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if err := e.fake.CloseAs(closed.Key, jirafake.User{Name: "fred"}, "Duplicate"); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.ResolveAs(reopened.Key, beth, "Done"); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.ReopenAs(reopened.Key, beth); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.EditAs(open.Key, beth, "priority", map[string]string{"name": "Highest"}); err != nil {
			t.Fatal(err)
		}
		e.fake.ResetRequests()

		got := e.readStatus(resolved, closed, reopened, open)

		reqs := e.fake.Requests()
		if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != e.searchPath() {
			t.Fatalf("requests %+v; want one search", reqs)
		}
		body := reqs[0].JSON(t)
		if want := `issue in ("` + resolved.ID + `", "` + closed.ID + `", "` + reopened.ID + `", "` + open.ID + `")`; body["jql"] != want {
			t.Errorf("jql = %q, want %q", body["jql"], want)
		}
		if flavor == FlavorCloud {
			if body["expand"] != "changelog" || len(body["reconcileIssues"].([]any)) != 4 {
				t.Errorf("Cloud search body %v; want expand changelog and every id reconciled", body)
			}
		} else if body["validateQuery"] != "warn" {
			t.Errorf("Data Center search body %v; want validateQuery warn", body)
		}

		if st := got[resolved.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "Beth Anglin" ||
			!st.ResolvedAt.Equal(resolvedAt) || st.Resolution != "Won't Do" || st.Fields["status"] != "Done" {
			t.Errorf("resolved issue: %+v; want resolved by Beth Anglin at %v, Won't Do", st, resolvedAt)
		}
		if st := got[closed.ID]; st.State != sdk.StateResolved || st.ResolvedBy != "fred" || st.Resolution != "Duplicate" || st.Fields["status"] != "Closed" {
			t.Errorf("closed issue: %+v", st)
		}
		if st := got[reopened.ID]; !st.Found || st.State != sdk.StateOpen || st.ResolvedBy != "" || !st.ResolvedAt.IsZero() || st.Resolution != "" {
			t.Errorf("reopened issue: %+v; want open", st)
		}
		if st := got[open.ID]; st.State != sdk.StateOpen || st.Fields["priority"] != "Highest" || st.Fields["summary"] == "" {
			t.Errorf("open issue: %+v; want the priority a person set", st)
		}
	})
}

// TestReadStatusDeletedIssue: a deleted issue in the batch is not found,
// and the others are read (Cloud's search fails on it and is repeated
// without it; Data Center's warns, and the issue is read directly).
func TestReadStatusDeletedIssue(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		gone, kept := e.create("k1", alert()), e.create("k2", alert())
		if err := e.fake.ResolveAs(kept.Key, beth, "Done"); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.DeleteAs(gone.Key, beth); err != nil {
			t.Fatal(err)
		}
		e.fake.ResetRequests()
		got := e.readStatus(gone, kept)
		if st := got[gone.ID]; st.Found {
			t.Errorf("deleted issue: %+v; want not found", st)
		}
		if st := got[kept.ID]; !st.Found || st.State != sdk.StateResolved || st.ResolvedBy != "Beth Anglin" {
			t.Errorf("kept issue: %+v", st)
		}
		if n := len(e.fake.Requests()); n != 2 {
			t.Errorf("%d requests, want 2 (%s)", n, map[string]string{FlavorCloud: "a failed search and one without the deleted issue",
				FlavorDataCenter: "the search and a direct read of the issue it did not return"}[flavor])
		}
	})
}

// TestReadStatusLaggingIndex: an issue the index does not have yet is read
// directly, never reported deleted.
func TestReadStatusLaggingIndex(t *testing.T) {
	e := newEnv(t, FlavorDataCenter, func(o *jirafake.Options) { o.IndexAfterSearches = 5 }, nil)
	item := e.create("k1", alert())
	if st := e.readStatus(item)[item.ID]; !st.Found || st.State != sdk.StateOpen {
		t.Errorf("new issue the index lacks: %+v; want found and open", st)
	}
}

// TestReadStatusAfterThePlugin: the plugin's own Resolve names its account.
func TestReadStatusAfterThePlugin(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		item := e.create("k1", alert())
		if _, err := e.p.Resolve(context.Background(), e.request("k1", sdktest.Resolved(alert(), alert().FiredAt.Add(time.Hour)), item)); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{FlavorCloud: testEmail, FlavorDataCenter: "PAT user"}[flavor]
		if st := e.readStatus(item)[item.ID]; st.State != sdk.StateResolved || st.ResolvedBy != want || st.Resolution != "Done" {
			t.Errorf("after the plugin resolved it: %+v; want resolved by %s", st, want)
		}
	})
}

// TestReadStatusErrors: a failed search fails the whole read, classified
// by the SDK's rule for HTTP statuses, a retryable one after Jira's
// Retry-After.
func TestReadStatusErrors(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEnv(t, FlavorCloud, nil, nil)
			item := e.create("k1", alert())
			e.fake.FailAll(status, http.Header{"Retry-After": {"30"}}, "")
			_, err := sdktest.Connect(t, e.p).ReadStatus(context.Background(), &sdk.StatusRequest{Items: []sdk.WorkItem{*item}})
			kind, after := sdk.HTTPStatusKind(status), time.Duration(0)
			if kind == sdk.KindRetryable {
				after = 30 * time.Second
			}
			sdktest.CheckError(t, err, kind, after, "read issue status", fmt.Sprintf("HTTP %d", status))
			e.noSecrets(err)
		})
	}
}

// TestReadStatusOddIDs: an id that is no issue id never reaches the JQL.
func TestReadStatusOddIDs(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, nil)
	item := e.create("k1", alert())
	odd := &sdk.WorkItem{ID: `1") OR project = "OPS`}
	e.fake.ResetRequests()
	got := e.readStatus(item, odd)
	if !got[item.ID].Found || got[odd.ID].Found {
		t.Errorf("statuses %+v", got)
	}
	if jql := e.fake.Requests()[0].JSON(t)["jql"]; jql != `issue in ("`+item.ID+`")` {
		t.Errorf("jql = %q", jql)
	}
}

func TestResolver(t *testing.T) {
	h := func(at, who string, items ...string) history {
		var x history
		x.Created, x.Author.DisplayName = at, who
		for i := 0; i+1 < len(items); i += 2 {
			x.Items = append(x.Items, struct {
				Field string `json:"field"`
				To    string `json:"to"`
			}{items[i], items[i+1]})
		}
		return x
	}
	tests := []struct {
		name string
		hs   []history
		want string
	}{
		{"newest resolution wins, in any order", []history{
			h("2025-03-14T10:00:00.000+0000", "Late", "resolution", "10000"),
			h("2025-03-14T09:00:00.000+0000", "Early", "resolution", "10001"),
		}, "Late"},
		{"a cleared resolution does not count", []history{
			h("2025-03-14T09:00:00.000+0000", "Resolver", "resolution", "10000"),
			h("2025-03-14T10:00:00.000+0000", "Reopener", "resolution", ""),
		}, "Resolver"},
		{"without resolutions, the last status change", []history{
			h("2025-03-14T09:00:00.000+0000", "Starter", "status", "3"),
			h("2025-03-14T10:00:00.000+0000", "Finisher", "status", "10001"),
		}, "Finisher"},
		{"offsets are compared as times", []history{
			h("2025-03-14T10:30:00.000+0200", "Earlier", "resolution", "10000"),
			h("2025-03-14T09:00:00.000+0000", "Later", "resolution", "10000"),
		}, "Later"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		if got := resolver(tt.hs); got != tt.want {
			t.Errorf("%s: resolver = %q, want %q", tt.name, got, tt.want)
		}
	}
}
