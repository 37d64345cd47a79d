//go:build linux

package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults for [Options].
const (
	DefaultLogLevel     = "debug"
	DefaultStartTimeout = 60 * time.Second
	// StopTimeout bounds a SIGTERM drain before the harness kills the host.
	StopTimeout = 40 * time.Second
	// OrphanTimeout bounds how long a plugin may outlive its killed host.
	// Plugins watch their parent every 500 ms (sdk.Serve).
	OrphanTimeout = 10 * time.Second
)

// Options describe a connector to start.
type Options struct {
	// Config is the text of connector.hcl. Relative paths in it (the file
	// plugin's directory) are taken from Dir.
	Config string
	// Plugins are the plugins to build (directories under plugins/); the
	// default is just "file".
	Plugins []string
	// Dir is the working directory, holding connector.hcl and data/;
	// default a new t.TempDir(). Connectors started one after another on
	// one Dir and one Config share the configuration, the dev signing key
	// (so one token is good for all of them) and the directories the
	// configuration names relative to it, as replicas do (see
	// StartReplicas).
	Dir string
	// LogLevel is passed to -log-level; default DefaultLogLevel.
	LogLevel string
	// StartTimeout bounds each start, until /readyz answers 200; default
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Env holds "NAME=value" entries added to the test's environment for
	// every run of the host and for Command: the secrets a configuration
	// reads with env(). Plugins see only what the host passes them.
	Env []string
}

// Connector is `itsm-connector serve -dev` running as a subprocess on
// loopback ports the kernel picked (so parallel tests never collide),
// with its data under Dir()/data. Kill and Restart simulate crashes; each
// start is a new run with its own log, and the webhook's address changes
// with every run. Methods may be called from several goroutines.
type Connector struct {
	t          testing.TB
	bins       Binaries
	opts       Options
	dir        string
	dataDir    string
	configPath string

	mu      sync.Mutex
	runs    []*run
	cur     *run     // the running process, nil between Kill and Restart
	plugins []procID // every plugin process seen, for cleanup
}

// run is one start of the host process.
type run struct {
	n       int
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error // set before exited closes
	end     string
	webhook string
	admin   string
	// instance is the lease owner the run's "delivery started" line names.
	instance string
}

// Start builds what opts need, starts the connector and returns once its
// /readyz answers 200. The connector is stopped (and any process it left
// behind killed) when the test ends; its log is printed when the test
// failed.
func Start(t testing.TB, opts Options) *Connector {
	t.Helper()
	if len(opts.Plugins) == 0 {
		opts.Plugins = []string{"file"}
	}
	if opts.LogLevel == "" {
		opts.LogLevel = DefaultLogLevel
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	bins := Build(t, opts.Plugins...)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	c := &Connector{t: t, bins: bins, opts: opts, dir: opts.Dir,
		dataDir: filepath.Join(opts.Dir, "data"), configPath: filepath.Join(opts.Dir, "connector.hcl")}
	if err := os.WriteFile(c.configPath, []byte(opts.Config), 0o600); err != nil {
		t.Fatalf("writing connector.hcl: %v", err)
	}
	t.Cleanup(c.cleanup)
	c.start(t)
	return c
}

// InstanceIDEnv is the variable StartReplicas sets to each replica's
// instance id. The replicas' shared configuration reads it, so that each
// names its leases in the shared store differently:
//
//	delivery {
//	  instance_id = env("ITSM_INSTANCE_ID")
//	}
//
// Without it the host names its leases after the hostname and the
// webhook's port, which the harness leaves to the kernel (port 0): all
// replicas on one machine would then be one lease owner.
const InstanceIDEnv = "ITSM_INSTANCE_ID"

// StartReplicas starts one connector per instance id on opts, one after
// another, as replicas of one deployment: they share opts.Dir (a new
// t.TempDir() when empty) and so the configuration, the dev signing key
// and the directories it names relative to Dir, such as the file plugin's.
// Each runs with InstanceIDEnv set to its id in its environment, in
// addition to opts.Env; opts.Config must set delivery.instance_id from it,
// and a replica whose host names itself otherwise fails the test.
// opts.Config must also use a store every replica can open at once:
// PostgreSQL.
func StartReplicas(t testing.TB, opts Options, instanceIDs ...string) []*Connector {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	out := make([]*Connector, 0, len(instanceIDs))
	for _, id := range instanceIDs {
		o := opts
		o.Env = append(slices.Clip(opts.Env), InstanceIDEnv+"="+id)
		c := Start(t, o)
		if got := c.InstanceID(); got != id {
			t.Fatalf("harness: the replica started as %q runs as instance %q: its configuration must set delivery.instance_id = env(%q)", id, got, InstanceIDEnv)
		}
		out = append(out, c)
	}
	return out
}

// InstanceID is the instance id the current (or last) run of the host
// names its leases with, as its "delivery started" log line says; "" when
// the run logged none.
func (c *Connector) InstanceID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[len(c.runs)-1].instance
}

// Dir is the connector's working directory.
func (c *Connector) Dir() string { return c.dir }

