// Package status renders the operator's status page on the admin listener:
// each backend's plugin and queue, recent work items, and dead letters with a
// replay button. It is server-rendered HTML with no scripts, so it works
// through any proxy and in any browser.
package status

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

//go:embed page.html
var pageFS embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	// weblink keeps only http(s) URLs as links; others (file://) are shown as text.
	"weblink": func(u string) bool { return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") },
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
}).ParseFS(pageFS, "page.html"))

// Backend is what the page shows of one backend's plugin.
type Backend struct {
	Ref      string
	Plugin   string
	Version  string
	Caps     sdk.Capabilities
	Restarts int64
}

// Sources feed the page.
type Sources struct {
	// Backends lists the running backends.
	Backends func() []Backend
	// Stats reads queue depths.
	Stats func(ctx context.Context) (delivery.Stats, error)
	// Store lists work items and dead letters.
	Store store.Store
	// Replay sends a dead letter back through reconcile: the admin API's
	// [adminapi.DeadLetters.ReplayLetter], so that the button and the API
	// answer the same.
	Replay func(ctx context.Context, id int64) (adminapi.Action, error)
	Logger hclog.Logger
}

// Handler serves the page at "/" and replays at POST /deadletters/{id}/replay.
// Mount it behind the admin listener's protection (package admin), which
// refuses cross-site posts.
func Handler(src Sources) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", src.page)
	mux.HandleFunc("POST /deadletters/{id}/replay", src.replay)
	return mux
}

type backendRow struct {
	Backend
	delivery.BackendStats
}

type view struct {
	Now         time.Time
	Backends    []backendRow
	Unmatched   int64
	Items       []*store.Item
	DeadLetters []*store.DeadLetter
	Error       string
	Notice      *Notice
}

// Notice is the banner after a replay: a fixed text per result, never text
// taken from the URL.
type Notice struct {
	Text string
	OK   bool
}

// notices are the banner texts by result; %d is the dead letter's id.
var notices = map[adminapi.Result]struct {
	format string
	ok     bool
}{
	adminapi.Replayed:   {"Dead letter %d replayed: its work is queued again.", true},
	adminapi.NotFound:   {"Dead letter %d was not replayed: there is no such dead letter (it was replayed or dropped already).", false},
	adminapi.Unroutable: {"Dead letter %d was not replayed: its alert still matches no route. Fix the routes, reload (SIGHUP) and replay it again; the letter is kept.", false},
	adminapi.Failed:     {"Dead letter %d was not replayed: the store failed. The connector's log has the error.", false},
}

// NoticeFor is the banner for the page's query (?result=<code>&id=<n>, as
// the replay redirects to), or nil when it names no known result.
func NoticeFor(q url.Values) *Notice {
	n, ok := notices[adminapi.Result(q.Get("result"))]
	id, err := strconv.ParseInt(q.Get("id"), 10, 64)
	if !ok || err != nil || id <= 0 {
		return nil
	}
	return &Notice{Text: fmt.Sprintf(n.format, id), OK: n.ok}
}

func (s Sources) page(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v := view{Now: time.Now(), Notice: NoticeFor(r.URL.Query())}
	var errs []error
	stats, err := s.Stats(ctx)
	errs = append(errs, err)
	for _, b := range s.Backends() {
		v.Backends = append(v.Backends, backendRow{Backend: b, BackendStats: stats.Backends[b.Ref]})
	}
	sort.Slice(v.Backends, func(i, j int) bool { return v.Backends[i].Ref < v.Backends[j].Ref })
	v.Unmatched = stats.Unmatched
	v.Items, err = s.Store.ListItems(ctx, store.ItemFilter{Limit: 25})
	errs = append(errs, err)
	v.DeadLetters, err = s.Store.ListDeadLetters(ctx, store.DeadLetterFilter{Limit: 25})
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		v.Error = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if err := page.Execute(w, v); err != nil && s.Logger != nil {
		s.Logger.Warn("status page", "error", err)
	}
}

func (s Sources) replay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "dead letter id must be a positive number", http.StatusBadRequest)
		return
	}
	a, _ := s.Replay(r.Context(), id) // the operation logs a failure
	q := url.Values{"result": {string(a.Result)}, "id": {strconv.FormatInt(id, 10)}}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}
