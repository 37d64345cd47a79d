package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// Test plugin binaries are built once per test run, on first use, into a
// directory removed when the tests end.
var (
	buildDir  string
	buildOnce sync.Once
	builtDirs struct{ current, v99 string }
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// testPluginDirs builds testdata/testplugin twice: speaking this host's API
// version, and claiming only version 99. Each lands in its own plugin
// directory as itsm-connector-plugin-test.
func testPluginDirs(t testing.TB) (current, v99 string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs plugin subprocesses")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "pluginhost-test-")
		if buildErr != nil {
			return
		}
		builtDirs.current = filepath.Join(buildDir, "current")
		builtDirs.v99 = filepath.Join(buildDir, "v99")
		for dir, ldflags := range map[string]string{
			builtDirs.current: "",
			builtDirs.v99:     "-X main.apiVersion=99",
		} {
			cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", filepath.Join(dir, BinaryPrefix+"test"), "./testdata/testplugin")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build testplugin: %v\n%s", err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtDirs.current, builtDirs.v99
}

// checksumBlock is the plugin "test" block for the binary in dir.
func checksumBlock(t testing.TB, dir string) *config.Plugin {
	t.Helper()
	sum, err := FileSHA256(filepath.Join(dir, BinaryPrefix+"test"))
	if err != nil {
		t.Fatal(err)
	}
	return &config.Plugin{Name: "test", SHA256: sum}
}

const goodConfig = `backend "test" "prod" {
  config {
    url     = "https://itsm.example.test"
    token   = env("PLUGINHOST_TEST_TOKEN")
    subject = "[${alert.severity_label}] ${alert.rule}"
  }
}
`

// startHost loads src with the plugin in dir and returns the host, closed
// at the end of the test.
func startHost(t testing.TB, dir, src string, opts Options) (*Host, hcl.Diagnostics, parsed) {
	t.Helper()
	opts.PluginDir = dir
	if opts.Plugins == nil {
		opts.Plugins = []*config.Plugin{checksumBlock(t, dir)}
	}
	opts.RestartBackoff = Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	h := New(opts)
	t.Cleanup(h.Close)
	p := parseBackends(t, "connector.hcl", src)
	diags := h.Load(context.Background(), p.backends, loadContext(t.TempDir()))
	return h, diags, p
}

func mustBackend(t testing.TB, h *Host, ref string) *Backend {
	t.Helper()
	b, ok := h.Backend(ref)
	if !ok {
		t.Fatalf("backend %s not loaded", ref)
	}
	return b
}

func testRequest(key string) *sdk.Request {
	sev := 1
	return &sdk.Request{
		CorrelationKey: key,
		Alert:          sdk.Alert{ID: key, Rule: "cpu high", Severity: &sev, SeverityLabel: "Sev1", Condition: sdk.ConditionFired},
	}
}

// killAndWaitExit kills the plugin process pid of b and waits until the
// host has seen it exit, so that the next call starts a new process before
// it runs (a call sent to a process that died unseen fails retryably).
func killAndWaitExit(t testing.TB, b *Backend, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		b.sup.mu.RLock()
		defer b.sup.mu.RUnlock()
		return b.sup.cur == nil || b.sup.cur.exited()
	})
}

func pidOf(t testing.TB, wi *sdk.WorkItem) int {
	t.Helper()
	pid, err := strconv.Atoi(wi.Attributes["pid"])
	if err != nil {
		t.Fatalf("work item has no pid: %+v", wi)
	}
	return pid
}

