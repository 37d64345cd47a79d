// Command loadgen measures the connector's webhook: acknowledged alerts per
// second, acknowledgement latency at a fixed rate, and (with -spawn) the
// host's resident memory. It posts Common Alert Schema alerts with dev
// tokens, as Azure Monitor would, and can measure a bare net/http handler
// in the same run so the figures can be read against what the machine
// allows. See README.md for the modes and the benchmark commands.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/itsm-connector/itsm-connector/host/devissuer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runLoadgen(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(2)
	}
}

// options are loadgen's flags.
type options struct {
	URL          string
	Token        string
	KeyFile      string
	Tokens       int
	TokenVersion string
	Concurrency  int
	Total        int
	Duration     time.Duration
	Rate         float64
	IDs          int
	Resolved     float64
	Payload      string
	Timeout      time.Duration
	Warmup       int
	RunID        string
	Baseline     bool
	Spawn        string
	BinDir       string
	Repo         string
	Settle       time.Duration
	Drain        time.Duration
	Replicas     int
	Keep         bool
	CPUProfile   string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080/api/v1/alerts", "the connector's alerts `URL` (ignored with -spawn; empty with -baseline measures the bare handler only)")
	fs.StringVar(&o.Token, "token", "", "bearer `token` to send (default: mint dev tokens from -key-file)")
	fs.StringVar(&o.KeyFile, "key-file", filepath.Join("data", devKeyFile), "dev signing key of the `serve -dev` under test (<data-dir>/"+devKeyFile+")")
	fs.IntVar(&o.Tokens, "tokens", 1, "distinct dev tokens sent round-robin; 1 is what Azure does (one cached token), more exercises signature checks")
	fs.StringVar(&o.TokenVersion, "token-version", "1.0", "dev token version, 1.0 or 2.0")
	fs.IntVar(&o.Concurrency, "c", 64, "connections, i.e. requests in flight at most")
	fs.IntVar(&o.Total, "n", 10000, "requests to send (0: no limit, set -d)")
	fs.DurationVar(&o.Duration, "d", 0, "stop sending after this `duration` (0: no limit, set -n)")
	fs.Float64Var(&o.Rate, "rate", 0, "requests per second on a fixed schedule (open loop); 0 sends as fast as the connections allow")
	fs.IntVar(&o.IDs, "ids", 0, "distinct alert ids to cycle over (repeats); 0 makes every fired alert new")
	fs.Float64Var(&o.Resolved, "resolved", 0, "fraction of requests that are Resolved notices, 0 to 1")
	fs.StringVar(&o.Payload, "payload", "", "Common Alert Schema `file` to send (default: Microsoft's static metric alert sample)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&o.Warmup, "warmup", 0, "requests sent to each target before measuring, not counted")
	fs.StringVar(&o.RunID, "run-id", "", "prefix of the alert ids (default: random, so runs do not collide)")
	fs.BoolVar(&o.Baseline, "baseline", false, "also measure a bare net/http handler (reads the body, answers 202) in this process")
	fs.StringVar(&o.Spawn, "spawn", "", "build and start `itsm-connector serve -dev` with this connector.hcl in a scratch directory, measure it, report its memory, stop it")
	fs.StringVar(&o.BinDir, "bin", "", "with -spawn: `dir` of prebuilt binaries (itsm-connector, plugins/) instead of building")
	fs.StringVar(&o.Repo, "repo", "", "with -spawn: repository `dir` to build from (default: found above the working directory)")
	fs.DurationVar(&o.Settle, "settle", 0, "with -spawn: wait this long after the load before reading memory again")
	fs.DurationVar(&o.Drain, "drain", 0, "with -spawn: after the load, wait up to this long for the connector's queue to empty, and report the delivery rate and the plugin calls per alert")
	fs.IntVar(&o.Replicas, "replicas", 1, "with -spawn: start this many connectors with the same config (each on its own ports and scratch directory); the first takes the load, the others only deliver, so the config must use a shared store (PostgreSQL)")
	fs.BoolVar(&o.Keep, "keep", false, "with -spawn: keep the scratch directory (store, logs)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write loadgen's own CPU profile to `file`")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; loadgen takes flags only", fs.Arg(0))
	}
	return o, o.Validate()
}

