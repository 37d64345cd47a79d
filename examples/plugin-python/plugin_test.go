// Package pluginpython_test runs the Python example plugin the way the
// connector runs it: the conformance suite against the packaged plugin
// started by sdktest.LaunchCommand, and the full host launch path
// (discovery in plugin_dir, sha256, handshake, config decoding, per-alert
// templates, its logs in the host's log, shutdown).
//
// The tests skip when python3 with grpcio, protobuf and cryptography is not
// on the default path a plugin gets (/bin:/usr/bin): on Debian, install
// python3-grpcio python3-protobuf python3-cryptography.
package pluginpython_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// binName is the packaged plugin's file name: itsm-connector-plugin-<Info.Name>.
const binName = "itsm-connector-plugin-pyhello"

// python runs python3 as the host would run the plugin's interpreter: an
// empty environment, so /usr/bin/env finds python3 on the default path.
func python(args ...string) *exec.Cmd {
	cmd := exec.Command("/usr/bin/env", append([]string{"python3"}, args...)...)
	cmd.Env = []string{}
	return cmd
}

// buildPlugin packages src/ into one executable file (python3 -m zipapp,
// as `make` in this directory does), or skips the test when the plugin
// cannot run here.
func buildPlugin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("packages and starts the Python plugin")
	}
	if _, err := os.Stat("/usr/bin/env"); err != nil {
		t.Skip("no /usr/bin/env to start the Python plugin with")
	}
	if out, err := python("-c", "import grpc, google.protobuf, cryptography").CombinedOutput(); err != nil {
		t.Skipf("python3 with grpcio, protobuf and cryptography is not on the default path (/bin:/usr/bin), "+
			"so the Python plugin cannot run; on Debian: apt-get install python3-grpcio python3-protobuf python3-cryptography\n%s", out)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, binName)
	if out, err := python("-m", "zipapp", "src", "-p", "/usr/bin/env python3", "-o", bin).CombinedOutput(); err != nil {
		t.Fatalf("python3 -m zipapp: %v\n%s", err, out)
	}
	return bin
}

func TestConformance(t *testing.T) {
	bin := buildPlugin(t)
	sdktest.Run(t, sdktest.Suite{
		// Each check starts a new plugin process, as the host would.
		Start:         func(t *testing.T) hostside.Client { return sdktest.LaunchCommand(t, exec.Command(bin)) },
		Config:        sdk.Config(`{"greeting": "hi"}`),
		InvalidConfig: sdk.Config(`{"greeting": ""}`),
		InvalidPath:   []string{"greeting"},
		Values:        sdk.Values(`{"note": "High CPU on web tier is fired"}`),
	})
}

// TestErrors checks that the plugin's errors reach the host classified,
// through the itsm.v1.Error status detail the Python side builds.
func TestErrors(t *testing.T) {
	c := sdktest.LaunchCommand(t, exec.Command(buildPlugin(t)))
	ctx := t.Context()
	if _, err := c.Create(ctx, &sdk.Request{CorrelationKey: "k", Alert: sdktest.SampleAlert()}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Create before Configure: %v (kind %q), want a permanent error", err, sdk.KindOf(err))
	}
	if err := c.Configure(ctx, sdk.Config(`{"greeting": "hi"}`)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if _, err := c.Create(ctx, &sdk.Request{Alert: sdktest.SampleAlert()}); sdk.KindOf(err) != sdk.KindPermanent ||
		!strings.Contains(err.Error(), "no correlation key") {
		t.Errorf("Create without a correlation key: %v (kind %q), want a permanent error saying so", err, sdk.KindOf(err))
	}
	_, err := c.Resolve(ctx, &sdk.Request{CorrelationKey: "k", Alert: sdktest.SampleAlert(), Ref: &sdk.WorkItem{ID: "PYHELLO-7"}})
	if sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Resolve of an item that does not exist: %v (kind %q), want not found", err, sdk.KindOf(err))
	}
	wi, err := c.Lookup(ctx, &sdk.Request{CorrelationKey: "nothing", Alert: sdktest.SampleAlert()})
	if err != nil || wi != nil {
		t.Errorf("Lookup of an unknown key = %+v, %v; want nil, nil", wi, err)
	}
}

