package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	f, err := os.Open("testdata/status.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rss, peak, err := parseStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	if rss != 44440<<10 || peak != 45704<<10 {
		t.Errorf("rss %d peak %d, want %d %d", rss, peak, 44440<<10, 45704<<10)
	}
	if _, _, err := parseStatus(strings.NewReader("Name:\tzombie\nState:\tZ (zombie)\n")); err == nil {
		t.Error("a status without memory lines parsed")
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, line string
		want       time.Duration
		wantErr    bool
	}{
		{"plain", "12699 (itsm-connector) S 1 12699 1 0 -1 4194560 9000 0 0 0 1230 260 0 0 20 0 11 0", 14900 * time.Millisecond, false},
		{"name with spaces and parens", "7 (a b) c) R 1 7 1 0 -1 0 0 0 0 0 100 50 0 0", 1500 * time.Millisecond, false},
		{"truncated", "7 (x) R 1 2", 0, true},
		{"no name", "garbage", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.line))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		line    string
		want    time.Duration
		wantErr bool
	}{
		{"9287310422 6310452877 41327\n", 6310452877, false},
		{"1 2", 2, false},
		{"1", 0, true},
		{"1 x 3", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSchedstat([]byte(tt.line))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%q: got %v, %v; want %v (error %v)", tt.line, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseMetric(t *testing.T) {
	tests := []struct {
		name string
		want map[string]float64
	}{
		{"itsm_deliveries_total", map[string]float64{
			`backend="file.local",operation="create",outcome="ok"`: 475,
			`backend="file.local",operation="lookup",outcome="ok"`: 475,
		}},
		{"itsm_unmatched_dead_letters", map[string]float64{"": 3}},
		{"itsm_queue_depth", map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open("testdata/metrics.txt")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := parseMetric(f, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
