package commonschema

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkDecode measures decode + normalize of Microsoft's static metric
// alert sample, the most common payload.
func BenchmarkDecode(b *testing.B) {
	body, err := os.ReadFile("testdata/platform-metric-static-fired.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalBaseline is encoding/json unmarshalling the same body
// into a generic map: a reference measured in the same run, so a figure
// taken on a busy machine can still be judged.
func BenchmarkUnmarshalBaseline(b *testing.B) {
	body, err := os.ReadFile("testdata/platform-metric-static-fired.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
