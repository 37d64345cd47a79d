package commonschema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func jsonValid(b []byte) bool { return json.Valid(b) }

func fullSamplesNoCheck() []string {
	a, _ := filepath.Glob("testdata/*.json")
	b, _ := filepath.Glob("testdata/assembled/*.json")
	return append(a, b...)
}

// FuzzDecode: no input panics; every rejection is an *Error; every accepted
// alert has an id and a condition, marshals to JSON and converts to the
// route value; and the validator agrees with encoding/json.
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
		_ = alertvalue.Value(a)
	})
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
