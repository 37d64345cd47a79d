//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
)

// reloadConfig writes work items into data/<dir>, titled with prefix.
func reloadConfig(dir, prefix string) string {
	return fmt.Sprintf(`auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
backend "file" "local" {
  config {
    directory = "data/%s"
    title     = "%s: ${alert.rule}"
  }
}
route "everything" {
  send_to = [backend.file.local]
}
`, dir, prefix)
}

// TestReloadOnSIGHUP changes a running connector's backend configuration
// and template with SIGHUP: the next alert goes where the new file says,
// titled by the new template. A broken file is reported and changes
// nothing.
func TestReloadOnSIGHUP(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: reloadConfig("a", "A")})
	sender := c.Sender(t)
	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := harness.Alerts(sample, 500, 3)
	if err != nil {
		t.Fatal(err)
	}
	// titleIn waits for the one work item of alert in data/<dir> and
	// returns its title.
	titleIn := func(dir string, alert harness.Alert) string {
		t.Helper()
		var title string
		harness.Eventually(t, 60*time.Second, "a work item in data/"+dir, func() (bool, string) {
			files, _ := filepath.Glob(filepath.Join(c.Dir(), "data", dir, "WI-*.json"))
			for _, f := range files {
				var wi struct {
					CorrelationKey string `json:"correlation_key"`
					Title          string `json:"title"`
				}
				if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &wi) == nil && wi.CorrelationKey == alert.ID {
					title = wi.Title
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d files", len(files))
		})
		return title
	}
	// reload writes src, sends SIGHUP and waits for the log to say what.
	reload := func(src, what string) {
		t.Helper()
		n := strings.Count(c.Logs(), what) // before the signal: the answer can be quick
		c.Reconfigure(t, src)
		harness.Eventually(t, 30*time.Second, "the log to say "+what, func() (bool, string) {
			return strings.Count(c.Logs(), what) > n, ""
		})
	}

	sender.Send(t, alerts[0].Fired)
	if title := titleIn("a", alerts[0]); !strings.HasPrefix(title, "A: ") {
		t.Errorf("first work item titled %q, want the A template", title)
	}

	reload(reloadConfig("b", "B"), "configuration reloaded")
	sender.Send(t, alerts[1].Fired)
	if title := titleIn("b", alerts[1]); !strings.HasPrefix(title, "B: ") {
		t.Errorf("work item after the reload titled %q, want the B template", title)
	}

	reload(strings.Replace(reloadConfig("c", "C"), "send_to", "send_too", 1), "configuration reload failed")
	sender.Send(t, alerts[2].Fired)
	if title := titleIn("b", alerts[2]); !strings.HasPrefix(title, "B: ") {
		t.Errorf("work item after a failed reload titled %q, want the running B template", title)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "data", "c")); err == nil {
		t.Error("a failed reload created the new directory; nothing should have changed")
	}
}
