package console

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/itsm-connector/itsm-connector/host/delivery"
)

type overviewView struct {
	InstanceID string
	Uptime     string
	Started    time.Time
	RefreshMS  int64
	Live       liveView
}

// liveView is the part of the overview that refreshes itself.
type liveView struct {
	Now          time.Time
	Backends     []backendRow
	Unmatched    int64
	AuthFailures []reasonCount
	AuthShown    bool
	Maintenance  []MaintenanceWindow
	Window       string
	Error        string
}

type backendRow struct {
	Backend
	delivery.BackendStats
	Oldest  string
	Charts  Charts
	Sampled bool
}

type reasonCount struct {
	Reason string
	Count  float64
}

func (c *console) overview(w http.ResponseWriter, r *http.Request) {
	live, status := c.live(r)
	now := c.Now()
	v := overviewView{InstanceID: c.InstanceID, Started: c.Started, RefreshMS: c.RefreshEvery.Milliseconds(), Live: live}
	if !c.Started.IsZero() {
		v.Uptime = compact(now.Sub(c.Started))
	}
	c.render(w, status, "overview", page{Title: "Overview", Nav: "overview", Body: v})
}

// overviewLive answers the overview's live part alone, for the script
// that refreshes it.
func (c *console) overviewLive(w http.ResponseWriter, r *http.Request) {
	live, status := c.live(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages["overview"].ExecuteTemplate(w, "live", live); err != nil {
		c.Logger.Error("console overview", "error", err)
	}
}

func (c *console) live(r *http.Request) (liveView, int) {
	ctx, cancel := timeout(r)
	defer cancel()
	now := c.Now()
	v := liveView{Now: now}
	var errs []error
	stats, err := c.Stats(ctx)
	errs = append(errs, err)
	for _, b := range c.Backends() {
		row := backendRow{Backend: b, BackendStats: stats.Backends[b.Ref], Oldest: "-"}
		if !row.OldestPending.IsZero() {
			row.Oldest = compact(now.Sub(row.OldestPending))
		}
		if c.Sampler != nil {
			row.Charts, row.Sampled = c.Sampler.Charts(b.Ref, now)
		}
		v.Backends = append(v.Backends, row)
	}
	sort.Slice(v.Backends, func(i, j int) bool { return v.Backends[i].Ref < v.Backends[j].Ref })
	v.Unmatched = stats.Unmatched
	if c.Sampler != nil {
		v.Window = compact(c.Sampler.window())
	}
	if c.Metrics != nil {
		v.AuthShown = true
		for reason, n := range c.Metrics.AuthFailureTotals() {
			v.AuthFailures = append(v.AuthFailures, reasonCount{reason, n})
		}
		sort.Slice(v.AuthFailures, func(i, j int) bool {
			a, b := v.AuthFailures[i], v.AuthFailures[j]
			return a.Count > b.Count || a.Count == b.Count && a.Reason < b.Reason
		})
	}
	if c.MaintenanceWindows != nil {
		v.Maintenance, err = c.MaintenanceWindows(ctx)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		v.Error = err.Error()
		c.Logger.Warn("console overview", "error", err)
		return v, http.StatusInternalServerError
	}
	return v, http.StatusOK
}
