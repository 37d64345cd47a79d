package restfake

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// Events is an events API in the style of PagerDuty Events v2: one
// endpoint, POST /v2/enqueue, taking trigger, acknowledge and resolve events
// for a dedup_key. A trigger for a key whose incident is open adds to it; a
// trigger for a resolved (or unknown) key opens a new incident.
type Events struct {
	*Server
	routingKey string

	mu        sync.Mutex
	incidents map[string][]*Incident
	seq       int
}

// Incident is what the events API made of the events for one dedup key.
type Incident struct {
	Number   int
	DedupKey string
	// Status is "triggered", "acknowledged" or "resolved".
	Status   string
	Summary  string
	Severity string
	Source   string
	// Events counts the trigger events merged into the incident.
	Events        int
	CustomDetails map[string]any
}

// Event is the body of POST /v2/enqueue.
type Event struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Component     string         `json:"component"`
		Group         string         `json:"group"`
		Class         string         `json:"class"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	Client    string `json:"client"`
	ClientURL string `json:"client_url"`
}

// NewEvents starts an events API that accepts events for routingKey.
func NewEvents(routingKey string, opts Options) *Events {
	e := &Events{routingKey: routingKey, incidents: map[string][]*Incident{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/enqueue", e.enqueue)
	e.Server = newServer(opts, mux)
	return e
}

// Incidents returns copies of the incidents opened for dedupKey, oldest
// first.
func (e *Events) Incidents(dedupKey string) []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Incident
	for _, in := range e.incidents[dedupKey] {
		out = append(out, *in)
	}
	return out
}

var severities = []string{"critical", "error", "warning", "info"}

func (e *Events) enqueue(w http.ResponseWriter, r *http.Request) {
	var ev Event
	if !decodeBody(w, r, &ev) {
		return
	}
	invalid := func(msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"status": "invalid event", "message": "Event object is invalid", "errors": []string{msg},
		})
	}
	if ev.RoutingKey != e.routingKey {
		invalid("'routing_key' is invalid")
		return
	}
	switch ev.EventAction {
	case "trigger":
		if ev.Payload == nil || ev.Payload.Summary == "" || ev.Payload.Source == "" {
			invalid("'payload.summary' and 'payload.source' are required for a trigger")
			return
		}
		if !slices.Contains(severities, ev.Payload.Severity) {
			invalid(fmt.Sprintf("'payload.severity' must be one of %v", severities))
			return
		}
		if len(ev.Payload.Summary) > 1024 {
			invalid("'payload.summary' is longer than 1024 characters")
			return
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			invalid("'dedup_key' is required for " + ev.EventAction)
			return
		}
	default:
		invalid("'event_action' must be trigger, acknowledge or resolve")
		return
	}
	if len(ev.DedupKey) > 255 {
		invalid("'dedup_key' is longer than 255 characters")
		return
	}

	e.mu.Lock()
	key := ev.DedupKey
	if key == "" {
		e.seq++
		key = fmt.Sprintf("generated-%d", e.seq)
	}
	list := e.incidents[key]
	var cur *Incident
	if n := len(list); n > 0 && list[n-1].Status != "resolved" {
		cur = list[n-1]
	}
	switch ev.EventAction {
	case "trigger":
		if cur == nil {
			e.seq++
			cur = &Incident{Number: e.seq, DedupKey: key, Status: "triggered"}
			e.incidents[key] = append(list, cur)
		}
		cur.Events++
		cur.Summary, cur.Severity, cur.Source = ev.Payload.Summary, ev.Payload.Severity, ev.Payload.Source
		cur.CustomDetails = ev.Payload.CustomDetails
	case "acknowledge":
		if cur != nil {
			cur.Status = "acknowledged"
		}
	case "resolve":
		if cur != nil {
			cur.Status = "resolved"
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": key})
}
