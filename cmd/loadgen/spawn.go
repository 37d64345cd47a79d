package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
)

// hostModule is the module -spawn builds from.
const hostModule = "github.com/itsm-connector/itsm-connector"

// devKeyFile is where `serve -dev` keeps its signing key under -data-dir.
const devKeyFile = "dev-signing-key.pem"

// spawnOptions say how to start a connector for a run.
type spawnOptions struct {
	// Config is the connector.hcl to run; it is copied into the scratch
	// directory, which is also the working directory, so relative paths in
	// it land there.
	Config string
	// BinDir holds prebuilt binaries: itsm-connector and plugins/. Empty
	// builds them from Repo into the scratch directory.
	BinDir string
	// Repo is the module root to build from; empty finds it above the
	// working directory.
	Repo string
	// Keep leaves the scratch directory (store, logs) in place.
	Keep bool
	// KeyFrom, when set, is a dev signing key copied into the data
	// directory before start, so that tokens minted for another spawned
	// connector (a replica) are accepted by this one too.
	KeyFrom string
	// Progress hears what is being done.
	Progress io.Writer
}

// spawned is a running `itsm-connector serve -dev` subprocess.
type spawned struct {
	Dir      string
	URL      string
	AdminURL string
	KeyFile  string
	LogPath  string
	keep     bool
	cmd      *exec.Cmd
	exited   chan struct{}
}

// plugins -spawn builds: binary name → package, relative to the repository.
var spawnPlugins = map[string]string{
	"itsm-connector-plugin-file": "./plugins/file",
	"itsm-connector-plugin-slow": "./cmd/loadgen/slowplugin",
}

// spawn builds (unless BinDir is set) and starts a connector in dev mode
// on free loopback ports, and returns once /readyz answers 200.
func spawn(ctx context.Context, o spawnOptions) (s *spawned, err error) {
	src, err := os.ReadFile(o.Config)
	if err != nil {
		return nil, fmt.Errorf("-spawn: reading the connector config: %w", err)
	}
	dir, err := os.MkdirTemp("", "loadgen-connector-")
	if err != nil {
		return nil, fmt.Errorf("-spawn: scratch directory: %w", err)
	}
	defer func() {
		if err != nil && !o.Keep {
			os.RemoveAll(dir)
		}
	}()
	bin, pluginDir := filepath.Join(o.BinDir, "itsm-connector"), filepath.Join(o.BinDir, "plugins")
	if o.BinDir == "" {
		if bin, pluginDir, err = build(ctx, o, dir); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(dir, "connector.hcl")
	if err := os.WriteFile(cfgPath, src, 0o600); err != nil {
		return nil, fmt.Errorf("-spawn: writing the config: %w", err)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if o.KeyFrom != "" {
		if err := copyKey(o.KeyFrom, filepath.Join(dataDir, devKeyFile)); err != nil {
			return nil, err
		}
	}
	s = &spawned{
		Dir:      dir,
		URL:      "http://" + listen + "/api/v1/alerts",
		AdminURL: "http://" + admin,
		KeyFile:  filepath.Join(dataDir, devKeyFile),
		LogPath:  filepath.Join(dir, "connector.log"),
		keep:     o.Keep,
		exited:   make(chan struct{}),
	}
	logf, err := os.Create(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("-spawn: log file: %w", err)
	}
	s.cmd = exec.Command(bin, "serve", "-dev", "-config", cfgPath, "-listen", listen, "-admin-listen", admin,
		"-plugin-dir", pluginDir, "-data-dir", dataDir, "-log-level", "warn")
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("-spawn: starting %s: %w", bin, err)
	}
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.exited) }()
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.kill()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail(20))
	}
	return s, nil
}

// copyKey copies a dev signing key into a data directory it creates.
func copyKey(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("-spawn: reading the dev signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return fmt.Errorf("-spawn: data directory: %w", err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("-spawn: writing the dev signing key: %w", err)
	}
	return nil
}

// build compiles the host and the plugins into dir.
func build(ctx context.Context, o spawnOptions, dir string) (bin, pluginDir string, err error) {
	repo := o.Repo
	if repo == "" {
		if repo, err = findRepo(); err != nil {
			return "", "", err
		}
	}
	bin, pluginDir = filepath.Join(dir, "bin", "itsm-connector"), filepath.Join(dir, "bin", "plugins")
	targets := map[string]string{bin: "./cmd/itsm-connector"}
	for name, pkg := range spawnPlugins {
		targets[filepath.Join(pluginDir, name)] = pkg
	}
	for out, pkg := range targets {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "building %s\n", pkg)
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = repo
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("-spawn: go build %s: %w\n%s", pkg, err, b)
		}
	}
	return bin, pluginDir, nil
}

// findRepo walks up from the working directory to the host module's root.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("-spawn: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+hostModule+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("-spawn: not inside the itsm-connector repository; run from it, or pass -repo or -bin")
		}
		dir = parent
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("-spawn: finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *spawned) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.AdminURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("-spawn: the connector exited during start (%v)", s.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("-spawn: the connector was not ready within %v", limit)
		}
	}
}

