package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BackendRuntime is one backend's state, read at scrape time.
type BackendRuntime struct {
	Backend     string
	Queued      int64
	Due         int64
	InFlight    int64
	DeadLetters int64
	Restarts    int64
	// LogLinesDropped counts plugin log lines not relayed (over the
	// per-backend rate limit).
	LogLinesDropped int64
	// OldestPending is how long the longest-waiting queued item has
	// waited; zero when nothing is queued.
	OldestPending time.Duration
}

// RuntimeReader reads the current state of every backend, and the count of
// alerts no route took.
type RuntimeReader func(ctx context.Context) (backends []BackendRuntime, unmatched int64, err error)

// RegisterRuntime exposes queue depth, dead letters, plugin restarts and
// dropped plugin log lines, read from read at every scrape so they are
// never stale.
func (m *Metrics) RegisterRuntime(read RuntimeReader) {
	m.Registry.MustRegister(&runtimeCollector{read: read})
}

var (
	queuedDesc   = prometheus.NewDesc("itsm_queue_depth", "Work items waiting for reconcile, by backend.", []string{"backend"}, nil)
	dueDesc      = prometheus.NewDesc("itsm_queue_due", "Queued work items that may run now, by backend.", []string{"backend"}, nil)
	inFlightDesc = prometheus.NewDesc("itsm_in_flight", "Work items being reconciled by this instance, by backend.", []string{"backend"}, nil)
	deadDesc     = prometheus.NewDesc("itsm_dead_letters_pending", "Dead letters waiting for an operator, by backend.", []string{"backend"}, nil)
	restartDesc  = prometheus.NewDesc("itsm_plugin_restarts_total", "Plugin process restarts, by backend.", []string{"backend"}, nil)
	logDropDesc  = prometheus.NewDesc("itsm_plugin_log_lines_dropped_total", "Plugin log lines not relayed to the host log because the plugin logged over the rate limit, by backend.", []string{"backend"}, nil)
	unmatchDesc  = prometheus.NewDesc("itsm_unmatched_dead_letters", "Dead letters of alerts no route took.", nil, nil)
	oldestDesc   = prometheus.NewDesc("itsm_queue_oldest_pending_seconds", "How long the longest-waiting queued work item has waited, by backend; 0 when none is queued.", []string{"backend"}, nil)
)

type runtimeCollector struct{ read RuntimeReader }

func (c *runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queuedDesc, dueDesc, inFlightDesc, deadDesc, restartDesc, logDropDesc, unmatchDesc, oldestDesc} {
		ch <- d
	}
}

func (c *runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	backends, unmatched, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queuedDesc, err)
		return
	}
	for _, b := range backends {
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(b.Queued), b.Backend)
		ch <- prometheus.MustNewConstMetric(dueDesc, prometheus.GaugeValue, float64(b.Due), b.Backend)
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(b.InFlight), b.Backend)
		ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(b.DeadLetters), b.Backend)
		ch <- prometheus.MustNewConstMetric(restartDesc, prometheus.CounterValue, float64(b.Restarts), b.Backend)
		ch <- prometheus.MustNewConstMetric(logDropDesc, prometheus.CounterValue, float64(b.LogLinesDropped), b.Backend)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, b.OldestPending.Seconds(), b.Backend)
	}
	ch <- prometheus.MustNewConstMetric(unmatchDesc, prometheus.GaugeValue, float64(unmatched))
}
