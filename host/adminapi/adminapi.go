// Package adminapi is the admin listener's JSON API under /api/v1/ and its
// client. It works on the running connector's dead letters: list, show,
// replay (with the routes the connector runs, not those of whoever asks)
// and drop, one by one or all that match a filter; and it reads work items
// with their audit trails. The console's buttons and the command line go
// through the same operations, so a result means the same everywhere.
//
//	GET    /api/v1/deadletters[?backend=&unmatched=&before_id=&limit=]  200 {"dead_letters":[…]}
//	GET    /api/v1/deadletters/{id}                          200 the letter
//	POST   /api/v1/deadletters/{id}/replay                   200 {"id","result":"replayed","backends"}
//	POST   /api/v1/deadletters/{id}/drop                     200 {"id","result":"dropped"}
//	DELETE /api/v1/deadletters/{id}                          the same as …/drop
//	POST   /api/v1/deadletters/bulk/replay[?backend=&unmatched=&before_id=&limit=]  200 {"result","done","gone","more",…}
//	POST   /api/v1/deadletters/bulk/drop[?…]                 the same for drop
//	GET    /api/v1/workitems[?backend=&route=&state=&severity=&q=&before_id=&limit=]  200 {"work_items":[…]}
//	GET    /api/v1/workitems/{id}                            200 the work item
//	GET    /api/v1/workitems/{id}/events[?before_id=&limit=] 200 {"events":[…]}, newest first
//
// Errors are {"error": code, "message": text}: 400 bad_request, 404
// not_found, 405 method_not_allowed, 409 unroutable, 500 failed. The admin
// listener adds 401, 403 and 421 (see package admin). A bulk operation
// that did not do everything answers the status of its failure with the
// same body as its success, "error" and "message" added.
//
// WorkItem is a work item with its audit trail in the same snake_case
// JSON; the command line's workitems -json prints it.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Prefix is where the API lives on the admin listener.
const Prefix = "/api/"

// Result is the fixed code of an operation's outcome. The API answers it
// with its [Result.Status]; the console shows a fixed text for it.
type Result string

// Results.
const (
	Replayed         Result = "replayed"
	Dropped          Result = "dropped"
	NotFound         Result = "not_found"          // no dead letter has the id (replayed or dropped already)
	Unroutable       Result = "unroutable"         // the alert still matches no route; the letter is kept
	Failed           Result = "failed"             // the store failed; the connector logs why
	BadRequest       Result = "bad_request"        // a malformed id or filter
	MethodNotAllowed Result = "method_not_allowed" // the path exists, not with this method
	Unauthorized     Result = "unauthorized"       // the admin token is missing or wrong
	Forbidden        Result = "forbidden"          // a cross-site request from a browser
	// MisdirectedRequest: the request's Host names the admin listener by
	// a name it does not answer to (admin.allowed_hosts).
	MisdirectedRequest Result = "misdirected_request"
)

// Outcome is the result of an operation that ended with err: ok when err
// is nil.
func Outcome(err error, ok Result) Result {
	switch {
	case err == nil:
		return ok
	case errors.Is(err, store.ErrNotFound):
		return NotFound
	case errors.Is(err, delivery.ErrUnroutable):
		return Unroutable
	default:
		return Failed
	}
}

// Status is the HTTP status the API answers r with.
func (r Result) Status() int {
	switch r {
	case Replayed, Dropped:
		return http.StatusOK
	case NotFound:
		return http.StatusNotFound
	case Unroutable:
		return http.StatusConflict
	case BadRequest:
		return http.StatusBadRequest
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case MisdirectedRequest:
		return http.StatusMisdirectedRequest
	default:
		return http.StatusInternalServerError
	}
}

// Action is the answer to a replay or a drop.
type Action struct {
	ID     int64  `json:"id"`
	Result Result `json:"result"`
	// Backends got work from a replay.
	Backends []string `json:"backends,omitempty"`
}

// Error is the body of every answer that is not 2xx.
type Error struct {
	Code    Result `json:"error"`
	Message string `json:"message"`
}

// DeadLetter is one dead letter as the API and the command line show it.
type DeadLetter struct {
	ID int64 `json:"id"`
	// ItemID is the work item that failed; 0 for an alert no route took.
	ItemID         int64     `json:"item_id"`
	Route          string    `json:"route"`
	Backend        string    `json:"backend"`
	CorrelationKey string    `json:"correlation_key"`
	Reason         string    `json:"reason"`
	LastError      string    `json:"last_error"`
	Attempts       int       `json:"attempts"`
	CreatedAt      time.Time `json:"created_at"`
	Alert          sdk.Alert `json:"alert"`
}

