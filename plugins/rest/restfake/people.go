package restfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// moveLocked sets x's status as by does: becoming solved or closed records
// who, when and the resolution; opening again clears them.
func (t *Tickets) moveLocked(x *Ticket, status, by, resolution string) {
	done := status == "solved" || status == "closed"
	wasDone := x.Status == "solved" || x.Status == "closed"
	switch {
	case done && !wasDone:
		x.SolvedBy, x.SolvedAt, x.Resolution = by, t.opts.Now().UTC().Format(time.RFC3339), resolution
	case done && resolution != "":
		x.Resolution = resolution
	case !done:
		x.SolvedBy, x.SolvedAt, x.Resolution = "", "", ""
	}
	x.Status = status
}

// SolveAs solves the ticket as the agent by would, with a resolution.
func (t *Tickets) SolveAs(id int, by, resolution string) error {
	return t.personMove(id, "solved", by, resolution)
}

// CloseAs closes the ticket as by would; a closed ticket cannot change.
func (t *Tickets) CloseAs(id int, by, resolution string) error {
	return t.personMove(id, "closed", by, resolution)
}

// ReopenAs opens a solved ticket again as by would.
func (t *Tickets) ReopenAs(id int, by string) error {
	return t.personMove(id, "open", by, "")
}

// SetPriorityAs changes the ticket's priority as by would.
func (t *Tickets) SetPriorityAs(id int, by, priority string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.findLocked(id)
	if x == nil {
		return fmt.Errorf("restfake: no ticket %d", id)
	}
	x.Priority = priority
	return nil
}

func (t *Tickets) personMove(id int, status, by, resolution string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.findLocked(id)
	if x == nil {
		return fmt.Errorf("restfake: no ticket %d", id)
	}
	if x.Status == "closed" {
		return fmt.Errorf("restfake: ticket %d is closed and cannot change", id)
	}
	t.moveLocked(x, status, by, resolution)
	return nil
}

// showMany is GET /api/v2/tickets/show_many?ids=1,2,3: the tickets that
// exist among at most 100 ids, in id order; the others are left out.
func (t *Tickets) showMany(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("ids")
	parts := strings.Split(raw, ",")
	if raw == "" || len(parts) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidParameter", "description": "ids takes 1 to 100 ticket ids"})
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []Ticket{}
	for _, p := range parts {
		id, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidParameter", "description": fmt.Sprintf("%q is not a ticket id", p)})
			return
		}
		if x := t.findLocked(id); x != nil {
			out = append(out, t.copyLocked(x))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out, "count": len(out)})
}
