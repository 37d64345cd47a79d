package maintenance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Where a window comes from: Window.Source.
const (
	// SourceConfig: a maintenance block of connector.hcl.
	SourceConfig = "config"
	// SourceAdHoc: started through the admin API (or the command line),
	// kept in the store.
	SourceAdHoc = "adhoc"
)

// Window is one maintenance window, compiled.
type Window struct {
	Name     string
	Source   string
	Schedule Schedule
	// When is nil for every alert; WhenText is it as written.
	When     hcl.Expression
	WhenText string
	// OnEnd is route.OnEndCreate or route.OnEndDrop.
	OnEnd string
	// Reason and CreatedAt are an ad-hoc window's.
	Reason    string
	CreatedAt time.Time
}

// Compile compiles the maintenance blocks of cfg. Every `when` is checked
// as a route's is (route.CheckCondition), so a misspelt alert field fails
// `validate` and `serve`.
func Compile(cfg *config.Config) ([]*Window, hcl.Diagnostics) {
	var (
		out   []*Window
		diags hcl.Diagnostics
	)
	for _, m := range cfg.Maintenance {
		w := &Window{Name: m.Name, Source: SourceConfig, When: m.When, OnEnd: m.OnEnd}
		if w.OnEnd == "" {
			w.OnEnd = route.OnEndCreate
		}
		if wk := m.Weekly; wk != nil {
			w.Schedule = Schedule{Weekly: &Weekly{Days: wk.Days, StartMinute: wk.StartMinute, Duration: wk.Duration, Location: wk.Location}}
		} else {
			w.Schedule = Schedule{Start: m.Start, End: m.End}
		}
		if m.When != nil {
			diags = append(diags, route.CheckCondition(fmt.Sprintf("maintenance window %q", m.Name), m.When)...)
			w.WhenText = sourceText(cfg.Files, m.When.Range())
		}
		out = append(out, w)
	}
	return out, diags
}

// sourceText is the text at r in the loaded files.
func sourceText(files map[string]*hcl.File, r hcl.Range) string {
	f, ok := files[r.Filename]
	if !ok || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(f.Bytes[r.Start.Byte:r.End.Byte])
}

// ParseWhen parses and checks an ad-hoc window's `when`, as a route's
// `when` is checked at load. Empty text is every alert (nil).
func ParseWhen(name, text string) (hcl.Expression, hcl.Diagnostics) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(text), "when", hcl.Pos{Line: 1, Column: 1, Byte: 0})
	if diags.HasErrors() {
		return nil, diags
	}
	return expr, route.CheckCondition(fmt.Sprintf("maintenance window %q", name), expr)
}

// Errors of Start and End, for callers to test with errors.Is (with
// store.ErrConflict and store.ErrNotFound).
var (
	// ErrInvalid: the window asked for is not valid (its message says why).
	ErrInvalid = errors.New("invalid maintenance window")
	// ErrConfigured: the name is a window of connector.hcl, which the
	// admin API neither replaces nor ends.
	ErrConfigured = errors.New("defined in the configuration")
)

// MaxAdHocDuration bounds an ad-hoc window, so that a typo does not hold
// alerts back for a year.
const MaxAdHocDuration = 31 * 24 * time.Hour

// maxReason bounds an ad-hoc window's reason.
const maxReason = 500

// AdHoc is an ad-hoc window to start.
type AdHoc struct {
	Name string
	// When is an HCL expression over `alert`; empty matches every alert.
	When string
	// Start defaults to now.
	Start time.Time
	// End, or else Start plus Duration.
	End      time.Time
	Duration time.Duration
	// OnEnd defaults to route.OnEndCreate.
	OnEnd  string
	Reason string
}

// Status is a window as listings show it: whether it is on at the time
// asked, and its occurrence then, or else the next one (both zero when
// there is none).
type Status struct {
	*Window
	Active     bool
	Start, End time.Time
}

// Match is a window on at the time asked and whether its `when` takes an
// alert; Err says why it could not be evaluated for it (then it does not).
type Match struct {
	Status
	Matched bool
	Err     error
}

// Windows is the running connector's maintenance windows: those of its
// configuration (replaced by SetConfigured on reload) and the ad-hoc ones
// of its store (read again by Refresh, so replicas sharing PostgreSQL see
// each other's). It is safe for concurrent use; Hold is lock-free.
type Windows struct {
	st  store.Store
	log hclog.Logger

	mu         sync.Mutex // serializes changes to the two lists
	configured []*Window
	adhoc      []*Window
	cur        atomic.Pointer[set]
}

// set is one immutable generation of the windows, with the projection of
// the alert that their conditions read.
type set struct {
	windows []*Window
	alert   alertvalue.Projection
}

// New returns the windows of configured and, once Refresh has read them,
// st's ad-hoc ones. st may be nil (the dry run without a store).
func New(st store.Store, configured []*Window, log hclog.Logger) *Windows {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	w := &Windows{st: st, log: log, configured: configured}
	w.publish()
	return w
}

