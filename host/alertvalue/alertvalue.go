// Package alertvalue turns an sdk.Alert into the `alert` object that route
// expressions and templates see. The object's attribute names and types are
// derived from sdk.Alert's json tags, so the Go struct is the one source of
// truth for what `alert.<name>` means. CheckRefs checks, at load, every
// reference a per-alert expression makes against that type.
package alertvalue

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
)

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()

	alertTypeOnce sync.Once
	alertType     cty.Type
)

// Type is the cty type of the `alert` object. When the configuration
// loads, expressions' references are checked against it (CheckRefs) and
// the expressions are evaluated against cty.UnknownVal(Type()).
func Type() cty.Type {
	alertTypeOnce.Do(func() { alertType = typeOf(reflect.TypeFor[sdk.Alert]()) })
	return alertType
}

// Unknown is an unknown alert, for type-checking expressions at load time.
func Unknown() cty.Value { return cty.UnknownVal(Type()) }

// Value converts a to the `alert` object. Absent optional values are null.
func Value(a *sdk.Alert) cty.Value {
	return valueOf(reflect.ValueOf(a).Elem(), Type())
}

// Field describes one attribute reachable as alert.<Path>.
type Field struct {
	// Path is the dotted attribute path below `alert`.
	Path string
	// Type is the attribute's HCL type, e.g. "string" or "list(string)".
	Type string
}

// Fields lists every attribute reachable from `alert`, depth first, in the
// struct's declaration order. Documentation is generated from it.
func Fields() []Field {
	var out []Field
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for _, f := range fieldsOf(t) {
			path := prefix + f.name
			ft := f.typ
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			out = append(out, Field{Path: path, Type: typeString(typeOf(f.typ))})
			if ft.Kind() == reflect.Struct && ft != timeType {
				walk(path+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[sdk.Alert]())
	return out
}

type field struct {
	name  string
	index int
	typ   reflect.Type
}

var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Type == rawType {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name: name, index: i, typ: sf.Type})
	}
	fieldCache.Store(t, fs)
	return fs
}

func typeOf(t reflect.Type) cty.Type {
	if t == timeType {
		return cty.String
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeOf(t.Elem())
	case reflect.String:
		return cty.String
	case reflect.Bool:
		return cty.Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return cty.Number
	case reflect.Slice:
		return cty.List(typeOf(t.Elem()))
	case reflect.Map:
		return cty.Map(typeOf(t.Elem()))
	case reflect.Struct:
		attrs := map[string]cty.Type{}
		for _, f := range fieldsOf(t) {
			attrs[f.name] = typeOf(f.typ)
		}
		return cty.Object(attrs)
	}
	panic(fmt.Sprintf("alertvalue: unsupported field type %s", t))
}

func valueOf(v reflect.Value, ty cty.Type) cty.Value {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return cty.NullVal(ty)
		}
		v = v.Elem()
	}
	if v.Type() == timeType {
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(t.UTC().Format(time.RFC3339Nano))
	}
	switch v.Kind() {
	case reflect.String:
		return cty.StringVal(v.String())
	case reflect.Bool:
		return cty.BoolVal(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(v.Uint())
	case reflect.Float32, reflect.Float64:
		return cty.NumberFloatVal(v.Float())
	case reflect.Slice:
		et := ty.ElementType()
		if v.Len() == 0 {
			return cty.ListValEmpty(et)
		}
		elems := make([]cty.Value, v.Len())
		for i := range elems {
			elems[i] = valueOf(v.Index(i), et)
		}
		return cty.ListVal(elems)
	case reflect.Map:
		et := ty.ElementType()
		if v.Len() == 0 {
			return cty.MapValEmpty(et)
		}
		m := make(map[string]cty.Value, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			m[iter.Key().String()] = valueOf(iter.Value(), et)
		}
		return cty.MapVal(m)
	case reflect.Struct:
		attrs := map[string]cty.Value{}
		for _, f := range fieldsOf(v.Type()) {
			attrs[f.name] = valueOf(v.Field(f.index), ty.AttributeType(f.name))
		}
		return cty.ObjectVal(attrs)
	}
	panic(fmt.Sprintf("alertvalue: unsupported value kind %s", v.Kind()))
}

func typeString(t cty.Type) string {
	switch {
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "bool"
	case t.IsListType():
		return "list(" + typeString(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeString(t.ElementType()) + ")"
	case t.IsObjectType():
		return "object"
	}
	return t.FriendlyName()
}

// Projection builds the `alert` object with only the top-level attributes
// a set of expressions reads. Building the whole object costs more than
// evaluating a typical route, so the router builds the part it needs.
// The zero Projection builds the whole object.
type Projection struct {
	fields []field // nil: all
}

// ProjectionFor is the projection that serves expressions with these
// variable references (hcl.Expression.Variables). A reference to `alert`
// itself, or one indexed by a computed key, needs the whole object.
func ProjectionFor(refs []hcl.Traversal) Projection {
	names := map[string]bool{}
	for _, tr := range refs {
		if tr.RootName() != "alert" {
			continue
		}
		name, ok := firstStep(tr)
		if !ok {
			return Projection{}
		}
		names[name] = true
	}
	all := fieldsOf(reflect.TypeFor[sdk.Alert]())
	fs := make([]field, 0, len(names))
	for _, f := range all {
		if names[f.name] {
			fs = append(fs, f)
		}
	}
	if len(fs) == len(all) {
		return Projection{}
	}
	return Projection{fields: fs}
}

// firstStep is the attribute name a traversal reads below its root.
func firstStep(tr hcl.Traversal) (string, bool) {
	if len(tr) < 2 {
		return "", false
	}
	switch s := tr[1].(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString(), true
		}
	}
	return "", false
}

// Value is the `alert` object for a, holding the projection's attributes.
func (p Projection) Value(a *sdk.Alert) cty.Value {
	if p.fields == nil {
		return Value(a)
	}
	v := reflect.ValueOf(a).Elem()
	ty := Type()
	attrs := make(map[string]cty.Value, len(p.fields))
	for _, f := range p.fields {
		attrs[f.name] = valueOf(v.Field(f.index), ty.AttributeType(f.name))
	}
	return cty.ObjectVal(attrs)
}
