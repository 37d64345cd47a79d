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
	// Replay sends a dead letter back through reconcile.
	Replay func(ctx context.Context, id int64) error
	Logger hclog.Logger
}

// Handler serves the page at "/" and replays at POST /deadletters/{id}/replay.
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
	Message     string
}

func (s Sources) page(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v := view{Now: time.Now(), Message: r.URL.Query().Get("msg")}
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
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	if err := page.Execute(w, v); err != nil && s.Logger != nil {
		s.Logger.Warn("status page", "error", err)
	}
}

func (s Sources) replay(w http.ResponseWriter, r *http.Request) {
	// A cross-site form post must not replay anything: browsers send Origin
	// (or Sec-Fetch-Site) with every POST.
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
	} else if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "dead letter id must be a positive number", http.StatusBadRequest)
		return
	}
	msg := fmt.Sprintf("dead letter %d replayed", id)
	if err := s.Replay(r.Context(), id); err != nil {
		msg = fmt.Sprintf("replaying dead letter %d failed: %v", id, err)
	}
	http.Redirect(w, r, "/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}