// publish makes the current lists the set Hold reads; w.mu held or not
// yet shared.
func (w *Windows) publish() {
	all := append(append([]*Window(nil), w.configured...), w.adhoc...)
	var refs []hcl.Traversal
	for _, x := range all {
		if x.When != nil {
			refs = append(refs, x.When.Variables()...)
		}
	}
	w.cur.Store(&set{windows: all, alert: alertvalue.ProjectionFor(refs)})
}

// SetConfigured replaces the configuration's windows (a reload). Holds
// already recorded keep the end they were given.
func (w *Windows) SetConfigured(ws []*Window) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.configured = ws
	w.publish()
}

// Refresh reads the ad-hoc windows from the store again.
func (w *Windows) Refresh(ctx context.Context, now time.Time) error {
	if w.st == nil {
		return nil
	}
	stored, err := w.st.ListMaintenance(ctx, now)
	if err != nil {
		return err
	}
	adhoc := make([]*Window, 0, len(stored))
	for _, s := range stored {
		x, err := fromStore(s)
		if err != nil {
			// Checked when it was started; a later release may know the
			// alert differently.
			w.log.Error("ad-hoc maintenance window skipped: its when no longer compiles", "window", s.Name, "error", err)
			continue
		}
		adhoc = append(adhoc, x)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.adhoc = adhoc
	w.publish()
	return nil
}

// Run refreshes the ad-hoc windows every interval until ctx ends, so that
// a window another replica started or ended takes effect here too.
func (w *Windows) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := w.Refresh(ctx, time.Now()); err != nil && ctx.Err() == nil {
				w.log.Warn("reading ad-hoc maintenance windows failed; the ones read before stay in effect", "error", err)
			}
		}
	}
}

func fromStore(s store.MaintenanceWindow) (*Window, error) {
	expr, diags := ParseWhen(s.Name, s.When)
	if diags.HasErrors() {
		return nil, errors.New(config.DiagnosticsText(diags))
	}
	onEnd := s.OnEnd
	if onEnd == "" {
		onEnd = route.OnEndCreate
	}
	return &Window{Name: s.Name, Source: SourceAdHoc, Schedule: Schedule{Start: s.Start, End: s.End}, When: expr, WhenText: s.When,
		OnEnd: onEnd, Reason: s.Reason, CreatedAt: s.CreatedAt}, nil
}

// Hold is the maintenance window alert a falls in at now, as ingest
// records it: of the windows on at now whose `when` takes the alert, the
// one that ends last (on_end "create" before "drop" when two end
// together); nil when none does.
func (w *Windows) Hold(a *sdk.Alert, now time.Time) *route.MaintenanceHold {
	cur := w.cur.Load()
	if len(cur.windows) == 0 {
		return nil
	}
	var (
		best *route.MaintenanceHold
		ctx  *hcl.EvalContext
	)
	for _, x := range cur.windows {
		_, end, on := x.Schedule.Occurrence(now)
		if !on {
			continue
		}
		if x.When != nil {
			if ctx == nil {
				ctx = route.ConditionContext(cur.alert.Value(a))
			}
			if ok, _ := route.EvalCondition(x.When, ctx); !ok {
				continue
			}
		}
		if best == nil || end.After(best.Until) || (end.Equal(best.Until) && x.OnEnd == route.OnEndCreate) {
			best = &route.MaintenanceHold{Window: x.Name, Until: end, OnEnd: x.OnEnd}
		}
	}
	return best
}

// Matches lists, for the dry run, every window on at now and whether it
// takes alert a.
func (w *Windows) Matches(a *sdk.Alert, now time.Time) []Match {
	var out []Match
	ctx := route.ConditionContext(alertvalue.Value(a))
	for _, st := range w.List(now) {
		if !st.Active {
			continue
		}
		m := Match{Status: st, Matched: true}
		if st.When != nil {
			m.Matched, m.Err = route.EvalCondition(st.When, ctx)
		}
		out = append(out, m)
	}
	return out
}

