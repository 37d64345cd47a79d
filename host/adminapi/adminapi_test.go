package adminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// letters are the ids of the dead letters newAPI writes.
type letters struct{ stillUnmatched, routable, delivery int64 }

// newAPI serves the API over a SQLite store holding three dead letters: an
// alert the running routes still do not take, one they now take, and a
// delivery's letter. Replays go through delivery.Replay with those routes,
// as the running connector's do.
func newAPI(t *testing.T) (*httptest.Server, store.Store, letters) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res, err := st.Ingest(ctx, []store.Notification{
		{Alert: storetest.Alert("still-unmatched", sdk.ConditionFired, t0), Unmatched: "no route matched", ReceivedAt: t0},
		{Alert: storetest.Alert("routable", sdk.ConditionFired, t0), Unmatched: "no route matched", ReceivedAt: t0},
		{Alert: storetest.Alert("delivered", sdk.ConditionFired, t0), Deliveries: []route.Delivery{storetest.Delivery("file.y", "k")}, ReceivedAt: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	ls := letters{stillUnmatched: res[0].DeadLetterID, routable: res[1].DeadLetterID}
	if c, err := st.Claim(ctx, "file.y", "A", t0, time.Minute, 1); err != nil || len(c) != 1 {
		t.Fatalf("Claim = %d items, %v", len(c), err)
	}
	if err := st.Record(ctx, store.Progress{ItemID: res[2].Deliveries[0].ItemID, Owner: "A", Now: t0, Attempts: 1,
		LastError: "HTTP 400", DeadLetter: "create on file.y failed permanently: HTTP 400"}); err != nil {
		t.Fatal(err)
	}
	dls, err := st.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: "file.y"})
	if err != nil || len(dls) != 1 {
		t.Fatalf("delivery's dead letter: %d, %v", len(dls), err)
	}
	ls.delivery = dls[0].ID
	router := func(a *sdk.Alert) (route.Decision, error) {
		if a.ID == "routable" {
			return route.Decision{Deliveries: []route.Delivery{storetest.Delivery("file.x", a.ID)}}, nil
		}
		return route.Decision{Unmatched: "no route matched severity 4"}, nil
	}
	dl := &adminapi.DeadLetters{Store: st, Replay: func(ctx context.Context, id int64) ([]string, error) {
		return delivery.Replay(ctx, st, id, router, time.Now())
	}}
	srv := httptest.NewServer(dl.Handler())
	t.Cleanup(srv.Close)
	return srv, st, ls
}

func call(t *testing.T, srv *httptest.Server, method, path string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	var v map[string]any
	if method != http.MethodHead {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s %s: answer %q is not a JSON object: %v", method, path, body, err)
		}
	}
	return resp.StatusCode, resp.Header, v
}

