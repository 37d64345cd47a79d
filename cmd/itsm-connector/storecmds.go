package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/store"
)

func init() {
	register("deadletter", "list, show, replay or drop dead letters (list|show|replay|drop)", runDeadLetter)
	register("workitems", "list work items or show one with its audit trail (list|show)", runWorkItems)
}

// storeFlags are the flags every store command shares.
type storeFlags struct {
	opts   app.Options
	asJSON bool
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	s.opts.NotServing = true
	configFlags(fs, &s.opts, "use the store as serve -dev has it (under -data-dir); a configuration with auth \"dev\" implies it")
	fs.StringVar(&s.opts.DataDir, "data-dir", app.DevDataDir, "dev mode's data `dir`")
}

func (s *storeFlags) registerJSON(fs *flag.FlagSet, usage string) {
	fs.BoolVar(&s.asJSON, "json", false, usage)
}

// load loads the configuration as serve would (dev mode's embedded one
// with -dev and no -config).
func (s *storeFlags) load(stderr io.Writer) (*config.Config, error) {
	defaultConfig(&s.opts)
	cfg, diags := app.LoadConfig(s.opts)
	if diags.HasErrors() {
		writeDiagnostics(stderr, cfg.Files, diags)
		return nil, exitError{code: 1}
	}
	return cfg, nil
}

// open loads the configuration and opens its store.
func (s *storeFlags) open(ctx context.Context, stderr io.Writer) (*config.Config, store.Store, error) {
	cfg, err := s.load(stderr)
	if err != nil {
		return nil, nil, err
	}
	st, err := app.OpenStore(ctx, cfg.Store)
	return cfg, st, err
}

// verb is one subcommand of a command, as its help shows it.
type verb struct {
	name, args, summary string
}

// subcommand splits "list -flags…" into the verb and its arguments. -h
// (or help) prints the verbs and returns flag.ErrHelp.
func subcommand(cmd string, args []string, stderr io.Writer, verbs ...verb) (verb, []string, error) {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = v.name
	}
	if len(args) == 0 {
		subcommandUsage(stderr, cmd, verbs)
		return verb{}, nil, fmt.Errorf("missing subcommand: one of %q", names)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		subcommandUsage(stderr, cmd, verbs)
		return verb{}, nil, flag.ErrHelp
	}
	for _, v := range verbs {
		if args[0] == v.name {
			return v, args[1:], nil
		}
	}
	return verb{}, nil, fmt.Errorf("unknown subcommand %q: one of %q", args[0], names)
}

func subcommandUsage(w io.Writer, cmd string, verbs []verb) {
	fmt.Fprintf(w, "usage: itsm-connector %s <subcommand> [flags]\n\n", cmd)
	for _, v := range verbs {
		fmt.Fprintf(w, "  %-7s %s\n", v.name, v.summary)
	}
	fmt.Fprintf(w, "\nRun 'itsm-connector %s <subcommand> -h' for its flags.\n", cmd)
}

// verbFlags makes the FlagSet of cmd's subcommand v, whose -h shows v.
func verbFlags(cmd string, v verb, stderr io.Writer) *flag.FlagSet {
	fs := newFlags(cmd+" "+v.name, stderr)
	fs.Usage = func() {
		w := fs.Output()
		args := "[flags]"
		if v.args != "" {
			args += " " + v.args
		}
		fmt.Fprintf(w, "usage: itsm-connector %s %s %s\n\n%s\n\nflags:\n", cmd, v.name, args, v.summary)
		fs.PrintDefaults()
	}
	return fs
}

// idArg parses the single id argument of show, replay and drop.
func idArg(fs *flag.FlagSet) (int64, error) {
	if fs.NArg() != 1 {
		return 0, errors.New("expected exactly one id")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q is not a positive number", fs.Arg(0))
	}
	return id, nil
}

// printJSON prints v as indented JSON, with what a terminal would act on
// escaped (termJSON).
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(termJSON(b), '\n'))
	return err
}

