package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// storeConfig writes a configuration whose store is in a temporary
// directory and whose admin listener is admin (with token, when set), and
// returns its path and the store's.
func storeConfig(t *testing.T, admin, token string) (cfgPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "c.db")
	cfgPath = filepath.Join(dir, "connector.hcl")
	block := fmt.Sprintf("listen = %q", admin)
	if token != "" {
		block += fmt.Sprintf("\n  token = %q", token)
	}
	hcl := fmt.Sprintf(`
admin {
  %s
}
auth "none" {}
store { path = %q }
backend "file" "cli" {
  config { directory = "work" }
}
route "cli-routes" {
  send_to = [backend.file.cli]
}
`, block, dbPath)
	if err := os.WriteFile(cfgPath, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dbPath
}

// runCLI runs the command line and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestDropUnknownSaysNotFoundOnce: the error names the letter once; it
// used to say "dead letter 1: dead letter 1: not found".
func TestDropUnknownSaysNotFoundOnce(t *testing.T) {
	cfg, _ := storeConfig(t, "127.0.0.1:1", "")
	for _, args := range [][]string{
		{"deadletter", "drop", "-config", cfg, "-offline", "7"},
		{"deadletter", "show", "-config", cfg, "7"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 1 || strings.Count(errOut, "dead letter 7") != 1 || !strings.Contains(errOut, "not found") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the letter named once as not found", strings.Join(args[:2], " "), code, errOut)
		}
	}
}

// seedLetters opens the store at path and writes an alert no route took and
// a delivery's dead letter; it returns their ids.
func seedLetters(t *testing.T, path string) (unmatched, deliveryLetter int64) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	res, err := st.Ingest(ctx, []store.Notification{
		{Alert: storetest.Alert("lost", sdk.ConditionFired, now), Unmatched: "no route matched", ReceivedAt: now},
		{Alert: storetest.Alert("failed", sdk.ConditionFired, now), Deliveries: []route.Delivery{storetest.Delivery("file.cli", "k")}, ReceivedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.Claim(ctx, "file.cli", "A", now, time.Minute, 1); err != nil || len(c) != 1 {
		t.Fatalf("Claim = %d, %v", len(c), err)
	}
	if err := st.Record(ctx, store.Progress{ItemID: res[1].Deliveries[0].ItemID, Owner: "A", Now: now, Attempts: 1, DeadLetter: "permanent"}); err != nil {
		t.Fatal(err)
	}
	dls, err := st.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: "file.cli"})
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters: %d, %v", len(dls), err)
	}
	return res[0].DeadLetterID, dls[0].ID
}

// inspect opens the store at path and returns its dead letter ids and its
// work items as "backend/alert id".
func inspect(t *testing.T, path string) (letters []int64, items []string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dls, err := st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dls {
		letters = append(letters, d.ID)
	}
	its, err := st.ListItems(context.Background(), store.ItemFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range its {
		items = append(items, it.Backend+"/"+it.AlertID)
	}
	return letters, items
}

// noConnector is an address where no connector answers: every connection
// is closed at once.
func noConnector(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestReplayNeverRoutesWithTheCLIsConfig: the configuration in hand is not
// necessarily the running connector's (-dev loads the embedded quickstart),
// so the command line never routes an unmatched alert with it. It used to:
// the letter was deleted and its alert queued for the command line's
// backend.
func TestReplayNeverRoutesWithTheCLIsConfig(t *testing.T) {
	cfg, db := storeConfig(t, noConnector(t), "")
	unmatched, _ := seedLetters(t, db)
	id := fmt.Sprint(unmatched)
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"deadletter", "replay", "-config", cfg, id}, "Is the connector running?"},
		{[]string{"deadletter", "replay", "-config", cfg, "-offline", id}, "run replay without -offline while the connector runs"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and %q", strings.Join(tt.args, " "), code, out, errOut, tt.wantErr)
		}
		letters, items := inspect(t, db)
		if !slices.Contains(letters, unmatched) || slices.Contains(items, "file.cli/lost") {
			t.Fatalf("after %s: letters %v, items %v; want the letter kept and no work item", strings.Join(tt.args, " "), letters, items)
		}
	}
}