// List is the answer to GET /api/v1/deadletters, newest first.
type List struct {
	DeadLetters []DeadLetter `json:"dead_letters"`
}

// NewList is the List of dls.
func NewList(dls []*store.DeadLetter) List {
	out := List{DeadLetters: make([]DeadLetter, 0, len(dls))}
	for _, dl := range dls {
		out.DeadLetters = append(out.DeadLetters, FromStore(dl))
	}
	return out
}

// FromStore is the DeadLetter that shows d.
func FromStore(d *store.DeadLetter) DeadLetter {
	out := DeadLetter{ID: d.ID, ItemID: d.ItemID, Route: d.Route, Backend: d.Backend, CorrelationKey: d.CorrelationKey,
		Reason: d.Reason, LastError: d.LastError, Attempts: d.Attempts, CreatedAt: d.CreatedAt}
	if d.Alert != nil {
		out.Alert = *d.Alert
	}
	return out
}

// DeadLetters are the operations behind the API and the console.
type DeadLetters struct {
	Store store.Store
	// Replay replays one letter with the running routes and wakes the
	// backends' workers: [delivery.Engine.Replay].
	Replay func(ctx context.Context, id int64) ([]string, error)
	Logger hclog.Logger
}

// ReplayLetter replays dead letter id; the Action's Result says how it went
// also when err is set.
func (d *DeadLetters) ReplayLetter(ctx context.Context, id int64) (Action, error) {
	a, err := d.replay(ctx, id)
	d.log("replay", id, err)
	return a, err
}

func (d *DeadLetters) replay(ctx context.Context, id int64) (Action, error) {
	backends, err := d.Replay(ctx, id)
	return Action{ID: id, Result: Outcome(err, Replayed), Backends: backends}, err
}

// DropLetter deletes dead letter id; its work item (if any) stays dead
// until a new notification or a replay.
func (d *DeadLetters) DropLetter(ctx context.Context, id int64) (Action, error) {
	a, err := d.drop(ctx, id)
	d.log("drop", id, err)
	return a, err
}

func (d *DeadLetters) drop(ctx context.Context, id int64) (Action, error) {
	err := d.Store.DropDeadLetter(ctx, id)
	return Action{ID: id, Result: Outcome(err, Dropped)}, err
}

func (d *DeadLetters) log(op string, id int64, err error) {
	if d.Logger == nil {
		return
	}
	if err != nil {
		d.Logger.Warn("dead letter "+op+" failed", "id", id, "result", Outcome(err, ""), "error", err)
		return
	}
	d.Logger.Info("dead letter "+op, "id", id)
}

// Handler serves the whole API under [Prefix] (work items are read from
// d.Store); mount it behind the admin token.
func (d *DeadLetters) Handler() http.Handler {
	mux := http.NewServeMux()
	const list, one = "/api/v1/deadletters", "/api/v1/deadletters/{id}"
	mux.HandleFunc("GET "+list, d.list)
	mux.HandleFunc("GET "+one, d.withID(func(ctx context.Context, id int64) (any, error) {
		dl, err := d.Store.GetDeadLetter(ctx, id)
		if err != nil {
			return nil, err
		}
		return FromStore(dl), nil
	}))
	mux.HandleFunc("POST "+one+"/replay", d.withID(func(ctx context.Context, id int64) (any, error) { return d.ReplayLetter(ctx, id) }))
	drop := d.withID(func(ctx context.Context, id int64) (any, error) { return d.DropLetter(ctx, id) })
	mux.HandleFunc("POST "+one+"/drop", drop)
	mux.HandleFunc("DELETE "+one, drop)
	// The bulk paths are POST only; a GET reaches the 405 of one+"/replay".
	mux.HandleFunc("POST "+list+"/bulk/replay", d.bulk(d.ReplayMatching))
	mux.HandleFunc("POST "+list+"/bulk/drop", d.bulk(d.DropMatching))

	const items, item = "/api/v1/workitems", "/api/v1/workitems/{id}"
	mux.HandleFunc("GET "+items, d.listItems)
	mux.HandleFunc("GET "+item, d.withItemID(func(ctx context.Context, id int64, _ *http.Request) (any, error) {
		it, err := d.Store.GetItem(ctx, id)
		if err != nil {
			return nil, err
		}
		return WorkItemFromStore(it, nil), nil
	}))
	mux.HandleFunc("GET "+item+"/events", d.withItemID(func(ctx context.Context, id int64, r *http.Request) (any, error) {
		f, err := ParseEventFilter(r.URL.Query())
		if err != nil {
			return nil, badRequest{err}
		}
		if _, err := d.Store.GetItem(ctx, id); err != nil {
			return nil, err
		}
		f.ItemID = id
		evs, err := d.Store.ListEvents(ctx, f)
		if err != nil {
			return nil, err
		}
		return NewEventList(evs), nil
	}))

	// Known paths with another method: 405 in JSON, with Allow.
	for path, allow := range map[string]string{list: "GET, HEAD", one: "GET, HEAD, DELETE", one + "/replay": "POST", one + "/drop": "POST",
		items: "GET, HEAD", item: "GET, HEAD", item + "/events": "GET, HEAD"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			WriteError(w, MethodNotAllowed, fmt.Sprintf("%s %s: allowed methods are %s", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, NotFound, fmt.Sprintf("no API path %s", r.URL.Path))
	})
	return mux
}