var deadLetterVerbs = []verb{
	{"list", "", "list dead letters, newest first"},
	{"show", "ID", "print one dead letter as JSON, with its alert"},
	{"replay", "ID | -all [-backend type.name | -unmatched]", "replay a dead letter through the running connector's admin API (-offline: on the store), or with -all every one the filter matches"},
	{"drop", "ID | -all [-backend type.name | -unmatched]", "drop a dead letter through the running connector's admin API (-offline: on the store), or with -all every one the filter matches"},
}

func runDeadLetter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	v, rest, err := subcommand("deadletter", args, stderr, deadLetterVerbs...)
	if err != nil {
		return err
	}
	verb := v.name
	fs := verbFlags("deadletter", v, stderr)
	var sf storeFlags
	sf.register(fs)
	var (
		backend string
		limit   int
		af      adminFlags
	)
	switch verb {
	case "list":
		sf.registerJSON(fs, "print JSON, as the admin API's GET /api/v1/deadletters")
		fs.StringVar(&backend, "backend", "", "only this backend (type.name)")
		limitFlag(fs, &limit)
	case "show":
		sf.registerJSON(fs, "print JSON (show always does)")
	default:
		af.register(fs)
		fs.BoolVar(&af.all, "all", false, "every dead letter the filter matches (-backend, -unmatched; none: all of them), through the admin API, not with an ID")
		fs.StringVar(&af.filter.Backend, "backend", "", "with -all: only this backend's letters (type.name)")
		fs.BoolVar(&af.filter.Unmatched, "unmatched", false, "with -all: only the letters of alerts no route took")
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if err := checkLimit(verb, limit); err != nil {
		return err
	}
	if af.all {
		if err := af.checkAll(fs); err != nil {
			return err
		}
		cfg, err := sf.load(stderr)
		if err != nil {
			return err
		}
		return af.runAll(ctx, cfg, verb, stdout)
	}
	if af.filter.Backend != "" || af.filter.Unmatched {
		return errors.New("-backend and -unmatched select letters for -all; give either -all or one ID")
	}
	var id int64
	if verb != "list" {
		if id, err = idArg(fs); err != nil {
			return err
		}
	}
	if (verb == "replay" || verb == "drop") && !af.offline {
		cfg, err := sf.load(stderr)
		if err != nil {
			return err
		}
		return af.run(ctx, cfg, verb, id, stdout)
	}
	_, st, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()

	switch verb {
	case "list":
		dls, err := st.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: backend, Limit: limit})
		if err != nil {
			return err
		}
		if sf.asJSON {
			return printJSON(stdout, adminapi.NewList(dls))
		}
		if len(dls) == 0 {
			fmt.Fprintln(stdout, "no dead letters")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tBACKEND\tROUTE\tATTEMPTS\tREASON")
		for _, d := range dls {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.CreatedAt.Format(time.RFC3339), termText(dash(d.Backend)), termText(dash(d.Route)), d.Attempts, termText(d.Reason))
		}
		return tw.Flush()
	case "show":
		d, err := st.GetDeadLetter(ctx, id) // its errors name the letter
		if err != nil {
			return err
		}
		return printJSON(stdout, adminapi.FromStore(d))
	case "replay": // -offline
		// Without the connector there are no routes to trust (the
		// configuration in hand may not be the one it runs), so an alert
		// no route took is refused. A delivery's letter needs none: its
		// work item keeps its route, backend, key and fields.
		backends, err := delivery.Replay(ctx, st, id, nil, time.Now())
		if errors.Is(err, delivery.ErrUnroutable) {
			return fmt.Errorf("%w; run replay without -offline while the connector runs", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %d replayed on the store: its work item is due again for %v; the connector picks it up within a second while it runs, or when it starts\n", id, backends)
		return nil
	default: // drop -offline
		if err := st.DropDeadLetter(ctx, id); err != nil {
			return err // the store's errors name the letter
		}
		fmt.Fprintf(stdout, "dead letter %d dropped\n", id)
		return nil
	}
}

