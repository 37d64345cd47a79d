package route

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// staticFieldNames returns the names of a route's fields when they are
// known at load: the attributes of the object the fields expression makes
// of an unknown alert. A map (or an expression whose shape depends on the
// alert) has its keys only per alert: known is false. No fields expression
// sends no fields.
func staticFieldNames(expr hcl.Expression, ctx *hcl.EvalContext) (names []string, known bool) {
	if expr == nil {
		return nil, true
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() || !v.Type().IsObjectType() {
		return nil, false
	}
	for name := range v.Type().AttributeTypes() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, true
}

// PluginFacts is what checking a route's lifecycle policy needs to know of
// the plugin of a backend it sends to.
type PluginFacts struct {
	// Plugin is the plugin's name.
	Plugin string
	// PerAlert lists the plugin's top-level per-alert attributes: besides
	// the route's fields, the fields field_policy may name.
	PerAlert []string
	// Capabilities are the plugin's, as configured.
	Capabilities sdk.Capabilities
}

// PerAlertAttributes lists the top-level per-alert attributes of schema,
// sorted.
func PerAlertAttributes(schema sdk.Schema) []string {
	var out []string
	for _, a := range schema.Attributes {
		if a.PerAlert {
			out = append(out, a.Name)
		}
	}
	sort.Strings(out)
	return out
}

// CheckPolicies checks each route's field_policy and wont_fix against the
// plugins of the backends it sends to, once they run: every plugin must
// apply field policies (Capabilities.FieldPolicy), and read status
// (Capabilities.ReadStatus) for never_after_human and wont_fix; every name
// field_policy gives must be a field the route sends or a per-alert
// attribute of one of those plugins. A route whose fields are a map, whose keys are known only per
// alert, may name any field, and so may a route one of whose backends'
// plugins did not start. backends holds the facts of every backend
// whose plugin started; the others are skipped (their start failed with a
// diagnostic of its own). cfg is the configuration the router was compiled
// from; diagnostics point into it.
func (r *Router) CheckPolicies(cfg *config.Config, backends map[string]PluginFacts) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, rt := range cfg.Routes {
		diags = append(diags, r.checkWontFix(cfg, rt, backends)...)
		if !rt.HasFieldPolicy() {
			continue
		}
		i := slices.IndexFunc(r.routes, func(c *compiled) bool { return c.name == rt.Name })
		if i < 0 {
			continue
		}
		c, key := r.routes[i], "route."+rt.Name
		policyAt := cfg.Range(key + ".field_policy")
		if policyAt == nil {
			policyAt = cfg.Range(key + ".field_policy_default")
		}
		if policyAt == nil {
			policyAt = rt.Range.Ptr()
		}
		perAlert := map[string][]string{} // attribute → the backends whose plugins have it
		allKnown := true
		nah := rt.FieldPolicyDefault == config.FieldPolicyNeverAfterHuman
		for _, p := range rt.FieldPolicy {
			nah = nah || p == config.FieldPolicyNeverAfterHuman
		}
		for _, b := range c.backends {
			f, ok := backends[b]
			if !ok {
				allKnown = false
				continue
			}
			if nah && !f.Capabilities.ReadStatus {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "never_after_human needs a plugin that reads status",
					Detail: fmt.Sprintf("Route %q gives a field the policy \"never_after_human\", which needs the field's current value in the tool to see a person's change, but backend.%s's plugin %q cannot read a work item's status (it does not declare the read_status capability). Use \"create\" or \"comment\" for this route, or send it to a backend whose plugin reads status.",
						rt.Name, b, f.Plugin),
					Subject: policyAt,
				})
			}
			if !f.Capabilities.FieldPolicy {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Plugin does not apply field policies",
					Detail: fmt.Sprintf("Route %q sets a field policy, but backend.%s's plugin %q does not apply one (its Info does not declare the field_policy capability): it would write fields as it always does. Remove field_policy and field_policy_default from the route, or send it to backends whose plugins apply them (servicenow, jira, rest).",
						rt.Name, b, f.Plugin),
					Subject: policyAt,
				})
			}
			for _, a := range f.PerAlert {
				perAlert[a] = append(perAlert[a], b)
			}
		}
		names := make([]string, 0, len(rt.FieldPolicy))
		for name := range rt.FieldPolicy {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if _, ok := perAlert[name]; ok || !allKnown || !c.fieldsKnown || slices.Contains(c.fieldNames, name) {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid field_policy." + name,
				Detail:   fmt.Sprintf("field_policy.%s of route %q names no field the route sends: %s.%s", name, rt.Name, sendsText(c.fieldNames, perAlert), suggestField(name, c.fieldNames, perAlert)),
				Subject:  subjectOf(cfg, key+".field_policy."+name, policyAt),
			})
		}
	}
	return diags
}

// checkWontFix: wont_fix needs the resolution of a resolved work item,
// which only a plugin that reads status gives.
func (r *Router) checkWontFix(cfg *config.Config, rt *config.Route, backends map[string]PluginFacts) hcl.Diagnostics {
	if rt.WontFix == nil {
		return nil
	}
	i := slices.IndexFunc(r.routes, func(c *compiled) bool { return c.name == rt.Name })
	if i < 0 {
		return nil
	}
	var diags hcl.Diagnostics
	for _, b := range r.routes[i].backends {
		if f, ok := backends[b]; ok && !f.Capabilities.ReadStatus {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "wont_fix needs a plugin that reads status",
				Detail: fmt.Sprintf("Route %q sets wont_fix, which needs the resolution a person gave a work item, but backend.%s's plugin %q cannot read a work item's status (it does not declare the read_status capability). Remove the wont_fix block, or send the route to backends whose plugins read status (servicenow, jira).",
					rt.Name, b, f.Plugin),
				Subject: subjectOf(cfg, "route."+rt.Name+".wont_fix", rt.Range.Ptr()),
			})
		}
	}
	return diags
}

func subjectOf(cfg *config.Config, key string, fallback *hcl.Range) *hcl.Range {
	if r := cfg.Range(key); r != nil {
		return r
	}
	return fallback
}

// sendsText lists what a route sends, for a diagnostic.
func sendsText(fields []string, perAlert map[string][]string) string {
	var parts []string
	if len(fields) == 0 {
		parts = append(parts, "it has no fields")
	} else {
		parts = append(parts, "its fields are "+strings.Join(fields, ", "))
	}
	attrs := make([]string, 0, len(perAlert))
	for a, bs := range perAlert {
		attrs = append(attrs, fmt.Sprintf("%s (%s)", a, strings.Join(bs, ", ")))
	}
	sort.Strings(attrs)
	if len(attrs) == 0 {
		parts = append(parts, "its backends' plugins have no per-alert attributes")
	} else {
		parts = append(parts, "the per-alert attributes of its backends' plugins are "+strings.Join(attrs, ", "))
	}
	return strings.Join(parts, "; ")
}

func suggestField(name string, fields []string, perAlert map[string][]string) string {
	all := slices.Clone(fields)
	for a := range perAlert {
		all = append(all, a)
	}
	sort.Strings(all)
	if s := alertvalue.Closest(name, all); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}
