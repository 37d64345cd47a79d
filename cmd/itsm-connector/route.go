package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/maintenance"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
)

func init() {
	register("route", "dry run: show where alerts would go and what would be sent", runRoute)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("route", stderr)
	opts := app.Options{NotServing: true}
	var alerts stringList
	configFlags(fs, &opts, "route with the configuration as serve -dev runs it")
	fs.Var(&alerts, "alert", "alert payload `file` (repeatable; further files may follow the flags)")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	at := fs.String("at", "", "evaluate maintenance windows at this RFC 3339 `time` (default now)")
	readStore := fs.Bool("store", true, "read the store, when it exists, for the work items' flapping and maintenance state and the ad-hoc maintenance windows")
	fs.StringVar(&opts.DataDir, "data-dir", app.DevDataDir, "dev mode's data `dir`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	alerts = append(alerts, fs.Args()...)
	if len(alerts) == 0 {
		return errors.New("no alert given: use -alert FILE")
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("-at %q is not an RFC 3339 time; write e.g. 2026-03-07T22:30:00+01:00", *at)
		}
		now = t
	}
	defaultConfig(&opts)
	cfg, diags := app.LoadConfig(opts)
	if !diags.HasErrors() {
		var router *route.Router
		router, d := app.CompileRoutes(cfg)
		diags = append(diags, d...)
		windows, d := maintenance.Compile(cfg)
		diags = append(diags, d...)
		if !diags.HasErrors() {
			p := &policyView{at: now, windows: maintenance.New(nil, windows, nil)}
			if *readStore {
				p.open(ctx, cfg, windows)
				defer p.close()
			}
			return explainAll(ctx, router, p, alerts, *asJSON, stdout)
		}
	}
	writeDiagnostics(stderr, cfg.Files, diags)
	return exitError{code: 1}
}

// policyView is what the dry run shows of the lifecycle policy: the
// maintenance windows at a time and, when the store could be read, the
// ad-hoc windows and the work items' state.
type policyView struct {
	at      time.Time
	windows *maintenance.Windows
	st      store.Store
	// note says why the store could not be read, when it was wanted.
	note string
}