// adminFlags reach the running connector's admin API.
type adminFlags struct {
	addr    string
	offline bool
	all     bool
	filter  store.DeadLetterFilter
}

// checkAll refuses what -all does not take.
func (a *adminFlags) checkAll(fs *flag.FlagSet) error {
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("-all acts on every letter the filter matches; it takes no ID (got %q)", fs.Arg(0))
	case a.offline:
		return errors.New("-all works through the running connector's admin API; it cannot be used with -offline")
	case a.filter.Backend != "" && a.filter.Unmatched:
		return errors.New("-backend and -unmatched: an alert no route took has no backend; give one of them")
	}
	return nil
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.addr, "admin", os.Getenv("ITSM_ADMIN_ADDR"),
		"the running connector's admin listener, host:port or URL (default $ITSM_ADMIN_ADDR, else the configuration's admin.listen)")
	fs.BoolVar(&a.offline, "offline", false,
		"work on the store without the running connector (a replay of an alert no route took is refused)")
}

// client is the admin API client of the connector that cfg describes. The
// token is $ITSM_ADMIN_TOKEN, else admin.token.
func (a *adminFlags) client(cfg *config.Config) (*adminapi.Client, error) {
	addr := a.addr
	if addr == "" {
		addr = cfg.Admin.Listen
	}
	base, err := adminapi.BaseURL(addr)
	if err != nil {
		return nil, err
	}
	token := os.Getenv("ITSM_ADMIN_TOKEN")
	if token == "" {
		token = cfg.Admin.Token
	}
	return &adminapi.Client{BaseURL: base, Token: token}, nil
}

// explain turns an admin API failure into what the operator can do.
func explain(c *adminapi.Client, err error) error {
	var apiErr *adminapi.APIError
	switch {
	case errors.Is(err, adminapi.ErrUnreachable):
		return fmt.Errorf("%w; nothing was done. Is the connector running? Set -admin (or ITSM_ADMIN_ADDR) to its admin listener, or use -offline to work on the store without it", err)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && c.Token == "":
		return fmt.Errorf("the admin listener at %s wants its token: set ITSM_ADMIN_TOKEN to the connector's admin.token", c.BaseURL)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		return fmt.Errorf("the admin listener at %s refused the token sent (ITSM_ADMIN_TOKEN, else the configuration's admin.token): it is not the connector's admin.token", c.BaseURL)
	}
	return err
}

// run replays or drops dead letter id through the admin API of the
// connector that cfg describes: its routes, not this process's, route an
// unmatched alert again.
func (a *adminFlags) run(ctx context.Context, cfg *config.Config, verb string, id int64, stdout io.Writer) error {
	c, err := a.client(cfg)
	if err != nil {
		return err
	}
	base := c.BaseURL
	var act adminapi.Action
	if verb == "replay" {
		act, err = c.ReplayDeadLetter(ctx, id)
	} else {
		act, err = c.DropDeadLetter(ctx, id)
	}
	if err != nil {
		return explain(c, err)
	}
	if verb == "replay" {
		fmt.Fprintf(stdout, "dead letter %d replayed by the connector at %s: queued for %s\n", id, base, termText(fmt.Sprint(act.Backends)))
	} else {
		fmt.Fprintf(stdout, "dead letter %d dropped by the connector at %s\n", id, base)
	}
	return nil
}

