package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/store"
)

// MaintenanceWindow is a maintenance window as the API shows it (the
// console reads the active ones from GET /api/v1/maintenance).
type MaintenanceWindow struct {
	Name string `json:"name"`
	// Source is "config" (a maintenance block of connector.hcl) or
	// "adhoc" (started through this API or the command line).
	Source string `json:"source"`
	// Active is true while the window is on.
	Active bool `json:"active"`
	// Start and End are the occurrence that is on, or else the next one;
	// absent when there is none (a one-off window that has ended).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Schedule describes the whole schedule: "<start> to <end>" in UTC, or
	// "weekly sat,sun 22:00 for 4h0m0s (Europe/Berlin)".
	Schedule string `json:"schedule"`
	// When is the condition over `alert` as written; empty for every
	// alert.
	When string `json:"when"`
	// OnEnd is "create" or "drop": what alerts still firing at the end get.
	OnEnd string `json:"on_end"`
	// Reason and CreatedAt are an ad-hoc window's.
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// MaintenanceList is the answer to GET /api/v1/maintenance: every window
// of the configuration and every ad-hoc one that has not ended, with its
// state at Now.
type MaintenanceList struct {
	Now     time.Time           `json:"now"`
	Windows []MaintenanceWindow `json:"windows"`
}

// MaintenanceStart is the body of POST /api/v1/maintenance: an ad-hoc
// window from Start (default now) to End, or for Duration ("2h", "90m",
// "1d"), over the alerts When matches (an HCL expression over `alert`;
// empty for every alert). OnEnd defaults to "create".
type MaintenanceStart struct {
	Name     string    `json:"name"`
	When     string    `json:"when,omitempty"`
	Start    time.Time `json:"start,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Duration string    `json:"duration,omitempty"`
	OnEnd    string    `json:"on_end,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// MaintenanceEnded is the answer to DELETE /api/v1/maintenance/{name}.
type MaintenanceEnded struct {
	Result Result            `json:"result"`
	Window MaintenanceWindow `json:"window"`
	// Released counts the work items the window held, now due: their
	// alerts are delivered or dropped as on_end says.
	Released int64 `json:"released"`
}

// Ended is the Result of ending a maintenance window.
const Ended Result = "ended"

// maxBody bounds a request body of the API.
const maxBody = 64 << 10

// Maintenance are the maintenance window operations behind the API.
type Maintenance struct {
	Windows *maintenance.Windows
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger hclog.Logger
}

func (m *Maintenance) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// MaintenanceFrom is the MaintenanceWindow that shows st.
func MaintenanceFrom(st maintenance.Status) MaintenanceWindow {
	return MaintenanceWindow{Name: st.Name, Source: st.Source, Active: st.Active, Start: st.Start.UTC(), End: st.End.UTC(),
		Schedule: st.Schedule.String(), When: st.WhenText, OnEnd: st.OnEnd, Reason: st.Reason, CreatedAt: st.CreatedAt.UTC()}
}

// List lists the windows.
func (m *Maintenance) List() MaintenanceList {
	now := m.now()
	out := MaintenanceList{Now: now.UTC(), Windows: []MaintenanceWindow{}}
	for _, st := range m.Windows.List(now) {
		out.Windows = append(out.Windows, MaintenanceFrom(st))
	}
	return out
}

// Start starts an ad-hoc window.
func (m *Maintenance) Start(ctx context.Context, req MaintenanceStart) (MaintenanceWindow, error) {
	ah := maintenance.AdHoc{Name: req.Name, When: req.When, Start: req.Start, End: req.End, OnEnd: req.OnEnd, Reason: req.Reason}
	if req.Duration != "" {
		d, err := config.ParseDuration(req.Duration)
		if err != nil {
			return MaintenanceWindow{}, fmt.Errorf("%w: duration %q: %v; write e.g. \"2h\", \"90m\" or \"1d\"", maintenance.ErrInvalid, req.Duration, err)
		}
		ah.Duration = d
	}
	st, err := m.Windows.Start(ctx, ah, m.now())
	m.log("start", req.Name, err)
	if err != nil {
		return MaintenanceWindow{}, err
	}
	return MaintenanceFrom(st), nil
}

// End ends an ad-hoc window now.
func (m *Maintenance) End(ctx context.Context, name string) (MaintenanceEnded, error) {
	st, released, err := m.Windows.End(ctx, name, m.now())
	m.log("end", name, err)
	if err != nil {
		return MaintenanceEnded{}, err
	}
	return MaintenanceEnded{Result: Ended, Window: MaintenanceFrom(st), Released: released}, nil
}

func (m *Maintenance) log(op, name string, err error) {
	if m.Logger == nil {
		return
	}
	if err != nil {
		m.Logger.Warn("maintenance window "+op+" refused", "window", name, "result", maintenanceOutcome(err), "error", err)
		return
	}
	m.Logger.Info("maintenance window "+op, "window", name)
}

// maintenanceOutcome is the Result of a failed maintenance operation.
func maintenanceOutcome(err error) Result {
	switch {
	case errors.Is(err, maintenance.ErrInvalid):
		return BadRequest
	case errors.Is(err, maintenance.ErrConfigured), errors.Is(err, store.ErrConflict):
		return Conflict
	}
	return Outcome(err, "")
}

// register mounts the maintenance paths on mux; allow gets their methods.
func (m *Maintenance) register(mux *http.ServeMux, allow map[string]string) {
	const list, one = "/api/v1/maintenance", "/api/v1/maintenance/{name}"
	mux.HandleFunc("GET "+list, func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Query()) > 0 {
			WriteError(w, BadRequest, "GET /api/v1/maintenance takes no parameters; filter on \"active\" in the answer")
			return
		}
		writeJSON(w, http.StatusOK, m.List())
	})
	mux.HandleFunc("GET "+one, func(w http.ResponseWriter, r *http.Request) {
		st, ok := m.Windows.Get(r.PathValue("name"), m.now())
		if !ok {
			WriteError(w, NotFound, fmt.Sprintf("no maintenance window %q is configured, on or to come", r.PathValue("name")))
			return
		}
		writeJSON(w, http.StatusOK, MaintenanceFrom(st))
	})
	mux.HandleFunc("POST "+list, func(w http.ResponseWriter, r *http.Request) {
		var req MaintenanceStart
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			WriteError(w, BadRequest, fmt.Sprintf("the body is not a maintenance window: %v; send {\"name\", \"when\", \"duration\" or \"end\", \"start\", \"on_end\", \"reason\"}", err))
			return
		}
		out, err := m.Start(r.Context(), req)
		if err != nil {
			WriteError(w, maintenanceOutcome(err), err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("DELETE "+one, func(w http.ResponseWriter, r *http.Request) {
		out, err := m.End(r.Context(), r.PathValue("name"))
		if err != nil {
			WriteError(w, maintenanceOutcome(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	allow[list] = "GET, HEAD, POST"
	allow[one] = "GET, HEAD, DELETE"
}
