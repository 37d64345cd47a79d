package hostside

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/itsm-connector/itsm-connector/sdk/internal/calltrace"
)

// SpanTrailer is the gRPC trailer in which a plugin sends back the spans
// it recorded while serving a traced call (docs/plugin-protocol.md,
// "Traces").
const SpanTrailer = calltrace.TrailerKey

// Limits of a call's spans: more spans, a longer trailer, more attributes
// or events are refused or cut by [DecodeSpans].
const (
	MaxSpans      = calltrace.MaxSpans
	MaxSpanBytes  = calltrace.MaxBytes
	MaxAttributes = calltrace.MaxAttributes
	MaxEvents     = calltrace.MaxEvents
	MaxValueBytes = calltrace.MaxValueBytes
)

// Spans is what a plugin sends back in SpanTrailer.
type Spans = calltrace.Spans

// Span is one span a plugin recorded; Attribute, Event and Status are its
// parts. Attribute values are strings, booleans, int64 or float64 once
// decoded by DecodeSpans.
type (
	Span      = calltrace.Span
	Attribute = calltrace.Attribute
	Event     = calltrace.Event
	Status    = calltrace.Status
)

// CollectSpans is a unary client interceptor for a host that traces its
// plugin calls: a call made under a sampled span asks for the call's
// trailer, and the spans the plugin sent back in it, decoded and checked
// against the call's trace by DecodeSpans, go to sink (also when the call
// failed). A call outside a sampled span passes through untouched.
// Spans that fail the check are dropped with the whole trailer, and
// bad(err) is told why.
func CollectSpans(sink func(ctx context.Context, s Spans), bad func(err error)) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		sc := trace.SpanContextFromContext(ctx)
		if !sc.IsSampled() {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		var md metadata.MD
		err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&md))...)
		if v := md.Get(SpanTrailer); len(v) > 0 {
			s, derr := DecodeSpans([]byte(v[len(v)-1]), sc.TraceID())
			if derr != nil {
				if bad != nil {
					bad(fmt.Errorf("%s: %w", method, derr))
				}
			} else if len(s.Spans) > 0 {
				sink(ctx, s)
			}
		}
		return err
	}
}

// DecodeSpans decodes and checks a plugin's span trailer: at most
// MaxSpanBytes and MaxSpans spans, each of trace traceID with valid span
// and parent ids, an end not before its start, a known kind and status;
// attributes beyond MaxAttributes and events beyond MaxEvents are dropped,
// and every name, key and string value is cut to MaxValueBytes.
func DecodeSpans(b []byte, traceID trace.TraceID) (Spans, error) {
	if len(b) > MaxSpanBytes {
		return Spans{}, fmt.Errorf("span trailer of %d bytes exceeds %d", len(b), MaxSpanBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var s Spans
	if err := dec.Decode(&s); err != nil {
		return Spans{}, fmt.Errorf("span trailer: %w", err)
	}
	if len(s.Spans) > MaxSpans {
		return Spans{}, fmt.Errorf("span trailer holds %d spans, more than %d", len(s.Spans), MaxSpans)
	}
	want := traceID.String()
	for i := range s.Spans {
		sp := &s.Spans[i]
		if err := checkSpan(sp, want); err != nil {
			return Spans{}, fmt.Errorf("span %d: %w", i, err)
		}
	}
	return s, nil
}

func checkSpan(sp *Span, traceID string) error {
	if sp.TraceID != traceID {
		return fmt.Errorf("trace_id %q is not the call's trace %s", cut(sp.TraceID, 64), traceID)
	}
	if _, err := calltrace.ParseID(sp.SpanID, 8); err != nil || sp.SpanID == strings.Repeat("0", 16) {
		return fmt.Errorf("span_id %q is not 16 hex digits (and not zero)", cut(sp.SpanID, 64))
	}
	if _, err := calltrace.ParseID(sp.ParentSpanID, 8); err != nil || sp.ParentSpanID == strings.Repeat("0", 16) {
		return fmt.Errorf("parent_span_id %q is not 16 hex digits (and not zero)", cut(sp.ParentSpanID, 64))
	}
	if sp.Start <= 0 || sp.End < sp.Start {
		return errors.New("start_time_unix_nano must be positive and end_time_unix_nano not before it")
	}
	switch sp.Kind {
	case "", "internal", "server", "client", "producer", "consumer":
	default:
		return fmt.Errorf("kind %q is not internal, server, client, producer or consumer", cut(sp.Kind, 64))
	}
	if sp.Status != nil && sp.Status.Code != "ok" && sp.Status.Code != "error" {
		return fmt.Errorf("status code %q is not ok or error", cut(sp.Status.Code, 64))
	}
	sp.Name, sp.Scope = cut(sp.Name, MaxValueBytes), cut(sp.Scope, MaxValueBytes)
	if sp.Status != nil {
		sp.Status.Message = cut(sp.Status.Message, MaxValueBytes)
	}
	var err error
	if sp.Attributes, err = checkAttributes(sp.Attributes); err != nil {
		return err
	}
	if len(sp.Events) > MaxEvents {
		sp.Events = sp.Events[:MaxEvents]
	}
	for i := range sp.Events {
		ev := &sp.Events[i]
		ev.Name = cut(ev.Name, MaxValueBytes)
		if ev.Attributes, err = checkAttributes(ev.Attributes); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}

func checkAttributes(attrs []Attribute) ([]Attribute, error) {
	if len(attrs) > MaxAttributes {
		attrs = attrs[:MaxAttributes]
	}
	for i := range attrs {
		a := &attrs[i]
		a.Key = cut(a.Key, MaxValueBytes)
		switch v := a.Value.(type) {
		case string:
			a.Value = cut(v, MaxValueBytes)
		case bool:
		case json.Number:
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				a.Value = n
			} else if f, err := v.Float64(); err == nil {
				a.Value = f
			} else {
				return nil, fmt.Errorf("attribute %q: %q is not a number", cut(a.Key, 64), cut(string(v), 64))
			}
		default:
			return nil, fmt.Errorf("attribute %q: the value is not a string, boolean or number", cut(a.Key, 64))
		}
	}
	return attrs, nil
}

// cut bounds s at n bytes, on a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