// open reads the store the configuration names, when it exists: a SQLite
// file that is there (the dry run creates none), or PostgreSQL.
func (p *policyView) open(ctx context.Context, cfg *config.Config, windows []*maintenance.Window) {
	if cfg.Store.Driver != config.DriverPostgres {
		if _, err := os.Stat(cfg.Store.Path); err != nil {
			return // no store yet: no work items, no ad-hoc windows
		}
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := app.OpenStore(octx, cfg.Store)
	if err != nil {
		p.note = fmt.Sprintf("store not read (%v): work items' state and ad-hoc maintenance windows are not shown", err)
		return
	}
	p.st, p.windows = st, maintenance.New(st, windows, nil)
	if err := p.windows.Refresh(octx, p.at); err != nil {
		p.note = fmt.Sprintf("ad-hoc maintenance windows not read: %v", err)
	}
}

func (p *policyView) close() {
	if p.st != nil {
		_ = p.st.Close()
	}
}

// itemState is a delivery's work item as the store has it, for the dry run.
type itemState struct {
	ID            int64                  `json:"id"`
	Backend       string                 `json:"backend"`
	Route         string                 `json:"route"`
	Remote        store.RemoteState      `json:"remote"`
	FlappingSince time.Time              `json:"flapping_since,omitzero"`
	Maintenance   *route.MaintenanceHold `json:"maintenance,omitempty"`
	// StormParent is the storm's parent work item the item is a member of.
	StormParent int64 `json:"storm_parent,omitempty"`
}

// item is d's work item in the store; nil when there is none (or no store).
func (p *policyView) item(ctx context.Context, d route.Delivery) *itemState {
	if p.st == nil {
		return nil
	}
	items, err := p.st.ListItems(ctx, store.ItemFilter{Backend: d.Backend, Route: d.Route, CorrelationKey: d.CorrelationKey, Limit: 1})
	if err != nil || len(items) == 0 {
		return nil
	}
	it := items[0]
	out := &itemState{ID: it.ID, Backend: it.Backend, Route: it.Route, Remote: it.Remote, FlappingSince: it.FlapState.Since,
		StormParent: it.StormParent}
	if it.Hold.Seq > 0 {
		h := it.Hold.MaintenanceHold
		out.Maintenance = &h
	}
	return out
}

func explainAll(ctx context.Context, router *route.Router, p *policyView, files []string, asJSON bool, w io.Writer) error {
	if p.note != "" && !asJSON {
		fmt.Fprintf(w, "note: %s\n\n", termText(p.note))
	}
	failed := 0
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		alert, err := commonschema.Decode(body)
		if err != nil {
			fmt.Fprintf(w, "%s: rejected: %s\n", termText(f), termText(err.Error()))
			failed++
			continue
		}
		ex, err := router.Explain(alert)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		var (
			matches []maintenance.Match
			items   []*itemState
		)
		if len(ex.Decision.Deliveries) > 0 {
			matches = p.windows.Matches(alert, p.at)
			ex.Decision.Hold = p.windows.Hold(alert, p.at)
			for _, d := range ex.Decision.Deliveries {
				items = append(items, p.item(ctx, d))
			}
		}
		if asJSON {
			type window struct {
				Name    string    `json:"name"`
				Until   time.Time `json:"until"`
				Matched bool      `json:"matched"`
				Error   string    `json:"error,omitempty"`
			}
			ws := []window{}
			for _, m := range matches {
				wd := window{Name: m.Name, Until: m.End, Matched: m.Matched}
				if m.Err != nil {
					wd.Error = m.Err.Error()
				}
				ws = append(ws, wd)
			}
			if err := printJSON(w, map[string]any{"file": f, "alert_id": alert.ID, "explanation": ex, "at": p.at.UTC(),
				"maintenance_windows": ws, "work_items": items, "store_note": p.note}); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		printExplanation(w, f, alert.Rule, string(alert.Condition), ex)
		printPolicy(w, p, ex, matches, items)
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}

// maxListedCIs is how many configuration items the text output lists per
// delivery before it sums up the rest.
const maxListedCIs = 10

func printExplanation(w io.Writer, file, rule, condition string, ex route.Explanation) {
	fmt.Fprintf(w, "%s: rule %q, %s\n", termText(file), rule, termText(condition))
	for _, r := range ex.Routes {
		switch {
		case r.Error != "":
			fmt.Fprintf(w, "  route %-20s skipped: %s\n", termText(r.Route), termText(r.Error))
		case r.Matched:
			fmt.Fprintf(w, "  route %-20s matched → %s\n", termText(r.Route), termText(strings.Join(r.Backends, ", ")))
		default:
			fmt.Fprintf(w, "  route %-20s no match\n", termText(r.Route))
		}
	}
	if ex.Decision.Unmatched != "" {
		fmt.Fprintf(w, "  dead letter: %s\n", termText(ex.Decision.Unmatched))
	}
	for _, d := range ex.Decision.Deliveries {
		fmt.Fprintf(w, "  delivery %s via route %s\n", termText(d.Backend), termText(d.Route))
		fmt.Fprintf(w, "    correlation_key = %s\n", termText(d.CorrelationKey))
		if d.Note != "" {
			fmt.Fprintf(w, "    note: %s\n", termText(d.Note))
		}
		for i, ci := range d.ConfigurationItems {
			if i == maxListedCIs && len(d.ConfigurationItems) > maxListedCIs+1 {
				fmt.Fprintf(w, "    … and %d more configuration items (-json lists them all)\n", len(d.ConfigurationItems)-i)
				break
			}
			if ci.ResourceID == "" {
				fmt.Fprintf(w, "    configuration_item = %s (no resource id)\n", termText(ci.Name))
				continue
			}
			fmt.Fprintf(w, "    configuration_item = %s (%s)\n", termText(ci.Name), termText(ci.ResourceID))
		}
		keys := make([]string, 0, len(d.Fields))
		for k := range d.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := json.Marshal(d.Fields[k])
			policy := ""
			if p, ok := d.Policy.Of(k, true); ok {
				policy = "  (field_policy: " + string(p) + ")"
			}
			fmt.Fprintf(w, "    fields.%s = %s%s\n", termText(k), termJSON(v), policy)
		}
		printFieldPolicy(w, d)
	}
}

// printFieldPolicy shows the rest of a delivery's field policy and
// wont_fix: the policies of fields this alert's route fields do not hold (a
// plugin's per-alert attributes), the default, and wont_fix.
func printFieldPolicy(w io.Writer, d route.Delivery) {
	p := d.Policy
	names := make([]string, 0, len(p.Fields))
	for name := range p.Fields {
		if _, isField := d.Fields[name]; !isField {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "    field_policy.%s = %s  (a per-alert attribute of the plugin, or a field this alert does not send)\n", termText(name), p.Fields[name])
	}
	if p.HasFieldPolicy() {
		fmt.Fprintf(w, "    field_policy_default = %s  (route fields field_policy does not name)\n", p.Default)
	}
	if len(p.WontFix) > 0 {
		quoted := make([]string, len(p.WontFix))
		for i, r := range p.WontFix {
			quoted[i] = strconv.Quote(r)
		}
		fmt.Fprintf(w, "    wont_fix = [%s]  (a re-fire inside the reopen window of an item resolved so comments instead of reopening)\n", termText(strings.Join(quoted, ", ")))
	}
}

// printPolicy prints what the lifecycle policy makes of the alert: the
// maintenance windows on at the time asked, and for each delivery its
// route's flap and storm blocks and its work item's state in the store.
func printPolicy(w io.Writer, p *policyView, ex route.Explanation, matches []maintenance.Match, items []*itemState) {
	if len(ex.Decision.Deliveries) == 0 {
		return
	}
	for _, m := range matches {
		switch {
		case m.Err != nil:
			fmt.Fprintf(w, "  maintenance window %s is on but does not take the alert: %s\n", termText(m.Name), termText(m.Err.Error()))
		case !m.Matched:
			fmt.Fprintf(w, "  maintenance window %s is on; its when is false for the alert\n", termText(m.Name))
		}
	}
	if h := ex.Decision.Hold; h != nil {
		fmt.Fprintf(w, "  policy: in maintenance window %s until %s: acknowledged and recorded, no work item is created or reopened before it ends (on_end = %s)\n",
			termText(h.Window), h.Until.UTC().Format(time.RFC3339), termText(h.OnEnd))
	} else if len(p.windows.List(p.at)) > 0 {
		fmt.Fprintf(w, "  policy: in no maintenance window at %s\n", p.at.UTC().Format(time.RFC3339))
	}
	for i, d := range ex.Decision.Deliveries {
		var it *itemState
		if i < len(items) {
			it = items[i]
		}
		if d.Flap == nil && d.Storm == nil && it == nil {
			continue
		}
		fmt.Fprintf(w, "  delivery %s via route %s\n", termText(d.Backend), termText(d.Route))
		if f := d.Flap; f != nil {
			fmt.Fprintf(w, "    flap: more than %d fire/resolve transitions within %v is flapping; quiet_period %v\n", f.MaxTransitions, f.Window, f.QuietPeriod)
		}
		if st := d.Storm; st != nil {
			fmt.Fprintf(w, "    storm: group %s; more than %d new work items of the group within %v join one parent work item instead of opening their own\n",
				termText(strconv.Quote(st.Group)), st.MaxNew, st.Window)
		}
		if it == nil {
			continue
		}
		fmt.Fprintf(w, "    work item %d, remote %s\n", it.ID, termText(string(it.Remote)))
		if it.StormParent != 0 {
			fmt.Fprintf(w, "    policy: storm member: work item %d, the storm's parent, carries this alert; no calls of its own\n", it.StormParent)
		}
		if !it.FlappingSince.IsZero() {
			fmt.Fprintf(w, "    policy: flapping since %s: transitions are recorded, not sent (suppressed); the work item stays open until the alert has stayed resolved for the quiet period\n",
				it.FlappingSince.UTC().Format(time.RFC3339))
		}
		if h := it.Maintenance; h != nil {
			fmt.Fprintf(w, "    policy: held by maintenance window %s until %s (on_end = %s)\n", termText(h.Window), h.Until.UTC().Format(time.RFC3339), termText(h.OnEnd))
		}
	}
}