// Pid is the connector's process id.
func (s *spawned) Pid() int { return s.cmd.Process.Pid }

// memory reads the connector's resident set size now and at its peak
// (VmRSS and VmHWM of /proc/<pid>/status), in bytes.
func (s *spawned) memory() (rss, peak int64, err error) {
	return procMemory(s.Pid())
}

// procMemory reads VmRSS and VmHWM of a process, in bytes.
func procMemory(pid int) (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the memory of process %d: %w", pid, err)
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads VmRSS and VmHWM (kB) from a /proc/<pid>/status file.
func parseStatus(r io.Reader) (rss, peak int64, err error) {
	sc := bufio.NewScanner(r)
	found := 0
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status %s %q: %w", key, val, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("/proc status: %w", err)
	}
	if found < 2 {
		return 0, 0, errors.New("/proc status: no VmRSS or VmHWM line (is the process a zombie?)")
	}
	return rss, peak, nil
}

// cpu is the connector's user+system CPU time so far, from /proc/<pid>/stat.
func (s *spawned) cpu() (time.Duration, error) {
	return procCPU(s.Pid())
}

// pluginCPU is the CPU time so far of the connector's child processes
// (its plugins), which share the machine with it.
func (s *spawned) pluginCPU() (time.Duration, error) {
	lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", s.Pid()))
	var total time.Duration
	for _, l := range lists {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if c, err := procCPU(pid); err == nil {
				total += c
			}
		}
	}
	return total, nil
}

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the cpu time of process %d: %w", pid, err)
	}
	return parseStatCPU(b)
}

// runQueueWait is how long the connector's threads have been runnable but
// waiting for a CPU (the second field of /proc/<pid>/task/*/schedstat): on
// a shared machine, the time other work took from it.
func (s *spawned) runQueueWait() (time.Duration, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", s.Pid()))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("reading the scheduler statistics of the connector: %v", err)
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited
		}
		d, err := parseSchedstat(b)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// parseSchedstat reads the run-queue wait (ns) of a schedstat line:
// "<on-cpu ns> <waiting ns> <timeslices>".
func parseSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("schedstat %q: want three fields", b)
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %w", b, err)
	}
	return time.Duration(n), nil
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times; 100 on Linux.
const clockTick = 100

// parseStatCPU sums utime and stime (fields 14 and 15) of a /proc stat line.
func parseStatCPU(b []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command field")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("/proc stat: too few fields")
	}
	var ticks int64
	for _, v := range f[11:13] { // fields 14 and 15, counting from 1 before the name
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// metric scrapes the admin /metrics and returns every sample of name, by
// its label set as written ("" for none). An absent metric is an empty map.
func (s *spawned) metric(ctx context.Context, name string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.AdminURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping /metrics: %s", resp.Status)
	}
	return parseMetric(resp.Body, name)
}

// parseMetric picks the samples of one metric out of the Prometheus text
// format.
func parseMetric(r io.Reader, name string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := ""
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		} else if !strings.HasPrefix(rest, " ") {
			continue // another metric sharing the prefix
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s{%s}: %w", name, labels, err)
		}
		out[labels] = v
	}
	return out, sc.Err()
}

// openStore opens the connector's SQLite store (the first *.db under its
// data directory) through the store's own API.
func (s *spawned) openStore(ctx context.Context) (store.Store, error) {
	dbs, _ := filepath.Glob(filepath.Join(s.Dir, "data", "*.db"))
	if len(dbs) == 0 {
		return nil, errNoSQLiteStore
	}
	st, err := sqlite.Open(ctx, dbs[0])
	if err != nil {
		return nil, fmt.Errorf("opening the connector's store: %w", err)
	}
	return st, nil
}

// errNoSQLiteStore: the connector keeps no SQLite file; loadgen does not
// read a PostgreSQL store.
var errNoSQLiteStore = errors.New("no SQLite store under the data directory (a PostgreSQL store is not read)")

// storeStats reads the queue of the connector's store, so the report can
// show how much work is queued even when /metrics does not.
func (s *spawned) storeStats(ctx context.Context) (store.Stats, error) {
	st, err := s.openStore(ctx)
	if err != nil {
		return store.Stats{}, err
	}
	defer st.Close()
	stats, err := st.Stats(ctx, time.Now())
	if err != nil {
		return store.Stats{}, fmt.Errorf("reading the connector's queue: %w", err)
	}
	return stats, nil
}

// stop asks the connector to drain (SIGTERM), kills it after grace, and
// removes the scratch directory unless asked to keep it.
func (s *spawned) stop(grace time.Duration) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
		s.kill()
	}
	if !s.keep {
		os.RemoveAll(s.Dir)
	}
}

func (s *spawned) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// logTail is the end of the connector's log, for error messages.
func (s *spawned) logTail(lines int) string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
