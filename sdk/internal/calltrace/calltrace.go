// Package calltrace records the spans a plugin starts while it serves one
// call and carries them back to the host in the call's gRPC trailer, so a
// plugin needs no exporter, no collector address and no credentials of its
// own: the host exports them with its own spans (docs/plugin-protocol.md,
// "Traces").
//
// The host sends the W3C trace context of its plugin-call span in the
// request metadata ("traceparent"). A call whose context is sampled gets a
// Recorder; spans started under it with [TracerProvider]'s tracers are
// recorded, and their wire form ([Spans]) is set as the trailer
// [TrailerKey]. Without a sampled context nothing is recorded, and a
// tracer's Start returns a non-recording span: a plugin pays nothing when
// the host does not trace.
package calltrace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TrailerKey is the gRPC trailer that carries a call's spans back to the
// host: the JSON of [Spans] (binary metadata, so gRPC base64-encodes it on
// the wire).
const TrailerKey = "itsm-trace-spans-bin"

// Limits of what one call sends back; the host enforces them too.
const (
	// MaxSpans caps the spans of one call; later ones are dropped.
	MaxSpans = 128
	// MaxBytes caps the trailer's JSON; spans that do not fit are dropped.
	MaxBytes = 256 << 10
	// MaxAttributes caps the attributes of a span or event.
	MaxAttributes = 32
	// MaxEvents caps the events of a span.
	MaxEvents = 16
	// MaxValueBytes cuts string values and names.
	MaxValueBytes = 4 << 10
)

// Spans is the trailer's JSON: the spans a plugin ended while serving the
// call, oldest first, and how many it dropped over MaxSpans.
type Spans struct {
	Spans   []Span `json:"spans"`
	Dropped int    `json:"dropped,omitempty"`
}

// Span is one ended span.
type Span struct {
	// TraceID (32 hex digits) is the call's trace; SpanID and
	// ParentSpanID are 16 hex digits. A span started directly under the
	// call has the host's plugin-call span as its parent.
	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id"`
	Name         string `json:"name"`
	// Kind is internal, server, client, producer or consumer.
	Kind string `json:"kind"`
	// Scope is the instrumentation scope, the name the tracer was asked
	// for (e.g. the sdkhttp package's import path).
	Scope      string      `json:"scope,omitempty"`
	Start      int64       `json:"start_time_unix_nano"`
	End        int64       `json:"end_time_unix_nano"`
	Attributes []Attribute `json:"attributes,omitempty"`
	Events     []Event     `json:"events,omitempty"`
	Status     *Status     `json:"status,omitempty"`
}