// TestAPI runs one sequence of calls: each step's answer depends on the
// ones before (a replayed letter is gone).
func TestAPI(t *testing.T) {
	srv, st, ls := newAPI(t)
	p := func(format string, id int64) string { return fmt.Sprintf(format, id) }
	steps := []struct {
		method, path string
		wantStatus   int
		// want are fields of the answer; "error" is the code of a failure.
		want  map[string]any
		allow string
	}{
		{method: "GET", path: "/api/v1/deadletters", wantStatus: 200},
		{method: "GET", path: "/api/v1/deadletters?limit=0", wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "GET", path: "/api/v1/deadletters?bakcend=file.y", wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "GET", path: p("/api/v1/deadletters/%d", ls.delivery), wantStatus: 200,
			want: map[string]any{"backend": "file.y", "attempts": 1.0, "reason": "create on file.y failed permanently: HTTP 400"}},
		{method: "GET", path: "/api/v1/deadletters/999", wantStatus: 404, want: map[string]any{"error": "not_found", "message": "dead letter 999: not found"}},
		{method: "GET", path: "/api/v1/deadletters/abc", wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "POST", path: "/api/v1/deadletters/-1/replay", wantStatus: 400, want: map[string]any{"error": "bad_request"}},

		// An alert the running routes still do not take: 409, letter kept.
		{method: "POST", path: p("/api/v1/deadletters/%d/replay", ls.stillUnmatched), wantStatus: 409, want: map[string]any{"error": "unroutable"}},
		{method: "GET", path: p("/api/v1/deadletters/%d", ls.stillUnmatched), wantStatus: 200, want: map[string]any{"item_id": 0.0}},
		// One they take now: routed with the running routes, letter gone.
		{method: "POST", path: p("/api/v1/deadletters/%d/replay", ls.routable), wantStatus: 200,
			want: map[string]any{"result": "replayed", "id": float64(ls.routable), "backends": []any{"file.x"}}},
		{method: "POST", path: p("/api/v1/deadletters/%d/replay", ls.routable), wantStatus: 404, want: map[string]any{"error": "not_found"}},
		// A delivery's letter.
		{method: "POST", path: p("/api/v1/deadletters/%d/replay", ls.delivery), wantStatus: 200,
			want: map[string]any{"result": "replayed", "backends": []any{"file.y"}}},

		{method: "DELETE", path: p("/api/v1/deadletters/%d", ls.stillUnmatched), wantStatus: 200, want: map[string]any{"result": "dropped"}},
		{method: "DELETE", path: p("/api/v1/deadletters/%d", ls.stillUnmatched), wantStatus: 404, want: map[string]any{"error": "not_found"}},
		{method: "POST", path: p("/api/v1/deadletters/%d/drop", ls.stillUnmatched), wantStatus: 404, want: map[string]any{"error": "not_found"}},

		{method: "PUT", path: "/api/v1/deadletters/1", wantStatus: 405, want: map[string]any{"error": "method_not_allowed"}, allow: "GET, HEAD, DELETE"},
		{method: "GET", path: "/api/v1/deadletters/1/replay", wantStatus: 405, want: map[string]any{"error": "method_not_allowed"}, allow: "POST"},
		{method: "POST", path: "/api/v1/deadletters", wantStatus: 405, want: map[string]any{"error": "method_not_allowed"}, allow: "GET, HEAD"},
		{method: "GET", path: "/api/v2/workitems", wantStatus: 404, want: map[string]any{"error": "not_found"}},
	}
	for i, s := range steps {
		status, h, body := call(t, srv, s.method, s.path)
		if status != s.wantStatus {
			t.Errorf("step %d: %s %s = %d %v, want %d", i, s.method, s.path, status, body, s.wantStatus)
			continue
		}
		for k, want := range s.want {
			if got, _ := json.Marshal(body[k]); string(got) != mustJSON(want) {
				t.Errorf("step %d: %s %s: %q is %s, want %s", i, s.method, s.path, k, got, mustJSON(want))
			}
		}
		if s.allow != "" && h.Get("Allow") != s.allow {
			t.Errorf("step %d: %s %s: Allow %q, want %q", i, s.method, s.path, h.Get("Allow"), s.allow)
		}
	}
	items, err := st.ListItems(context.Background(), store.ItemFilter{Backend: "file.x"})
	if err != nil || len(items) != 1 || items[0].AlertID != "routable" || !items[0].Dirty {
		t.Errorf("the routable alert's work item: %d items, %v; want one, dirty, for file.x", len(items), err)
	}
	_, _, list := call(t, srv, "GET", "/api/v1/deadletters?limit=10")
	if dls, _ := list["dead_letters"].([]any); len(dls) != 0 {
		t.Errorf("dead letters left: %v", list)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		err        error
		want       adminapi.Result
		wantStatus int
	}{
		{nil, adminapi.Replayed, 200},
		{fmt.Errorf("dead letter 1: %w", store.ErrNotFound), adminapi.NotFound, 404},
		{fmt.Errorf("dead letter 1: still no route: %w", delivery.ErrUnroutable), adminapi.Unroutable, 409},
		{errors.New("database is locked"), adminapi.Failed, 500},
		{context.Canceled, adminapi.Failed, 500},
	}
	for _, tt := range tests {
		got := adminapi.Outcome(tt.err, adminapi.Replayed)
		if got != tt.want || got.Status() != tt.wantStatus {
			t.Errorf("Outcome(%v) = %q (%d), want %q (%d)", tt.err, got, got.Status(), tt.want, tt.wantStatus)
		}
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    store.DeadLetterFilter
		wantErr string
	}{
		{"", store.DeadLetterFilter{Limit: 50}, ""},
		{"backend=file.x&before_id=9&limit=1000", store.DeadLetterFilter{Backend: "file.x", BeforeID: 9, Limit: 1000}, ""},
		{"limit=1001", store.DeadLetterFilter{}, `limit="1001" is not a number from 1 to 1000`},
		{"limit=-1", store.DeadLetterFilter{}, `limit="-1"`},
		{"before_id=0", store.DeadLetterFilter{}, `before_id="0" is not a positive number`},
		{"before_id=x", store.DeadLetterFilter{}, `before_id="x"`},
		{"route=r", store.DeadLetterFilter{}, `unknown parameter "route"`},
		{"unmatched=true", store.DeadLetterFilter{Unmatched: true, Limit: 50}, ""},
		{"unmatched=false&backend=jira.x", store.DeadLetterFilter{Backend: "jira.x", Limit: 50}, ""},
		{"unmatched=yes", store.DeadLetterFilter{}, `unmatched="yes": want true or false`},
		{"unmatched=true&backend=jira.x", store.DeadLetterFilter{}, `an alert no route took has no backend`},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := adminapi.ParseFilter(q)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseFilter(%q) = %v, want error with %q", tt.query, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct{ addr, want, wantErr string }{
		{"127.0.0.1:9464", "http://127.0.0.1:9464", ""},
		{"localhost:9464", "http://localhost:9464", ""},
		{":9464", "http://127.0.0.1:9464", ""},
		{"0.0.0.0:9464", "http://127.0.0.1:9464", ""},
		{"[::]:9464", "http://[::1]:9464", ""},
		{"[::1]:9464", "http://[::1]:9464", ""},
		{"10.0.5.7:9464", "http://10.0.5.7:9464", ""},
		{"http://10.0.5.7:9464/", "http://10.0.5.7:9464", ""},
		{"https://admin.example/itsm", "https://admin.example/itsm", ""},
		{"10.0.5.7", "", "want host:port"},
		{"ftp://x:1", "", "want host:port"},
		{"", "", "want host:port"},
	}
	for _, tt := range tests {
		got, err := adminapi.BaseURL(tt.addr)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("BaseURL(%q) = %q, %v; want error with %q", tt.addr, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
}

func TestClient(t *testing.T) {
	srv, _, ls := newAPI(t)
	c := &adminapi.Client{BaseURL: srv.URL}
	ctx := context.Background()
	a, err := c.ReplayDeadLetter(ctx, ls.routable)
	if err != nil || a.Result != adminapi.Replayed || !slices.Equal(a.Backends, []string{"file.x"}) {
		t.Errorf("replay = %+v, %v", a, err)
	}
	_, err = c.ReplayDeadLetter(ctx, ls.stillUnmatched)
	var apiErr *adminapi.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != adminapi.Unroutable || !strings.Contains(err.Error(), "still matches no route") {
		t.Errorf("replaying a still unmatched letter = %v; want a 409 unroutable APIError", err)
	}
	if a, err := c.DropDeadLetter(ctx, ls.stillUnmatched); err != nil || a.Result != adminapi.Dropped {
		t.Errorf("drop = %+v, %v", a, err)
	}
	_, err = c.DropDeadLetter(ctx, ls.stillUnmatched)
	if !errors.As(err, &apiErr) || apiErr.Code != adminapi.NotFound || err.Error() != fmt.Sprintf("dead letter %d: not found", ls.stillUnmatched) {
		t.Errorf("second drop = %v; want not found, the letter named once", err)
	}

	// No HTTP answer (here: every connection closed at once, as by a
	// listener that is not the connector's): ErrUnreachable, so the caller
	// can tell that nothing was done.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	addr := ln.Addr().String()
	_, err = (&adminapi.Client{BaseURL: "http://" + addr}).DropDeadLetter(ctx, 1)
	if !errors.Is(err, adminapi.ErrUnreachable) {
		t.Errorf("drop with no connector = %v; want ErrUnreachable", err)
	}
}

func TestParseBulkFilter(t *testing.T) {
	q, _ := url.ParseQuery("backend=file.x")
	if f, err := adminapi.ParseBulkFilter(q); err != nil || f != (store.DeadLetterFilter{Backend: "file.x", Limit: adminapi.MaxBulk}) {
		t.Errorf("ParseBulkFilter = %+v, %v; want file.x with the bulk limit", f, err)
	}
	q, _ = url.ParseQuery("backend=file.x&limt=5")
	if _, err := adminapi.ParseBulkFilter(q); err == nil || !strings.Contains(err.Error(), `unknown parameter "limt"`) {
		t.Errorf("ParseBulkFilter with a typo = %v; want it refused, not widened", err)
	}
}

func TestParseItemFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    store.ItemFilter
		wantErr string
	}{
		{"", store.ItemFilter{Limit: 50}, ""},
		{"backend=&route=&state=&severity=&q=", store.ItemFilter{Limit: 50}, ""},
		{"backend=jira.ops&route=vms&state=failing&severity=Sev1&q=+INC0001+&before_id=7&limit=20",
			store.ItemFilter{Backend: "jira.ops", Route: "vms", State: store.ItemStateFailing, Severity: "Sev1", Search: "INC0001", BeforeID: 7, Limit: 20}, ""},
		{"state=sleeping", store.ItemFilter{}, `state="sleeping": want one of pending, failing, dead, in_sync`},
		{"severity=1", store.ItemFilter{}, `severity="1": want one of Sev0, Sev1, Sev2, Sev3, Sev4`},
		{"limit=1001", store.ItemFilter{}, `limit="1001"`},
		{"before_id=-3", store.ItemFilter{}, `before_id="-3"`},
		{"key=k", store.ItemFilter{}, `unknown parameter "key"`},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, err := adminapi.ParseItemFilter(q)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseItemFilter(%q) = %v, want error with %q", tt.query, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseItemFilter(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
		}
	}
}

