package pluginhost

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// workItemType is the type of `work_item` in per-alert expressions: the
// recorded work item of calls on an existing item. Before one exists
// (Lookup, Create) every attribute is the empty string rather than the
// object being null, so templates of other actions that read work_item.id
// still render. attributes are the plugin's WorkItem.Attributes (values an
// earlier call's answer gave), empty before one exists.
var workItemType = cty.Object(map[string]cty.Type{
	"id":         cty.String,
	"key":        cty.String,
	"url":        cty.String,
	"state":      cty.String,
	"attributes": cty.Map(cty.String),
})

// ciType is one element of `configuration_items`: the configuration items
// the work item covers (one with per_ci).
var ciType = cty.Object(map[string]cty.Type{"name": cty.String, "resource_id": cty.String})

var ciListType = cty.List(ciType)

// perAlertTree holds the per-alert attribute expressions of one config body,
// shaped like the body: attributes of this level, then nested blocks that
// (transitively) declare per-alert attributes.
type perAlertTree struct {
	schema *compiledSchema
	attrs  map[string]*hcl.Attribute
	single map[string]*perAlertTree
	lists  map[string][]*perAlertTree
	maps   map[string]map[string]*perAlertTree
}

// collectPerAlert walks body and keeps its per-alert attribute expressions.
// Structural problems were already reported by the hcldec pass over the
// same body, so diagnostics here are dropped rather than reported twice.
func collectPerAlert(body hcl.Body, cs *compiledSchema) *perAlertTree {
	t := &perAlertTree{schema: cs, attrs: map[string]*hcl.Attribute{}}
	if !cs.hasPerAlert {
		return t
	}
	content, _, _ := body.PartialContent(cs.bodySchema(false))
	if content == nil {
		return t
	}
	for _, name := range cs.perAlert {
		if a, ok := content.Attributes[name]; ok {
			t.attrs[name] = a
		}
	}
	t.single = map[string]*perAlertTree{}
	t.lists = map[string][]*perAlertTree{}
	t.maps = map[string]map[string]*perAlertTree{}
	for _, name := range cs.blockOrder {
		cb := cs.blocks[name]
		if !cb.schema.hasPerAlert {
			continue
		}
		blocks := content.Blocks.OfType(name)
		switch cb.Nesting {
		case sdk.NestingSingle:
			if len(blocks) > 0 {
				t.single[name] = collectPerAlert(blocks[0].Body, cb.schema)
			} else {
				t.single[name] = nil
			}
		case sdk.NestingList:
			list := make([]*perAlertTree, 0, len(blocks))
			for _, b := range blocks {
				list = append(list, collectPerAlert(b.Body, cb.schema))
			}
			t.lists[name] = list
		case sdk.NestingMap:
			m := map[string]*perAlertTree{}
			for _, b := range blocks {
				if len(b.Labels) == 1 {
					m[b.Labels[0]] = collectPerAlert(b.Body, cb.schema)
				}
			}
			t.maps[name] = m
		}
	}
	return t
}

// empty reports whether the schema declares no per-alert attribute, so
// calls need no rendering at all.
func (t *perAlertTree) empty() bool { return !t.schema.hasPerAlert }

// check type-checks every per-alert expression at load, so a misspelt
// field or a call to a load-time-only function such as env() fails here,
// not at 3 a.m. Every variable reference is checked against
// perAlertTypes (alertvalue.CheckRefs sees what evaluation skips: the
// right side of && and ||, the branches of ?:); an expression whose
// references resolve is then evaluated against ctx, which holds unknown
// values of those types, for function and type errors.
func (t *perAlertTree) check(ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	t.each(func(a *hcl.Attribute, ca *compiledAttr) {
		if d := alertvalue.CheckRefs(a.Expr, perAlertTypes()); d.HasErrors() {
			diags = append(diags, d...)
			return
		}
		_, d := evalAttr(a, ca, ctx)
		diags = append(diags, d...)
	})
	return diags
}

// each calls f for every per-alert attribute set in the tree, in schema
// order, nested blocks after their parent's attributes.
func (t *perAlertTree) each(f func(*hcl.Attribute, *compiledAttr)) {
	if t == nil {
		return
	}
	for _, name := range t.schema.perAlert {
		if a, ok := t.attrs[name]; ok {
			f(a, t.schema.attrs[name])
		}
	}
	for _, name := range t.schema.blockOrder {
		t.single[name].each(f)
		for _, child := range t.lists[name] {
			child.each(f)
		}
		for _, label := range slices.Sorted(maps.Keys(t.maps[name])) {
			t.maps[name][label].each(f)
		}
	}
}

// render evaluates the tree against ctx into the JSON shape of sdk.Values.
func (t *perAlertTree) render(ctx *hcl.EvalContext) (json.RawMessage, hcl.Diagnostics) {
	v, diags := t.value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return nil, diags
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode per-alert values",
			Detail:   err.Error(),
		})
	}
	return b, diags
}

