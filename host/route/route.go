// Package route compiles connector.hcl's route blocks and decides, for each
// alert, which backends get a work item, under which correlation key and
// with which fields.
//
// Routes are evaluated in file order. The first route whose `when` is true
// takes the alert and evaluation stops, unless that route sets
// `continue = true`, in which case later routes are evaluated too. A route
// without `when` matches every alert.
//
// A route whose expressions fail for an alert (e.g. `alert.severity <= 1`
// when the alert has no severity, or a custom property that is absent) is
// treated as not matching it: evaluation goes on with the next route and
// the failure is recorded in Explanation.Routes and, when no route takes
// the alert, in Decision.Unmatched, which becomes the dead letter's reason.
// Wrap a condition in try(…, false) or use can(…) to make such cases
// explicit.
package route

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Router holds the compiled routes. It is immutable and safe for
// concurrent use.
type Router struct {
	routes []*compiled
	funcs  map[string]function.Function
	// alert builds only the part of the `alert` object the routes read.
	alert alertvalue.Projection
}

type compiled struct {
	name     string
	when     hcl.Expression // nil: matches everything
	key      hcl.Expression // nil: alert.id
	fields   hcl.Expression // nil: no fields
	backends []string       // "type.name"
	perCI    bool
	maxCIs   int // per_ci's max_configuration_items
	cont     bool
	reopen   time.Duration
	resolved ResolvedPolicy
	flap     *FlapPolicy   // nil: none
	storm    *config.Storm // nil: none
	policy   Policy
	// fieldNames are the names of the route's fields when the fields
	// expression is an object whose attributes are known at load
	// (fieldsKnown); a map's keys are known only per alert.
	fieldNames  []string
	fieldsKnown bool
	feedback    *Feedback // nil without azure_feedback
}

// Compile checks routes against the declared backends and the shape of the
// `alert` object and returns a Router. backends holds the "type.name" of
// every backend block. Every problem is a diagnostic pointing at the
// expression: an unknown backend in send_to, an attribute `alert` does not
// have, a `when` that is not a bool, a correlation_key that is not a
// string, fields that are not an object, a load-time-only function such as
// env() in a per-alert expression.
func Compile(routes []*config.Route, backends map[string]bool) (*Router, hcl.Diagnostics) {
	r := &Router{funcs: hclfuncs.PerAlert()}
	check := &hcl.EvalContext{
		Variables: map[string]cty.Value{"alert": alertvalue.Unknown()},
		Functions: r.funcs,
	}
	var (
		diags hcl.Diagnostics
		refs  []hcl.Traversal
	)
	for _, rt := range routes {
		exprs := []hcl.Expression{rt.When, rt.CorrelationKey, rt.Fields}
		if rt.Storm != nil {
			exprs = append(exprs, rt.Storm.GroupBy)
		}
		for _, expr := range exprs {
			if expr != nil {
				refs = append(refs, expr.Variables()...)
			}
		}
		c := &compiled{name: rt.Name, when: rt.When, key: rt.CorrelationKey, fields: rt.Fields,
			perCI: rt.PerCI, maxCIs: rt.MaxConfigurationItems, cont: rt.Continue, reopen: rt.ReopenWindow,
			resolved: ResolvedPolicy(rt.OnResolvedWithoutItem).OrDefault(), policy: PolicyOf(rt)}
		if c.maxCIs <= 0 {
			c.maxCIs = config.DefaultMaxConfigurationItems
		}
		if f := rt.Flap; f != nil {
			c.flap = &FlapPolicy{Window: f.Window, MaxTransitions: f.MaxTransitions, QuietPeriod: f.QuietPeriod}
			if c.flap.QuietPeriod <= 0 {
				c.flap.QuietPeriod = c.flap.Window
			}
		}
		c.storm = rt.Storm
		for _, ref := range rt.SendTo {
			if !backends[ref.Ref()] {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared backend",
					Detail:   fmt.Sprintf("Route %q sends to backend.%s, but no backend %q %q block is declared.%s", rt.Name, ref.Ref(), ref.Type, ref.Name, suggest(ref.Ref(), backends)),
					Subject:  ref.Range.Ptr(),
				})
				continue
			}
			c.backends = append(c.backends, ref.Ref())
		}
		owner := fmt.Sprintf("route %q", rt.Name)
		diags = append(diags, typeCheck(owner, "when", rt.When, check, isCondition, whenWant)...)
		diags = append(diags, typeCheck(owner, "correlation_key", rt.CorrelationKey, check, func(t cty.Type) bool { return t.IsPrimitiveType() },
			"correlation_key must be a string, e.g. correlation_key = \"${alert.rule}|${alert.resource_name}\"")...)
		d := typeCheck(owner, "fields", rt.Fields, check, func(t cty.Type) bool { return t.IsObjectType() || t.IsMapType() },
			"fields must be an object of field names to values, e.g. fields = { short_description = alert.rule }")
		diags = append(diags, d...)
		if !d.HasErrors() {
			c.fieldNames, c.fieldsKnown = staticFieldNames(rt.Fields, check)
		}
		if rt.Storm != nil {
			diags = append(diags, typeCheck(owner, "storm.group_by", rt.Storm.GroupBy, check, func(t cty.Type) bool { return t.IsPrimitiveType() },
				"storm.group_by must be a string, e.g. group_by = \"${alert.rule}\"")...)
		}
		fb, d := compileFeedback(rt, r.funcs)
		c.feedback, diags = fb, append(diags, d...)
		r.routes = append(r.routes, c)
	}
	r.alert = alertvalue.ProjectionFor(refs)
	diags = append(diags, sharedKeyWarnings(routes)...)
	return r, diags
}

