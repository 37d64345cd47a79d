package calltrace

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func recording(t *testing.T) (context.Context, *Recorder) {
	t.Helper()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	rec := &Recorder{}
	return context.WithValue(trace.ContextWithRemoteSpanContext(context.Background(), sc), recorderKey{}, rec), rec
}

// TestRecorderBounds: spans beyond MaxSpans are counted as dropped, and an
// encoding over MaxBytes drops the newest spans until it fits.
func TestRecorderBounds(t *testing.T) {
	ctx, rec := recording(t)
	tr := TracerProvider().Tracer("t")
	big := strings.Repeat("x", MaxValueBytes)
	for range MaxSpans + 3 {
		_, s := tr.Start(ctx, "s")
		for i := range MaxAttributes {
			s.SetAttributes(attribute.String(string(rune('a'+i%26))+strings.Repeat("k", i), big))
		}
		s.End()
	}
	b := rec.Encode()
	if len(b) > MaxBytes {
		t.Fatalf("encoded %d bytes, more than %d", len(b), MaxBytes)
	}
	var got Spans
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Spans)+got.Dropped != MaxSpans+3 || len(got.Spans) == 0 {
		t.Errorf("%d spans sent and %d dropped, want %d in all", len(got.Spans), got.Dropped, MaxSpans+3)
	}
}

// TestNotRecording: outside a recording call, or under an unsampled
// parent, Start records nothing and a span that ends twice is sent once.
func TestNotRecording(t *testing.T) {
	tr := TracerProvider().Tracer("t")
	if _, s := tr.Start(context.Background(), "s"); s.IsRecording() {
		t.Error("a span outside a call records")
	}
	ctx, rec := recording(t)
	unsampled := trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{3}}))
	if _, s := tr.Start(unsampled, "s"); s.IsRecording() {
		t.Error("a span under an unsampled parent records")
	}
	_, s := tr.Start(ctx, "once")
	s.End()
	s.End()
	if b := rec.Encode(); strings.Count(string(b), `"once"`) != 1 {
		t.Errorf("trailer %s: want the span once", b)
	}
}
