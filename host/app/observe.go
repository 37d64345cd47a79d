package app

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/console"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/host/store"
)

// consoleBackends lists the running plugins for the console.
func consoleBackends(plugins *pluginhost.Host) func() []console.Backend {
	return func() []console.Backend {
		var out []console.Backend
		for _, b := range plugins.Backends() {
			info, _ := b.Info(context.Background())
			out = append(out, console.Backend{Ref: b.Ref(), Plugin: info.Name, Version: info.Version,
				Caps: b.Capabilities(), Restarts: b.Restarts()})
		}
		return out
	}
}

// newSampler samples every backend's queue and this process's plugin
// calls for the console's charts.
func newSampler(eng *delivery.Engine, m *metrics.Metrics, log hclog.Logger) *console.Sampler {
	return &console.Sampler{Logger: log, Read: func(ctx context.Context) (map[string]console.Reading, error) {
		stats, err := eng.Stats(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		totals := m.DeliveryTotals()
		out := map[string]console.Reading{}
		for b, s := range stats.Backends {
			r := console.Reading{Queued: s.Queued, InFlight: int64(s.InFlight), Calls: totals[b].Calls, Failures: totals[b].Failures}
			if !s.OldestPending.IsZero() {
				r.OldestPending = max(now.Sub(s.OldestPending), 0)
			}
			out[b] = r
		}
		return out, nil
	}}
}

// consoleInfo is what the console shows of this process.
type consoleInfo struct {
	version, instanceID string
	started             time.Time
}

// adminHandlers are the admin listener's console and JSON API, both over
// the same dead-letter operations, and the API's maintenance windows.
func adminHandlers(eng *delivery.Engine, st store.Store, plugins *pluginhost.Host, m *metrics.Metrics, sampler *console.Sampler,
	info consoleInfo, windows *maintenance.Windows, log hclog.Logger) map[string]http.Handler {
	dl := &adminapi.DeadLetters{Store: st, Replay: eng.Replay, Logger: log.Named("deadletters")}
	mw := &adminapi.Maintenance{Windows: windows, Logger: log.Named("maintenance")}
	page := console.Handler(console.Sources{
		Backends:    consoleBackends(plugins),
		Stats:       eng.Stats,
		Store:       st,
		DeadLetters: dl,
		Metrics:     m,
		Sampler:     sampler,
		MaintenanceWindows: func(context.Context) ([]console.MaintenanceWindow, error) {
			return activeWindows(mw.List()), nil
		},
		Version:    info.version,
		InstanceID: info.instanceID,
		Started:    info.started,
		Logger:     log.Named("console"),
	})
	return map[string]http.Handler{"/": page, adminapi.Prefix: adminapi.Handler(dl, mw)}
}

// activeWindows are the maintenance windows on now, as the console's
// overview lists them: the same list the admin API's GET
// /api/v1/maintenance answers, without the windows that are off.
func activeWindows(l adminapi.MaintenanceList) []console.MaintenanceWindow {
	var out []console.MaintenanceWindow
	for _, w := range l.Windows {
		if !w.Active {
			continue
		}
		scope := "every alert"
		if w.When != "" {
			scope = "alerts where " + w.When
		}
		scope += " (" + w.Source + ", on_end = " + w.OnEnd + ")"
		out = append(out, console.MaintenanceWindow{Name: w.Name, Scope: scope, Start: w.Start, End: w.End})
	}
	return out
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