// sharedKeyWarnings warns when a route with continue = true and a later
// route both send to one backend with the default correlation key: both
// would drive the same remote work item (the backend finds it by key), so
// their updates would interleave. Distinct correlation keys avoid it.
func sharedKeyWarnings(routes []*config.Route) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i, a := range routes {
		if !a.Continue || a.CorrelationKey != nil {
			continue
		}
		for _, b := range routes[i+1:] {
			if b.CorrelationKey != nil {
				continue
			}
			for _, ra := range a.SendTo {
				for _, rb := range b.SendTo {
					if ra.Ref() == rb.Ref() {
						diags = append(diags, &hcl.Diagnostic{
							Severity: hcl.DiagWarning,
							Summary:  "Two routes share work items",
							Detail: fmt.Sprintf("Routes %q (continue = true) and %q both send to backend.%s with the default correlation key, so an alert taken by both drives one work item from two routes. Give one of them its own correlation_key, e.g. \"%s|${alert.id}\".",
								a.Name, b.Name, ra.Ref(), b.Name),
							Subject: rb.Range.Ptr(),
						})
					}
				}
			}
		}
	}
	return diags
}

// typeCheck checks expr at load. Every reference (alert.<field>, however
// deep and wherever it sits in the expression) is checked against the
// alert's type first; then expr is evaluated against an unknown alert, so
// errors from functions and operators surface, and the result type is
// checked with ok. A dynamic (not yet known) type passes. Evaluation alone
// would miss references: && and || skip their right side and ?: its
// branches when the alert is unknown.
func typeCheck(owner, attr string, expr hcl.Expression, ctx *hcl.EvalContext, ok func(cty.Type) bool, want string) hcl.Diagnostics {
	if expr == nil {
		return nil
	}
	vars := make(map[string]cty.Type, len(ctx.Variables))
	for name, v := range ctx.Variables {
		vars[name] = v.Type()
	}
	if diags := alertvalue.CheckRefs(expr, vars); diags.HasErrors() {
		return diags
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return diags
	}
	if t := v.Type(); t != cty.DynamicPseudoType && !ok(t) {
		diags = append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     fmt.Sprintf("Invalid %s in %s", attr, owner),
			Detail:      fmt.Sprintf("This expression is of type %s; %s.", t.FriendlyName(), want),
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: ctx,
		})
	}
	return diags
}

func isCondition(t cty.Type) bool { return t == cty.Bool }

const whenWant = "when must be a condition (true or false), e.g. when = alert.severity <= 1"

// CheckCondition checks a per-alert condition other than a route's `when`
// at load, as Compile checks a route's: every reference to `alert`, the
// functions it calls (the per-alert ones: no env()), and that it is a
// bool. owner names what holds it in the diagnostics, e.g.
// `maintenance window "db-patch"`.
func CheckCondition(owner string, expr hcl.Expression) hcl.Diagnostics {
	return typeCheck(owner, "when", expr, &hcl.EvalContext{
		Variables: map[string]cty.Value{"alert": alertvalue.Unknown()},
		Functions: hclfuncs.PerAlert(),
	}, isCondition, whenWant)
}

// EvalCondition evaluates a condition CheckCondition accepted for one
// alert, in ctx (its `alert` and the per-alert functions; see
// ConditionContext). A condition that fails for the alert, or is not a
// known bool, is false, with the error saying why, as a route's `when`.
func EvalCondition(expr hcl.Expression, ctx *hcl.EvalContext) (bool, error) {
	v, diags := expr.Value(ctx)
	switch {
	case diags.HasErrors():
		return false, evalError("when", diags)
	case v.IsNull() || !v.IsKnown():
		return false, errors.New("when: the condition is null")
	case v.Type() != cty.Bool:
		return false, fmt.Errorf("when: the condition is a %s, not a bool", v.Type().FriendlyName())
	}
	return v.True(), nil
}

