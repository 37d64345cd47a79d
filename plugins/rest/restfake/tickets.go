package restfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Tickets is a ticket API: POST /api/v2/tickets answers 201 Created with
// the new ticket in the body and its URL in Location; GET and PUT
// /api/v2/tickets/{id} read and change it (a comment, a status, the
// subject, description, priority and tags); GET
// /api/v2/tickets?external_id= searches, oldest first. Statuses are new,
// open, pending, solved and closed; a closed ticket cannot change. POST
// /api/v2/tickets/{id}/comments adds a comment, and answers 400, not 404,
// for a ticket that does not exist (as a real tracker did). GET
// /api/v2/assets?external_id= searches seeded assets (a CMDB). GET
// /api/v2/tickets/show_many?ids= reads many tickets at once, leaving out
// those that do not exist. Agents act with SolveAs, CloseAs, ReopenAs and
// SetPriorityAs (people.go), which record who solved a ticket. [Quirks]
// make it answer as other real trackers do.
type Tickets struct {
	*Server

	mu      sync.Mutex
	tickets []*Ticket
	assets  []Asset
	nextID  int
	quirks  Quirks
}

// Quirks are ways real trackers answer that the plugin must cope with.
type Quirks struct {
	// Statuses replaces the valid statuses (new, open, pending, solved,
	// closed), e.g. a tracker without "solved".
	Statuses []string
	// ErrorsIn2xx answers a change to a status that is not valid with 201
	// and a JSON array of messages, changing nothing, instead of 422.
	ErrorsIn2xx bool
	// NoURL leaves the url out of every ticket: the API gives no link.
	NoURL bool
}

// SetQuirks makes the API answer with q from now on.
func (t *Tickets) SetQuirks(q Quirks) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.quirks = q
}

