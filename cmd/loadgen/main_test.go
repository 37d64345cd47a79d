package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // error substring; empty for none
	}{
		{"defaults", nil, ""},
		{"open loop for a duration", []string{"-rate", "1000", "-d", "30s", "-n", "0"}, ""},
		{"baseline only", []string{"-url", "", "-baseline"}, ""},
		{"no connections", []string{"-c", "0"}, "-c must be at least 1"},
		{"forever", []string{"-n", "0"}, "set -d too"},
		{"negative rate", []string{"-rate", "-1"}, "-rate must not be negative"},
		{"resolved above one", []string{"-resolved", "1.5"}, "-resolved is a fraction"},
		{"no tokens", []string{"-tokens", "0"}, "-tokens must be at least 1"},
		{"nothing to measure", []string{"-url", ""}, "nothing to measure"},
		{"spawn flags alone", []string{"-settle", "5s"}, "only apply with -spawn"},
		{"drain without spawn", []string{"-drain", "1m"}, "only apply with -spawn"},
		{"negative drain", []string{"-spawn", "c.hcl", "-drain", "-1s"}, "-drain must not be negative"},
		{"replicas without spawn", []string{"-replicas", "2"}, "only apply with -spawn"},
		{"no replicas", []string{"-spawn", "c.hcl", "-replicas", "0"}, "-replicas must be at least 1"},
		{"three replicas", []string{"-spawn", "c.hcl", "-replicas", "3"}, ""},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			if tt.want == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTokensNeedAnExistingKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), devKeyFile)
	o := options{Tokens: 1}
	_, err := tokens(o, key)
	if err == nil || !strings.Contains(err.Error(), "-key-file") {
		t.Fatalf("got %v, want an error pointing at -key-file", err)
	}
	if _, err := os.Stat(key); err == nil {
		t.Error("a missing key file was created")
	}
}

func TestReportGolden(t *testing.T) {
	ms := time.Millisecond
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * ms / 4
	}
	r := report{rows: []row{
		{name: "connector", loadBefore: 1.5, loadAfter: 2.25, serverCPU: 3 * time.Second, serverWait: 1500 * ms, out: outcome{
			Requests: 104, Acked: 100, AckLatency: lat, Elapsed: 2 * time.Second,
			Status:      map[int]int{503: 3},
			Errors:      map[string]int{"timeout": 1},
			ErrorSample: map[string]string{"timeout": "context deadline exceeded"},
		}},
		{name: "bare net/http", loadBefore: 2.25, loadAfter: 2.5, out: outcome{
			Requests: 100, Acked: 100, AckLatency: lat[:50], Elapsed: 500 * ms, Status: map[int]int{}, Errors: map[string]int{},
		}},
	}}
	var b strings.Builder
	b.WriteString(describe(options{Concurrency: 64, Total: 100, Resolved: 0.25, Tokens: 1}) + "\n")
	b.WriteString(describe(options{Concurrency: 8, Rate: 1000, Duration: 30 * time.Second, IDs: 50, Token: "x"}) + "\n")
	r.write(&b)
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("report differs from %s:\n%s", golden, b.String())
	}
}

func TestDrainedReport(t *testing.T) {
	d := drained{Empty: true, After: 1500 * time.Millisecond, Total: 4 * time.Second, Acked: 2000,
		Calls: map[string]float64{labelValue(`backend="slow.api",operation="create",outcome="ok"`, "operation"): 2000}}
	var b strings.Builder
	d.write(&b)
	for _, want := range []string{"queue empty 1.5s after the load ended", "2000 acknowledged alerts delivered in 4s", "500 alerts/s",
		"plugin calls per acknowledged alert: create 1.00"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report %q lacks %q", b.String(), want)
		}
	}
}
