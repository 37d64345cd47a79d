package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRuntimeCollector(t *testing.T) {
	m := New()
	m.RegisterRuntime(func(context.Context) ([]BackendRuntime, int64, error) {
		return []BackendRuntime{{Backend: "jira.ops", Queued: 7, Due: 3, InFlight: 2, DeadLetters: 1, Restarts: 4,
			LogLinesDropped: 800, OldestPending: 90 * time.Second}}, 5, nil
	})
	want := `
# HELP itsm_plugin_log_lines_dropped_total Plugin log lines not relayed to the host log because the plugin logged over the rate limit, by backend.
# TYPE itsm_plugin_log_lines_dropped_total counter
itsm_plugin_log_lines_dropped_total{backend="jira.ops"} 800
# HELP itsm_queue_depth Work items waiting for reconcile, by backend.
# TYPE itsm_queue_depth gauge
itsm_queue_depth{backend="jira.ops"} 7
# HELP itsm_queue_oldest_pending_seconds How long the longest-waiting queued work item has waited, by backend; 0 when none is queued.
# TYPE itsm_queue_oldest_pending_seconds gauge
itsm_queue_oldest_pending_seconds{backend="jira.ops"} 90
# HELP itsm_unmatched_dead_letters Dead letters of alerts no route took.
# TYPE itsm_unmatched_dead_letters gauge
itsm_unmatched_dead_letters 5
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"itsm_plugin_log_lines_dropped_total", "itsm_queue_depth", "itsm_queue_oldest_pending_seconds", "itsm_unmatched_dead_letters"); err != nil {
		t.Error(err)
	}
}

func TestRuntimeCollectorReportsReadErrors(t *testing.T) {
	m := New()
	m.RegisterRuntime(func(context.Context) ([]BackendRuntime, int64, error) {
		return nil, 0, errors.New("store closed")
	})
	if _, err := m.Registry.Gather(); err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Errorf("Gather error = %v, want the read error", err)
	}
}