// Validate reports flags that make no sense, naming the flag.
func (o options) Validate() error {
	switch {
	case o.Concurrency < 1:
		return fmt.Errorf("-c must be at least 1, got %d", o.Concurrency)
	case o.Total < 0:
		return fmt.Errorf("-n must not be negative, got %d", o.Total)
	case o.Duration < 0:
		return fmt.Errorf("-d must not be negative, got %v", o.Duration)
	case o.Total == 0 && o.Duration == 0:
		return errors.New("-n 0 sends forever: set -d too")
	case o.Rate < 0:
		return fmt.Errorf("-rate must not be negative, got %v", o.Rate)
	case o.IDs < 0:
		return fmt.Errorf("-ids must not be negative, got %d", o.IDs)
	case o.Resolved < 0 || o.Resolved > 1:
		return fmt.Errorf("-resolved is a fraction between 0 and 1, got %v", o.Resolved)
	case o.Tokens < 1:
		return fmt.Errorf("-tokens must be at least 1, got %d", o.Tokens)
	case o.Timeout <= 0:
		return fmt.Errorf("-timeout must be positive, got %v", o.Timeout)
	case o.Warmup < 0:
		return fmt.Errorf("-warmup must not be negative, got %d", o.Warmup)
	case o.URL == "" && o.Spawn == "" && !o.Baseline:
		return errors.New("nothing to measure: set -url, -spawn or -baseline")
	case o.Drain < 0:
		return fmt.Errorf("-drain must not be negative, got %v", o.Drain)
	case o.Replicas < 1:
		return fmt.Errorf("-replicas must be at least 1, got %d", o.Replicas)
	case o.Spawn == "" && (o.BinDir != "" || o.Repo != "" || o.Settle != 0 || o.Drain != 0 || o.Keep || o.Replicas != 1):
		return errors.New("-bin, -repo, -settle, -drain, -replicas and -keep only apply with -spawn")
	}
	return nil
}

// target is one thing measured.
type target struct {
	name   string
	url    string
	tokens []string
}

func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	sample := defaultPayload
	if o.Payload != "" {
		if sample, err = os.ReadFile(o.Payload); err != nil {
			return fmt.Errorf("-payload: %w", err)
		}
	}
	bodies, err := newPayloads(sample)
	if err != nil {
		return fmt.Errorf("-payload: %w", err)
	}
	runID := o.RunID
	if runID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}

	var targets []target
	var conn *spawned
	var fleet replicas
	switch {
	case o.Spawn != "":
		conn, err = spawn(ctx, spawnOptions{Config: o.Spawn, BinDir: o.BinDir, Repo: o.Repo, Keep: o.Keep, Progress: stderr})
		if err != nil {
			return err
		}
		defer conn.stop(10 * time.Second)
		fmt.Fprintf(stderr, "connector pid %d at %s (scratch %s)\n", conn.Pid(), conn.URL, conn.Dir)
		fleet = replicas{conn}
		for range o.Replicas - 1 {
			// Built binaries are reused; the key lets one token serve all.
			bin := o.BinDir
			if bin == "" {
				bin = filepath.Join(conn.Dir, "bin")
			}
			r, err := spawn(ctx, spawnOptions{Config: o.Spawn, BinDir: bin, Keep: o.Keep, KeyFrom: conn.KeyFile})
			if err != nil {
				return err
			}
			defer r.stop(10 * time.Second)
			fmt.Fprintf(stderr, "replica pid %d (scratch %s)\n", r.Pid(), r.Dir)
			fleet = append(fleet, r)
		}
		toks, err := tokens(o, conn.KeyFile)
		if err != nil {
			return err
		}
		targets = append(targets, target{name: "connector", url: conn.URL, tokens: toks})
	case o.URL != "":
		toks, err := tokens(o, o.KeyFile)
		if err != nil {
			return err
		}
		targets = append(targets, target{name: "connector", url: o.URL, tokens: toks})
	}
	if o.Baseline {
		b, err := startBaseline()
		if err != nil {
			return err
		}
		defer b.Close()
		targets = append(targets, target{name: "bare net/http", url: b.URL, tokens: firstTokens(targets)})
	}

	fmt.Fprintln(stdout, describe(o))
	rep := report{}
	var cpuBefore, waitBefore, pluginBefore time.Duration
	var drain *drained
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		base := spec{URL: t.url, Tokens: t.tokens, Concurrency: o.Concurrency, Rate: o.Rate, Timeout: o.Timeout, Bodies: bodies}
		prefix := fmt.Sprintf("/subscriptions/00000000-0000-4000-8000-00000000aaaa/providers/Microsoft.AlertsManagement/alerts/loadgen-%s-%d-", runID, i)
		if o.Warmup > 0 {
			w := base
			w.Total, w.Seq = o.Warmup, newSequence(prefix+"warmup-", 0, 0)
			w.Rate = 0
			run(ctx, w)
		}
		if conn != nil && i == 0 {
			cpuBefore, _ = fleet.cpu()
			waitBefore, _ = fleet.runQueueWait()
			pluginBefore, _ = fleet.pluginCPU()
		}
		s := base
		s.Total, s.Duration, s.Seq = o.Total, o.Duration, newSequence(prefix, o.IDs, o.Resolved)
		before := loadAvg()
		out := run(ctx, s)
		row := row{name: t.name, out: out, loadBefore: before, loadAfter: loadAvg()}
		if conn != nil && i == 0 && o.Drain > 0 {
			// Before the baseline runs, so that nothing else takes the CPUs.
			d, err := waitDrain(ctx, fleet, out, o.Drain)
			if err != nil {
				return fmt.Errorf("-drain: %w", err)
			}
			drain = &d
		}
		if conn != nil && i == 0 {
			if c, err := fleet.cpu(); err == nil {
				row.serverCPU = c - cpuBefore
			}
			if wt, err := fleet.runQueueWait(); err == nil {
				row.serverWait = wt - waitBefore
			}
			if pc, err := fleet.pluginCPU(); err == nil {
				row.pluginCPU = pc - pluginBefore
			}
		}
		rep.rows = append(rep.rows, row)
	}
	rep.write(stdout)
	if drain != nil {
		drain.write(stdout)
	}
	if conn != nil {
		return reportSpawned(ctx, stdout, fleet, o.Settle)
	}
	return nil
}