// DataDir is dev mode's data directory (the store, the dev signing key).
func (c *Connector) DataDir() string { return c.dataDir }

// Binaries are the binaries the connector runs.
func (c *Connector) Binaries() Binaries { return c.bins }

// URL is the webhook URL of the current run, or of the last one while the
// host is down (requests to it then fail to connect, as they would).
func (c *Connector) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[len(c.runs)-1].webhook
}

// AdminURL is the admin listener's base URL of the current (or last) run.
func (c *Connector) AdminURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[len(c.runs)-1].admin
}

// PID is the host's process id; 0 between Kill and Restart.
func (c *Connector) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return 0
	}
	return c.cur.cmd.Process.Pid
}

// Runs is how many times the host was started.
func (c *Connector) Runs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.runs)
}

func (c *Connector) start(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	if c.cur != nil {
		c.mu.Unlock()
		t.Fatal("harness: the connector is already running")
	}
	r := &run{n: len(c.runs) + 1, logs: &syncBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(c.bins.Host, "serve", "-dev",
		"-config", c.configPath,
		"-listen", "127.0.0.1:0",
		"-admin-listen", "127.0.0.1:0",
		"-plugin-dir", c.bins.PluginDir,
		"-data-dir", c.dataDir,
		"-log-level", c.opts.LogLevel)
	r.cmd.Dir = c.dir
	r.cmd.Env = c.environ()
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	// Its own process group, so that plugins it leaves behind are found by
	// group; killed with the test binary, should that die first.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		c.mu.Unlock()
		t.Fatalf("starting %s: %v", c.bins.Host, err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	}()
	c.runs = append(c.runs, r)
	c.cur = r
	c.mu.Unlock()

	deadline := time.Now().Add(c.opts.StartTimeout)
	for {
		select {
		case <-r.exited:
			t.Fatalf("connector run %d exited during start (%v); its log:\n%s", r.n, r.waitErr, r.logs.String())
		default:
		}
		if c.ready(r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector run %d not ready after %v; its log:\n%s", r.n, c.opts.StartTimeout, r.logs.String())
		}
		time.Sleep(PollInterval)
	}
}

// ready learns the run's addresses from its "connector started" log line
// (and its instance id from the line before it), then asks /readyz.
func (c *Connector) ready(r *run) bool {
	c.mu.Lock()
	admin := r.admin
	c.mu.Unlock()
	if admin == "" {
		webhook, adm, instance, ok := startedLine(r.logs.Bytes())
		if !ok {
			return false
		}
		c.mu.Lock()
		r.webhook, r.admin, r.instance, admin = webhook, adm, instance, adm
		c.mu.Unlock()
	}
	resp, err := http.Get(admin + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// startedLine finds the host's JSON "connector started" line, and the
// instance id of the "delivery started" line the host logs before it.
func startedLine(logs []byte) (webhook, admin, instance string, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"connector started"`)) && !bytes.Contains(line, []byte(`"delivery started"`)) {
			continue
		}
		var l struct {
			Message  string `json:"@message"`
			Webhook  string `json:"webhook"`
			Admin    string `json:"admin"`
			Instance string `json:"instance"`
		}
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		switch {
		case l.Message == "delivery started":
			instance = l.Instance
		case l.Message == "connector started" && l.Webhook != "" && l.Admin != "":
			return l.Webhook, l.Admin, instance, true
		}
	}
	return "", "", "", false
}

// Kill kills the host with SIGKILL, like a crash, waits for it to die, and
// then for its plugins to exit on their own, as plugins must when their
// host is gone (an orphan still running after OrphanTimeout fails the
// test, and is killed).
func (c *Connector) Kill(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	r := c.cur
	c.mu.Unlock()
	if r == nil {
		t.Fatal("harness: Kill: the connector is not running")
	}
	plugins := children(r.cmd.Process.Pid)
	c.remember(plugins)
	c.setEnd(r, "SIGKILL")
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("killing the connector: %v", err)
	}
	<-r.exited
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
	deadline := time.Now().Add(OrphanTimeout)
	for _, p := range plugins {
		for p.alive() {
			if time.Now().After(deadline) {
				t.Errorf("plugin %s (pid %d) still runs %v after its host was killed: plugins must exit when the host dies", p.comm, p.pid, OrphanTimeout)
				p.kill()
				break
			}
			time.Sleep(PollInterval)
		}
	}
}

// Restart starts the host again on the same configuration and data and
// returns once it is ready.
func (c *Connector) Restart(t testing.TB) {
	t.Helper()
	c.start(t)
}

// Stop sends SIGTERM and waits for the host to drain and exit; a non-zero
// exit status fails the test. After StopTimeout it is killed.
func (c *Connector) Stop(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	r := c.cur
	c.mu.Unlock()
	if r == nil {
		return
	}
	select {
	case <-r.exited: // it died on its own; whoever saw that reported it
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		return
	default:
	}
	c.remember(children(r.cmd.Process.Pid))
	c.setEnd(r, "SIGTERM")
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
		if r.waitErr != nil {
			t.Errorf("connector run %d did not exit cleanly on SIGTERM: %v", r.n, r.waitErr)
		}
	case <-time.After(StopTimeout):
		t.Errorf("connector run %d did not stop within %v of SIGTERM; killed", r.n, StopTimeout)
		c.setEnd(r, "SIGTERM, then SIGKILL")
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}

// PluginPID waits until the host has a plugin process named
// itsm-connector-plugin-<name> and returns its pid.
func (c *Connector) PluginPID(t testing.TB, name string) int {
	t.Helper()
	host := c.PID()
	if host == 0 {
		t.Fatal("harness: PluginPID: the connector is not running")
	}
	var pid int
	Eventually(t, 30*time.Second, "plugin process "+pluginPrefix+name, func() (bool, string) {
		for _, p := range children(host) {
			if p.exe() == pluginPrefix+name {
				pid = p.pid
				return true, ""
			}
		}
		return false, "no such child process"
	})
	return pid
}

// Command runs an itsm-connector subcommand against this connector's
// configuration and store (the store commands: workitems, deadletter), as
// an operator would next to the running host, and returns its standard
// output; a failure fails the test. args start with the subcommand and its
// verb, e.g. "deadletter", "list", "-json" or "workitems", "show", "7";
// the connector's flags go right after the verb, before any argument.
func (c *Connector) Command(t testing.TB, args ...string) []byte {
	t.Helper()
	head := min(2, len(args))
	args = append(append(slices.Clip(args[:head]), "-dev", "-config", c.configPath, "-data-dir", c.dataDir), args[head:]...)
	cmd := exec.Command(c.bins.Host, args...)
	cmd.Dir = c.dir
	cmd.Env = c.environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("itsm-connector %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// environ is the environment of the host's processes: the test's with
// Options.Env added, or nil (inherit) without any.
func (c *Connector) environ() []string {
	if len(c.opts.Env) == 0 {
		return nil
	}
	return append(os.Environ(), c.opts.Env...)
}

func (c *Connector) setEnd(r *run, how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.end = how
}

func (c *Connector) remember(ps []procID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plugins = append(c.plugins, ps...)
}

// Logs returns the log of every run, each under a header.
func (c *Connector) Logs() string {
	var b strings.Builder
	for _, r := range c.snapshot() {
		fmt.Fprintf(&b, "===== connector run %d%s =====\n%s", r.n, r.note, r.logs.String())
	}
	return b.String()
}

// runView is a run as read under the lock.
type runView struct {
	n    int
	note string
	logs *syncBuffer
}

func (c *Connector) snapshot() []runView {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]runView, len(c.runs))
	for i, r := range c.runs {
		out[i] = runView{n: r.n, logs: r.logs}
		if r.end != "" {
			out[i].note = " (ended by " + r.end + ")"
		}
	}
	return out
}

// KeepLogsEnv names a variable that, when set, makes the harness write
// the connector's full log to a file in the temporary directory even when
// the test passes (it always does when the test fails).
const KeepLogsEnv = "ITSM_E2E_KEEP_LOGS"

// logTailLines bounds how much of each run's log a failed test prints.
const logTailLines = 300

// cleanup stops the connector, kills what it left behind, checks the logs
// for races and panics, and prints them when the test failed.
func (c *Connector) cleanup() {
	c.Stop(c.t)
	c.mu.Lock()
	leftovers := append([]procID(nil), c.plugins...)
	c.mu.Unlock()
	runs := c.snapshot()
	for _, p := range leftovers {
		if p.alive() {
			c.t.Errorf("plugin %s (pid %d) still runs after its host stopped; killed", p.comm, p.pid)
			p.kill()
		}
	}
	for _, r := range runs {
		if what := trouble(r.logs.String()); what != "" {
			c.t.Errorf("connector run %d logged %s", r.n, what)
		}
	}
	keep := os.Getenv(KeepLogsEnv) != ""
	if !c.t.Failed() && !keep {
		return
	}
	full, err := os.CreateTemp("", "itsm-e2e-"+sanitize(c.t.Name())+"-*.log")
	if err == nil {
		_, _ = full.WriteString(c.Logs())
		_ = full.Close()
		c.t.Logf("full connector log: %s", full.Name())
	}
	if !c.t.Failed() {
		return
	}
	for _, r := range runs {
		c.t.Logf("connector run %d%s, last %d lines:\n%s", r.n, r.note, logTailLines, tail(r.logs.String(), logTailLines))
	}
}

// trouble names what in a log means the product misbehaved whatever the
// test checks: a data race (binaries built with -race) or a panic.
func trouble(log string) string {
	for _, marker := range []string{"WARNING: DATA RACE", "\npanic: ", "\nfatal error: "} {
		if strings.Contains("\n"+log, marker) {
			return strings.TrimSpace(marker)
		}
	}
	return ""
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	i := len(s)
	for n := 0; n < lines && i > 0; n++ {
		i = strings.LastIndexByte(s[:i], '\n')
		if i < 0 {
			return s
		}
	}
	return s[i+1:]
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, name)
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

// Bytes returns a copy of the contents.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