func TestLoadConfiguresAndRendersPerCall(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok-123")
	t.Setenv("PLUGINHOST_HOST_ONLY", "must-not-leak")
	t.Setenv("PLUGINHOST_PASSED", "passed-on")
	logs := &fakehttp.LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "itsm-connector", Output: logs, Level: hclog.Info})
	t.Setenv("PLUGINHOST_PROXY", "http://proxy.example.test:3128")
	block := checksumBlock(t, dir)
	block.PassEnv = []string{"PLUGINHOST_PROXY"}
	h, diags, p := startHost(t, dir, goodConfig, Options{Logger: logger, PassEnv: []string{"PLUGINHOST_PASSED", "PLUGINHOST_UNSET"},
		Plugins: []*config.Plugin{block}})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	b := mustBackend(t, h, "test.prod")
	info, _ := b.Info(context.Background())
	if info.Name != "test" || !b.Capabilities().Lookup || b.Capabilities().Reopen {
		t.Errorf("info = %+v", info)
	}

	wi, err := b.Create(context.Background(), testRequest("k1"))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, []byte(wi.Attributes["values"]), `{"subject":"[Sev1] cpu high"}`)
	sameJSON(t, []byte(wi.Attributes["config"]), `{"url":"https://itsm.example.test","token":"[redacted]","retries":3,"echo":null,"auth":null}`)
	if wi.Attributes["token_sha256"] != sha256Hex("tok-123") {
		t.Errorf("the plugin's token has sha256 %s, want that of tok-123", wi.Attributes["token_sha256"])
	}

	t.Run("environment is not inherited", func(t *testing.T) {
		env := strings.Split(wi.Attributes["env"], "\n")
		var names []string
		for _, kv := range env {
			name, _, _ := strings.Cut(kv, "=")
			names = append(names, name)
		}
		for _, kv := range env {
			if strings.Contains(kv, "must-not-leak") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
				t.Errorf("plugin inherited %q from the host; its environment: %q", kv, names)
			}
		}
		if !slicesContains(env, "PLUGINHOST_PASSED=passed-on") || !slicesContains(env, hostside.LogLevelEnv+"=info") ||
			!slicesContains(env, "PLUGINHOST_PROXY=http://proxy.example.test:3128") {
			t.Errorf("plugin environment lacks the passed variables: %q", names)
		}
	})

	t.Run("plugin logs appear under the backend's name", func(t *testing.T) {
		waitFor(t, func() bool { return strings.Contains(logs.String(), "test plugin configured") })
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, "test plugin configured") {
				continue
			}
			if !strings.Contains(line, "itsm-connector.backend.test.prod:") {
				t.Errorf("plugin log line not under the backend's name: %s", line)
			}
			if !strings.Contains(line, "url=") || strings.Contains(line, "timestamp=") {
				t.Errorf("plugin log line should keep the plugin's attributes and no relay timestamp: %s", line)
			}
		}
		if strings.Contains(logs.String(), "tok-123") {
			t.Error("the sensitive token appears in the host log")
		}
	})

	t.Run("plugin errors keep their class", func(t *testing.T) {
		req := testRequest("k2")
		req.Fields = map[string]any{"fail": "HTTP 400: no such field"}
		_, err := b.Create(context.Background(), req)
		if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "no such field") {
			t.Errorf("err = %v (kind %s), want the plugin's permanent error", err, sdk.KindOf(err))
		}
		if b.Restarts() != 0 {
			t.Error("a plugin error restarted the process")
		}
	})
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestVersionMismatch(t *testing.T) {
	_, dir99 := testPluginDirs(t)
	_, diags, _ := startHost(t, dir99, goodConfig, Options{})
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got %v", diags)
	}
	t.Logf("%s: %s", diags[0].Summary, diags[0].Detail)
	want := fmt.Sprintf("speaks API versions [99], but this host speaks API versions [%d]: no version in common", sdk.APIVersion)
	if diags[0].Summary != "Cannot start plugin" || !strings.Contains(diags[0].Detail, want) {
		t.Errorf("diagnostic = %s: %s\nwant detail containing %q", diags[0].Summary, diags[0].Detail, want)
	}
}

// Configure's diagnostics point at the attribute the plugin names, in the
// operator's file.
func TestConfigureDiagnosticsGolden(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := `backend "test" "prod" {
  config {
    url = "http://itsm.example.test"
    auth {
      client_secret = "wrong-client-secret"
    }
  }
}
`
	h, diags, p := startHost(t, dir, src, Options{})
	if _, ok := h.Backend("test.prod"); ok {
		t.Error("a backend whose Configure failed was loaded")
	}
	golden(t, "configure_diagnostics.golden", p.render(t, diags))
}

