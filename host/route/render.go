package route

import (
	"errors"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// renderFields turns a route's evaluated fields into JSON-compatible Go
// values. A null fields value renders as no fields.
func renderFields(v cty.Value) (map[string]any, error) {
	if v.IsNull() {
		return nil, nil
	}
	t := v.Type()
	if !t.IsObjectType() && !t.IsMapType() {
		return nil, fmt.Errorf("the value is a %s, not an object", t.FriendlyName())
	}
	g, err := toGo(v)
	if err != nil {
		return nil, err
	}
	return g.(map[string]any), nil
}

// toGo converts v to string, float64, bool, nil, []any or map[string]any.
func toGo(v cty.Value) (any, error) {
	if !v.IsWhollyKnown() {
		return nil, errors.New("the value is not known")
	}
	if v.IsNull() {
		return nil, nil
	}
	v, _ = v.Unmark()
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), nil
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f, nil
	case t == cty.Bool:
		return v.True(), nil
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			g, err := toGo(ev)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case t.IsMapType() || t.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			g, err := toGo(ev)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.AsString(), err)
			}
			out[k.AsString()] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s cannot be rendered as JSON", t.FriendlyName())
}

// toString converts a correlation key value to a string.
func toString(v cty.Value) (string, error) {
	if v.IsNull() {
		return "", errors.New("the key is null")
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", fmt.Errorf("the key is a %s, not a string", v.Type().FriendlyName())
	}
	return s.AsString(), nil
}
