package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// newMaintenanceAPI serves the API over a SQLite store and the windows of
// a configuration with one weekly window, at the clock t0 (a Sunday).
func newMaintenanceAPI(t *testing.T) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, diags := config.Load([]byte(`
auth "none" {}
backend "file" "a" {}
route "r" {
  send_to = [backend.file.a]
}
maintenance "weekend" {
  weekly {
    days      = ["sat"]
    start     = "10:00"
    duration  = "4h"
    time_zone = "UTC"
  }
  when = alert.resource_group == "rg-web"
}
`), "connector.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	ws, diags := maintenance.Compile(c)
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	m := &adminapi.Maintenance{Windows: maintenance.New(st, ws, nil), Now: func() time.Time { return t0 }}
	srv := httptest.NewServer(adminapi.Handler(&adminapi.DeadLetters{Store: st}, m))
	t.Cleanup(srv.Close)
	return srv, st
}

func send(t *testing.T, srv *httptest.Server, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Errorf("%s %s: answer %q is not a JSON object: %v", method, path, b, err)
	}
	return resp.StatusCode, resp.Header, v
}

// TestMaintenanceAPI runs one sequence of calls; each step's answer
// depends on the ones before.
func TestMaintenanceAPI(t *testing.T) {
	srv, st := newMaintenanceAPI(t)
	// An alert held by the window the API starts, to be released by its end.
	res, err := st.Ingest(context.Background(), []store.Notification{{Alert: storetest.Alert("a", sdk.ConditionFired, t0),
		Deliveries: []route.Delivery{storetest.Delivery("file.a", "k")}, ReceivedAt: t0,
		Hold: &route.MaintenanceHold{Window: "db-patch", Until: t0.Add(2 * time.Hour), OnEnd: route.OnEndCreate}}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		method, path, body string
		wantStatus         int
		want               map[string]any // fields of the answer
		allow              string
	}{
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"db-patch","when":"alert.resource_group == \"rg-db\"","duration":"2h","reason":"CHG0001"}`,
			wantStatus: 201, want: map[string]any{"name": "db-patch", "source": "adhoc", "active": true, "start": "2026-03-01T12:00:00Z",
				"end": "2026-03-01T14:00:00Z", "when": `alert.resource_group == "rg-db"`, "on_end": "create", "reason": "CHG0001"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"db-patch","duration":"1h"}`, wantStatus: 409, want: map[string]any{"error": "conflict"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"weekend","duration":"1h"}`, wantStatus: 409, want: map[string]any{"error": "conflict"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"x","when":"alert.sevrity < 2","duration":"1h"}`, wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"x","duration":"soon"}`, wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"x","duration":"1h","until":"tomorrow"}`, wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "POST", path: "/api/v1/maintenance", body: `{"name":"x","end":"tomorrow"}`, wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "GET", path: "/api/v1/maintenance/weekend", wantStatus: 200, want: map[string]any{"name": "weekend", "source": "config", "active": false,
			"start": "2026-03-07T10:00:00Z", "end": "2026-03-07T14:00:00Z", "schedule": "weekly sat 10:00 for 4h0m0s (UTC)", "when": `alert.resource_group == "rg-web"`}},
		{method: "GET", path: "/api/v1/maintenance/db-patch", wantStatus: 200, want: map[string]any{"active": true, "reason": "CHG0001"}},
		{method: "GET", path: "/api/v1/maintenance/nope", wantStatus: 404, want: map[string]any{"error": "not_found"}},
		{method: "GET", path: "/api/v1/maintenance?active=1", wantStatus: 400, want: map[string]any{"error": "bad_request"}},
		{method: "PUT", path: "/api/v1/maintenance/db-patch", wantStatus: 405, want: map[string]any{"error": "method_not_allowed"}, allow: "GET, HEAD, DELETE"},
		{method: "PATCH", path: "/api/v1/maintenance", wantStatus: 405, want: map[string]any{"error": "method_not_allowed"}, allow: "GET, HEAD, POST"},
		{method: "DELETE", path: "/api/v1/maintenance/weekend", wantStatus: 409, want: map[string]any{"error": "conflict"}},
		{method: "DELETE", path: "/api/v1/maintenance/db-patch", wantStatus: 200, want: map[string]any{"result": "ended", "released": 1.0}},
		{method: "DELETE", path: "/api/v1/maintenance/db-patch", wantStatus: 404, want: map[string]any{"error": "not_found"}},
		{method: "GET", path: "/api/v1/maintenance/db-patch", wantStatus: 404, want: map[string]any{"error": "not_found"}},
	}
	for _, s := range steps {
		status, h, got := send(t, srv, s.method, s.path, s.body)
		if status != s.wantStatus {
			t.Errorf("%s %s: status %d, want %d (%v)", s.method, s.path, status, s.wantStatus, got)
			continue
		}
		for k, v := range s.want {
			if got[k] != v {
				t.Errorf("%s %s: %s = %#v, want %#v (%v)", s.method, s.path, k, got[k], v, got)
			}
		}
		if s.allow != "" && h.Get("Allow") != s.allow {
			t.Errorf("%s %s: Allow %q, want %q", s.method, s.path, h.Get("Allow"), s.allow)
		}
	}
	if it, err := st.GetItem(context.Background(), res[0].Deliveries[0].ItemID); err != nil || !it.DueAt.Equal(t0) {
		t.Errorf("the held item after the end: due %v, %v; want due now (%v)", it.DueAt, err, t0)
	}
}