func TestUnsupportedArgumentThroughPlugin(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := `backend "test" "prod" {
  config {
    url   = "https://itsm.example.test"
    tokne = "x"
  }
}
`
	_, diags, p := startHost(t, dir, src, Options{})
	out := p.render(t, diags)
	if !strings.Contains(out, "Unsupported argument") || !strings.Contains(out, "on connector.hcl line 4") || !strings.Contains(out, `Did you mean "token"?`) {
		t.Errorf("diagnostics:\n%s", out)
	}
}

func TestKilledPluginIsRestarted(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	wi, err := b.Create(context.Background(), testRequest("before"))
	if err != nil {
		t.Fatal(err)
	}
	oldPID := pidOf(t, wi)
	killAndWaitExit(t, b, oldPID)

	wi, err = b.Create(context.Background(), testRequest("after"))
	if err != nil {
		t.Fatalf("call after the kill: %v", err)
	}
	if pid := pidOf(t, wi); pid == oldPID {
		t.Errorf("the call was answered by the killed process %d", pid)
	}
	if b.Restarts() != 1 {
		t.Errorf("restarts = %d, want 1", b.Restarts())
	}
	// The restarted process was configured again.
	sameJSON(t, []byte(wi.Attributes["config"]), `{"url":"https://itsm.example.test","token":"tok","retries":3,"echo":null,"auth":null}`)
}

// TestPluginKilledMidCreateIsNotRepeated kills the plugin while a Create
// is in flight, for a key whose previous work item was resolved long ago
// (Lookup finds only that one). The supervisor restarts the process but
// neither repeats the call nor looks anything up: the Create may have
// reached the backend, and only the delivery engine decides what a lookup
// hit means (never a resolved item for a new incident). The call fails
// retryably, and the next one runs on the new process.
func TestPluginKilledMidCreateIsNotRepeated(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	wi, err := b.Create(context.Background(), testRequest("probe"))
	if err != nil {
		t.Fatal(err)
	}
	oldPID := pidOf(t, wi)

	marker := filepath.Join(t.TempDir(), "hanging")
	req := testRequest("in-flight")
	req.Fields = map[string]any{"hang_once_file": marker, "resolved_item": "wi-resolved-long-ago"}
	type result struct {
		wi  *sdk.WorkItem
		err error
	}
	done := make(chan result, 1)
	go func() {
		wi, err := b.Create(context.Background(), req)
		done <- result{wi, err}
	}()
	waitFor(t, func() bool { _, err := os.Stat(marker); return err == nil })
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err == nil || sdk.KindOf(r.err) != sdk.KindRetryable {
		t.Fatalf("Create across the kill = %+v, %v (kind %s); want no item and a retryable error", r.wi, r.err, sdk.KindOf(r.err))
	}
	if b.Restarts() != 1 {
		t.Errorf("restarts = %d, want 1", b.Restarts())
	}
	wi, err = b.Create(context.Background(), req)
	if err != nil {
		t.Fatalf("Create after the restart: %v", err)
	}
	if wi.ID != "wi-in-flight" || wi.State != sdk.StateOpen || pidOf(t, wi) == oldPID {
		t.Errorf("Create after the restart = %+v; want a new open item from the new process", wi)
	}
}