// ConditionContext is the evaluation context of per-alert conditions over
// alert value a (alertvalue.Value or a Projection of it).
func ConditionContext(a cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{Variables: map[string]cty.Value{"alert": a}, Functions: perAlertFuncs}
}

// perAlertFuncs is built once: the function table does not change.
var perAlertFuncs = hclfuncs.PerAlert()

func suggest(ref string, backends map[string]bool) string {
	var known []string
	for b := range backends {
		known = append(known, "backend."+b)
	}
	if len(known) == 0 {
		return " No backends are declared."
	}
	sort.Strings(known)
	return " Declared backends: " + strings.Join(known, ", ") + "."
}

// Route decides where a goes: one Delivery per matched route × backend
// (× configuration item with per_ci), or Decision.Unmatched naming the
// routes tried and why each did not take the alert. A route whose
// expressions fail for a is skipped (see the package doc); that is not an
// error. The error is non-nil only for a nil alert.
func (r *Router) Route(a *sdk.Alert) (Decision, error) {
	if a == nil {
		return Decision{}, errors.New("route: nil alert")
	}
	var d Decision
	r.evaluate(a, &d, nil)
	return d, nil
}

// Explanation is what the `route` dry run prints: the decision and how
// each evaluated route contributed to it.
type Explanation struct {
	Decision Decision `json:"decision"`
	// Routes lists the routes evaluated for the alert, in order; routes
	// after the one that took the alert (without continue) are absent.
	Routes []RouteResult `json:"routes"`
}

// RouteResult is one route's outcome for one alert.
type RouteResult struct {
	Route string `json:"route"`
	// Matched is true when the route took the alert.
	Matched bool `json:"matched"`
	// Error is why the route's expressions could not be evaluated for the
	// alert; such a route does not match. Empty when evaluation succeeded.
	Error string `json:"error,omitempty"`
	// Backends the route sends to, as "type.name".
	Backends []string `json:"backends"`
	// Continue is the route's continue flag.
	Continue bool `json:"continue,omitempty"`
}

// Explain routes a like Route and also reports each evaluated route's
// outcome, for the `itsm-connector route` dry run and for logging why
// a route was skipped.
func (r *Router) Explain(a *sdk.Alert) (Explanation, error) {
	if a == nil {
		return Explanation{}, errors.New("route: nil alert")
	}
	var e Explanation
	r.evaluate(a, &e.Decision, &e.Routes)
	return e, nil
}

func (r *Router) evaluate(a *sdk.Alert, d *Decision, results *[]RouteResult) {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"alert": r.alert.Value(a)},
		Functions: r.funcs,
	}
	var tried []string
	for _, c := range r.routes {
		deliveries, matched, err := c.evaluate(a, ctx)
		if results != nil {
			res := RouteResult{Route: c.name, Matched: matched, Backends: c.backends, Continue: c.cont}
			if err != nil {
				res.Error = err.Error()
			}
			*results = append(*results, res)
		}
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("%q (%s)", c.name, err))
			continue
		case !matched:
			tried = append(tried, fmt.Sprintf("%q (when is false)", c.name))
			continue
		}
		d.Deliveries = append(d.Deliveries, deliveries...)
		if !c.cont {
			break
		}
	}
	if len(d.Deliveries) == 0 {
		if len(r.routes) == 0 {
			d.Unmatched = "no route matched: no routes are configured"
		} else {
			d.Unmatched = "no route matched; tried " + strings.Join(tried, ", ")
		}
	}
}

