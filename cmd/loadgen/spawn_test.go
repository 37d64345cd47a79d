package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestSpawnEndToEnd builds the connector and the plugins, runs the stalled
// backend scenario with a small load and the bare handler beside it, and
// checks the report against what the store holds afterwards.
func TestSpawnEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the connector and plugins and runs them; skipped with -short")
	}
	var out, errs strings.Builder
	err := runLoadgen(context.Background(), []string{
		"-spawn", "configs/stalled-backend.hcl", "-n", "200", "-c", "8", "-baseline",
	}, &out, &errs)
	if err != nil {
		t.Fatalf("loadgen: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
	}
	report := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\s+connector\s+200\s+200\s`),
		regexp.MustCompile(`(?m)^\s+bare net/http\s+200\s+200\s`),
		regexp.MustCompile(`connector pid \d+: RSS [0-9.]+ MB after the load, peak [0-9.]+ MB`),
		// Every alert is new and the backend never answers: all stay queued.
		// (Resolutions are left out: sent over parallel connections, one
		// may overtake its Fired and leave nothing to queue.)
		regexp.MustCompile(`queue of slow.stalled \(read from the store\): 200 queued`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s:\n%s", want, report)
		}
	}
}
