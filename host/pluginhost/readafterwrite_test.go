package pluginhost

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// TestReadAfterWriteDelayFollowsConfigure: the plugin's declared
// read-after-write delay is read from its Info after Configure (the test
// plugin declares `retries` seconds), again after a reload, and kept by a
// restarted process.
func TestReadAfterWriteDelayFollowsConfigure(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := func(retries string) string {
		return `backend "test" "prod" {
  config {
    url     = "https://a.example.test"
    retries = ` + retries + `
  }
}
`
	}
	h, diags, _ := startHost(t, dir, src("3"), Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	if got := b.ReadAfterWriteDelay(); got != 3*time.Second {
		t.Errorf("after Load: %v, want 3s", got)
	}
	p := parseBackends(t, "connector.hcl", src("7"))
	if d := h.Reconfigure(context.Background(), p.backends, []*config.Plugin{checksumBlock(t, dir)}, loadContext(t.TempDir())); d.HasErrors() {
		t.Fatal(d)
	}
	if got := b.ReadAfterWriteDelay(); got != 7*time.Second {
		t.Errorf("after Reconfigure: %v, want 7s", got)
	}
	wi, err := b.Create(context.Background(), testRequest("k1"))
	if err != nil {
		t.Fatal(err)
	}
	killAndWaitExit(t, b, pidOf(t, wi))
	if _, err := b.Create(context.Background(), testRequest("k2")); err != nil {
		t.Fatal(err)
	}
	if got := b.ReadAfterWriteDelay(); got != 7*time.Second || b.Restarts() != 1 {
		t.Errorf("after a restart (%d): %v, want 7s", b.Restarts(), got)
	}
}

// TestCapabilitiesFollowConfigure: the capabilities delivery uses are the
// ones the plugin's Info reports after Configure (the test plugin drops
// Lookup with retries = 0), again after a reload, and kept by a restarted
// process; a plugin's Info before Configure says what it can do at all.
func TestCapabilitiesFollowConfigure(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := func(retries string) string {
		return `backend "test" "prod" {
  config {
    url     = "https://a.example.test"
    retries = ` + retries + `
  }
}
`
	}
	h, diags, _ := startHost(t, dir, src("0"), Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	if b.Capabilities().Lookup {
		t.Errorf("after Load with retries = 0: Capabilities = %+v, want no Lookup", b.Capabilities())
	}
	if info, _ := b.Info(context.Background()); !info.Capabilities.Lookup {
		t.Errorf("Info before Configure = %+v, want Lookup (what the plugin can do at all)", info.Capabilities)
	}
	p := parseBackends(t, "connector.hcl", src("2"))
	if d := h.Reconfigure(context.Background(), p.backends, []*config.Plugin{checksumBlock(t, dir)}, loadContext(t.TempDir())); d.HasErrors() {
		t.Fatal(d)
	}
	if !b.Capabilities().Lookup {
		t.Errorf("after Reconfigure with retries = 2: Capabilities = %+v, want Lookup", b.Capabilities())
	}
	p = parseBackends(t, "connector.hcl", src("0"))
	if d := h.Reconfigure(context.Background(), p.backends, []*config.Plugin{checksumBlock(t, dir)}, loadContext(t.TempDir())); d.HasErrors() {
		t.Fatal(d)
	}
	wi, err := b.Create(context.Background(), testRequest("k1"))
	if err != nil {
		t.Fatal(err)
	}
	killAndWaitExit(t, b, pidOf(t, wi))
	if _, err := b.Create(context.Background(), testRequest("k2")); err != nil {
		t.Fatal(err)
	}
	if b.Capabilities().Lookup || b.Restarts() != 1 {
		t.Errorf("after a restart (%d): Capabilities = %+v, want no Lookup", b.Restarts(), b.Capabilities())
	}
}

// When the plugin's Info fails after a successful Configure, the backend
// keeps the read-after-write delay and capabilities it had, and says so.
func TestInfoFailingAfterConfigureKeepsThePreviousValues(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := func(retries string) string {
		return `backend "test" "prod" {
  config {
    url     = "https://a.example.test"
    retries = ` + retries + `
  }
}
`
	}
	logs := &fakehttp.LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "itsm-connector", Output: logs, Level: hclog.Info})
	h, diags, _ := startHost(t, dir, src("3"), Options{Logger: logger})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	caps := b.Capabilities()
	p := parseBackends(t, "connector.hcl", src("99"))
	if d := h.Reconfigure(context.Background(), p.backends, []*config.Plugin{checksumBlock(t, dir)}, loadContext(t.TempDir())); d.HasErrors() {
		t.Fatal(d)
	}
	if got := b.ReadAfterWriteDelay(); got != 3*time.Second {
		t.Errorf("read-after-write delay %v after a failed Info, want the previous 3s", got)
	}
	if got := b.Capabilities(); got != caps {
		t.Errorf("capabilities %+v after a failed Info, want the previous %+v", got, caps)
	}
	if !strings.Contains(logs.String(), "plugin Info failed after Configure") {
		t.Errorf("no warning about the failed Info in the log:\n%s", logs)
	}
}
