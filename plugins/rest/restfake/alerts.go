package restfake

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Alerts is an alerts API in the style of Opsgenie. Creating an alert whose
// alias matches an open alert only counts it again; otherwise (no alias, or
// its alert is closed) a new alert opens. Alerts are addressed by id, tiny
// id or alias (?identifierType=), and every change answers 202 Accepted
// with a request id, as the real API processes requests asynchronously (the
// fake processes them at once).
type Alerts struct {
	*Server

	mu     sync.Mutex
	alerts []*Alert
	seq    int
}

// Alert is one alert.
type Alert struct {
	ID           string            `json:"id"`
	TinyID       string            `json:"tinyId"`
	Alias        string            `json:"alias"`
	Message      string            `json:"message"`
	Description  string            `json:"description,omitempty"`
	Priority     string            `json:"priority"`
	Status       string            `json:"status"`
	Acknowledged bool              `json:"acknowledged"`
	Count        int               `json:"count"`
	Tags         []string          `json:"tags,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
	Entity       string            `json:"entity,omitempty"`
	Source       string            `json:"source,omitempty"`
	Notes        []string          `json:"-"`
	CreatedAt    time.Time         `json:"createdAt"`
}

// NewAlerts starts an alerts API.
func NewAlerts(opts Options) *Alerts {
	a := &Alerts{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/alerts", a.create)
	mux.HandleFunc("GET /v2/alerts/{identifier}", a.get)
	mux.HandleFunc("POST /v2/alerts/{identifier}/{op}", a.act)
	a.Server = newServer(opts, mux)
	return a
}

// ByAlias returns copies of the alerts with alias, oldest first.
func (a *Alerts) ByAlias(alias string) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Alert
	for _, x := range a.alerts {
		if x.Alias == alias {
			cp := *x
			cp.Notes = append([]string(nil), x.Notes...)
			out = append(out, cp)
		}
	}
	return out
}

func (a *Alerts) accepted(w http.ResponseWriter) {
	a.seq++
	writeJSON(w, http.StatusAccepted, map[string]any{
		"result": "Request will be processed", "took": 0.011, "requestId": fmt.Sprintf("req-%06d", a.seq),
	})
}

func (a *Alerts) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Message     string            `json:"message"`
		Alias       string            `json:"alias"`
		Description string            `json:"description"`
		Priority    string            `json:"priority"`
		Tags        []string          `json:"tags"`
		Details     map[string]string `json:"details"`
		Entity      string            `json:"entity"`
		Source      string            `json:"source"`
		Note        string            `json:"note"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.Message == "":
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Request body is not processable. Please check the errors.", "errors": map[string]string{"message": "Message can not be empty."}})
		return
	case len(in.Message) > 130, len(in.Alias) > 512:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Request body is not processable. Please check the errors.", "errors": map[string]string{"message": "Message or alias too long."}})
		return
	}
	switch in.Priority {
	case "":
		in.Priority = "P3"
	case "P1", "P2", "P3", "P4", "P5":
	default:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Request body is not processable. Please check the errors.", "errors": map[string]string{"priority": "Priority should be one of [P1, P2, P3, P4, P5]"}})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if in.Alias != "" {
		if cur := a.findLocked("alias", in.Alias); cur != nil && cur.Status == "open" {
			cur.Count++
			a.accepted(w)
			return
		}
	}
	a.seq++
	x := &Alert{
		ID: fmt.Sprintf("70413a06-38d6-4c85-92b8-5ebc900d%04d", a.seq), TinyID: strconv.Itoa(a.seq),
		Alias: in.Alias, Message: in.Message, Description: in.Description, Priority: in.Priority,
		Status: "open", Count: 1, Tags: in.Tags, Details: in.Details, Entity: in.Entity, Source: in.Source,
		CreatedAt: time.Now().UTC(),
	}
	if x.Alias == "" {
		x.Alias = x.ID
	}
	if in.Note != "" {
		x.Notes = append(x.Notes, in.Note)
	}
	a.alerts = append(a.alerts, x)
	a.accepted(w)
}

// findLocked returns the newest alert matching the identifier.
func (a *Alerts) findLocked(kind, ident string) *Alert {
	for i := len(a.alerts) - 1; i >= 0; i-- {
		x := a.alerts[i]
		switch kind {
		case "alias":
			if x.Alias == ident {
				return x
			}
		case "tiny":
			if x.TinyID == ident {
				return x
			}
		default:
			if x.ID == ident {
				return x
			}
		}
	}
	return nil
}

// lookup resolves the path identifier, answering 400 or 404 itself.
func (a *Alerts) lookupLocked(w http.ResponseWriter, r *http.Request) *Alert {
	kind := r.URL.Query().Get("identifierType")
	switch kind {
	case "", "id", "alias", "tiny":
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "identifierType must be id, alias or tiny"})
		return nil
	}
	x := a.findLocked(kind, r.PathValue("identifier"))
	if x == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Alert does not exist", "took": 0.002, "requestId": "req-404"})
	}
	return x
}

func (a *Alerts) get(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.lookupLocked(w, r)
	if x == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": x, "took": 0.003, "requestId": "req-get"})
}

func (a *Alerts) act(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Note   string `json:"note"`
		User   string `json:"user"`
		Source string `json:"source"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &in) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	op := r.PathValue("op")
	switch op {
	case "notes", "acknowledge", "close":
	default:
		http.NotFound(w, r)
		return
	}
	if op == "notes" && in.Note == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Request body is not processable. Please check the errors.", "errors": map[string]string{"note": "Note can not be empty."}})
		return
	}
	x := a.lookupLocked(w, r)
	if x == nil {
		return
	}
	switch op {
	case "acknowledge":
		x.Acknowledged = true
	case "close":
		x.Status = "closed"
	}
	if in.Note != "" {
		x.Notes = append(x.Notes, in.Note)
	}
	a.accepted(w)
}