// runAll replays or drops every letter a.filter matches, through the
// admin API's bulk operation: one call after another while more match
// and each did all it could; letters that arrive meanwhile are left
// alone.
func (a *adminFlags) runAll(ctx context.Context, cfg *config.Config, verb string, stdout io.Writer) error {
	c, err := a.client(cfg)
	if err != nil {
		return err
	}
	op := c.ReplayMatching
	past := "replayed"
	if verb == "drop" {
		op, past = c.DropMatching, "dropped"
	}
	f := a.filter
	var done, gone int
	for {
		// The first call bounds every later one to the letters there now.
		if f.BeforeID == 0 {
			if f.BeforeID, err = newestID(ctx, c, f); err != nil || f.BeforeID == 0 {
				if err == nil {
					fmt.Fprintf(stdout, "no dead letters match; nothing %s\n", past)
				}
				return explain(c, err)
			}
		}
		b, err := op(ctx, f)
		done, gone = done+b.Done, gone+b.Gone
		if err != nil {
			fmt.Fprintf(stdout, "%d dead letters %s by the connector at %s before the failure\n", done, past, c.BaseURL)
			return explain(c, err)
		}
		if !b.More || b.Done == 0 {
			break
		}
	}
	fmt.Fprintf(stdout, "%d dead letters %s by the connector at %s", done, past, c.BaseURL)
	if gone > 0 {
		fmt.Fprintf(stdout, " (%d were replayed or dropped by someone else meanwhile)", gone)
	}
	fmt.Fprintln(stdout)
	return nil
}

// newestID is one past the newest letter f matches, 0 when none does.
func newestID(ctx context.Context, c *adminapi.Client, f store.DeadLetterFilter) (int64, error) {
	l, err := c.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: f.Backend, Unmatched: f.Unmatched, Limit: 1})
	if err != nil || len(l.DeadLetters) == 0 {
		return 0, err
	}
	return l.DeadLetters[0].ID + 1, nil
}

var workItemVerbs = []verb{
	{"list", "", "list work items, newest first, with desired and remote state"},
	{"show", "ID", "show one work item with its audit trail"},
}

