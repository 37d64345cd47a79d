package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestTracesValidate(t *testing.T) {
	ok := func(mod func(*Traces)) Traces {
		tr := DefaultTraces()
		tr.Exporter = ExporterOTLPGRPC
		mod(&tr)
		return tr
	}
	for _, tc := range []struct {
		name string
		in   Traces
		attr string // "" when valid
	}{
		{"defaults with an exporter", ok(func(*Traces) {}), ""},
		{"http with endpoint and headers", ok(func(t *Traces) {
			t.Exporter, t.Endpoint, t.Headers, t.SampleRatio = ExporterOTLPHTTP, "collector:4318", map[string]string{"x-api-key": "k"}, 0.25
		}), ""},
		{"no exporter", ok(func(t *Traces) { t.Exporter = "" }), "exporter"},
		{"unknown exporter", ok(func(t *Traces) { t.Exporter = "jaeger" }), "exporter"},
		{"endpoint with a scheme", ok(func(t *Traces) { t.Endpoint = "http://collector:4317" }), "endpoint"},
		{"endpoint without a port", ok(func(t *Traces) { t.Endpoint = "collector" }), "endpoint"},
		{"endpoint port out of range", ok(func(t *Traces) { t.Endpoint = "collector:70000" }), "endpoint"},
		{"header name with a space", ok(func(t *Traces) { t.Headers = map[string]string{"x key": "v"} }), "headers"},
		{"header value with a line break", ok(func(t *Traces) { t.Headers = map[string]string{"x-key": "v\r\nEvil: 1"} }), "headers"},
		{"ratio zero", ok(func(t *Traces) { t.SampleRatio = 0 }), "sample_ratio"},
		{"ratio above one", ok(func(t *Traces) { t.SampleRatio = 1.5 }), "sample_ratio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			if tc.attr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Attr != tc.attr || !strings.Contains(fe.Msg, tc.attr) {
				t.Fatalf("Validate = %v, want a FieldError at %s naming it", err, tc.attr)
			}
		})
	}
}

func TestTraceParent(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0x0a, 0xf7}, SpanID: trace.SpanID{0xb7}, TraceFlags: trace.FlagsSampled})
	tp := TraceParent(sc)
	if tp != "00-0af70000000000000000000000000000-b700000000000000-01" {
		t.Fatalf("TraceParent = %q", tp)
	}
	back := ParseTraceParent(tp)
	if back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || !back.IsSampled() || !back.IsRemote() {
		t.Errorf("ParseTraceParent(%q) = %v", tp, back)
	}
	if TraceParent(sc.WithTraceFlags(0)) != "" || TraceParent(trace.SpanContext{}) != "" {
		t.Error("an unsampled or invalid span context has a traceparent")
	}
	for _, bad := range []string{"", "00-zz", "01-0af70000000000000000000000000000-b700000000000000-01", "00-0af7000000000000000000000000000g-b700000000000000-01"} {
		if ParseTraceParent(bad).IsValid() {
			t.Errorf("ParseTraceParent(%q) is valid", bad)
		}
	}
	if TraceIDOf(tp) != "0af70000000000000000000000000000" || TraceIDOf("junk") != "" {
		t.Error("TraceIDOf")
	}
}

func TestSampler(t *testing.T) {
	sampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})
	unsampled := sampled.WithTraceFlags(0)
	// A trace id whose ratio sampling is "no" at 0.01 (the high bits are set).
	tid := trace.TraceID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, tc := range []struct {
		name   string
		ratio  float64
		parent trace.SpanContext
		links  []trace.Link
		want   sdktrace.SamplingDecision
	}{
		{"new trace at ratio 1", 1, trace.SpanContext{}, nil, sdktrace.RecordAndSample},
		{"new trace below the ratio", 0.01, trace.SpanContext{}, nil, sdktrace.Drop},
		{"child of a sampled parent", 0.01, sampled, nil, sdktrace.RecordAndSample},
		{"child of an unsampled parent", 1, unsampled, nil, sdktrace.Drop},
		{"new trace linked to a sampled span", 0.01, trace.SpanContext{}, []trace.Link{{SpanContext: unsampled}, {SpanContext: sampled}}, sdktrace.RecordAndSample},
		{"new trace linked to unsampled spans", 0.01, trace.SpanContext{}, []trace.Link{{SpanContext: unsampled}}, sdktrace.Drop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.parent.IsValid() {
				ctx = trace.ContextWithSpanContext(ctx, tc.parent)
			}
			got := Sampler(tc.ratio).ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: tid, Name: "x", Links: tc.links})
			if got.Decision != tc.want {
				t.Errorf("decision %v, want %v", got.Decision, tc.want)
			}
		})
	}
}