// TestReplayThroughTheRunningConnector: replay and drop go through the
// admin API of the connector the configuration names, with its token, and
// its routes decide.
func TestReplayThroughTheRunningConnector(t *testing.T) {
	const tok = "0123456789abcdef-cli-test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, db := storeConfig(t, ln.Addr().String(), tok)
	unmatched, deliveryLetter := seedLetters(t, db)
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The running connector's routes send everything to file.server.
	router := func(a *sdk.Alert) (route.Decision, error) {
		return route.Decision{Deliveries: []route.Delivery{storetest.Delivery("file.server", a.ID)}}, nil
	}
	dl := &adminapi.DeadLetters{Store: st, Replay: func(ctx context.Context, id int64) ([]string, error) {
		return delivery.Replay(ctx, st, id, router, time.Now())
	}}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: (&admin.Server{Token: tok,
		Extra: map[string]http.Handler{adminapi.Prefix: dl.Handler()}}).Handler()}}
	srv.Start()
	defer srv.Close()

	// Without a token, the answer says to set one.
	t.Setenv("ITSM_ADMIN_TOKEN", "")
	noToken, _ := storeConfig(t, ln.Addr().String(), "")
	code, _, errOut := runCLI(t, "deadletter", "replay", "-config", noToken, fmt.Sprint(unmatched))
	if code != 1 || !strings.Contains(errOut, "set ITSM_ADMIN_TOKEN") {
		t.Errorf("replay without a token: exit %d, stderr %q", code, errOut)
	}
	// $ITSM_ADMIN_TOKEN overrides admin.token.
	t.Setenv("ITSM_ADMIN_TOKEN", tok+"-wrong")
	code, _, errOut = runCLI(t, "deadletter", "replay", "-config", cfg, fmt.Sprint(unmatched))
	if code != 1 || !strings.Contains(errOut, "refused the token sent") {
		t.Errorf("replay with a wrong token: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("ITSM_ADMIN_TOKEN", "")
	code, out, errOut := runCLI(t, "deadletter", "replay", "-config", cfg, fmt.Sprint(unmatched))
	if code != 0 || !strings.Contains(out, "queued for [file.server]") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "deadletter", "drop", "-config", cfg, "-admin", srv.URL, fmt.Sprint(deliveryLetter))
	if code != 0 || !strings.Contains(out, "dropped") {
		t.Errorf("drop: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "deadletter", "drop", "-config", cfg, fmt.Sprint(deliveryLetter))
	if want := fmt.Sprintf("itsm-connector deadletter: dead letter %d: not found\n", deliveryLetter); code != 1 || errOut != want {
		t.Errorf("second drop: exit %d, stderr %q; want %q", code, errOut, want)
	}
	letters, items := inspect(t, db)
	if len(letters) != 0 || !slices.Contains(items, "file.server/lost") || slices.Contains(items, "file.cli/lost") {
		t.Errorf("letters %v, items %v; want none and the alert routed by the connector to file.server", letters, items)
	}
}

// TestReplayOfflineRevivesADeliverysLetter: a delivery's letter needs no
// routes, so it is replayed on the store without the connector.
func TestReplayOfflineRevivesADeliverysLetter(t *testing.T) {
	cfg, db := storeConfig(t, noConnector(t), "")
	_, deliveryLetter := seedLetters(t, db)
	code, out, errOut := runCLI(t, "deadletter", "replay", "-config", cfg, "-offline", fmt.Sprint(deliveryLetter))
	if code != 0 || !strings.Contains(out, "due again for [file.cli]") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if letters, _ := inspect(t, db); slices.Contains(letters, deliveryLetter) {
		t.Errorf("letter %d kept after the replay: %v", deliveryLetter, letters)
	}
}

// A -limit below 1 is refused instead of quietly listing the store's
// default number; a large one is the reader's choice.
func TestListLimitIsChecked(t *testing.T) {
	cfg, _ := storeConfig(t, "127.0.0.1:1", "")
	for _, args := range [][]string{
		{"workitems", "list", "-config", cfg, "-limit", "0"},
		{"deadletter", "list", "-config", cfg, "-limit", "-3"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 1 || !strings.Contains(errOut, "list at least 1") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "workitems", "list", "-config", cfg, "-limit", "5000"); code != 0 {
		t.Errorf("-limit 5000: exit %d, stderr %q", code, errOut)
	}
}

// TestReplayAllThroughTheRunningConnector: -all replays or drops every
// letter the filter matches, through the admin API's bulk operation.
func TestReplayAllThroughTheRunningConnector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, db := storeConfig(t, ln.Addr().String(), "")
	unmatched, deliveryLetter := seedLetters(t, db)
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	router := func(a *sdk.Alert) (route.Decision, error) {
		return route.Decision{Deliveries: []route.Delivery{storetest.Delivery("file.server", a.ID)}}, nil
	}
	dl := &adminapi.DeadLetters{Store: st, Replay: func(ctx context.Context, id int64) ([]string, error) {
		return delivery.Replay(ctx, st, id, router, time.Now())
	}}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: (&admin.Server{
		Extra: map[string]http.Handler{adminapi.Prefix: dl.Handler()}}).Handler()}}
	srv.Start()
	defer srv.Close()
	t.Setenv("ITSM_ADMIN_TOKEN", "")

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-all", "12"}, "it takes no ID"},
		{[]string{"-all", "-offline"}, "cannot be used with -offline"},
		{[]string{"-all", "-backend", "file.cli", "-unmatched"}, "give one of them"},
		{[]string{"-backend", "file.cli", "12"}, "give either -all or one ID"},
	} {
		args := append([]string{"deadletter", "replay", "-config", cfg}, tt.args...)
		if code, _, errOut := runCLI(t, args...); code == 0 || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want %q", strings.Join(tt.args, " "), code, errOut, tt.wantErr)
		}
	}
	code, out, errOut := runCLI(t, "deadletter", "replay", "-config", cfg, "-all", "-unmatched")
	if code != 0 || !strings.Contains(out, "1 dead letters replayed by the connector at") {
		t.Errorf("replay -all -unmatched: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	letters, items := inspect(t, db)
	if slices.Contains(letters, unmatched) || !slices.Contains(letters, deliveryLetter) || !slices.Contains(items, "file.server/lost") {
		t.Errorf("after replay -all -unmatched: letters %v, items %v; want only the delivery's letter left", letters, items)
	}
	code, out, errOut = runCLI(t, "deadletter", "drop", "-config", cfg, "-all", "-backend", "file.cli")
	if code != 0 || !strings.Contains(out, "1 dead letters dropped") {
		t.Errorf("drop -all -backend: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "deadletter", "drop", "-config", cfg, "-all")
	if letters, _ := inspect(t, db); code != 0 || len(letters) != 0 || !strings.Contains(out, "no dead letters match; nothing dropped") {
		t.Errorf("drop -all with nothing left: exit %d, stdout %q, letters %v", code, out, letters)
	}
}
