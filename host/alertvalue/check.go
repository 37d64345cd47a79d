package alertvalue

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// CheckRefs reports every reference in expr that can never resolve: a
// variable that vars does not declare, or an attribute or index that a
// value of the declared type does not have (alert.sevrity,
// alert["rulle"], alert.rule[0]). It reads the expression instead of
// evaluating it, so it sees what an evaluation against unknown values
// skips: both sides of && and ||, both branches of ?:, function
// arguments, template interpolations and for expressions. Per-alert
// expressions are checked with it when the configuration loads.
//
// Maps accept any key, by attribute or index; lists and tuples accept
// whole-number indices; a dynamic type (such as the plugin host's
// `fields`) accepts anything. References through a for expression's
// iterators and through splats ([for ci in alert.configuration_items :
// ci.name], alert.configuration_items[*].name) are checked against the
// element type when the collection's type is known.
func CheckRefs(expr hcl.Expression, vars map[string]cty.Type) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		t, ok := vars[root]
		if !ok {
			diags = append(diags, unknownVariable(tr, vars))
			continue
		}
		if _, d := follow(ref{path: root, t: t, alert: root == "alert"}, tr[0].SourceRange(), tr[1:]); d != nil {
			diags = append(diags, d)
		}
	}
	// Variables() covers references to the variables themselves; what is
	// reached through iterators, splats and parentheses needs the syntax
	// tree.
	if e, ok := expr.(hclsyntax.Expression); ok {
		w := &walker{vars: vars, anon: map[*hclsyntax.AnonSymbolExpr]anchored{}}
		hclsyntax.Walk(e, w)
		diags = append(diags, w.diags...)
	}
	return diags
}

// ref is a value an expression reaches: how diagnostics name it and its
// type.
type ref struct {
	path string // e.g. "alert.metric", "ci", "alert.configuration_items[*]"
	t    cty.Type
	// alert is set when path starts at the `alert` variable: hints then
	// search all of alert's fields and name docs/alert-fields.md.
	alert bool
}

// follow applies steps to r and returns what they reach, or a diagnostic
// for the first step that cannot resolve. start is where the reference
// begins in the source.
func follow(r ref, start hcl.Range, steps hcl.Traversal) (ref, *hcl.Diagnostic) {
	for _, s := range steps {
		if r.t == cty.DynamicPseudoType {
			return r, nil
		}
		var (
			next            ref
			summary, detail string
		)
		switch s := s.(type) {
		case hcl.TraverseAttr:
			next, summary, detail = r.attr(s.Name, "."+s.Name)
		case hcl.TraverseIndex:
			next, summary, detail = r.index(s.Key)
		default:
			return ref{path: r.path, t: cty.DynamicPseudoType}, nil
		}
		if summary != "" {
			return next, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  summary,
				Detail:   detail,
				Subject:  hcl.RangeBetween(start, s.SourceRange()).Ptr(),
			}
		}
		r = next
	}
	return r, nil
}

// attr reads attribute name (written as step) of r. A problem comes back
// as a diagnostic summary and detail.
func (r ref) attr(name, step string) (next ref, summary, detail string) {
	next = ref{path: r.path + step, t: cty.DynamicPseudoType, alert: r.alert}
	switch {
	case r.t.IsObjectType():
		if r.t.HasAttribute(name) {
			next.t = r.t.AttributeType(name)
			return next, "", ""
		}
		return next, "Unsupported attribute", fmt.Sprintf("%s does not exist: %s has no attribute named %q.%s",
			next.path, r.path, name, r.suggest(name))
	case r.t.IsMapType():
		next.t = r.t.ElementType()
		return next, "", ""
	}
	detail = fmt.Sprintf("%s does not exist: %s is a %s, which has no attributes.", next.path, r.path, r.t.FriendlyName())
	if r.t.IsListType() {
		detail += fmt.Sprintf(" Read one element's with %s[0]%s, or every element's with %s[*]%s.", r.path, step, r.path, step)
	}
	return next, "Unsupported attribute", detail + r.docs()
}