// A binary replaced after load is refused at restart: the checksum is
// verified on every start, and the call fails retryably instead of
// running an unverified program.
func TestReplacedBinaryIsRefusedOnRestart(t *testing.T) {
	current, v99 := testPluginDirs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, BinaryPrefix+"test")
	copyFile(t, filepath.Join(current, BinaryPrefix+"test"), path)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	wi, err := b.Create(context.Background(), testRequest("k"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	copyFile(t, filepath.Join(v99, BinaryPrefix+"test"), tmp)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pidOf(t, wi), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err = b.Create(context.Background(), testRequest("k2"))
	if sdk.KindOf(err) != sdk.KindRetryable || !strings.Contains(err.Error(), "the binary changed") {
		t.Errorf("err = %v (kind %s), want a retryable checksum error", err, sdk.KindOf(err))
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestDescribe(t *testing.T) {
	dir, _ := testPluginDirs(t)
	h := New(Options{PluginDir: dir, Plugins: []*config.Plugin{checksumBlock(t, dir)}})
	schema, diags := h.Schema(context.Background(), "test")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b, _ := json.Marshal(schema.Attributes)
	if !strings.Contains(string(b), `"name":"subject","type":"string","per_alert":true`) {
		t.Errorf("schema attributes = %s", b)
	}
	if _, diags := h.Describe(context.Background(), "absent"); !diags.HasErrors() {
		t.Error("Describe of a missing plugin succeeded")
	}
}

func TestConcurrentCallsAcrossAKill(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	wi, err := b.Create(context.Background(), testRequest("probe"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 20 {
		wg.Go(func() {
			for j := range 5 {
				if _, err := b.Create(context.Background(), testRequest(fmt.Sprintf("k-%d-%d", i, j))); err != nil {
					errs <- err
				}
			}
		})
	}
	if err := syscall.Kill(pidOf(t, wi), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	// Calls may fail, but only retryably: nothing is lost.
	for err := range errs {
		if sdk.KindOf(err) != sdk.KindRetryable {
			t.Errorf("non-retryable error across a kill: %v", err)
		}
	}
	if _, err := b.Create(context.Background(), testRequest("final")); err != nil {
		t.Errorf("call after the storm: %v", err)
	}
}

// BenchmarkCreate measures one Create through the host to a real plugin
// subprocess: per-alert rendering, gRPC over mutual TLS, and back.
func BenchmarkCreate(b *testing.B) {
	dir, _ := testPluginDirs(b)
	b.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(b, dir, goodConfig, Options{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	be := mustBackend(b, h, "test.prod")
	req := testRequest("bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Create(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// A binary swapped after its checksum was verified and before it is
// executed must not run: the host executes the bytes it verified.
func TestSwapBetweenCheckAndExecRunsTheVerifiedBinary(t *testing.T) {
	current, v99 := testPluginDirs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, BinaryPrefix+"test")
	copyFile(t, filepath.Join(current, BinaryPrefix+"test"), path)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h := New(Options{PluginDir: dir, Plugins: []*config.Plugin{checksumBlock(t, dir)}})
	t.Cleanup(h.Close)
	swaps := 0
	h.beforeExec = func() {
		swaps++
		tmp := path + ".new"
		copyFile(t, filepath.Join(v99, BinaryPrefix+"test"), tmp)
		if err := os.Rename(tmp, path); err != nil {
			t.Error(err)
		}
	}
	p := parseBackends(t, "connector.hcl", goodConfig)
	if diags := h.Load(context.Background(), p.backends, loadContext(t.TempDir())); diags.HasErrors() {
		t.Fatalf("the swapped binary ran instead of the verified one:\n%s", p.render(t, diags))
	}
	if swaps != 1 {
		t.Fatalf("the launch did not reach the swap point (%d swaps)", swaps)
	}
	if _, err := mustBackend(t, h, "test.prod").Create(context.Background(), testRequest("k")); err != nil {
		t.Fatal(err)
	}
}

// A plugin may be a script (#!): its interpreter reads the verified copy,
// which the child keeps open, not the path that could change.
func TestScriptPluginRunsFromTheVerifiedCopy(t *testing.T) {
	current, _ := testPluginDirs(t)
	dir := t.TempDir()
	script := "#!/bin/sh\nexec " + filepath.Join(current, BinaryPrefix+"test") + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, BinaryPrefix+"test"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, p := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatalf("a script plugin did not start:\n%s", p.render(t, diags))
	}
	if _, err := mustBackend(t, h, "test.prod").Create(context.Background(), testRequest("k")); err != nil {
		t.Fatal(err)
	}
}
