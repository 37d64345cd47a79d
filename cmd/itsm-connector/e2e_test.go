package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests build the real host and file plugin, run `serve`
// as a subprocess in a scratch directory and talk to it over loopback, as
// an operator would.

var (
	hostBin   string // the built itsm-connector
	pluginDir string // holds the built itsm-connector-plugin-file
	buildErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "itsm-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if !testing.Short() {
			hostBin = filepath.Join(dir, "itsm-connector")
			pluginDir = filepath.Join(dir, "plugins")
			buildErr = goBuild(hostBin, ".")
			if buildErr == nil {
				buildErr = goBuild(filepath.Join(pluginDir, "itsm-connector-plugin-file"), "../../plugins/file")
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func needBinaries(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds binaries and runs subprocesses; skipped with -short")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// connector is a running `serve -dev` subprocess.
type connector struct {
	dir       string // working directory: data/ lives here
	url       string // webhook URL
	adminURL  string
	cmd       *exec.Cmd
	logs      *syncBuffer
	exited    chan struct{}
	configSrc string
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startConnector writes config into a scratch directory and runs serve -dev
// there, returning once /readyz answers 200.
func startConnector(t *testing.T, config string) *connector {
	t.Helper()
	needBinaries(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "connector.hcl")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, adminListen := freePort(t), freePort(t)
	c := &connector{dir: dir, url: "http://" + listen + "/api/v1/alerts", adminURL: "http://" + adminListen,
		logs: &syncBuffer{}, exited: make(chan struct{}), configSrc: cfgPath}
	c.cmd = exec.Command(hostBin, "serve", "-dev", "-config", cfgPath, "-listen", listen,
		"-admin-listen", adminListen, "-plugin-dir", pluginDir, "-log-level", "debug")
	c.cmd.Dir = dir
	c.cmd.Stdout = c.logs
	c.cmd.Stderr = c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("connector log:\n%s", c.logs.String())
		}
	})
	waitFor(t, 60*time.Second, "connector ready", func() bool {
		select {
		case <-c.exited:
			t.Fatalf("connector exited during start:\n%s", c.logs.String())
		default:
		}
		resp, err := http.Get(c.adminURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

// syncBuffer collects a subprocess's stdout and stderr, which exec copies
// from two goroutines.
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

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond) // poll interval
	}
}

// send posts an alert file with `itsm-connector send`, which mints a dev
// token from the connector's data directory.
func (c *connector) send(t *testing.T, file string) string {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(hostBin, "send", "-url", c.url, abs)
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("send %s: %v\n%s", file, err, out)
	}
	if !strings.Contains(string(out), "202 Accepted") {
		t.Fatalf("send %s: %s", file, out)
	}
	return string(out)
}

// workItem is the part of the file plugin's work item the tests read.
type workItem struct {
	ID             string `json:"id"`
	CorrelationKey string `json:"correlation_key"`
	State          string `json:"state"`
	History        []struct {
		Type string `json:"type"`
	} `json:"history"`
}

func (c *connector) workItems(t *testing.T) []workItem {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.dir, "data", "workitems", "*.json"))
	var items []workItem
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var wi workItem
		if err := json.Unmarshal(b, &wi); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		items = append(items, wi)
	}
	return items
}

// waitItems waits until the work items satisfy ok.
func (c *connector) waitItems(t *testing.T, what string, ok func([]workItem) bool) []workItem {
	t.Helper()
	var items []workItem
	waitFor(t, 60*time.Second, what, func() bool {
		items = c.workItems(t)
		return ok(items)
	})
	return items
}

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

func TestEndToEndFiredThenResolved(t *testing.T) {
	c := startConnector(t, fileConfig)
	c.send(t, "testdata/metric-fired.json")
	items := c.waitItems(t, "one open work item", func(items []workItem) bool {
		return len(items) == 1 && items[0].State == "open"
	})
	c.send(t, "testdata/metric-resolved.json")
	items = c.waitItems(t, "the work item resolved", func(items []workItem) bool {
		return len(items) == 1 && items[0].State == "resolved"
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
	c := startConnector(t, fileConfig)
	pid := childPID(t, c.cmd.Process.Pid, "itsm-connector-plugin-file")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.send(t, "testdata/metric-fired.json")
	c.waitItems(t, "a work item after the plugin was killed", func(items []workItem) bool {
		return len(items) == 1 && items[0].State == "open"
	})
	if newPID := childPID(t, c.cmd.Process.Pid, "itsm-connector-plugin-file"); newPID == pid {
		t.Errorf("plugin pid unchanged (%d): not restarted", pid)
	}
}

// childPID finds the child process of parent whose command name starts with
// name (Linux /proc).
func childPID(t *testing.T, parent int, name string) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("finding the plugin process needs /proc")
	}
	var found int
	waitFor(t, 30*time.Second, "plugin process "+name, func() bool {
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, s := range stats {
			b, err := os.ReadFile(s)
			if err != nil {
				continue
			}
			// pid (comm) state ppid …; comm is cut to 15 bytes.
			text := string(b)
			open, close := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
			if open < 0 || close < open {
				continue
			}
			comm := text[open+1 : close]
			fields := strings.Fields(text[close+1:])
			if len(fields) < 2 || !strings.HasPrefix(name, comm) {
				continue
			}
			if ppid, _ := strconv.Atoi(fields[1]); ppid == parent {
				found, _ = strconv.Atoi(strings.Fields(text)[0])
				return true
			}
		}
		return false
	})
	return found
}

func TestValidateDiagnostics(t *testing.T) {
	needBinaries(t)
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
			name:   "config attribute the plugin does not declare",
			config: strings.Replace(fileConfig, `config { directory = "data/workitems" }`, "config {\n    directory = \"data/workitems\"\n    colour    = \"blue\"\n  }", 1),
			want:   []string{"Unsupported argument", "connector.hcl line 11", `11:     colour    = "blue"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "connector.hcl")
			if err := os.WriteFile(cfg, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(hostBin, "validate", "-dev", "-config", cfg, "-plugin-dir", pluginDir)
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
