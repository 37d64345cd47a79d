package app

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/status"
	"github.com/itsm-connector/itsm-connector/host/store"
)

// statusBackends lists the running plugins for the status page.
func statusBackends(plugins *pluginhost.Host) func() []status.Backend {
	return func() []status.Backend {
		var out []status.Backend
		for _, b := range plugins.Backends() {
			info, _ := b.Info(context.Background())
			out = append(out, status.Backend{Ref: b.Ref(), Plugin: info.Name, Version: info.Version,
				Caps: b.Capabilities(), Restarts: b.Restarts()})
		}
		return out
	}
}

// adminHandlers are the admin listener's status page and JSON API, both
// over the same dead-letter operations.
func adminHandlers(eng *delivery.Engine, st store.Store, plugins *pluginhost.Host, log hclog.Logger) map[string]http.Handler {
	dl := &adminapi.DeadLetters{Store: st, Replay: eng.Replay, Logger: log.Named("deadletters")}
	page := status.Handler(status.Sources{
		Backends: statusBackends(plugins),
		Stats:    eng.Stats,
		Store:    st,
		Replay:   dl.ReplayLetter,
		Logger:   log.Named("status"),
	})
	return map[string]http.Handler{"/": page, adminapi.Prefix: dl.Handler()}
}

// registerRuntimeMetrics exposes queue depths, plugin restarts and dropped
// plugin log lines.
// extra are backends without a plugin (the Azure side).
func registerRuntimeMetrics(m *metrics.Metrics, eng *delivery.Engine, plugins *pluginhost.Host, extra ...string) {
	m.RegisterRuntime(func(ctx context.Context) ([]metrics.BackendRuntime, int64, error) {
		stats, err := eng.Stats(ctx)
		if err != nil {
			return nil, 0, err
		}
		var out []metrics.BackendRuntime
		for _, b := range plugins.Backends() {
			s := stats.Backends[b.Ref()]
			var oldest time.Duration
			if !s.OldestPending.IsZero() {
				oldest = max(time.Since(s.OldestPending), 0)
			}
			out = append(out, metrics.BackendRuntime{Backend: b.Ref(), Queued: s.Queued, Due: s.Due,
				InFlight: int64(s.InFlight), DeadLetters: s.DeadLetters, Restarts: b.Restarts(), LogLinesDropped: b.LogLinesDropped(), OldestPending: oldest})
		}
		for _, ref := range extra {
			s := stats.Backends[ref]
			var oldest time.Duration
			if !s.OldestPending.IsZero() {
				oldest = max(time.Since(s.OldestPending), 0)
			}
			out = append(out, metrics.BackendRuntime{Backend: ref, Queued: s.Queued, Due: s.Due, InFlight: int64(s.InFlight),
				DeadLetters: s.DeadLetters, OldestPending: oldest})
		}
		return out, stats.Unmatched, nil
	})
}