// firstTokens gives the baseline the same Authorization header as the
// connector, so both requests are the same size.
func firstTokens(ts []target) []string {
	if len(ts) > 0 {
		return ts[0].tokens
	}
	return nil
}

// tokens returns -token, or mints -tokens dev tokens with the key file.
func tokens(o options, keyFile string) ([]string, error) {
	if o.Token != "" {
		return []string{o.Token}, nil
	}
	// NewMinter creates a missing key, which the connector would not know:
	// insist that it exists.
	if _, err := os.Stat(keyFile); err != nil {
		return nil, fmt.Errorf("dev signing key: %w; point -key-file at <data-dir>/%s of the running `serve -dev`, or pass -token", err, devKeyFile)
	}
	m, err := devissuer.NewMinter(devissuer.Options{KeyFile: keyFile})
	if err != nil {
		return nil, fmt.Errorf("loading the dev signing key: %w", err)
	}
	out := make([]string, o.Tokens)
	for i := range out {
		if out[i], err = m.Mint(devissuer.MintOptions{Version: o.TokenVersion, Lifetime: 2 * time.Hour}); err != nil {
			return nil, fmt.Errorf("minting a dev token: %w", err)
		}
	}
	return out, nil
}

// reportSpawned prints the spawned connector's memory, CPU and queue.
func reportSpawned(ctx context.Context, w io.Writer, fleet replicas, settle time.Duration) error {
	conn := fleet[0]
	rss, peak, err := conn.memory()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nconnector pid %d: RSS %s after the load, peak %s\n", conn.Pid(), mb(rss), mb(peak))
	if settle > 0 {
		select {
		case <-time.After(settle):
		case <-ctx.Done():
			return nil
		}
		if rss, peak, err = conn.memory(); err != nil {
			return err
		}
		fmt.Fprintf(w, "connector pid %d: RSS %s after %v more, peak %s\n", conn.Pid(), mb(rss), settle, mb(peak))
	}
	samples, err := fleet.metricSum(ctx, "itsm_deliveries_total")
	if err != nil {
		fmt.Fprintf(w, "itsm_deliveries_total: %v\n", err)
	}
	for _, labels := range slices.Sorted(maps.Keys(samples)) {
		fmt.Fprintf(w, "itsm_deliveries_total{%s} %v\n", labels, samples[labels])
	}
	if len(fleet) > 1 {
		for i, r := range fleet {
			m, err := r.metric(ctx, "itsm_deliveries_total")
			if err != nil {
				return err
			}
			var calls float64
			for _, v := range m {
				calls += v
			}
			fmt.Fprintf(w, "replica %d (pid %d): %.0f plugin calls\n", i, r.Pid(), calls)
		}
	}
	stats, err := conn.storeStats(ctx)
	if err != nil {
		fmt.Fprintf(w, "queue: %v\n", err)
		return nil
	}
	for _, b := range slices.Sorted(maps.Keys(stats.Backends)) {
		bs := stats.Backends[b]
		fmt.Fprintf(w, "queue of %s (read from the store): %d queued, %d due, %d leased, %d dead letters\n",
			b, bs.Queued, bs.Due, bs.Leased, bs.DeadLetters)
	}
	return nil
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