// index reads r[key].
func (r ref) index(key cty.Value) (next ref, summary, detail string) {
	if !key.IsKnown() {
		return ref{path: r.path + "[…]", t: cty.DynamicPseudoType}, "", ""
	}
	step := "[" + keyText(key) + "]"
	next = ref{path: r.path + step, t: cty.DynamicPseudoType, alert: r.alert}
	if key.IsNull() {
		return next, "Invalid index", fmt.Sprintf("%s does not exist: an index cannot be null.", next.path)
	}
	switch {
	case r.t.IsObjectType():
		if k, err := convert.Convert(key, cty.String); err == nil {
			return r.attr(k.AsString(), step)
		}
	case r.t.IsMapType():
		if _, err := convert.Convert(key, cty.String); err == nil {
			next.t = r.t.ElementType()
			return next, "", ""
		}
	case r.t.IsListType(), r.t.IsTupleType():
		i, ok := wholeNumber(key)
		switch {
		case !ok:
			return next, "Invalid index", fmt.Sprintf("%s does not exist: %s is a %s, indexed by whole numbers from 0.",
				next.path, r.path, r.t.FriendlyName())
		case r.t.IsListType():
			next.t = r.t.ElementType()
			return next, "", ""
		case i < len(r.t.TupleElementTypes()):
			next.t = r.t.TupleElementType(i)
			return next, "", ""
		}
		return next, "Invalid index", fmt.Sprintf("%s does not exist: %s has %d elements.", next.path, r.path, len(r.t.TupleElementTypes()))
	}
	return next, "Invalid index", fmt.Sprintf("%s does not exist: %s is a %s, which cannot be indexed by %s.",
		next.path, r.path, r.t.FriendlyName(), keyText(key)) + r.docs()
}

// suggest is the hint for a missing attribute name of r: the closest
// attribute of r, else (below alert) the closest field at any depth.
func (r ref) suggest(name string) string {
	if s := closest(name, slices.Sorted(maps.Keys(r.t.AttributeTypes()))); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s) + r.docs()
	}
	if r.alert {
		if p := closestPath(name); p != "" {
			return fmt.Sprintf(" Did you mean alert.%s?", p) + r.docs()
		}
	}
	return r.docs()
}

func (r ref) docs() string {
	if r.alert {
		return " The alert's fields are listed in docs/alert-fields.md."
	}
	return ""
}

func keyText(key cty.Value) string {
	switch key.Type() {
	case cty.String:
		return strconv.Quote(key.AsString())
	case cty.Number:
		return key.AsBigFloat().Text('f', -1)
	case cty.Bool:
		return strconv.FormatBool(key.True())
	}
	return "…"
}

// wholeNumber is key as a list index, when it is one.
func wholeNumber(key cty.Value) (int, bool) {
	n, err := convert.Convert(key, cty.Number)
	if err != nil || n.IsNull() {
		return 0, false
	}
	bf := n.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 {
		return 0, false
	}
	i, acc := bf.Int64()
	return int(i), acc == big.Exact
}

func unknownVariable(tr hcl.Traversal, vars map[string]cty.Type) *hcl.Diagnostic {
	names := slices.Sorted(maps.Keys(vars))
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown variable",
		Detail:   fmt.Sprintf("There is no variable named %q. These expressions can read: %s.", tr.RootName(), strings.Join(names, ", ")),
		Subject:  tr[0].SourceRange().Ptr(),
	}
}

// anchored is a value with where its reference starts in the source.
type anchored struct {
	ref
	start hcl.Range
}

// walker checks, over the syntax tree, the references Variables() does
// not list: attributes of for iterators, of splat elements and of
// parenthesised references. It tracks the iterators in scope.
type walker struct {
	vars    map[string]cty.Type
	pending []map[string]ref // iterators of the for expressions entered
	scopes  []map[string]ref // iterators in scope, innermost last
	anon    map[*hclsyntax.AnonSymbolExpr]anchored
	diags   hcl.Diagnostics
}

