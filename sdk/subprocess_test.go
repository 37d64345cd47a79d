package sdk_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// The test plugin binary, built once per test run by buildPlugin.
var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildPlugin compiles sdk/testdata/memplugin, a real plugin main, into a
// temporary directory (once per test run) and returns the binary's path.
func buildPlugin(tb testing.TB) string {
	tb.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command to build the test plugin with")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "sdk-test-plugin-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "itsm-connector-plugin-memory")
		if runtime.GOOS == "windows" {
			builtBin += ".exe"
		}
		out, err := exec.Command(gobin, "build", "-o", builtBin, "./testdata/memplugin").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatalf("build test plugin: %v", buildErr)
	}
	return builtBin
}

// syncBuffer is a bytes.Buffer safe for the host logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// launch starts the plugin binary the way the host does: checksum verified,
// AutoMTLS, gRPC only, without the host's environment, raised message limit.
func launch(tb testing.TB, bin string, hostLog io.Writer) (*plugin.Client, hostside.Client) {
	tb.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(data)
	cmd := exec.Command(bin)
	cmd.Env = []string{hostside.LogLevelEnv + "=debug"}
	cfg := hostside.ClientConfig(cmd)
	cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum[:], Hash: sha256.New()}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{
		Name: "host", Output: hostLog, JSONFormat: true, Level: hclog.Debug,
	})
	client := plugin.NewClient(cfg)
	tb.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		tb.Fatalf("start plugin: %v", err)
	}
	c, err := hostside.Dispense(rpc)
	if err != nil {
		tb.Fatal(err)
	}
	return client, c
}

// eventually polls cond until it holds or 15 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a plugin binary")
	}
	hostLog := &syncBuffer{}
	proc, c := launch(t, buildPlugin(t), hostLog)
	ctx := t.Context()

	if v := proc.NegotiatedVersion(); v != sdk.APIVersion {
		t.Errorf("negotiated API version %d, want %d", v, sdk.APIVersion)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Name != "memory" || info.APIVersions[0] != sdk.APIVersion || !info.Capabilities.Reopen {
		t.Fatalf("Info = %+v, %v", info, err)
	}

	// Diagnostics keep their path across the process boundary.
	err = c.Configure(ctx, sdk.Config(`{"prefix": "lower", "token": "tok-3f9a7c21"}`))
	var diags sdk.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 1 || diags[0].Path[0] != "prefix" {
		t.Fatalf("Configure(bad prefix) = %v; want one diagnostic for prefix", err)
	}
	if err := c.Configure(ctx, sdk.Config(`{"prefix": "INC", "token": "tok-3f9a7c21"}`)); err != nil {
		t.Fatalf("Configure: %v", err)
	}

	// The plugin's slog line reaches the host's log, parsed, at its level.
	eventually(t, "the plugin's log line reaches the host log", func() bool {
		return strings.Contains(hostLog.String(), "configured memory backend")
	})
	for line := range strings.SplitSeq(hostLog.String(), "\n") {
		if !strings.Contains(line, "configured memory backend") {
			continue
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("host log line is not JSON: %s", line)
		}
		if entry["@level"] != "info" || entry["prefix"] != "INC" || !strings.Contains(entry["@module"].(string), "itsm-connector-plugin-memory") {
			t.Errorf("plugin log re-logged as %v", entry)
		}
	}

	// Messages beyond gRPC's 4 MiB default pass both ways.
	big := strings.Repeat("x", 5<<20)
	alert := sdktest.SampleAlert()
	wi, err := c.Create(ctx, &sdk.Request{CorrelationKey: "big", Alert: alert, Fields: map[string]any{"echo": big}})
	if err != nil {
		t.Fatalf("Create with a 5 MiB field: %v", err)
	}
	if wi.Attributes["echo"] != big {
		t.Errorf("echoed field of %d bytes, want %d", len(wi.Attributes["echo"]), len(big))
	}
	found, err := c.Lookup(ctx, &sdk.Request{CorrelationKey: "big", Alert: alert})
	if err != nil || found == nil || found.ID != wi.ID {
		t.Fatalf("Lookup = %v, %v; want %s", found, err, wi.ID)
	}
	// Beyond the limit: a permanent error, not an endless retry.
	_, err = c.Create(ctx, &sdk.Request{CorrelationKey: "huge", Fields: map[string]any{"echo": strings.Repeat("x", hostside.MaxMessageSize)}})
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Create over the message limit: %v (%s), want permanent", err, sdk.KindOf(err))
	}

	// The plugin dies in the middle of a call: retryable for the host.
	_, err = c.Create(ctx, &sdk.Request{CorrelationKey: "crash", Alert: alert})
	if err == nil || sdk.KindOf(err) != sdk.KindRetryable {
		t.Fatalf("Create while the plugin crashed: %v (%s), want retryable", err, sdk.KindOf(err))
	}
	eventually(t, "the host notices the plugin exited", proc.Exited)
}

func TestPluginRefusesToRunByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a plugin binary")
	}
	cmd := exec.Command(buildPlugin(t))
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "This binary is a plugin") {
		t.Fatalf("running the plugin without the magic cookie: %v\n%s", err, out)
	}
}

// TestPluginExitsWhenHostDies starts the plugin from a shell that exits at
// once, as a host that crashed would: the orphaned plugin must exit too.
func TestPluginExitsWhenHostDies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a plugin binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc to watch the orphaned plugin")
	}
	bin := buildPlugin(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The shell stays until its stdin closes, so the plugin starts as its
	// child; then it exits, leaving the plugin an orphan.
	host := exec.Command("/bin/sh", "-c", `"$0" </dev/null & echo $!; read _ || true`, bin)
	hs := hostside.Handshake()
	host.Env = []string{hs.MagicCookieKey + "=" + hs.MagicCookieValue}
	host.Stdout = w
	hostStdin, err := host.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := bufio.NewReader(r)
	pidLine, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("read plugin pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidLine))
	if err != nil {
		t.Fatalf("plugin pid %q: %v", pidLine, err)
	}
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	})
	// The handshake line proves the plugin is serving.
	handshake, err := lines.ReadString('\n')
	if err != nil || !strings.HasPrefix(handshake, "1|1|") {
		t.Fatalf("plugin handshake %q, %v", handshake, err)
	}
	hostStdin.Close()
	if err := host.Wait(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	eventually(t, "the orphaned plugin exits", func() bool {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true // gone and reaped
		}
		// Field 3, after the parenthesised command name, is the state.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
	})
}
