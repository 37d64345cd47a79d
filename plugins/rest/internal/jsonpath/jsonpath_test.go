package jsonpath

import (
	"encoding/json"
	"strings"
	"testing"
)

const doc = `{
  "id": 12345678901234567890,
  "data": {"id": "abc", "ok": true, "n": 1.5, "nothing": null, "obj": {}},
  "result": [{"sys_id": "s0"}, {"sys_id": "s1"}],
  "tickets": [{"id": 1}, {"id": 2}, {"id": 3}],
  "a.b": {"c": "dotted"},
  "": "empty",
  "list": []
}`

func TestGet(t *testing.T) {
	d, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // "" with ok false means missing
		ok   bool
	}{
		{"id", "12345678901234567890", true},
		{"$.id", "12345678901234567890", true},
		{"data.id", "abc", true},
		{"$.data.id", "abc", true},
		{"data.ok", "true", true},
		{"data.n", "1.5", true},
		{"result[0].sys_id", "s0", true},
		{"$.result[1].sys_id", "s1", true},
		{"$[\"result\"][1].sys_id", "s1", true},
		{"tickets[-1].id", "3", true},
		{"tickets[-3].id", "1", true},
		{"tickets[-4].id", "", false},
		{"tickets[3].id", "", false},
		{`["a.b"].c`, "dotted", true},
		{"data.nothing", "", false},
		{"data.missing", "", false},
		{"data.id.deeper", "", false},
		{"data[0]", "", false},
		{"result.sys_id", "", false},
		{"list[0]", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p, err := Parse(tc.path)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			v, ok := p.Get(d)
			if ok != tc.ok {
				t.Fatalf("Get ok = %v (value %v), want %v", ok, v, tc.ok)
			}
			if !ok {
				return
			}
			got, err := Scalar(v)
			if err != nil {
				t.Fatalf("Scalar: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGetRootAndNonScalars(t *testing.T) {
	d, _ := Decode([]byte(`"just a string"`))
	v, ok := MustParse("$").Get(d)
	if s, _ := Scalar(v); !ok || s != "just a string" {
		t.Errorf("$ of a string document = %v, %v", v, ok)
	}
	d, _ = Decode([]byte(doc))
	for _, path := range []string{"data.obj", "result", "data"} {
		v, ok := MustParse(path).Get(d)
		if !ok {
			t.Fatalf("%s missing", path)
		}
		if _, err := Scalar(v); err == nil {
			t.Errorf("Scalar(%s) accepted a non-scalar", path)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"":          "empty path",
		"  ":        "empty path",
		"a..b":      "empty key",
		".a":        "empty key",
		"a.":        "ends with '.'",
		"$.":        "followed by a key",
		"a[":        "without ']'",
		"a[x]":      `index "x" is not an integer`,
		"a[1.5]":    "not an integer",
		"a]":        "']' without '['",
		"a[0]b":     "expected '.' or '['",
		"a.[0]":     "right after '.'",
		`["a`:       "unterminated",
		`["a"`:      "followed by ']'",
		`[""]`:      "empty quoted key",
		`["a\q"]`:   "bad quoted key",
		"data[0]]x": "",
	}
	for src, want := range tests {
		t.Run(src, func(t *testing.T) {
			_, err := Parse(src)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", src)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Parse(%q) = %v, want it to mention %q", src, err, want)
			}
		})
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, path string
		val            any
		want, err      string
	}{
		{"top", `{"a":1}`, "b", "x", `{"a":1,"b":"x"}`, ""},
		{"creates objects", `{"a":1}`, "ticket.custom.ci", "ci-1", `{"a":1,"ticket":{"custom":{"ci":"ci-1"}}}`, ""},
		{"overwrites", `{"routing_key":"placeholder"}`, "$.routing_key", "k", `{"routing_key":"k"}`, ""},
		{"array element", `{"l":[{"x":1},{"x":2}]}`, "l[-1].x", "y", `{"l":[{"x":1},{"x":"y"}]}`, ""},
		{"quoted key", `{}`, `["a.b"]`, true, `{"a.b":true}`, ""},
		{"index out of range", `{"l":[]}`, "l[0]", "y", "", "out of range"},
		{"index into object", `{"l":{}}`, "l[0]", "y", "", "not an array"},
		{"key into scalar", `{"a":"s"}`, "a.b", "y", "", "not an object"},
		{"root", `{"a":1}`, "$", "x", `"x"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decode([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			out, err := MustParse(tc.path).Set(d, tc.val)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Set = %v, want error %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			if string(b) != tc.want {
				t.Errorf("got %s, want %s", b, tc.want)
			}
		})
	}
}

func TestDecodeKeepsDigits(t *testing.T) {
	d, err := Decode([]byte(`{"id": 9007199254740993}`))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := MustParse("id").Get(d)
	if s, _ := Scalar(v); s != "9007199254740993" {
		t.Errorf("id = %s; digits lost", s)
	}
	if _, err := Decode([]byte(`{} {}`)); err == nil {
		t.Error("Decode accepted two documents")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a.b", "$.x[0]", `["k"].v`, "t[-1]", "a..b", "[", `["\u0041"]`} {
		f.Add(s)
	}
	d, _ := Decode([]byte(doc))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		p.Get(d)
		_, _ = p.Set(map[string]any{}, "v")
	})
}