// TestBulk: a bulk replay replays what matches, reports the letters that
// still match no route as a failure (409, the letters kept) with what it
// did, and a bulk drop then drops what is left; each filter bounds it.
func TestBulk(t *testing.T) {
	srv, st, ls := newAPI(t)
	ctx := context.Background()
	status, _, body := call(t, srv, "POST", "/api/v1/deadletters/bulk/replay?backend=file.y")
	if status != 200 || body["result"] != "replayed" || body["done"] != 1.0 || body["more"] != false || mustJSON(body["backends"]) != `["file.y"]` {
		t.Errorf("bulk replay of file.y = %d %v", status, body)
	}
	status, _, body = call(t, srv, "POST", "/api/v1/deadletters/bulk/replay?unmatched=true")
	failed, _ := body["failed"].([]any)
	if status != 409 || body["result"] != "unroutable" || body["error"] != "unroutable" || body["done"] != 1.0 || len(failed) != 1 ||
		!strings.Contains(fmt.Sprint(body["message"]), "1 of 2 dead letters were not replayed") {
		t.Errorf("bulk replay of unmatched letters = %d %v; want 409, one done, one failed", status, body)
	}
	if _, err := st.GetDeadLetter(ctx, ls.stillUnmatched); err != nil {
		t.Errorf("the still unmatched letter: %v; want it kept", err)
	}
	status, _, body = call(t, srv, "POST", "/api/v1/deadletters/bulk/drop?before_id=1")
	if status != 200 || body["done"] != 0.0 {
		t.Errorf("bulk drop below id 1 = %d %v; want nothing done", status, body)
	}
	status, _, body = call(t, srv, "POST", "/api/v1/deadletters/bulk/drop?bakend=file.y")
	if status != 400 || body["error"] != "bad_request" {
		t.Errorf("bulk drop with a typo = %d %v; want 400, nothing dropped", status, body)
	}
	status, _, body = call(t, srv, "POST", "/api/v1/deadletters/bulk/drop")
	if status != 200 || body["result"] != "dropped" || body["done"] != 1.0 {
		t.Errorf("bulk drop = %d %v", status, body)
	}
	if status, h, _ := call(t, srv, "GET", "/api/v1/deadletters/bulk/replay"); status != 405 || h.Get("Allow") != "POST" {
		t.Errorf("GET of a bulk path = %d, Allow %q; want 405, POST", status, h.Get("Allow"))
	}
}