func runWorkItems(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	v, rest, err := subcommand("workitems", args, stderr, workItemVerbs...)
	if err != nil {
		return err
	}
	verb := v.name
	fs := verbFlags("workitems", v, stderr)
	var sf storeFlags
	sf.register(fs)
	sf.registerJSON(fs, "print JSON (snake_case, as deadletter show)")
	var f store.ItemFilter
	if verb == "list" {
		fs.StringVar(&f.Backend, "backend", "", "only this backend (type.name)")
		fs.StringVar(&f.Route, "route", "", "only this route")
		fs.StringVar(&f.CorrelationKey, "key", "", "only this correlation key")
		fs.BoolVar(&f.DirtyOnly, "pending", false, "only items waiting for reconcile")
		limitFlag(fs, &f.Limit)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if err := checkLimit(verb, f.Limit); err != nil {
		return err
	}
	var id int64
	if verb == "show" {
		if id, err = idArg(fs); err != nil {
			return err
		}
	}
	_, st, err := sf.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()

	if verb == "show" {
		it, err := st.GetItem(ctx, id) // its errors name the item
		if err != nil {
			return err
		}
		events, err := st.Events(ctx, id)
		if err != nil {
			return err
		}
		if sf.asJSON {
			return printJSON(stdout, adminapi.WorkItemFromStore(it, events))
		}
		printItem(stdout, it, events)
		return nil
	}
	items, err := st.ListItems(ctx, f)
	if err != nil {
		return err
	}
	if sf.asJSON {
		return printJSON(stdout, adminapi.NewWorkItemList(items))
	}
	if len(items) == 0 {
		fmt.Fprintln(stdout, "no work items")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBACKEND\tROUTE\tDESIRED\tREMOTE\tREF\tPENDING\tCORRELATION KEY")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, termText(it.Backend), termText(it.Route), termText(string(it.Condition)), termText(string(it.Remote)), termText(refKey(it)), pendingState(it), termText(it.CorrelationKey))
	}
	return tw.Flush()
}

func printItem(w io.Writer, it *store.Item, events []store.Event) {
	fmt.Fprintf(w, "work item %d\n", it.ID)
	fmt.Fprintf(w, "  route %s, backend %s\n  correlation key %s\n", termText(it.Route), termText(it.Backend), termText(it.CorrelationKey))
	fmt.Fprintf(w, "  desired %s (alert %s at %s), remote %s %s\n", termText(string(it.Condition)), termText(it.AlertID), it.EventAt.Format(time.RFC3339), termText(string(it.Remote)), termText(refKey(it)))
	if it.Ref != nil && it.Ref.URL != "" {
		fmt.Fprintf(w, "  %s\n", termText(it.Ref.URL))
	}
	if f := it.Flap; f != nil {
		state := "not flapping"
		if it.FlapState.Flapping() {
			state = "flapping since " + it.FlapState.Since.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  flap: window %v, max_transitions %d, quiet_period %v; %s\n", f.Window, f.MaxTransitions, f.QuietPeriod, state)
	}
	if it.StormParent != 0 {
		fmt.Fprintf(w, "  storm member: work item %d, the storm's parent, carries this alert\n", it.StormParent)
	}
	if m := it.Storm.Members; m > 0 {
		fmt.Fprintf(w, "  storm parent: %d members, %d firing, %d configuration items\n", m, it.Storm.Firing, len(it.ConfigurationItems))
	}
	if h := it.Hold; h.Seq > 0 {
		fmt.Fprintf(w, "  held by maintenance window %s until %s (on_end = %s)\n", termText(h.Window), h.Until.Format(time.RFC3339), termText(h.OnEnd))
	}
	if it.HumanResolved {
		fmt.Fprintf(w, "  resolved in the tool by %s at %s", termText(orUnknown(it.ResolvedBy)), it.RemoteResolvedAt.Format(time.RFC3339))
		if it.Resolution != "" {
			fmt.Fprintf(w, " (%s)", termText(it.Resolution))
		}
		fmt.Fprintln(w)
	}
	for _, name := range slices.Sorted(maps.Keys(it.FieldState)) {
		st := it.FieldState[name]
		human := ""
		if st.Human {
			human = "; changed by a person since, no longer written"
		}
		fmt.Fprintf(w, "  field %s: last written %s%s\n", termText(name), termText(strconv.Quote(st.Written)), human)
	}
	fmt.Fprintf(w, "  %s", pendingState(it))
	if it.LastError != "" {
		fmt.Fprintf(w, ", last error after %d attempt(s): %s", it.Attempts, termText(it.LastError))
	}
	fmt.Fprintln(w)
	if id := store.TraceIDOf(it.TraceParent); id != "" {
		fmt.Fprintf(w, "  trace %s\n", id)
	}
	traced := false
	for _, e := range events {
		traced = traced || e.TraceID != ""
	}
	fmt.Fprintln(w, "audit trail:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, e := range events {
		d := ""
		if e.Duration > 0 {
			d = e.Duration.Round(time.Millisecond).String()
		}
		trace := ""
		if traced {
			trace = "\t" + dash(termText(e.TraceID))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s%s\t%s\n", e.At.Format(time.RFC3339), termText(e.Kind), termText(e.Op), termText(e.Outcome), d, trace, termText(e.Message))
	}
	_ = tw.Flush()
}

func orUnknown(s string) string {
	if s == "" {
		return "(not named)"
	}
	return s
}

func refKey(it *store.Item) string {
	if it.Ref == nil {
		return "-"
	}
	if it.Ref.Key != "" {
		return it.Ref.Key
	}
	return it.Ref.ID
}

func pendingState(it *store.Item) string {
	switch {
	case it.Dead:
		return "dead letter"
	case it.Dirty:
		return "pending"
	default:
		return "in sync"
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// limitFlag registers the list commands' -limit, with the admin API's
// default. The commands read the store, so the API's upper bound does not
// apply.
func limitFlag(fs *flag.FlagSet, limit *int) {
	fs.IntVar(limit, "limit", adminapi.DefaultLimit, "how many to list (at least 1)")
}

// checkLimit refuses a list command's -limit below 1, which the store
// would otherwise turn into its own default.
func checkLimit(verb string, limit int) error {
	if verb == "list" && limit < 1 {
		return fmt.Errorf("-limit %d: list at least 1", limit)
	}
	return nil
}