// Ticket is one ticket as the API shows it.
type Ticket struct {
	ID          int       `json:"id"`
	Number      string    `json:"number"`
	URL         string    `json:"url,omitempty"`
	Subject     string    `json:"subject"`
	Description string    `json:"description,omitempty"`
	Priority    string    `json:"priority,omitempty"`
	Status      string    `json:"status"`
	ExternalID  string    `json:"external_id,omitempty"`
	AssetID     string    `json:"asset_id,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Comments    []Comment `json:"comments"`
	// SolvedBy, SolvedAt and Resolution are set when the ticket becomes
	// solved or closed (SolvedAt in RFC 3339), and cleared when it opens
	// again; API changes are made by "api".
	SolvedBy   string `json:"solved_by,omitempty"`
	SolvedAt   string `json:"solved_at,omitempty"`
	Resolution string `json:"resolution,omitempty"`
}

// Comment is one comment on a ticket.
type Comment struct {
	Body   string `json:"body"`
	Public bool   `json:"public"`
}

// Asset is one CMDB record.
type Asset struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	ExternalID string `json:"external_id"`
}

var ticketStatuses = map[string]bool{"new": true, "open": true, "pending": true, "solved": true, "closed": true}

// NewTickets starts a ticket API.
func NewTickets(opts Options) *Tickets {
	t := &Tickets{nextID: 1001}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/tickets", t.create)
	mux.HandleFunc("GET /api/v2/tickets", t.search)
	mux.HandleFunc("GET /api/v2/tickets/{id}", t.get)
	mux.HandleFunc("GET /api/v2/tickets/show_many", t.showMany)
	mux.HandleFunc("PUT /api/v2/tickets/{id}", t.update)
	mux.HandleFunc("POST /api/v2/tickets/{id}/comments", t.comment)
	mux.HandleFunc("GET /api/v2/assets", t.searchAssets)
	t.Server = newServer(opts, mux)
	return t
}

// SeedAsset adds an asset and returns its id.
func (t *Tickets) SeedAsset(name, externalID string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := fmt.Sprintf("ast-%d", len(t.assets)+1)
	t.assets = append(t.assets, Asset{ID: id, Name: name, ExternalID: externalID})
	return id
}

// ByExternalID returns copies of the tickets with the external id, oldest
// first.
func (t *Tickets) ByExternalID(ext string) []Ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Ticket
	for _, x := range t.tickets {
		if x.ExternalID == ext {
			out = append(out, t.copyLocked(x))
		}
	}
	return out
}

// SetStatus changes a ticket's status as an agent would.
func (t *Tickets) SetStatus(id int, status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if x := t.findLocked(id); x != nil {
		t.moveLocked(x, status, "agent", "")
	}
}

// Delete removes a ticket, as an administrator would.
func (t *Tickets) Delete(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.tickets {
		if x.ID == id {
			t.tickets = append(t.tickets[:i], t.tickets[i+1:]...)
			return
		}
	}
}

func (t *Tickets) copyLocked(x *Ticket) Ticket {
	cp := *x
	if t.quirks.NoURL {
		cp.URL = ""
	}
	cp.Comments = append([]Comment{}, x.Comments...)
	cp.Tags = append([]string(nil), x.Tags...)
	return cp
}

func (t *Tickets) findLocked(id int) *Ticket {
	for _, x := range t.tickets {
		if x.ID == id {
			return x
		}
	}
	return nil
}

type ticketInput struct {
	Ticket *struct {
		Subject     *string  `json:"subject"`
		Description *string  `json:"description"`
		Priority    *string  `json:"priority"`
		Status      *string  `json:"status"`
		ExternalID  *string  `json:"external_id"`
		AssetID     *string  `json:"asset_id"`
		Tags        []string `json:"tags"`
		Comment     *Comment `json:"comment"`
	} `json:"ticket"`
}

func invalidRecord(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": msg})
}

func (t *Tickets) create(w http.ResponseWriter, r *http.Request) {
	var in ticketInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Ticket == nil || in.Ticket.Subject == nil || *in.Ticket.Subject == "" {
		invalidRecord(w, "ticket.subject is required")
		return
	}
	t.mu.Lock()
	x := &Ticket{ID: t.nextID, Status: "new", Subject: *in.Ticket.Subject, Tags: in.Ticket.Tags, Comments: []Comment{}}
	t.nextID++
	x.Number = "TCK-" + strconv.Itoa(x.ID)
	x.URL = fmt.Sprintf("%s/agent/tickets/%d", t.URL, x.ID)
	if p := in.Ticket.Description; p != nil {
		x.Description = *p
	}
	if p := in.Ticket.Priority; p != nil {
		x.Priority = *p
	}
	if p := in.Ticket.ExternalID; p != nil {
		x.ExternalID = *p
	}
	if p := in.Ticket.AssetID; p != nil {
		x.AssetID = *p
	}
	if c := in.Ticket.Comment; c != nil {
		x.Comments = append(x.Comments, *c)
	}
	t.tickets = append(t.tickets, x)
	out := t.copyLocked(x)
	t.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/api/v2/tickets/%d", t.URL, x.ID))
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": out})
}

func (t *Tickets) search(w http.ResponseWriter, r *http.Request) {
	ext := r.URL.Query().Get("external_id")
	if ext == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "InvalidSearch", "description": "external_id is required"})
		return
	}
	list := t.ByExternalID(ext)
	if list == nil {
		list = []Ticket{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": list, "count": len(list)})
}

// ticket finds the ticket of the path's id, answering 404 itself.
func (t *Tickets) ticketLocked(w http.ResponseWriter, r *http.Request) *Ticket {
	id, err := strconv.Atoi(r.PathValue("id"))
	var x *Ticket
	if err == nil {
		x = t.findLocked(id)
	}
	if x == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "RecordNotFound", "description": "Not found"})
	}
	return x
}

func (t *Tickets) get(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if x := t.ticketLocked(w, r); x != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ticket": t.copyLocked(x)})
	}
}

func (t *Tickets) update(w http.ResponseWriter, r *http.Request) {
	var in ticketInput
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Ticket == nil {
		invalidRecord(w, "ticket is required")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	x := t.ticketLocked(w, r)
	if x == nil {
		return
	}
	if x.Status == "closed" {
		invalidRecord(w, "closed tickets cannot be updated")
		return
	}
	if p := in.Ticket.Status; p != nil {
		if !t.validStatusLocked(*p) {
			if t.quirks.ErrorsIn2xx {
				writeJSON(w, http.StatusCreated, []string{fmt.Sprintf("Status '%s' isn't a valid status", *p)})
				return
			}
			invalidRecord(w, fmt.Sprintf("status %q is not a valid status", *p))
			return
		}
		t.moveLocked(x, *p, "api", "")
	}
	if p := in.Ticket.Priority; p != nil {
		x.Priority = *p
	}
	if p := in.Ticket.Subject; p != nil {
		x.Subject = *p
	}
	if p := in.Ticket.Description; p != nil {
		x.Description = *p
	}
	if in.Ticket.Tags != nil {
		x.Tags = slices.Clone(in.Ticket.Tags)
	}
	if c := in.Ticket.Comment; c != nil {
		if c.Body == "" {
			invalidRecord(w, "comment.body is required")
			return
		}
		x.Comments = append(x.Comments, *c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": t.copyLocked(x)})
}

func (t *Tickets) validStatusLocked(s string) bool {
	if t.quirks.Statuses != nil {
		return slices.Contains(t.quirks.Statuses, s)
	}
	return ticketStatuses[s]
}

// comment adds a comment. A ticket that does not exist is a 400 here.
func (t *Tickets) comment(w http.ResponseWriter, r *http.Request) {
	var in Comment
	if !decodeBody(w, r, &in) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var x *Ticket
	if id, err := strconv.Atoi(r.PathValue("id")); err == nil {
		x = t.findLocked(id)
	}
	if x == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "BadRequest", "description": "ticket does not exist"})
		return
	}
	if in.Body == "" {
		invalidRecord(w, "body is required")
		return
	}
	x.Comments = append(x.Comments, in)
	writeJSON(w, http.StatusCreated, map[string]any{"comment": in, "ticket": t.copyLocked(x)})
}

func (t *Tickets) searchAssets(w http.ResponseWriter, r *http.Request) {
	ext := r.URL.Query().Get("external_id")
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []Asset{}
	for _, a := range t.assets {
		if ext != "" && strings.EqualFold(a.ExternalID, ext) {
			out = append(out, a)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"assets": out})
}
