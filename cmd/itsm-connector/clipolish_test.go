package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreCommandsHelp: -h (and help) on workitems and deadletter print
// their subcommands and exit 0; each subcommand's -h lists only its own
// flags. They used to fail with "unknown subcommand "-h"", and replay's -h
// listed list's -limit (its -backend is now its own, for -all).
func TestStoreCommandsHelp(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"workitems", "-h"}, []string{"usage: itsm-connector workitems", "list", "show"}, nil},
		{[]string{"workitems", "help"}, []string{"usage: itsm-connector workitems"}, nil},
		{[]string{"deadletter", "-help"}, []string{"usage: itsm-connector deadletter", "list", "show", "replay", "drop"}, nil},
		{[]string{"deadletter", "replay", "-h"}, []string{"usage: itsm-connector deadletter replay", "-admin", "-offline", "-config", "-all", "-backend", "-unmatched"}, []string{"-limit", "-json"}},
		{[]string{"deadletter", "list", "-h"}, []string{"usage: itsm-connector deadletter list", "-limit", "-backend", "-json"}, []string{"-offline", "-admin"}},
		{[]string{"deadletter", "show", "-h"}, []string{"usage: itsm-connector deadletter show"}, []string{"-limit", "-offline"}},
		{[]string{"workitems", "show", "-h"}, []string{"usage: itsm-connector workitems show", "-json"}, []string{"-limit", "-pending"}},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		name := strings.Join(tt.args, " ")
		if code != 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 0 and help on stderr", name, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: help lacks %q:\n%s", name, w, errOut)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(errOut, w) {
				t.Errorf("%s: help lists %q, which this subcommand does not take:\n%s", name, w, errOut)
			}
		}
	}
}

// TestStoreCommandsTakeADevConfigWithoutDev: a configuration whose auth is
// "dev" runs only with serve -dev, so the store commands read the store
// where serve -dev keeps it, without -dev. They used to refuse it: auth
// "dev" needs dev mode.
func TestStoreCommandsTakeADevConfigWithoutDev(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "devdata")
	cfg := filepath.Join(dir, "dev.hcl")
	// serve -dev -config dev.hcl -data-dir devdata keeps the store at devdata/c.db.
	if err := os.WriteFile(cfg, []byte(`auth "dev" {}
store {
  path = "elsewhere/c.db"
}
backend "file" "cli" {}
route "all" {
  send_to = [backend.file.cli]
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	unmatched, _ := seedLetters(t, filepath.Join(dataDir, "c.db"))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deadletter", "list", "-config", cfg, "-data-dir", dataDir}, "file.cli"},
		{[]string{"deadletter", "show", "-config", cfg, "-data-dir", dataDir, fmt.Sprint(unmatched)}, `"id": "lost"`},
		{[]string{"workitems", "list", "-config", cfg, "-data-dir", dataDir}, "file.cli"},
	} {
		code, out, errOut := runCLI(t, tt.args...)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want the seeded store's %s", strings.Join(tt.args, " "), code, out, errOut, tt.want)
		}
	}
}

// TestDeadLetterJSONIsSnakeCase: deadletter show and list -json print the
// admin API's shapes, with snake_case names like every other JSON the
// connector writes. They used to print Go's field names (CorrelationKey).
func TestDeadLetterJSONIsSnakeCase(t *testing.T) {
	cfg, db := storeConfig(t, "127.0.0.1:1", "")
	unmatched, deliveryLetter := seedLetters(t, db)
	code, out, errOut := runCLI(t, "deadletter", "show", "-config", cfg, fmt.Sprint(deliveryLetter))
	if code != 0 {
		t.Fatalf("show: exit %d, stderr %q", code, errOut)
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("show: %v in %s", err, out)
	}
	for _, k := range []string{"id", "item_id", "correlation_key", "last_error", "created_at", "alert"} {
		if _, ok := one[k]; !ok {
			t.Errorf("show lacks %q: %s", k, out)
		}
	}
	if strings.Contains(out, "CorrelationKey") || strings.Contains(out, "CreatedAt") {
		t.Errorf("show prints Go field names: %s", out)
	}
	code, out, errOut = runCLI(t, "deadletter", "list", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("list -json: exit %d, stderr %q", code, errOut)
	}
	var list struct {
		DeadLetters []map[string]any `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.DeadLetters) != 2 {
		t.Fatalf("list -json: %v, %d letters in %s", err, len(list.DeadLetters), out)
	}
	if got := list.DeadLetters[1]["id"]; got != float64(unmatched) {
		t.Errorf("list -json: oldest id %v, want %d", got, unmatched)
	}
	if strings.Contains(out, "CorrelationKey") {
		t.Errorf("list -json prints Go field names: %s", out)
	}
}