// Attribute is a key and a JSON string, boolean or number (an integer
// when written without a fraction or exponent).
type Attribute struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Event is a span event, such as "exception".
type Event struct {
	Name       string      `json:"name"`
	Time       int64       `json:"time_unix_nano"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// Status is a span's status: code "error" or "ok".
type Status struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Recorder collects the ended spans of one call.
type Recorder struct {
	mu      sync.Mutex
	spans   []Span
	dropped int
}

type recorderKey struct{}

func (r *Recorder) add(s Span) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) >= MaxSpans {
		r.dropped++
		return
	}
	r.spans = append(r.spans, s)
}

// Encode returns the trailer value, nil when nothing was recorded. Spans
// that would take it over MaxBytes are dropped, the newest first.
func (r *Recorder) Encode() []byte {
	r.mu.Lock()
	out := Spans{Spans: append([]Span(nil), r.spans...), Dropped: r.dropped}
	r.mu.Unlock()
	for len(out.Spans) > 0 {
		b, err := json.Marshal(out)
		if err == nil && len(b) <= MaxBytes {
			return b
		}
		n := len(out.Spans) / 2
		out.Dropped += len(out.Spans) - n
		out.Spans = out.Spans[:n]
	}
	return nil
}

var traceContext propagation.TraceContext

// Serve prepares ctx, the context of an incoming call, for recording: when
// the host sent a sampled trace context in the call's metadata, ctx
// carries it as the remote parent and a Recorder, and finish sets the
// recorded spans as the call's trailer. Otherwise ctx is returned as it is
// and finish does nothing.
func Serve(ctx context.Context) (_ context.Context, finish func()) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok || len(md.Get("traceparent")) == 0 {
		return ctx, func() {}
	}
	tctx := traceContext.Extract(ctx, mdCarrier(md))
	if sc := trace.SpanContextFromContext(tctx); !sc.IsValid() || !sc.IsSampled() {
		return ctx, func() {}
	}
	rec := &Recorder{}
	tctx = context.WithValue(tctx, recorderKey{}, rec)
	return tctx, func() {
		if b := rec.Encode(); b != nil {
			_ = grpc.SetTrailer(ctx, metadata.Pairs(TrailerKey, string(b)))
		}
	}
}

// mdCarrier reads gRPC metadata as a propagation carrier.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }
func (c mdCarrier) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	return out
}

// TracerProvider returns the provider of the plugin's tracers: spans they
// start under a recording call's context are sent back to the host.
func TracerProvider() trace.TracerProvider { return provider{} }

type provider struct{ embedded.TracerProvider }

func (provider) Tracer(name string, _ ...trace.TracerOption) trace.Tracer {
	return tracer{scope: name}
}

type tracer struct {
	embedded.Tracer
	scope string
}

// Start records a span when ctx belongs to a recording call and its span
// context is sampled; otherwise it returns ctx and a span that records
// nothing.
func (t tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	rec, _ := ctx.Value(recorderKey{}).(*Recorder)
	parent := trace.SpanContextFromContext(ctx)
	if rec == nil || !parent.IsSampled() {
		return ctx, noop.Span{}
	}
	cfg := trace.NewSpanStartConfig(opts...)
	if cfg.NewRoot() {
		return ctx, noop.Span{} // a plugin's spans belong to the host's call
	}
	var sid trace.SpanID
	_, _ = rand.Read(sid[:])
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: parent.TraceID(), SpanID: sid,
		TraceFlags: trace.FlagsSampled, TraceState: parent.TraceState()})
	start := cfg.Timestamp()
	if start.IsZero() {
		start = time.Now()
	}
	s := &span{rec: rec, sc: sc, data: Span{TraceID: sc.TraceID().String(), SpanID: sid.String(),
		ParentSpanID: parent.SpanID().String(), Name: cut(name), Kind: kindName(cfg.SpanKind()), Scope: cut(t.scope),
		Start: start.UnixNano()}}
	s.setAttributes(cfg.Attributes())
	return trace.ContextWithSpan(ctx, s), s
}

type span struct {
	embedded.Span
	rec *Recorder
	sc  trace.SpanContext

	mu    sync.Mutex
	data  Span
	ended bool
}

var _ trace.Span = (*span)(nil)

func (s *span) End(opts ...trace.SpanEndOption) {
	cfg := trace.NewSpanEndConfig(opts...)
	end := cfg.Timestamp()
	if end.IsZero() {
		end = time.Now()
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.data.End = end.UnixNano()
	d := s.data
	s.mu.Unlock()
	s.rec.add(d)
}

func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	cfg := trace.NewEventConfig(opts...)
	s.addEvent(name, cfg.Timestamp(), cfg.Attributes())
}

func (s *span) addEvent(name string, at time.Time, attrs []attribute.KeyValue) {
	if at.IsZero() {
		at = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || len(s.data.Events) >= MaxEvents {
		return
	}
	s.data.Events = append(s.data.Events, Event{Name: cut(name), Time: at.UnixNano(), Attributes: wireAttributes(nil, attrs)})
}

func (s *span) AddLink(trace.Link) {}

func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	attrs := append([]attribute.KeyValue{attribute.String("exception.type", fmt.Sprintf("%T", err)),
		attribute.String("exception.message", err.Error())}, cfg.Attributes()...)
	s.addEvent("exception", cfg.Timestamp(), attrs)
}

func (s *span) SpanContext() trace.SpanContext { return s.sc }

func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	switch code {
	case codes.Error:
		s.data.Status = &Status{Code: "error", Message: cut(description)}
	case codes.Ok:
		s.data.Status = &Status{Code: "ok"}
	}
}

func (s *span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.data.Name = cut(name)
	}
}

func (s *span) SetAttributes(kv ...attribute.KeyValue) { s.setAttributes(kv) }

func (s *span) setAttributes(kv []attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.data.Attributes = wireAttributes(s.data.Attributes, kv)
	}
}

func (s *span) TracerProvider() trace.TracerProvider { return provider{} }

// wireAttributes appends kv to attrs, replacing a key already there, up
// to MaxAttributes.
func wireAttributes(attrs []Attribute, kv []attribute.KeyValue) []Attribute {
	for _, a := range kv {
		if !a.Valid() {
			continue
		}
		w := Attribute{Key: cut(string(a.Key)), Value: wireValue(a.Value)}
		replaced := false
		for i := range attrs {
			if attrs[i].Key == w.Key {
				attrs[i], replaced = w, true
				break
			}
		}
		if !replaced && len(attrs) < MaxAttributes {
			attrs = append(attrs, w)
		}
	}
	return attrs
}

func wireValue(v attribute.Value) any {
	switch v.Type() {
	case attribute.BOOL:
		return v.AsBool()
	case attribute.INT64:
		return json.Number(strconv.FormatInt(v.AsInt64(), 10))
	case attribute.FLOAT64:
		return v.AsFloat64()
	default:
		return cut(v.String())
	}
}

func kindName(k trace.SpanKind) string {
	switch k {
	case trace.SpanKindServer:
		return "server"
	case trace.SpanKindClient:
		return "client"
	case trace.SpanKindProducer:
		return "producer"
	case trace.SpanKindConsumer:
		return "consumer"
	default:
		return "internal"
	}
}

// cut bounds s at MaxValueBytes, on a character boundary.
func cut(s string) string {
	if len(s) <= MaxValueBytes {
		return s
	}
	i := MaxValueBytes
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// ParseID decodes a hex trace or span id of n bytes.
func ParseID(s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("%q is not %d hex digits", s, 2*n)
	}
	return b, nil
}