func (t *perAlertTree) value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]cty.Value{}
	for _, name := range t.schema.perAlert {
		ca := t.schema.attrs[name]
		a, ok := t.attrs[name]
		if !ok {
			if ca.def != cty.NilVal {
				out[name] = ca.def
			} else {
				out[name] = cty.NullVal(ca.typ.WithoutOptionalAttributesDeep())
			}
			continue
		}
		v, d := evalAttr(a, ca, ctx)
		diags = append(diags, d...)
		out[name] = v
	}
	for _, name := range t.schema.blockOrder {
		cb := t.schema.blocks[name]
		if !cb.schema.hasPerAlert {
			continue
		}
		switch cb.Nesting {
		case sdk.NestingSingle:
			child := t.single[name]
			if child == nil {
				out[name] = cty.NullVal(cty.DynamicPseudoType)
				continue
			}
			v, d := child.value(ctx)
			diags = append(diags, d...)
			out[name] = v
		case sdk.NestingList:
			elems := make([]cty.Value, 0, len(t.lists[name]))
			for _, child := range t.lists[name] {
				v, d := child.value(ctx)
				diags = append(diags, d...)
				elems = append(elems, v)
			}
			out[name] = cty.TupleVal(elems)
		case sdk.NestingMap:
			m := map[string]cty.Value{}
			for label, child := range t.maps[name] {
				v, d := child.value(ctx)
				diags = append(diags, d...)
				m[label] = v
			}
			out[name] = cty.ObjectVal(m)
		}
	}
	return cty.ObjectVal(out), diags
}

// evalAttr evaluates one per-alert attribute and converts it to its
// declared type, with the diagnostic hcldec would give for a wrong type.
func evalAttr(a *hcl.Attribute, ca *compiledAttr, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	cv, err := convert.Convert(v, ca.typ)
	if err != nil {
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for attribute %q: %s.", a.Name, err.Error()),
			Subject:     a.Expr.Range().Ptr(),
			Context:     hcl.RangeBetween(a.NameRange, a.Expr.Range()).Ptr(),
			Expression:  a.Expr,
			EvalContext: ctx,
		})
	}
	if cv.IsNull() && ca.def != cty.NilVal {
		cv = ca.def
	}
	return cv, diags
}

// perAlertTypes are the variables of per-alert expressions with their
// types; `fields` (the route's rendered fields) has any shape.
func perAlertTypes() map[string]cty.Type {
	return map[string]cty.Type{
		"alert":               alertvalue.Type(),
		"fields":              cty.DynamicPseudoType,
		"correlation_key":     cty.String,
		"work_item":           workItemType,
		"configuration_items": ciListType,
	}
}

// loadCheckContext is the evaluation context per-alert attributes are
// type-checked against at load: every variable unknown, with its type.
func loadCheckContext(funcs map[string]function.Function) *hcl.EvalContext {
	vars := map[string]cty.Value{}
	for name, t := range perAlertTypes() {
		vars[name] = cty.UnknownVal(t)
	}
	return &hcl.EvalContext{Variables: vars, Functions: funcs}
}

// callContext is the evaluation context for rendering req's values.
func callContext(req *sdk.Request, funcs map[string]function.Function) (*hcl.EvalContext, error) {
	fields, err := fieldsValue(req.Fields)
	if err != nil {
		return nil, err
	}
	ref := req.Ref
	if ref == nil {
		ref = &sdk.WorkItem{}
	}
	attrs := cty.MapValEmpty(cty.String)
	if len(ref.Attributes) > 0 {
		m := make(map[string]cty.Value, len(ref.Attributes))
		for k, v := range ref.Attributes {
			m[k] = cty.StringVal(v)
		}
		attrs = cty.MapVal(m)
	}
	wi := cty.ObjectVal(map[string]cty.Value{
		"id":         cty.StringVal(ref.ID),
		"key":        cty.StringVal(ref.Key),
		"url":        cty.StringVal(ref.URL),
		"state":      cty.StringVal(string(ref.State)),
		"attributes": attrs,
	})
	cis := cty.ListValEmpty(ciType)
	if len(req.ConfigurationItems) > 0 {
		vals := make([]cty.Value, len(req.ConfigurationItems))
		for i, ci := range req.ConfigurationItems {
			vals[i] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(ci.Name), "resource_id": cty.StringVal(ci.ResourceID)})
		}
		cis = cty.ListVal(vals)
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"alert":               alertvalue.Value(&req.Alert),
			"fields":              fields,
			"correlation_key":     cty.StringVal(req.CorrelationKey),
			"work_item":           wi,
			"configuration_items": cis,
		},
		Functions: funcs,
	}, nil
}

// fieldsValue turns a route's rendered fields (JSON values) into `fields`.
func fieldsValue(fields map[string]any) (cty.Value, error) {
	if len(fields) == 0 {
		return cty.EmptyObjectVal, nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return cty.NilVal, fmt.Errorf("encode route fields: %w", err)
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, fmt.Errorf("route fields: %w", err)
	}
	v, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("route fields: %w", err)
	}
	return v, nil
}