// TestMaintenanceClient: the client's calls and the JSON the console reads.
func TestMaintenanceClient(t *testing.T) {
	srv, _ := newMaintenanceAPI(t)
	c := &adminapi.Client{BaseURL: srv.URL}
	ctx := context.Background()
	w, err := c.StartMaintenance(ctx, adminapi.MaintenanceStart{Name: "deploy", Duration: "30m", OnEnd: "drop"})
	if err != nil || w.Name != "deploy" || !w.Active || w.OnEnd != "drop" || !w.End.Equal(t0.Add(30*time.Minute)) || w.When != "" {
		t.Fatalf("StartMaintenance = %+v, %v", w, err)
	}
	l, err := c.ListMaintenance(ctx)
	if err != nil || len(l.Windows) != 2 || l.Windows[0].Name != "weekend" || l.Windows[1].Name != "deploy" || !l.Now.Equal(t0) {
		t.Fatalf("ListMaintenance = %+v, %v; want weekend, then deploy", l, err)
	}
	var apiErr *adminapi.APIError
	if _, err := c.StartMaintenance(ctx, adminapi.MaintenanceStart{Name: "deploy", Duration: "30m"}); !errors.As(err, &apiErr) || apiErr.Code != adminapi.Conflict {
		t.Errorf("a second start = %v, want a conflict", err)
	}
	e, err := c.EndMaintenance(ctx, "deploy")
	if err != nil || e.Result != adminapi.Ended || !e.Window.End.Equal(t0) || e.Released != 0 {
		t.Errorf("EndMaintenance = %+v, %v", e, err)
	}
	// The list's JSON, field by field: the console reads it.
	var raw bytes.Buffer
	resp, err := http.Get(srv.URL + "/api/v1/maintenance")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = raw.ReadFrom(resp.Body)
	resp.Body.Close()
	want := `{"now":"2026-03-01T12:00:00Z","windows":[{"name":"weekend","source":"config","active":false,"start":"2026-03-07T10:00:00Z","end":"2026-03-07T14:00:00Z","schedule":"weekly sat 10:00 for 4h0m0s (UTC)","when":"alert.resource_group == \"rg-web\"","on_end":"create"}]}`
	if got := strings.TrimSpace(raw.String()); got != want {
		t.Errorf("GET /api/v1/maintenance =\n%s\nwant\n%s", got, want)
	}
}
