package sdk_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// schemaPath is the JSON Schema of the protocol's JSON payloads, for plugin
// authors who do not use Go (docs/plugin-protocol.md).
const schemaPath = "proto/itsm/v1/itsm.schema.json"

var update = flag.Bool("update", false, "rewrite "+schemaPath)

// TestJSONSchema keeps the checked-in JSON Schema of the alert (alert_json
// on the wire) and the other JSON payloads in step with the Go types: it
// fails when a field is added, renamed, retyped or documented differently.
func TestJSONSchema(t *testing.T) {
	got := renderJSONSchema(t)
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go generate ./sdk)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("sdk/%s is stale: run go generate ./sdk and commit it", schemaPath)
	}
}

// TestJSONSchemaCoversSampleAlert checks the generator against the JSON
// encoding itself: every key of an encoded alert is a property of its
// definition, and every required property is there.
func TestJSONSchemaCoversSampleAlert(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(renderJSONSchema(t), &doc); err != nil {
		t.Fatal(err)
	}
	a := sampleAlert()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var encoded map[string]json.RawMessage
	if err := json.Unmarshal(raw, &encoded); err != nil {
		t.Fatal(err)
	}
	def := doc.Defs["Alert"]
	for k := range encoded {
		if _, ok := def.Properties[k]; !ok {
			t.Errorf("the encoded alert has %q, which the schema's Alert lacks", k)
		}
	}
	for _, k := range def.Required {
		if _, ok := encoded[k]; !ok {
			t.Errorf("the schema requires %q, which the encoded alert lacks", k)
		}
	}
}

func sampleAlert() sdk.Alert {
	sev := 2
	return sdk.Alert{ID: "a", Rule: "r", Severity: &sev, Condition: sdk.ConditionFired, FiredAt: time.Unix(0, 0).UTC(),
		Metric: &sdk.MetricSummary{Name: "cpu"}, Context: json.RawMessage(`{}`)}
}

// renderJSONSchema builds the schema by reflection over the Go types, with
// the descriptions and enumerations of their source.
func renderJSONSchema(t *testing.T) []byte {
	t.Helper()
	g := &schemaGen{defs: map[string]any{}, src: readSourceDocs(t)}
	g.ref(reflect.TypeFor[sdk.Alert]())
	g.defs["Fields"] = map[string]any{
		"description": "fields_json: the route's `fields`, rendered for the alert: an object of any JSON values. Empty bytes when the route sets none.",
		"type":        "object",
	}
	g.defs["Config"] = map[string]any{
		"description": "config_json (ConfigureRequest): the backend's `config {}` block decoded against the plugin's schema, without its per-alert attributes: one key per attribute (its value, its default, or null when left out) and per block (single: an object or null; list: an array of objects; map: an object of objects by label).",
		"type":        "object",
	}
	g.defs["Values"] = map[string]any{
		"description": "values_json: the plugin's per-alert attributes rendered for the alert, one key per per-alert attribute (null or its default when left out), nested in their blocks as in Config. Empty bytes when the schema declares none.",
		"type":        "object",
	}
	doc := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"title":   "itsm.v1 JSON payloads",
		"description": "The JSON carried in bytes fields of the itsm.v1 protocol: Call.alert_json is an Alert, Call.fields_json Fields, " +
			"Call.values_json Values, ConfigureRequest.config_json Config. Fields may be added in a minor version: ignore keys you do not know. " +
			"Generated from the Go types of package sdk by `go generate ./sdk`; do not edit.",
		"$defs": g.defs,
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

type schemaGen struct {
	defs map[string]any
	src  sourceDocs
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

// ref returns the schema of a value of type t, defining named structs in
// $defs. Nil pointers, slices and maps encode as null, so they are nullable.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.ref(t.Elem()))
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // reserve against recursion
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	case reflect.Slice:
		return nullable(map[string]any{"type": "array", "items": g.ref(t.Elem())})
	case reflect.Map:
		return nullable(map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())})
	case reflect.String:
		s := map[string]any{"type": "string"}
		if enum := g.src.enums[t.Name()]; len(enum) > 0 {
			s["enum"] = enum
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	panic("jsonschema: unsupported type " + t.String())
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.ref(f.Type)
		if d := g.src.fields[t.Name()+"."+f.Name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}}
			}
			s["description"] = d
		}
		props[name] = s
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			required = append(required, name)
		}
	}
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	if d := g.src.types[t.Name()]; d != "" {
		o["description"] = d
	}
	return o
}

// nullable allows null beside s.
func nullable(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok && s["enum"] == nil {
		c := map[string]any{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []string{typ, "null"}
		return c
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// sourceDocs are the doc comments and string constants of package sdk.
type sourceDocs struct {
	types  map[string]string   // type name → its doc comment
	fields map[string]string   // "Type.Field" → its doc comment
	enums  map[string][]string // string type → the values of its constants
}

func readSourceDocs(t *testing.T) sourceDocs {
	t.Helper()
	d := sourceDocs{types: map[string]string{}, fields: map[string]string{}, enums: map[string][]string{}}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					doc := s.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					d.types[s.Name.Name] = text(doc)
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, fld := range st.Fields.List {
							for _, n := range fld.Names {
								d.fields[s.Name.Name+"."+n.Name] = text(fld.Doc, fld.Comment)
							}
						}
					}
				case *ast.ValueSpec:
					typ, ok := s.Type.(*ast.Ident)
					if gd.Tok != token.CONST || !ok {
						continue
					}
					for _, v := range s.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if str, err := strconv.Unquote(lit.Value); err == nil {
								d.enums[typ.Name] = append(d.enums[typ.Name], str)
							}
						}
					}
				}
			}
		}
	}
	return d
}

// text joins comment groups into one line of text.
func text(groups ...*ast.CommentGroup) string {
	var parts []string
	for _, g := range groups {
		if g != nil {
			parts = append(parts, strings.Join(strings.Fields(g.Text()), " "))
		}
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}