// TestThroughHost loads a configuration with a pyhello backend and starts
// it as `serve` does, then drives one work item through its lifecycle.
func TestThroughHost(t *testing.T) {
	bin := buildPlugin(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	dir := filepath.Dir(bin)
	src := `
server {
  listen = "127.0.0.1:0"
}
auth "none" {}
store {
  driver = "sqlite"
  path   = "` + filepath.Join(dir, "connector.db") + `"
}
plugin_dir = "` + dir + `"

plugin "pyhello" {
  sha256 = "` + hex.EncodeToString(sum[:]) + `"
}

backend "pyhello" "demo" {
  config {
    greeting = "hi"
    note     = "${alert.rule} is ${alert.condition}"
  }
}

route "all" {
  send_to = [backend.pyhello.demo]
}
`
	cfgPath := filepath.Join(dir, "connector.hcl")
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.LoadFile(cfgPath)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	logs := &fakehttp.LogBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ph, diags := app.StartPlugins(ctx, cfg, false, log)
	if diags.HasErrors() {
		t.Fatalf("start plugins: %s\n%s", diags.Error(), logs)
	}
	closed := false
	defer func() {
		if !closed {
			ph.Close()
		}
	}()
	be, ok := ph.Backend("pyhello.demo")
	if !ok {
		t.Fatal("no backend pyhello.demo")
	}
	caps := be.Capabilities()
	if !caps.Lookup || !caps.Update || !caps.Resolve || !caps.Reopen {
		t.Errorf("capabilities = %+v, want lookup, update, resolve and reopen", caps)
	}

	fired := sdktest.SampleAlert()
	req := &sdk.Request{CorrelationKey: "k1", Alert: fired}
	wi, err := be.Create(ctx, req)
	if err != nil || wi.State != sdk.StateOpen {
		t.Fatalf("Create = %+v, %v", wi, err)
	}
	req.Ref = wi
	if wi, err = be.Update(ctx, req); err != nil || wi.State != sdk.StateOpen {
		t.Fatalf("Update = %+v, %v", wi, err)
	}
	resolved := sdktest.Resolved(fired, fired.FiredAt.Add(time.Minute))
	if wi, err = be.Resolve(ctx, &sdk.Request{CorrelationKey: "k1", Alert: resolved, Ref: wi}); err != nil || wi.State != sdk.StateResolved {
		t.Fatalf("Resolve = %+v, %v", wi, err)
	}
	if wi, err = be.Reopen(ctx, &sdk.Request{CorrelationKey: "k1", Alert: fired, Ref: wi}); err != nil || wi.State != sdk.StateOpen {
		t.Fatalf("Reopen = %+v, %v", wi, err)
	}
	_, err = be.Update(ctx, &sdk.Request{CorrelationKey: "k1", Alert: fired, Ref: &sdk.WorkItem{ID: "PYHELLO-999"}})
	if sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Update of a missing item: %v (kind %q), want not found", err, sdk.KindOf(err))
	}

	// The plugin's JSON log lines reach the host's log at their level,
	// under the backend's name, with the per-alert note the host rendered.
	line := ""
	harness.Eventually(t, time.Minute, "the plugin's info line from resolve in the host's log", func() (bool, string) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "[INFO]  backend.pyhello.demo: hi resolve:") {
				line = l
			}
		}
		return line != "", logs.String()
	})
	for _, want := range []string{"id=PYHELLO-1", "correlation_key=k1", `note="High CPU on web tier is resolved"`} {
		if !strings.Contains(line, want) {
			t.Errorf("the plugin's log line lacks %s: %s", want, line)
		}
	}

	// Closing asks the plugin to shut down through go-plugin's controller;
	// it must exit on its own, and the stdio stream must have been there.
	ph.Close()
	closed = true
	for _, bad := range []string{"plugin failed to exit gracefully", "stdio service not available", "[ERROR]"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the host logged %q:\n%s", bad, logs)
		}
	}
}