// List is every window with its state at now: the configuration's, then
// the ad-hoc ones, by name.
func (w *Windows) List(now time.Time) []Status {
	cur := w.cur.Load()
	out := make([]Status, 0, len(cur.windows))
	for _, x := range cur.windows {
		st := Status{Window: x}
		if start, end, on := x.Schedule.Occurrence(now); on {
			st.Active, st.Start, st.End = true, start, end
		} else if next, ok := x.Schedule.NextStart(now); ok {
			st.Start = next
			_, st.End, _ = x.Schedule.Occurrence(next)
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source == SourceConfig
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Get returns the window named name at now; false when there is none.
func (w *Windows) Get(name string, now time.Time) (Status, bool) {
	for _, st := range w.List(now) {
		if st.Name == name {
			return st, true
		}
	}
	return Status{}, false
}

// configuredNamed reports whether the configuration has a window named name.
func (w *Windows) configuredNamed(name string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.configured {
		if x.Name == name {
			return true
		}
	}
	return false
}

// Start checks and stores an ad-hoc window and puts it in effect here at
// once (other replicas within their refresh interval). Errors wrap
// ErrInvalid (the request is wrong), ErrConfigured (the configuration has
// a window of that name) or store.ErrConflict (an ad-hoc window of that
// name has not ended).
func (w *Windows) Start(ctx context.Context, req AdHoc, now time.Time) (Status, error) {
	s, err := check(req, now)
	if err != nil {
		return Status{}, err
	}
	if w.configuredNamed(s.Name) {
		return Status{}, fmt.Errorf("maintenance window %q is %w (connector.hcl); choose another name", s.Name, ErrConfigured)
	}
	if w.st == nil {
		return Status{}, errors.New("maintenance: no store to keep ad-hoc windows in")
	}
	if err := w.st.PutMaintenance(ctx, s, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Status{}, fmt.Errorf("ad-hoc maintenance window %q is on or to come; end it first, or choose another name: %w", s.Name, store.ErrConflict)
		}
		return Status{}, err
	}
	if err := w.Refresh(ctx, now); err != nil {
		return Status{}, fmt.Errorf("maintenance window %q stored, but reading the windows again failed (it takes effect within the next refresh): %w", s.Name, err)
	}
	st, _ := w.Get(s.Name, now)
	return st, nil
}

// check validates an ad-hoc window and returns it as the store keeps it.
func check(req AdHoc, now time.Time) (store.MaintenanceWindow, error) {
	invalid := func(format string, args ...any) (store.MaintenanceWindow, error) {
		return store.MaintenanceWindow{}, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if err := config.CheckMaintenanceName(req.Name); err != nil {
		return invalid("name: %s", err)
	}
	if _, diags := ParseWhen(req.Name, req.When); diags.HasErrors() {
		return invalid("when: %s", config.DiagnosticsText(diags))
	}
	start := req.Start
	if start.IsZero() {
		start = now
	}
	end := req.End
	switch {
	case !end.IsZero() && req.Duration != 0:
		return invalid("give end or duration, not both")
	case end.IsZero() && req.Duration <= 0:
		return invalid("give end (an RFC 3339 time) or a positive duration, e.g. \"2h\"")
	case end.IsZero():
		end = start.Add(req.Duration)
	}
	switch {
	case !end.After(start):
		return invalid("end (%s) is not after start (%s)", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	case !end.After(now):
		return invalid("end (%s) has passed", end.UTC().Format(time.RFC3339))
	case end.Sub(start) > MaxAdHocDuration:
		return invalid("the window lasts %v, more than %v; define a long or recurring window in connector.hcl", end.Sub(start), MaxAdHocDuration)
	}
	onEnd := req.OnEnd
	if onEnd == "" {
		onEnd = route.OnEndCreate
	}
	if onEnd != route.OnEndCreate && onEnd != route.OnEndDrop {
		return invalid("on_end %q is not known; use %q or %q", onEnd, route.OnEndCreate, route.OnEndDrop)
	}
	if len(req.Reason) > maxReason || strings.ContainsFunc(req.Reason, unicode.IsControl) {
		return invalid("reason: at most %d characters, no control characters", maxReason)
	}
	return store.MaintenanceWindow{Name: req.Name, When: strings.TrimSpace(req.When), Start: start.UTC(), End: end.UTC(), OnEnd: onEnd,
		Reason: req.Reason, CreatedAt: now.UTC()}, nil
}

// End ends ad-hoc window name at now (or cancels it before it starts), so
// that the alerts it holds are settled at once (by every replica: the
// release is in the store), and returns it as ended with how many work
// items it released. Errors wrap ErrConfigured, or store.ErrNotFound when
// no ad-hoc window of that name is on or to come.
func (w *Windows) End(ctx context.Context, name string, now time.Time) (Status, int64, error) {
	if w.configuredNamed(name) {
		return Status{}, 0, fmt.Errorf("maintenance window %q is %w (connector.hcl): change or remove it there, and reload", name, ErrConfigured)
	}
	if w.st == nil {
		return Status{}, 0, errors.New("maintenance: no store to keep ad-hoc windows in")
	}
	ended, released, err := w.st.EndMaintenance(ctx, name, now)
	if err != nil {
		return Status{}, 0, err
	}
	if err := w.Refresh(ctx, now); err != nil {
		w.log.Warn("reading ad-hoc maintenance windows after an end failed", "window", name, "error", err)
	}
	x, err := fromStore(ended)
	if err != nil {
		x = &Window{Name: ended.Name, Source: SourceAdHoc, Schedule: Schedule{Start: ended.Start, End: ended.End}, WhenText: ended.When,
			OnEnd: ended.OnEnd, Reason: ended.Reason, CreatedAt: ended.CreatedAt}
	}
	return Status{Window: x, Start: ended.Start, End: ended.End}, released, nil
}
