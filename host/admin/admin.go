// Package admin serves the operator's side of the connector on a separate
// listener: Prometheus metrics, liveness and readiness, and mounted
// handlers such as the console, optionally behind a shared token.
package admin

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is ready; nil means ready.
type Check func() error

// Server builds the admin handler.
type Server struct {
	Metrics *metrics.Metrics
	// Ready lists readiness checks by name (signing keys, store, plugins).
	Ready map[string]Check
	// Extra handlers mounted as given (console, JSON API, ...). They
	// require Token when it is set, and refuse state-changing requests a
	// browser sends from another site (see protect).
	Extra map[string]http.Handler
	// Token, when set, is required by Extra (and by /metrics with
	// MetricsAuth): as "Authorization: Bearer <token>", or as the password
	// of HTTP Basic with any user name, so that a browser's prompt opens
	// the console. /healthz and /readyz stay open for probes. Empty
	// serves everything without authentication.
	Token string
	// MetricsAuth makes /metrics require Token as well; without Token it
	// has no effect.
	MetricsAuth bool
	// AllowedHosts are the names, besides IP addresses and localhost, a
	// request's Host may give (see HostNames); any other is refused with
	// 421 on every path but the probes, so that a page on another name
	// cannot read or replay anything through DNS rebinding.
	AllowedHosts []string
}

// Handler returns the admin mux. Every answer forbids framing by another
// site's page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		var h http.Handler = promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
		if s.MetricsAuth {
			h = s.protect(h)
		}
		mux.Handle("GET /metrics", h)
	}
	for p, h := range s.Extra {
		mux.Handle(p, s.protect(h))
	}
	return s.guard(mux)
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	names := make([]string, 0, len(s.Ready))
	for n := range s.Ready {
		names = append(names, n)
	}
	sort.Strings(names)
	checks := map[string]string{}
	status := http.StatusOK
	for _, n := range names {
		if err := s.Ready[n](); err != nil {
			checks[n] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks[n] = "ok"
		}
	}
	body := map[string]any{"status": "ready", "checks": checks}
	if status != http.StatusOK {
		body["status"] = "not ready"
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
