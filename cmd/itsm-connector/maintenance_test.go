package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
)

// TestMaintenanceThroughTheRunningConnector: maintenance start, list and
// end go through the admin API of the connector the configuration names,
// with its token.
func TestMaintenanceThroughTheRunningConnector(t *testing.T) {
	const tok = "0123456789abcdef-cli-test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, db := storeConfig(t, ln.Addr().String(), tok)
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mw := &adminapi.Maintenance{Windows: maintenance.New(st, nil, nil)}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: (&admin.Server{Token: tok,
		Extra: map[string]http.Handler{adminapi.Prefix: adminapi.Handler(&adminapi.DeadLetters{Store: st}, mw)}}).Handler()}}
	srv.Start()
	defer srv.Close()
	t.Setenv("ITSM_ADMIN_TOKEN", "")

	code, out, errOut := runCLI(t, "maintenance", "list", "-config", cfg)
	if code != 0 || out != "no maintenance windows\n" {
		t.Errorf("list: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "start", "-config", cfg, "-name", "db-patch", "-when", `alert.resource_group == "rg-db"`,
		"-for", "2h", "-on-end", "drop", "-reason", "CHG0001")
	if code != 0 || !strings.Contains(out, "maintenance window db-patch started") || !strings.Contains(out, "on_end drop") {
		t.Errorf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "start", "-config", cfg, "-name", "typo", "-when", "alert.sevrity < 2", "-for", "1h")
	if code != 1 || !strings.Contains(errOut, `Did you mean "severity"?`) {
		t.Errorf("start with a misspelt field: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "start", "-config", cfg, "-name", "x")
	if code != 1 || !strings.Contains(errOut, "give end (an RFC 3339 time) or a positive duration") {
		t.Errorf("start without -for: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "list", "-config", cfg)
	if code != 0 || !strings.Contains(out, "db-patch") || !strings.Contains(out, "active") || !strings.Contains(out, `alert.resource_group == "rg-db"`) {
		t.Errorf("list: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "list", "-config", cfg, "-json")
	var l adminapi.MaintenanceList
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.Windows) != 1 || l.Windows[0].Reason != "CHG0001" {
		t.Errorf("list -json: exit %d, %v, stdout %q, stderr %q", code, err, out, errOut)
	}
	code, out, errOut = runCLI(t, "maintenance", "end", "-config", cfg, "db-patch")
	if code != 0 || !strings.Contains(out, "maintenance window db-patch ended") {
		t.Errorf("end: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "maintenance", "end", "-config", cfg, "db-patch")
	if code != 1 || !strings.Contains(errOut, `no ad-hoc maintenance window "db-patch" is on or to come`) {
		t.Errorf("second end: exit %d, stderr %q", code, errOut)
	}
	// Without the connector nothing is done, and the error says so.
	cfgDown, _ := storeConfig(t, noConnector(t), "")
	code, _, errOut = runCLI(t, "maintenance", "list", "-config", cfgDown)
	if code != 1 || !strings.Contains(errOut, "Is the connector running?") {
		t.Errorf("list without a connector: exit %d, stderr %q", code, errOut)
	}
}
