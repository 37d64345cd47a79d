package commonschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/host/internal/fuzztest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func jsonValid(b []byte) bool { return json.Valid(b) }

func fullSamplesNoCheck() []string {
	a, _ := filepath.Glob("testdata/*.json")
	b, _ := filepath.Glob("testdata/assembled/*.json")
	return append(a, b...)
}

// TestMain: see fuzztest.Main.
func TestMain(m *testing.M) { fuzztest.Main(m) }

// FuzzDecode: no input panics; every rejection is an *Error; every accepted
// alert has an id and a condition, marshals to JSON and converts to the
// route value, and all its text (the raw alertContext's strings included)
// is valid UTF-8 without NUL characters, which PostgreSQL cannot store;
// and the validator agrees with encoding/json.
//
//	go test -run=^$ -fuzz=FuzzDecode -fuzztime=10s ./host/commonschema
func FuzzDecode(f *testing.F) {
	for _, s := range fullSamplesNoCheck() {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(payload(minimal, `"{\"a\":[1,{\"b\":\"\\u00e9\"}]}"`))
	f.Add(payload(minimal+`,"monitoringService":"ServiceHealth","alertTargetIDs":"[\"/subscriptions/x\"]"`, `{"properties":{"impactedServices":"[{\"ServiceName\":\"S\"}]","stage":"Resolved"}}`))
	f.Add(payload(minimal+`,"description":"a\u0000b","configurationItems":["\u0000"]`, `{"k\u0000":"\\u0000\u0000","x":"\ud800"}`))
	f.Add(payload(minimal+",\"alertRule\":\"r\xff\",\"customProperties\":{\"\xfe\":\"\xc3\"}", "{\"a\":\"\xe2\x82\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > DefaultMaxBodyBytes {
			return
		}
		if got, want := valid(body), json.Valid(body); got != want {
			t.Fatalf("valid = %v, encoding/json.Valid = %v", got, want)
		}
		a, err := Decode(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %T %q is not a described *Error", err, err)
			}
			return
		}
		if a.ID == "" || (a.Condition != sdk.ConditionFired && a.Condition != sdk.ConditionResolved) {
			t.Fatalf("accepted alert without id or condition: %+v", a)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("alert does not marshal: %v", err)
		}
		if bad := unstorableText(reflect.ValueOf(a), "alert"); bad != "" {
			t.Fatalf("decoded text cannot be stored: %s", bad)
		}
		if a.Context != nil {
			var ctx any
			if !utf8.Valid(a.Context) || json.Unmarshal(a.Context, &ctx) != nil {
				t.Fatalf("context is not valid UTF-8 JSON: %q", a.Context)
			}
			if bad := unstorableText(reflect.ValueOf(ctx), "context"); bad != "" {
				t.Fatalf("context text cannot be stored: %s", bad)
			}
		}
		_ = alertvalue.Value(a)
	})
}

// unstorableText names the first string under v (map keys included) that
// is not valid UTF-8 or holds a NUL character, or returns "". It walks
// without building paths and names the path only on the way back up from
// a failure, so checking a large or deeply nested value stays linear.
func unstorableText(v reflect.Value, path string) string {
	var where []string // innermost first
	bad, ok := findUnstorable(v, &where)
	if ok {
		return ""
	}
	slices.Reverse(where)
	return fmt.Sprintf("%s%s = %q", path, strings.Join(where, ""), bad)
}

// findUnstorable reports the first unstorable string under v, appending
// the path to it to *where, innermost element first.
func findUnstorable(v reflect.Value, where *[]string) (bad string, ok bool) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return s, false
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return findUnstorable(v.Elem(), where)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if bad, ok := findUnstorable(v.Field(i), where); !ok {
				*where = append(*where, "."+v.Type().Field(i).Name)
				return bad, false
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", true // Context, checked as JSON
		}
		for i := range v.Len() {
			if bad, ok := findUnstorable(v.Index(i), where); !ok {
				*where = append(*where, fmt.Sprintf("[%d]", i))
				return bad, false
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			if bad, ok := findUnstorable(k, where); !ok {
				*where = append(*where, fmt.Sprintf("[%q] (key)", k))
				return bad, false
			}
			if bad, ok := findUnstorable(it.Value(), where); !ok {
				*where = append(*where, fmt.Sprintf("[%q]", k))
				return bad, false
			}
		}
	}
	return "", true
}