func (w *walker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	switch n := n.(type) {
	case *hclsyntax.ForExpr:
		w.pending = append(w.pending, w.iterators(n))
	case hclsyntax.ChildScope:
		// The body of the for expression entered last.
		w.scopes = append(w.scopes, w.pending[len(w.pending)-1])
	case *hclsyntax.SplatExpr:
		if src, ok := w.typeOf(n.Source); ok {
			w.anon[n.Item] = anchored{ref{path: src.path + "[*]", t: splatElement(src.t)}, n.Source.Range()}
		}
	case *hclsyntax.ScopeTraversalExpr:
		if it, ok := w.iterator(n.Traversal.RootName()); ok {
			w.report(follow(it, n.Traversal[0].SourceRange(), n.Traversal[1:]))
		}
	case *hclsyntax.RelativeTraversalExpr:
		if src, ok := w.typeOf(n.Source); ok {
			start := n.Source.Range()
			if a, ok := n.Source.(*hclsyntax.AnonSymbolExpr); ok {
				start = w.anon[a].start
			}
			w.report(follow(src, start, n.Traversal))
		}
	}
	return nil
}

func (w *walker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	switch n.(type) {
	case *hclsyntax.ForExpr:
		w.pending = w.pending[:len(w.pending)-1]
	case hclsyntax.ChildScope:
		w.scopes = w.scopes[:len(w.scopes)-1]
	}
	return nil
}

func (w *walker) report(_ ref, d *hcl.Diagnostic) {
	if d != nil {
		w.diags = append(w.diags, d)
	}
}

// iterator is the for iterator name in scope, if any.
func (w *walker) iterator(name string) (ref, bool) {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if r, ok := w.scopes[i][name]; ok {
			return r, true
		}
	}
	return ref{}, false
}

// iterators types f's key and value variables from its collection's type;
// dynamic when that type is not known statically.
func (w *walker) iterators(f *hclsyntax.ForExpr) map[string]ref {
	key := ref{path: f.KeyVar, t: cty.DynamicPseudoType}
	val := ref{path: f.ValVar, t: cty.DynamicPseudoType}
	if coll, ok := w.typeOf(f.CollExpr); ok {
		switch t := coll.t; {
		case t.IsListType():
			key.t, val.t = cty.Number, t.ElementType()
		case t.IsSetType():
			key.t, val.t = t.ElementType(), t.ElementType()
		case t.IsMapType():
			key.t, val.t = cty.String, t.ElementType()
		case t.IsObjectType():
			key.t = cty.String
		case t.IsTupleType():
			key.t = cty.Number
		}
	}
	m := map[string]ref{f.ValVar: val}
	if f.KeyVar != "" {
		m[f.KeyVar] = key
	}
	return m
}

// typeOf is the static type of a reference-like expression, without
// reporting anything: ok is false when it is not known.
func (w *walker) typeOf(e hclsyntax.Expression) (ref, bool) {
	switch e := e.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		root := e.Traversal.RootName()
		r, ok := w.iterator(root)
		if !ok {
			t, declared := w.vars[root]
			if !declared {
				return ref{}, false
			}
			r = ref{path: root, t: t, alert: root == "alert"}
		}
		r, d := follow(r, e.Traversal[0].SourceRange(), e.Traversal[1:])
		return r, d == nil
	case *hclsyntax.RelativeTraversalExpr:
		src, ok := w.typeOf(e.Source)
		if !ok {
			return ref{}, false
		}
		r, d := follow(src, e.Source.Range(), e.Traversal)
		return r, d == nil
	case *hclsyntax.AnonSymbolExpr:
		a, ok := w.anon[e]
		return a.ref, ok
	case *hclsyntax.ParenthesesExpr:
		r, ok := w.typeOf(e.Expression)
		r.path = "(" + r.path + ")"
		return r, ok
	}
	return ref{}, false
}

// splatElement is the type of one element a splat visits: a list's or
// set's element, the value itself when it is not a collection.
func splatElement(t cty.Type) cty.Type {
	switch {
	case t.IsListType(), t.IsSetType():
		return t.ElementType()
	case t.IsPrimitiveType(), t.IsObjectType():
		return t
	}
	return cty.DynamicPseudoType
}