// TestRouteTakesDev: route -dev routes with the embedded quickstart, as
// serve -dev runs it. It used to fail: flag provided but not defined.
func TestRouteTakesDev(t *testing.T) {
	code, out, errOut := runCLI(t, "route", "-dev", "-alert", "../../examples/alerts/metric-fired.json")
	if code != 0 || !strings.Contains(out, "route everything") || !strings.Contains(out, "delivery file.local") {
		t.Errorf("exit %d, stdout %q, stderr %q; want the quickstart's route", code, out, errOut)
	}
}

// TestPluginsUsesTheConfiguredPluginDir: without flags, plugins reads
// connector.hcl's plugin_dir as serve does, and its plugin blocks; without
// a connector.hcl, the default plugin_dir. It used to look in ./plugins
// whatever connector.hcl said.
func TestPluginsUsesTheConfiguredPluginDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errOut := runCLI(t, "plugins")
	if code != 0 || !strings.Contains(out, "no plugins in ./plugins") {
		t.Errorf("without connector.hcl: exit %d, stdout %q, stderr %q; want the default plugin_dir", code, out, errOut)
	}
	if err := os.MkdirAll("myplugins", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("myplugins/itsm-connector-plugin-fake", []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("connector.hcl", []byte(`plugin_dir = "myplugins"
auth "none" {}
backend "fake" "x" {}
route "all" {
  send_to = [backend.fake.x]
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "plugins")
	if code != 0 || !strings.Contains(out, filepath.Join("myplugins", "itsm-connector-plugin-fake")) {
		t.Errorf("with connector.hcl: exit %d, stdout %q, stderr %q; want its plugin_dir listed", code, out, errOut)
	}
	// The fake is no plugin: the reason it did not start is printed
	// whole, without hcl's "<nil>" for a diagnostic with no source range.
	if strings.Contains(out, "<nil>") || !strings.Contains(out, "Plugin checksum required") {
		t.Errorf("with connector.hcl: stdout %q; want why it did not start, without <nil>", out)
	}
}

// TestWorkItemShowUnknownSaysNotFoundOnce: it used to say "work item 5:
// work item 5: not found".
func TestWorkItemShowUnknownSaysNotFoundOnce(t *testing.T) {
	cfg, _ := storeConfig(t, "127.0.0.1:1", "")
	code, _, errOut := runCLI(t, "workitems", "show", "-config", cfg, "5")
	if want := "itsm-connector workitems: work item 5: not found\n"; code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

// TestWorkItemJSONIsSnakeCase: workitems list and show -json print the
// admin API's work item shape, with snake_case names like deadletter show.
// They used to print Go's field names (CorrelationKey, Kind).
func TestWorkItemJSONIsSnakeCase(t *testing.T) {
	cfg, db := storeConfig(t, "127.0.0.1:1", "")
	item := seedHostile(t, db)
	itemKeys := []string{"id", "route", "backend", "correlation_key", "condition", "alert_id", "alert", "remote", "ref", "pending", "dead", "attempts", "last_error", "created_at", "updated_at"}

	code, out, errOut := runCLI(t, "workitems", "list", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("list -json: exit %d, stderr %q", code, errOut)
	}
	var list struct {
		WorkItems []map[string]any `json:"work_items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.WorkItems) != 2 {
		t.Fatalf("list -json: %v, %d items in %s", err, len(list.WorkItems), out)
	}
	for _, k := range itemKeys {
		if _, ok := list.WorkItems[0][k]; !ok {
			t.Errorf("list -json lacks %q: %s", k, out)
		}
	}
	if strings.Contains(out, "CorrelationKey") || strings.Contains(out, "CreatedAt") {
		t.Errorf("list -json prints Go field names: %s", out)
	}

	code, out, errOut = runCLI(t, "workitems", "show", "-json", "-config", cfg, fmt.Sprint(item))
	if code != 0 {
		t.Fatalf("show -json: exit %d, stderr %q", code, errOut)
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatalf("show -json: %v in %s", err, out)
	}
	for _, k := range append(itemKeys, "events") {
		if _, ok := one[k]; !ok {
			t.Errorf("show -json lacks %q: %s", k, out)
		}
	}
	if got := one["id"]; got != float64(item) {
		t.Errorf("show -json: id %v, want %d", got, item)
	}
	events, _ := one["events"].([]any)
	if len(events) != 2 {
		t.Fatalf("show -json: %d events, want 2 (notification, call): %s", len(events), out)
	}
	call, _ := events[1].(map[string]any)
	for k, want := range map[string]any{"kind": "call", "op": "create", "outcome": "retryable"} {
		if call[k] != want {
			t.Errorf("show -json: event %s = %v, want %v", k, call[k], want)
		}
	}
	if strings.Contains(out, "CorrelationKey") || strings.Contains(out, `"Kind"`) {
		t.Errorf("show -json prints Go field names: %s", out)
	}
}