// TestBulkMore: one bulk operation handles at most its limit, and says
// when more match.
func TestBulkMore(t *testing.T) {
	srv, _, _ := newAPI(t)
	c := &adminapi.Client{BaseURL: srv.URL}
	b, err := c.DropMatching(context.Background(), store.DeadLetterFilter{Limit: 2})
	if err != nil || b.Done != 2 || !b.More {
		t.Errorf("drop of 2 of 3 = %+v, %v; want 2 done and more", b, err)
	}
	b, err = c.DropMatching(context.Background(), store.DeadLetterFilter{Limit: 2})
	if err != nil || b.Done != 1 || b.More {
		t.Errorf("drop of the rest = %+v, %v; want 1 done, no more", b, err)
	}
	b, err = c.ReplayMatching(context.Background(), store.DeadLetterFilter{})
	if err != nil || b.Done != 0 || b.Result != adminapi.Replayed {
		t.Errorf("replay of nothing = %+v, %v", b, err)
	}
}

// TestClientBulkFailure: a bulk answer that is not 2xx is an APIError,
// and the BulkAction still says what was done.
func TestClientBulkFailure(t *testing.T) {
	srv, _, ls := newAPI(t)
	b, err := (&adminapi.Client{BaseURL: srv.URL}).ReplayMatching(context.Background(), store.DeadLetterFilter{Unmatched: true})
	var apiErr *adminapi.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != adminapi.Unroutable {
		t.Errorf("err = %v; want a 409 unroutable APIError", err)
	}
	if b.Done != 1 || len(b.Failed) != 1 || b.Failed[0].ID != ls.stillUnmatched || b.Failed[0].Result != adminapi.Unroutable {
		t.Errorf("bulk = %+v; want one done and the still unmatched letter failed", b)
	}
}

