// Package jsonpath is the small path language the REST plugin uses to read
// values from JSON responses and to write values into JSON request bodies.
//
// A path is a dotted list of object keys with array indexes:
//
//	id                 the top-level key "id"
//	data.id            key "id" of the object under "data"
//	$.data.id          the same; a leading "$" or "$." is optional
//	result[0].sys_id   first element of the array "result", then its "sys_id"
//	tickets[-1].id     last element of "tickets" (negative indexes count from the end)
//	["a.b"].c          a key that contains a dot or bracket, quoted
//	$                  the whole document
//
// There are no wildcards, filters or recursive descent: a path names at most
// one value, so an operator can predict exactly what it reads.
package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// step is one element of a path: an object key or an array index.
type step struct {
	key   string
	index int
	isIdx bool
}

// Path is a parsed path. The zero Path is the whole document.
type Path struct {
	src   string
	steps []step
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// IsRoot reports whether p names the whole document.
func (p Path) IsRoot() bool { return len(p.steps) == 0 }

// Parse parses a path. Errors say where the path is malformed.
func Parse(src string) (Path, error) {
	p := Path{src: src}
	s := strings.TrimSpace(src)
	if s == "" {
		return p, errors.New("empty path (use \"$\" for the whole document)")
	}
	switch {
	case s == "$":
		return p, nil
	case strings.HasPrefix(s, "$."):
		s = s[2:]
		if s == "" {
			return p, errors.New(`"$." must be followed by a key`)
		}
	case strings.HasPrefix(s, "$["):
		s = s[1:]
	}
	i := 0
	expectKey := true // at the start or after a '.'
	for i < len(s) {
		switch c := s[i]; {
		case c == '[':
			if expectKey && i > 0 {
				return p, fmt.Errorf("at offset %d: '[' right after '.'", i)
			}
			end := strings.IndexByte(s[i:], ']')
			if strings.HasPrefix(s[i+1:], `"`) {
				// Quoted key: ["a.b"], with JSON string escapes.
				q, n, err := quoted(s[i+1:])
				if err != nil {
					return p, fmt.Errorf("at offset %d: %w", i, err)
				}
				if i+1+n >= len(s) || s[i+1+n] != ']' {
					return p, fmt.Errorf("at offset %d: quoted key must be followed by ']'", i)
				}
				p.steps = append(p.steps, step{key: q})
				i += n + 2
			} else {
				if end < 0 {
					return p, fmt.Errorf("at offset %d: '[' without ']'", i)
				}
				inner := s[i+1 : i+end]
				n, err := strconv.Atoi(inner)
				if err != nil {
					return p, fmt.Errorf("at offset %d: index %q is not an integer (quote keys as [\"key\"])", i, inner)
				}
				p.steps = append(p.steps, step{index: n, isIdx: true})
				i += end + 1
			}
			expectKey = false
		case c == '.':
			if expectKey {
				return p, fmt.Errorf("at offset %d: empty key", i)
			}
			i++
			if i == len(s) {
				return p, errors.New("path ends with '.'")
			}
			expectKey = true
		default:
			if !expectKey {
				return p, fmt.Errorf("at offset %d: expected '.' or '[' after %q", i, s[:i])
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' {
				j++
			}
			if j < len(s) && s[j] == ']' {
				return p, fmt.Errorf("at offset %d: ']' without '['", j)
			}
			p.steps = append(p.steps, step{key: s[i:j]})
			i = j
			expectKey = false
		}
	}
	return p, nil
}

// quoted reads a JSON string at the start of s and returns it and the
// number of bytes it took.
func quoted(s string) (string, int, error) {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			var out string
			if err := json.Unmarshal([]byte(s[:j+1]), &out); err != nil {
				return "", 0, fmt.Errorf("bad quoted key %s: %w", s[:j+1], err)
			}
			if out == "" {
				return "", 0, errors.New("empty quoted key")
			}
			return out, j + 1, nil
		}
	}
	return "", 0, errors.New("unterminated quoted key")
}

// MustParse parses a path known to be valid, for tests and constants.
func MustParse(src string) Path {
	p, err := Parse(src)
	if err != nil {
		panic("jsonpath: " + err.Error())
	}
	return p
}

// Decode unmarshals JSON into the generic form Get and Set work on, keeping
// numbers as json.Number so that large ids keep every digit.
func Decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// Get returns the value p names in doc, and false when any step is missing
// (absent key, index out of range, a step into a scalar) or the value is
// null.
func (p Path) Get(doc any) (any, bool) {
	cur := doc
	for _, st := range p.steps {
		switch node := cur.(type) {
		case map[string]any:
			if st.isIdx {
				return nil, false
			}
			v, ok := node[st.key]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			if !st.isIdx {
				return nil, false
			}
			i := st.index
			if i < 0 {
				i += len(node)
			}
			if i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// Set writes v at p inside doc, creating missing objects on the way, and
// returns the updated document. Array elements must exist; a step through
// a scalar is an error.
func (p Path) Set(doc any, v any) (any, error) {
	if len(p.steps) == 0 {
		return v, nil
	}
	return set(doc, p.steps, v, p.src)
}

func set(node any, steps []step, v any, src string) (any, error) {
	st := steps[0]
	rest := steps[1:]
	if st.isIdx {
		arr, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("path %s: index [%d] into a value that is not an array", src, st.index)
		}
		i := st.index
		if i < 0 {
			i += len(arr)
		}
		if i < 0 || i >= len(arr) {
			return nil, fmt.Errorf("path %s: index [%d] out of range (length %d)", src, st.index, len(arr))
		}
		if len(rest) == 0 {
			arr[i] = v
			return arr, nil
		}
		child, err := set(arr[i], rest, v, src)
		if err != nil {
			return nil, err
		}
		arr[i] = child
		return arr, nil
	}
	var obj map[string]any
	switch n := node.(type) {
	case map[string]any:
		obj = n
	case nil:
		obj = map[string]any{}
	default:
		return nil, fmt.Errorf("path %s: key %q inside a value that is not an object", src, st.key)
	}
	if len(rest) == 0 {
		obj[st.key] = v
		return obj, nil
	}
	child, err := set(obj[st.key], rest, v, src)
	if err != nil {
		return nil, err
	}
	obj[st.key] = child
	return obj, nil
}

// Scalar renders a value read by Get as text: strings as they are, numbers
// in their JSON form (no exponent added, no digits lost), booleans as
// "true"/"false". Objects and arrays are an error: an id or a key must be
// a single value.
func Scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case map[string]any:
		return "", errors.New("is an object, not a single value")
	case []any:
		return "", errors.New("is an array, not a single value")
	case nil:
		return "", errors.New("is null")
	default:
		return "", fmt.Errorf("has unsupported type %T", v)
	}
}
