package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// TestProcess builds the real binary and drives it the way the host does:
// a separate process over go-plugin's gRPC transport, checksum verified,
// mutual TLS, an empty environment.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary; skipped with -short")
	}
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "itsm-connector-plugin-file")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=1.2.3-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sum := fileSHA256(t, bin)

	var logs fakehttp.LogBuffer
	cmd := exec.Command(bin)
	cmd.Env = []string{hostside.LogLevelEnv + "=debug"} // nothing from the test's environment
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  hostside.Handshake(),
		VersionedPlugins: hostside.ClientPluginSets(),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  hostside.DialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin: %v", err)
	}
	raw, err := rpc.Dispense(hostside.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	p := raw.(hostside.Client)

	info, err := p.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, Comment: true}
	if info.Name != "file" || info.Version != "1.2.3-test" || info.Capabilities != want {
		t.Errorf("Info = %+v, want file 1.2.3-test with %+v", info, want)
	}

	// Diagnostics keep their attribute path across the wire.
	err = p.Configure(ctx, sdk.Config(`{"directory": "/dev/null/items"}`))
	if diags := sdk.AsDiagnostics(err); len(diags) != 1 || !slices.Equal(diags[0].Path, []string{"directory"}) {
		t.Errorf("Configure on an impossible directory = %#v, want one diagnostic at [directory]", err)
	}

	dir := t.TempDir()
	if err := p.Configure(ctx, sdk.Config(fmt.Sprintf(`{"directory": %q}`, dir))); err != nil {
		t.Fatal(err)
	}
	const key = "rule|vm1"
	item, err := p.Create(ctx, request(key, sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	found, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil))
	if err != nil || found == nil || found.ID != item.ID {
		t.Fatalf("Lookup = %+v, %v; want %s", found, err, item.ID)
	}
	steps := []struct {
		name  string
		call  func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
		cond  sdk.Condition
		state sdk.WorkItemState
	}{
		{"update", p.Update, sdk.ConditionFired, sdk.StateOpen},
		{"resolve", p.Resolve, sdk.ConditionResolved, sdk.StateResolved},
		{"reopen", p.Reopen, sdk.ConditionFired, sdk.StateOpen},
	}
	for _, s := range steps {
		got, err := s.call(ctx, request(key, s.cond, item))
		if err != nil || got.ID != item.ID || got.State != s.state {
			t.Fatalf("%s = %+v, %v; want %s %s", s.name, got, err, item.ID, s.state)
		}
	}

	var doc document
	b, err := os.ReadFile(filepath.Join(dir, item.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range doc.History {
		types = append(types, e.Type)
	}
	if wantTypes := []string{eventCreated, eventUpdated, eventResolved, eventReopened}; !slices.Equal(types, wantTypes) {
		t.Errorf("history = %v, want %v", types, wantTypes)
	}

	// Error classification survives the wire.
	_, err = p.Resolve(ctx, request(key, sdk.ConditionResolved, &sdk.WorkItem{ID: "WI-999999"}))
	if sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Resolve of a deleted item: %v (kind %s), want not_found", err, sdk.KindOf(err))
	}

	// The plugin's log lines reach the host's logger.
	client.Kill()
	if !strings.Contains(logs.String(), "created work item") {
		t.Errorf("host log lacks the plugin's %q line:\n%s", "created work item", logs.String())
	}
}

func fileSHA256(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}
