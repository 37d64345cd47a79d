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

	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/route"
)

func init() {
	register("route", "dry run: show where alerts would go and what would be sent", runRoute)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runRoute(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("route", stderr)
	opts := app.Options{NotServing: true}
	var alerts stringList
	configFlags(fs, &opts, "route with the configuration as serve -dev runs it")
	fs.Var(&alerts, "alert", "alert payload `file` (repeatable; further files may follow the flags)")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	alerts = append(alerts, fs.Args()...)
	if len(alerts) == 0 {
		return errors.New("no alert given: use -alert FILE")
	}
	defaultConfig(&opts)
	cfg, diags := app.LoadConfig(opts)
	if !diags.HasErrors() {
		var router *route.Router
		router, d := app.CompileRoutes(cfg)
		diags = append(diags, d...)
		if !diags.HasErrors() {
			return explainAll(router, alerts, *asJSON, stdout)
		}
	}
	writeDiagnostics(stderr, cfg.Files, diags)
	return exitError{code: 1}
}

func explainAll(router *route.Router, files []string, asJSON bool, w io.Writer) error {
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
		if asJSON {
			if err := printJSON(w, map[string]any{"file": f, "alert_id": alert.ID, "explanation": ex}); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		printExplanation(w, f, alert.Rule, string(alert.Condition), ex)
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
		printPolicy(w, d)
	}
}

// printPolicy shows the rest of a delivery's lifecycle policy: the
// policies of fields this alert's route fields do not hold (a plugin's
// per-alert attributes), the default, and wont_fix.
func printPolicy(w io.Writer, d route.Delivery) {
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