// evaluate returns the route's deliveries for a and whether it matched.
func (c *compiled) evaluate(a *sdk.Alert, ctx *hcl.EvalContext) ([]Delivery, bool, error) {
	if c.when != nil {
		v, diags := c.when.Value(ctx)
		if diags.HasErrors() {
			return nil, false, evalError("when", diags)
		}
		if v.IsNull() {
			return nil, false, errors.New("when: the condition is null")
		}
		if v.Type() != cty.Bool {
			return nil, false, fmt.Errorf("when: the condition is a %s, not a bool", v.Type().FriendlyName())
		}
		if v.False() {
			return nil, false, nil
		}
	}
	key := a.ID
	if c.key != nil {
		v, diags := c.key.Value(ctx)
		if diags.HasErrors() {
			return nil, false, evalError("correlation_key", diags)
		}
		s, err := toString(v)
		if err != nil {
			return nil, false, fmt.Errorf("correlation_key: %w", err)
		}
		key = s
	}
	if key == "" {
		return nil, false, errors.New("correlation_key: the key is empty")
	}
	if strings.IndexByte(key, 0) >= 0 {
		// Decoded text has none (host/commonschema); a function such as
		// base64decode can make one, and PostgreSQL cannot store it.
		return nil, false, errors.New(`correlation_key: the key contains a NUL character (\u0000), which cannot be stored`)
	}
	var fields map[string]any
	if c.fields != nil {
		v, diags := c.fields.Value(ctx)
		if diags.HasErrors() {
			return nil, false, evalError("fields", diags)
		}
		f, err := renderFields(v)
		if err != nil {
			return nil, false, fmt.Errorf("fields: %w", err)
		}
		fields = f
	}
	storm, err := c.stormPolicy(ctx)
	if err != nil {
		return nil, false, err
	}
	slots := []ciSlot{{key: key, cis: a.ConfigurationItems}}
	if c.perCI && len(a.ConfigurationItems) > 0 {
		slots = perCISlots(c.name, key, a.ConfigurationItems, c.maxCIs)
	}
	out := make([]Delivery, 0, len(c.backends)*len(slots))
	for _, b := range c.backends {
		for _, s := range slots {
			out = append(out, Delivery{Route: c.name, Backend: b, CorrelationKey: s.key, Fields: fields,
				ConfigurationItems: s.cis, ReopenWindow: c.reopen, OnResolvedWithoutItem: c.resolved, Note: s.note,
				Flap: c.flap, Policy: c.policy, Storm: storm})
		}
	}
	return out, true, nil
}

// stormPolicy is the route's storm block for the alert in ctx, its group_by
// rendered (every alert of the route is one group without group_by); nil
// when the route has none.
func (c *compiled) stormPolicy(ctx *hcl.EvalContext) (*StormPolicy, error) {
	st := c.storm
	if st == nil {
		return nil, nil
	}
	group := ""
	if st.GroupBy != nil {
		v, diags := st.GroupBy.Value(ctx)
		if diags.HasErrors() {
			return nil, evalError("storm.group_by", diags)
		}
		s, err := toString(v)
		if err != nil {
			return nil, fmt.Errorf("storm.group_by: %w", err)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, errors.New(`storm.group_by: the group contains a NUL character (\u0000), which cannot be stored`)
		}
		group = s
	}
	return &StormPolicy{Window: st.Window, MaxNew: st.MaxNew, Group: group}, nil
}

// ciSlot is one work item a route makes of an alert: its correlation key,
// the configuration items it covers and, when there is one, a note for the
// audit trail.
type ciSlot struct {
	key  string
	cis  []sdk.ConfigurationItem
	note string
}

// PerCIRest ends the correlation key of the work item that covers the
// configuration items beyond a per_ci route's max_configuration_items:
// "<correlation_key>|OTHERS". What follows the "|" of a configuration
// item's own key is in lower case (see PerCIKey), so none can be this.
const PerCIRest = "OTHERS"

// perCISlots is how a per_ci route with correlation key key and
// max_configuration_items max splits an alert's configuration items into
// work items: one per distinct item (by PerCIKey, first occurrence kept),
// in the order the alert lists them, for the first max; when there are
// more, one more work item keyed "<key>|OTHERS" covers all the others,
// with a note saying so. The same list always gives the same split, so a
// repeated or resolved notification reaches the same work items. route
// names the route in the note.
func perCISlots(route, key string, cis []sdk.ConfigurationItem, maxCIs int) []ciSlot {
	seen := make(map[string]bool, min(len(cis), maxCIs+1))
	var slots []ciSlot
	var rest []sdk.ConfigurationItem
	for _, ci := range cis {
		k := PerCIKey(key, ci)
		if seen[k] {
			continue
		}
		seen[k] = true
		if len(slots) < maxCIs {
			slots = append(slots, ciSlot{key: k, cis: []sdk.ConfigurationItem{ci}})
			continue
		}
		rest = append(rest, ci)
	}
	if len(rest) > 0 {
		slots = append(slots, ciSlot{key: key + "|" + PerCIRest, cis: rest,
			note: fmt.Sprintf("the alert has %d configuration items, more than route %q's max_configuration_items (%d): this work item covers the %d after the first %d",
				maxCIs+len(rest), route, maxCIs, len(rest), maxCIs)})
	}
	return slots
}

// PerCIKey is the correlation key of one configuration item's work item
// when a route sets per_ci: the route's key, "|", then the item's ARM
// resource id (or, without one, its name) in lower case, since ARM ids and
// resource names are case-insensitive. For example
// "abc|/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1".
func PerCIKey(key string, ci sdk.ConfigurationItem) string {
	id := ci.ResourceID
	if id == "" {
		id = ci.Name
	}
	return key + "|" + strings.ToLower(id)
}

// evalError condenses evaluation diagnostics into one line naming the
// attribute and where it is.
func evalError(attr string, diags hcl.Diagnostics) error {
	return fmt.Errorf("%s: %s", attr, config.DiagnosticsText(diags))
}