// TestWorkItemsAPI: the work item list with the console's filter, one
// item, and its audit trail in pages.
func TestWorkItemsAPI(t *testing.T) {
	srv, st, _ := newAPI(t)
	items, err := st.ListItems(context.Background(), store.ItemFilter{})
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %d, %v", len(items), err)
	}
	id := items[0].ID
	status, _, body := call(t, srv, "GET", "/api/v1/workitems?state=dead&q=k")
	list, _ := body["work_items"].([]any)
	if status != 200 || len(list) != 1 || list[0].(map[string]any)["backend"] != "file.y" || list[0].(map[string]any)["dead"] != true {
		t.Errorf("dead items by key = %d %v", status, body)
	}
	status, _, body = call(t, srv, "GET", "/api/v1/workitems?state=pending")
	if list, _ := body["work_items"].([]any); status != 200 || len(list) != 0 {
		t.Errorf("pending items = %d %v; want none", status, body)
	}
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/workitems?state=zombie", 400, "bad_request"},
		{fmt.Sprintf("/api/v1/workitems/%d", id), 200, ""},
		{"/api/v1/workitems/999", 404, "not_found"},
		{"/api/v1/workitems/x", 400, "bad_request"},
		{"/api/v1/workitems/999/events", 404, "not_found"},
		{fmt.Sprintf("/api/v1/workitems/%d/events?limit=0", id), 400, "bad_request"},
	} {
		status, _, body := call(t, srv, "GET", c.path)
		if status != c.status || (c.want != "" && body["error"] != c.want) {
			t.Errorf("GET %s = %d %v; want %d %s", c.path, status, body, c.status, c.want)
		}
	}
	_, _, body = call(t, srv, "GET", fmt.Sprintf("/api/v1/workitems/%d/events?limit=1", id))
	evs, _ := body["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["kind"] != "notification" {
		t.Errorf("newest event = %v; want the notification", body)
	}
	next := fmt.Sprintf("/api/v1/workitems/%d/events?before_id=%v", id, evs[0].(map[string]any)["id"])
	if _, _, body = call(t, srv, "GET", next); mustJSON(body) != `{"events":[]}` {
		t.Errorf("events before the first = %v; want an empty list", body)
	}
	if status, h, _ := call(t, srv, "POST", "/api/v1/workitems"); status != 405 || h.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/v1/workitems = %d, Allow %q", status, h.Get("Allow"))
	}
}
