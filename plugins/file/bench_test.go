//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// benchSizes are the directory sizes every benchmark runs at: the cost of a
// call must not depend on them.
var benchSizes = []int{100, 10_000, 100_000}

// benchDirs holds one directory per size, filled once per process and
// shared by the benchmarks: they add work items with keys of their own,
// which leaves at least n in it.
var benchDirs = struct {
	sync.Mutex
	root string
	dirs map[int]string
}{dirs: map[int]string{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDirs.root != "" {
		_ = os.RemoveAll(benchDirs.root)
	}
	os.Exit(code)
}

// benchDir returns the shared directory holding at least n work items
// (key-1 … key-n in WI-000001 …).
func benchDir(b *testing.B, n int) string {
	b.Helper()
	benchDirs.Lock()
	defer benchDirs.Unlock()
	if dir, ok := benchDirs.dirs[n]; ok {
		return dir
	}
	if benchDirs.root == "" {
		root, err := os.MkdirTemp("", "file-plugin-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDirs.root = root
	}
	dir := filepath.Join(benchDirs.root, fmt.Sprint(n))
	if err := os.Mkdir(dir, 0o750); err != nil {
		b.Fatal(err)
	}
	fill(b, dir, n)
	benchDirs.dirs[n] = dir
	return dir
}

// newKey returns a correlation key no work item has yet.
func newKey() string { return fmt.Sprint("new-", keySeq.Add(1)) }

var keySeq atomic.Int64

// benchPlugin returns a new plugin configured on a directory that holds at
// least n work items (key-1 … key-n in WI-000001 …), after its first call,
// which reads every file once.
func benchPlugin(b *testing.B, n int) *filePlugin {
	b.Helper()
	dir := benchDir(b, n)
	p := newPlugin(hclog.NewNullLogger())
	if err := p.Configure(context.Background(), sdk.Config(fmt.Sprintf(`{"directory": %q, "pretty": false}`, dir))); err != nil {
		b.Fatal(err)
	}
	if _, err := p.Lookup(context.Background(), request("warm-up", sdk.ConditionFired, nil)); err != nil {
		b.Fatal(err)
	}
	return p
}

// fill writes n work item files the way Create would, without fsync: the
// benchmarks measure calls against a large directory, not building it.
func fill(tb testing.TB, dir string, n int) {
	tb.Helper()
	s := &store{dir: dir}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	req := request("", sdk.ConditionFired, nil)
	for i := 1; i <= n; i++ {
		d := &document{
			FormatVersion: formatVersion, ID: idFor(i), Key: idFor(i),
			CorrelationKey: fmt.Sprint("key-", i), State: sdk.StateOpen, Title: "t",
			Created: now, Updated: now, Alert: essentialsOf(&req.Alert),
			Fields: req.Fields, ConfigurationItems: req.ConfigurationItems,
			History: []event{eventFor(now, eventCreated, "alert Fired", &req.Alert)},
		}
		b, err := s.encode(d)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d.ID+".json"), b, 0o640); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCreate measures one durable Create in a directory of n work
// items: encode, write, fsync, link, fsync the directory.
func BenchmarkCreate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			p := benchPlugin(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				if _, err := p.Create(ctx, request(newKey(), sdk.ConditionFired, nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookup measures Lookup of an existing key in a directory of n
// work items.
func BenchmarkLookup(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			p := benchPlugin(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprint("key-", 1+i%n)
				if w, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil)); err != nil || w == nil {
					b.Fatal(w, err)
				}
			}
		})
	}
}

// BenchmarkUpdate measures one durable Update in a directory of n work
// items. It cycles over the first 100 items at every size, so their files
// grow alike and only the directory's size differs.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			p := benchPlugin(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				ref := &sdk.WorkItem{ID: idFor(1 + i%100)}
				if _, err := p.Update(ctx, request(fmt.Sprint("key-", 1+i%100), sdk.ConditionFired, ref)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDrain measures what a new alert costs the plugin when the host
// cannot rule out an earlier attempt: Lookup, which finds nothing, then
// Create. items/s is the plugin's drain rate with n work items in the
// directory; cpu-µs/item the process's CPU time (user + system) per item,
// which other work on the machine disturbs less than the wall time of the
// fsyncs.
func BenchmarkDrain(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			p := benchPlugin(b, n)
			ctx := context.Background()
			cpu0 := cpuTime(b)
			for i := 0; b.Loop(); i++ {
				req := request(newKey(), sdk.ConditionFired, nil)
				if w, err := p.Lookup(ctx, req); err != nil || w != nil {
					b.Fatal(w, err)
				}
				if _, err := p.Create(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/item")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFirstCall measures the first call after start, which reads
// every file in the directory once to build the index.
func BenchmarkFirstCall(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			dir := benchDir(b, n)
			cfg := sdk.Config(fmt.Sprintf(`{"directory": %q}`, dir))
			ctx := context.Background()
			for b.Loop() {
				p := newPlugin(hclog.NewNullLogger())
				if err := p.Configure(ctx, cfg); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Lookup(ctx, request("key-1", sdk.ConditionFired, nil)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
