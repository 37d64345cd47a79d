// Package console is the operator's triage console on the admin listener:
// an overview of every backend (queues, deliveries and failures over the
// last hour, auth rejections), the work items with their audit trails,
// configuration item bindings and alerts, and the dead letters with
// replay and drop, one by one or all that match a filter.
//
// Pages are rendered on the server (html/template) and work without
// scripts; one small script, embedded like the style sheet, refreshes the
// overview. Every answer carries a Content-Security-Policy that allows
// only the console's own script, style sheet and fetches, and no inline
// script or style, so text from alerts and plugins can never run.
//
// Replay and drop are POSTs mounted behind the admin listener's protection
// (package admin: the admin token, and the same-origin proof a browser
// must give), and call the same operations as the JSON admin API
// ([adminapi.DeadLetters]), so a result means the same on every path.
// Drop and the operations on many letters ask for a confirmation first. A
// failed action answers its failure's status (404, 409, 500) with the
// error in a red banner; only a success redirects to a page with a green
// one.
package console

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// CSP is the Content-Security-Policy of every console answer: the
// console's own script and style sheet, fetches of its own overview
// fragment, inline SVG charts, and nothing inline, framed or posted
// elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Backend is what the console shows of one backend's plugin.
type Backend struct {
	Ref      string
	Plugin   string
	Version  string
	Caps     sdk.Capabilities
	Restarts int64
}

// MaintenanceWindow is one active maintenance window, as the overview
// lists it (host/app feeds them from the admin API's list).
type MaintenanceWindow struct {
	Name string
	// Scope says what it holds back, e.g. a backend or a route.
	Scope      string
	Start, End time.Time
}

// Sources feed the console.
type Sources struct {
	// Backends lists the running backends.
	Backends func() []Backend
	// Stats reads queue depths and this instance's work in flight.
	Stats func(ctx context.Context) (delivery.Stats, error)
	// Store lists work items, their audit trails and dead letters.
	Store store.Store
	// DeadLetters are the replay and drop operations of the JSON admin API.
	DeadLetters *adminapi.DeadLetters
	// Metrics, when set, gives the auth rejections by reason.
	Metrics *metrics.Metrics
	// Sampler, when set, gives the overview's charts.
	Sampler *Sampler
	// MaintenanceWindows, when set, lists the active maintenance windows;
	// the overview shows the section only when there are any.
	MaintenanceWindows func(ctx context.Context) ([]MaintenanceWindow, error)

	Version    string
	InstanceID string
	Started    time.Time
	// RefreshEvery is how often the overview refreshes itself; 10s.
	RefreshEvery time.Duration
	Logger       hclog.Logger
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Handler serves the console. Mount it at "/" behind the admin listener's
// protection (package admin), which requires the admin token and refuses
// posts from other sites' pages.
func Handler(src Sources) http.Handler {
	c := &console{Sources: src, pages: parsePages()}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /overview/live", c.overviewLive)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /workitems", c.workItems)
	mux.HandleFunc("GET /workitems/{id}", c.workItem)
	mux.HandleFunc("GET /deadletters", c.deadLetters)
	mux.HandleFunc("GET /deadletters/{id}", c.deadLetter)
	mux.HandleFunc("POST /deadletters/{id}/replay", c.replay)
	mux.HandleFunc("GET /deadletters/{id}/drop", c.confirmDrop)
	mux.HandleFunc("POST /deadletters/{id}/drop", c.drop)
	mux.HandleFunc("GET /deadletters/bulk", c.confirmBulk)
	mux.HandleFunc("POST /deadletters/bulk", c.bulk)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "No such page", "There is no console page at this address.")
	})
	return headers(mux)
}

// headers sets what every console answer carries.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", CSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if !isStatic(r) {
			// Pages carry alert data.
			w.Header().Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func isStatic(r *http.Request) bool { return len(r.URL.Path) > 8 && r.URL.Path[:8] == "/static/" }

type console struct {
	Sources
	pages map[string]*template.Template
}

// page is what every page's layout needs.
type page struct {
	Title   string
	Nav     string // overview, workitems, deadletters
	Now     time.Time
	Notice  *Notice
	Version string
	Body    any
}

// Notice is a banner: green for a success, red for a failure. Its text is
// fixed by code or is the operation's own error, never taken from the URL.
type Notice struct {
	Text   string
	Detail string
	OK     bool
}

// render writes the page named name with status.
func (c *console) render(w http.ResponseWriter, status int, name string, p page) {
	p.Now, p.Version = c.Now(), c.Version
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.Logger.Error("console page", "page", name, "error", err)
		http.Error(w, "the console could not render this page; the connector's log has the error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers an error page.
func (c *console) fail(w http.ResponseWriter, _ *http.Request, status int, title, text string) {
	c.render(w, status, "error", page{Title: title, Notice: &Notice{Text: text}})
}

// pathID reads the positive id of the path.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// timeout bounds one page's store reads.
func timeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