// badRequest marks an error as the caller's: 400.
type badRequest struct{ error }

func (e badRequest) Unwrap() error { return e.error }

func (d *DeadLetters) withItemID(op func(ctx context.Context, id int64, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			WriteError(w, BadRequest, fmt.Sprintf("work item id %q is not a positive number", r.PathValue("id")))
			return
		}
		v, err := op(r.Context(), id, r)
		var bad badRequest
		switch {
		case errors.As(err, &bad):
			WriteError(w, BadRequest, err.Error())
		case err != nil:
			WriteError(w, Outcome(err, ""), err.Error())
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

func (d *DeadLetters) listItems(w http.ResponseWriter, r *http.Request) {
	f, err := ParseItemFilter(r.URL.Query())
	if err != nil {
		WriteError(w, BadRequest, err.Error())
		return
	}
	items, err := d.Store.ListItems(r.Context(), f)
	if err != nil {
		WriteError(w, Failed, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, NewWorkItemList(items))
}

func (d *DeadLetters) withID(op func(ctx context.Context, id int64) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			WriteError(w, BadRequest, fmt.Sprintf("dead letter id %q is not a positive number", r.PathValue("id")))
			return
		}
		v, err := op(r.Context(), id)
		if err != nil {
			WriteError(w, Outcome(err, ""), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (d *DeadLetters) list(w http.ResponseWriter, r *http.Request) {
	f, err := ParseFilter(r.URL.Query())
	if err != nil {
		WriteError(w, BadRequest, err.Error())
		return
	}
	dls, err := d.Store.ListDeadLetters(r.Context(), f)
	if err != nil {
		WriteError(w, Failed, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, NewList(dls))
}

// DefaultLimit and MaxLimit bound how many letters one list answer holds.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ParseFilter reads the list's filter: backend (type.name), unmatched
// (true: only alerts no route took), before_id (a positive id, for paging)
// and limit (1 to [MaxLimit], default [DefaultLimit]). Unknown parameters
// are refused, so that a typo does not widen an operation on many letters.
func ParseFilter(q url.Values) (store.DeadLetterFilter, error) {
	return parseDeadLetterFilter(q, DefaultLimit)
}

func parseDeadLetterFilter(q url.Values, defaultLimit int) (store.DeadLetterFilter, error) {
	f := store.DeadLetterFilter{Backend: q.Get("backend"), Limit: defaultLimit}
	if err := known(q, "backend", "unmatched", "before_id", "limit"); err != nil {
		return f, err
	}
	switch v := q.Get("unmatched"); v {
	case "", "false":
	case "true":
		f.Unmatched = true
	default:
		return f, fmt.Errorf("unmatched=%q: want true or false", v)
	}
	if f.Unmatched && f.Backend != "" {
		return f, fmt.Errorf("backend=%q and unmatched=true: an alert no route took has no backend; give one of them", f.Backend)
	}
	var err error
	if f.BeforeID, err = positive(q, "before_id"); err != nil {
		return f, err
	}
	if f.Limit, err = limit(q, defaultLimit); err != nil {
		return f, err
	}
	return f, nil
}

// known refuses a parameter not in names.
func known(q url.Values, names ...string) error {
	for name := range q {
		if !slices.Contains(names, name) {
			return fmt.Errorf("unknown parameter %q: the filter takes %s", name, strings.Join(names, ", "))
		}
	}
	return nil
}

// positive reads the positive id q[name], 0 when absent.
func positive(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive number", name, v)
	}
	return n, nil
}

// limit reads q's limit, 1 to MaxLimit.
func limit(q url.Values, def int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > MaxLimit {
		return 0, fmt.Errorf("limit=%q is not a number from 1 to %d", v, MaxLimit)
	}
	return n, nil
}

// WriteError answers code's status with an [Error] body.
func WriteError(w http.ResponseWriter, code Result, msg string) {
	writeJSON(w, code.Status(), Error{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
