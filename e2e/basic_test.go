//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
)

// fileConfig is the quickstart's shape: one file backend, one route. The
// listen address is overridden by the harness; line numbers matter to
// TestValidateDiagnostics.
const fileConfig = `
server { listen = "127.0.0.1:8080" }
auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
backend "file" "local" {
  config { directory = "data/workitems" }
}
route "everything" {
  send_to       = [backend.file.local]
  reopen_window = "24h"
}
`

// waitFileItems waits until the file backend's work items satisfy ok.
func waitFileItems(t *testing.T, c *harness.Connector, what string, ok func([]harness.FileWorkItem) bool) []harness.FileWorkItem {
	t.Helper()
	dir := filepath.Join(c.Dir(), "data", "workitems")
	var items []harness.FileWorkItem
	harness.Eventually(t, 60*time.Second, what, func() (bool, string) {
		var err error
		if items, err = harness.FileWorkItems(dir); err != nil {
			t.Fatal(err)
		}
		return ok(items), ""
	})
	return items
}

func TestEndToEndFiredThenResolved(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: fileConfig})
	c.SendFile(t, "testdata/metric-fired.json")
	waitFileItems(t, c, "one open work item", func(items []harness.FileWorkItem) bool {
		return len(items) == 1 && items[0].State == harness.FileOpen
	})
	c.SendFile(t, "testdata/metric-resolved.json")
	items := waitFileItems(t, c, "the work item resolved", func(items []harness.FileWorkItem) bool {
		return len(items) == 1 && items[0].State == harness.FileResolved
	})
	var events []string
	for _, h := range items[0].History {
		events = append(events, h.Type)
	}
	if len(events) < 2 || events[0] != "created" || events[len(events)-1] != "resolved" {
		t.Errorf("history = %v, want created … resolved", events)
	}
	if !strings.HasSuffix(items[0].CorrelationKey, "eeeeeeee-4444-5555-6666-ffffffffffff") {
		t.Errorf("correlation key = %q, want the alert id", items[0].CorrelationKey)
	}
}

func TestEndToEndPluginKilledIsRestarted(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: fileConfig})
	pid := c.PluginPID(t, "file")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fired, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	c.Sender(t).Send(t, fired)
	waitFileItems(t, c, "a work item after the plugin was killed", func(items []harness.FileWorkItem) bool {
		return len(items) == 1 && items[0].State == harness.FileOpen
	})
	if newPID := c.PluginPID(t, "file"); newPID == pid {
		t.Errorf("plugin pid unchanged (%d): not restarted", pid)
	}
}

func TestValidateDiagnostics(t *testing.T) {
	bins := harness.Build(t, "file")
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{
			name: "unknown alert field in when",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"when          = alert.severty <= 1\n  send_to       = [backend.file.local]", 1),
			want: []string{"connector.hcl line 12", "12:   when          = alert.severty <= 1", `Did you mean "severity"?`},
		},
		{
			name: "unknown alert field after &&",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"when          = alert.severity <= 1 && startswith(alert.resourcegroup, \"prod-\")\n  send_to       = [backend.file.local]", 1),
			want: []string{"connector.hcl line 12", `startswith(alert.resourcegroup, "prod-")`, `Did you mean "resource_group"?`},
		},
		{
			name: "unknown alert field after ||",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"when          = alert.severity <= 1 || alert.sevrity == 2\n  send_to       = [backend.file.local]", 1),
			want: []string{"connector.hcl line 12", "alert.sevrity does not exist", `Did you mean "severity"?`},
		},
		{
			name: "unknown alert field in a branch of ?:",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"when          = alert.severity == 0 ? alert.rulle == \"x\" : false\n  send_to       = [backend.file.local]", 1),
			want: []string{"connector.hcl line 12", "alert.rulle does not exist", `Did you mean "rule"?`},
		},
		{
			name:   "config attribute the plugin does not declare",
			config: strings.Replace(fileConfig, `config { directory = "data/workitems" }`, "config {\n    directory = \"data/workitems\"\n    colour    = \"blue\"\n  }", 1),
			want:   []string{"Unsupported argument", "connector.hcl line 11", `11:     colour    = "blue"`},
		},
		{
			name: "field_policy for a plugin that does not apply one",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"send_to       = [backend.file.local]\n  field_policy  = { title = \"always\" }", 1),
			want: []string{"connector.hcl line 13", `backend.file.local's plugin "file" does not apply one`},
		},
		{
			name: "wont_fix for a plugin that cannot read status",
			config: strings.Replace(fileConfig, `send_to       = [backend.file.local]`,
				"send_to       = [backend.file.local]\n  wont_fix { resolutions = [\"Won't Fix\"] }", 1),
			want: []string{"connector.hcl line 13", `Route "everything" sets wont_fix`, `plugin "file" cannot read a work item's status`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "connector.hcl")
			if err := os.WriteFile(cfg, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bins.Host, "validate", "-dev", "-config", cfg, "-plugin-dir", bins.PluginDir)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("validate succeeded, want failure:\n%s", out)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