// TestDecodeMemoryBounded decodes adversarial bodies at the size limit and
// checks the allocation stays linear: at most 32 bytes per input byte
// (the worst case is a list of one-letter names, each a string header).
func TestDecodeMemoryBounded(t *testing.T) {
	const limit = DefaultMaxBodyBytes
	fill := func(prefix, item, sep, suffix string) []byte {
		var b strings.Builder
		b.WriteString(prefix)
		for b.Len()+len(item)+len(sep)+len(suffix) < limit {
			b.WriteString(item)
			b.WriteString(sep)
		}
		b.WriteString(item)
		b.WriteString(suffix)
		return []byte(b.String())
	}
	ess := `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"a","monitorCondition":"Fired","monitoringService":"ServiceHealth",`
	bodies := map[string][]byte{
		"many targets":    fill(ess+`"alertTargetIDs":[`, `"/subscriptions/s/resourceGroups/r/providers/p/t/n"`, ",", `]}}}`),
		"many CIs":        fill(ess+`"alertTargetIDs":["/subscriptions/s/resourceGroups/r/providers/p/t/n"],"configurationItems":[`, `"n"`, ",", `]}}}`),
		"deep nesting":    []byte(ess + `"x":` + strings.Repeat("[", maxDepth-5) + strings.Repeat("]", maxDepth-5) + `}}}`),
		"too deep":        []byte(strings.Repeat("[", limit/2) + strings.Repeat("]", limit/2)),
		"impacted":        fill(ess+`"alertTargetIDs":[]},"alertContext":{"properties":{"impactedServices":[`, `{"ServiceName":"S","ImpactedRegions":[{"RegionName":"R"}]}`, ",", `]}}}}`),
		"escaped strings": fill(ess+`"description":"`, `\"\\\u00e9`, "", `"}}}`),
		"dimensions":      fill(ess+`"monitoringService":"Platform"},"alertContext":{"condition":{"allOf":[{"metricName":"m","dimensions":[`, `{"name":"n","value":"v"}`, ",", `]}]}}}}`),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _ = Decode(body)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32*uint64(len(body)) {
				t.Errorf("decoding %d bytes allocated %d bytes (over 32x the input)", len(body), alloc)
			}
		})
	}
}

// TestUnstorableTextLinear holds FuzzDecode's text check to work linear in
// the size of what it walks: it used to build the path of every value on
// the way down, so an alertContext nested maxDepth deep (20 KB) made it
// allocate about 150 MB per execution, and the fuzzer crawled.
func TestUnstorableTextLinear(t *testing.T) {
	ctx := []byte(`{"a":` + strings.Repeat(`[{"k":`, maxDepth/2-2) + `"v"` + strings.Repeat(`}]`, maxDepth/2-2) + `}`)
	var v any
	if err := json.Unmarshal(ctx, &v); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bad := unstorableText(reflect.ValueOf(v), "context")
	runtime.ReadMemStats(&after)
	if bad != "" {
		t.Fatalf("storable text reported as %s", bad)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32*uint64(len(ctx)) {
		t.Errorf("checking %d bytes of JSON allocated %d bytes (over 32x the input)", len(ctx), alloc)
	}

	// A failure deep down still names its whole path.
	v.(map[string]any)["a"].([]any)[0].(map[string]any)["k"].([]any)[0].(map[string]any)["k"] = "x\x00"
	if got, want := unstorableText(reflect.ValueOf(v), "context"), `context["a"][0]["k"][0]["k"] = "x\x00"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
