// Package telemetry is the connector's OpenTelemetry tracing, off unless
// the configuration has a `telemetry { traces {} }` block: the OTLP
// exporter and its settings (Traces, one Validate), the tracer provider
// with the connector's resource, the names of the spans and attributes
// every package records, the W3C trace context kept with a work item's
// desired state, and the spans plugins send back with their answers.
//
// One trace follows one alert: the webhook request is its root span, with
// children for verify, decode, route and commit; the work items it drives
// keep the request's trace context with their desired state (in the
// store), so each reconcile, and the plugin call inside it, is a child of
// the same root, after a restart too. A group commit serves many alerts:
// it is a span of its own trace, linked to the commit span of every alert
// it wrote, and each of those links back to it (docs/operations.md,
// "Traces").
//
// When tracing is off every component holds a nil trace.Tracer and
// records nothing: no span, no context, no allocation.
package telemetry

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// ScopeName is the instrumentation scope of the connector's own spans.
const ScopeName = "github.com/itsm-connector/itsm-connector"

// Span names. A plugin call's span is otelgrpc's client span,
// "itsm.v1.PluginService/<Method>", under SpanPluginCall.
const (
	// SpanWebhook is the root of an alert's trace: one webhook request.
	SpanWebhook = "POST /api/v1/alerts"
	// SpanVerify is the token check.
	SpanVerify = "verify"
	// SpanDecode is the Common Alert Schema decoding.
	SpanDecode = "decode"
	// SpanRoute is the routing decision.
	SpanRoute = "route"
	// SpanCommit is one alert's wait for its durable group commit.
	SpanCommit = "commit"
	// SpanGroupCommit is one ingest transaction, a trace of its own,
	// linked to the commit span of each alert it wrote.
	SpanGroupCommit = "group_commit"
	// SpanReconcile is one claim of one work item by a worker.
	SpanReconcile = "reconcile"
	// SpanPluginCall is one plugin call of a reconcile: "plugin lookup",
	// "plugin create", ...
	SpanPluginCall = "plugin"
	// SpanRecord is a worker's wait for its step to be durable.
	SpanRecord = "record"
)

// Attribute keys of the connector's spans.
const (
	AttrAlertID        = attribute.Key("itsm.alert.id")
	AttrCondition      = attribute.Key("itsm.alert.condition")
	AttrDeliveries     = attribute.Key("itsm.deliveries")
	AttrUnmatched      = attribute.Key("itsm.unmatched")
	AttrRoute          = attribute.Key("itsm.route")
	AttrBackend        = attribute.Key("itsm.backend")
	AttrCorrelationKey = attribute.Key("itsm.correlation_key")
	AttrWorkItemID     = attribute.Key("itsm.work_item.id")
	AttrOperation      = attribute.Key("itsm.operation")
	AttrOutcome        = attribute.Key("itsm.outcome")
	AttrBatchAlerts    = attribute.Key("itsm.batch.alerts")
	AttrErrorCode      = attribute.Key("itsm.error.code")
)

// Service names the connector in its resource.
type Service struct {
	// Version is the connector's version (service.version).
	Version string
	// InstanceID is delivery's instance id (service.instance.id).
	InstanceID string
}

// ServiceName is the connector's service.name; a plugin's spans have
// "itsm-connector-plugin-<name>".
const ServiceName = "itsm-connector"

// Tracing is the tracer provider of a running connector. A nil *Tracing is
// tracing turned off: its Tracer is nil.
type Tracing struct {
	tp       *sdktrace.TracerProvider
	procs    []sdktrace.SpanProcessor
	svc      Service
	endpoint string
}

// Endpoint is the collector spans are exported to ("" for a Tracing made
// by NewWithProcessor).
func (t *Tracing) Endpoint() string {
	if t == nil {
		return ""
	}
	return t.endpoint
}

// New builds the tracer provider that exports with t's OTLP exporter in
// batches. It does not connect: an unreachable collector costs dropped
// spans, never an alert.
func New(ctx context.Context, t Traces, svc Service) (*Tracing, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch t.Exporter {
	case ExporterOTLPGRPC:
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(t.endpoint()), otlptracegrpc.WithHeaders(t.Headers)}
		if t.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	case ExporterOTLPHTTP:
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(t.endpoint()), otlptracehttp.WithHeaders(t.Headers)}
		if t.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: %s exporter: %w", t.Exporter, err)
	}
	tr := NewWithProcessor(sdktrace.NewBatchSpanProcessor(exp), svc, t.SampleRatio)
	tr.endpoint = t.endpoint()
	return tr, nil
}

// NewWithProcessor builds the tracer provider around sp (tests pass a
// tracetest.SpanRecorder), sampling ratio of new traces.
func NewWithProcessor(sp sdktrace.SpanProcessor, svc Service, ratio float64) *Tracing {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(serviceResource(ServiceName, svc.Version, svc.InstanceID)),
		sdktrace.WithSampler(Sampler(ratio)),
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithRawSpanLimits(spanLimits()))
	return &Tracing{tp: tp, procs: []sdktrace.SpanProcessor{sp}, svc: svc}
}

// spanLimits keeps the SDK's defaults but lets a group commit link every
// alert of its batch (delivery commits up to 512 at once).
func spanLimits() sdktrace.SpanLimits {
	l := sdktrace.NewSpanLimits()
	l.LinkCountLimit = 512
	return l
}

func serviceResource(name, version, instance string) *resource.Resource {
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if version != "" {
		attrs = append(attrs, semconv.ServiceVersion(version))
	}
	if instance != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(instance))
	}
	return resource.NewSchemaless(attrs...)
}

// Tracer is the connector's tracer, nil when t is nil (tracing off).
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tp.Tracer(ScopeName)
}

// TracerProvider is the provider (for otelgrpc), nil when t is nil.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.tp
}

// Shutdown exports what is buffered and stops exporting; the spans of a
// collector that does not answer before ctx ends are lost.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// Sampler decides which traces are recorded: a span with a parent follows
// its parent's decision (so the reconcile of a traced alert is traced,
// after a restart too), a new trace is sampled with probability ratio,
// and a new trace linked to a sampled span is sampled, so that a group
// commit is traced whenever one of its alerts is.
func Sampler(ratio float64) sdktrace.Sampler {
	return linkedSampler{base: sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))}
}

type linkedSampler struct{ base sdktrace.Sampler }

func (s linkedSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if !trace.SpanContextFromContext(p.ParentContext).IsValid() {
		for _, l := range p.Links {
			if l.SpanContext.IsSampled() {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
			}
		}
	}
	return s.base.ShouldSample(p)
}

func (s linkedSampler) Description() string { return "Linked{" + s.base.Description() + "}" }

// TraceParent is sc as a W3C traceparent ("00-<trace id>-<span id>-01"),
// or "" unless sc is valid and sampled: what a work item keeps with its
// desired state, so that its reconcile joins the alert's trace.
func TraceParent(sc trace.SpanContext) string {
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
}

// ParseTraceParent reads a stored traceparent; an empty or malformed one
// gives an invalid span context, and the reconcile starts a trace of its
// own.
func ParseTraceParent(s string) trace.SpanContext {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return trace.SpanContext{}
	}
	var (
		tid   trace.TraceID
		sid   trace.SpanID
		flags [1]byte
	)
	if _, err := hex.Decode(tid[:], []byte(s[3:35])); err != nil {
		return trace.SpanContext{}
	}
	if _, err := hex.Decode(sid[:], []byte(s[36:52])); err != nil {
		return trace.SpanContext{}
	}
	if _, err := hex.Decode(flags[:], []byte(s[53:])); err != nil {
		return trace.SpanContext{}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.TraceFlags(flags[0]), Remote: true})
}

// TraceID is the trace id (32 hex digits) of a sampled span context, or
// "": what an audit event records.
func TraceID(sc trace.SpanContext) string {
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// TraceIDOf is the trace id in a traceparent, or "".
func TraceIDOf(traceParent string) string {
	return TraceID(ParseTraceParent(traceParent))
}

// Fail marks span failed with err's text (nothing when err is nil).
func Fail(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
}

// Plugin names the plugin process whose spans are exported.
type Plugin struct {
	// Name is the plugin's name (service.name itsm-connector-plugin-<name>).
	Name string
	// Version is the version the plugin reports (service.version).
	Version string
	// Backend is the backend it serves (itsm.backend).
	Backend string
}

// ExportPluginSpans exports spans a plugin sent back with a call's answer
// (checked by hostside.DecodeSpans, redacted by the caller) as spans of the
// plugin's own service, with the connector's instance id.
func (t *Tracing) ExportPluginSpans(p Plugin, s hostside.Spans) {
	if t == nil || len(s.Spans) == 0 {
		return
	}
	res := serviceResource("itsm-connector-plugin-"+p.Name, p.Version, t.svc.InstanceID)
	if p.Backend != "" {
		if r, err := resource.Merge(res, resource.NewSchemaless(AttrBackend.String(p.Backend))); err == nil {
			res = r
		}
	}
	for _, sp := range s.Spans {
		ro, err := pluginSpan(sp, res)
		if err != nil {
			continue // DecodeSpans checked it; nothing to export
		}
		for _, proc := range t.procs {
			proc.OnEnd(ro)
		}
	}
}

func pluginSpan(sp hostside.Span, res *resource.Resource) (sdktrace.ReadOnlySpan, error) {
	var (
		tid      trace.TraceID
		sid, pid trace.SpanID
	)
	if _, err := hex.Decode(tid[:], []byte(sp.TraceID)); err != nil {
		return nil, err
	}
	if _, err := hex.Decode(sid[:], []byte(sp.SpanID)); err != nil {
		return nil, err
	}
	if _, err := hex.Decode(pid[:], []byte(sp.ParentSpanID)); err != nil {
		return nil, err
	}
	if !tid.IsValid() || !sid.IsValid() || !pid.IsValid() {
		return nil, errors.New("invalid id")
	}
	stub := tracetest.SpanStub{
		Name:                 sp.Name,
		SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		Parent:               trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled, Remote: true}),
		SpanKind:             spanKind(sp.Kind),
		StartTime:            time.Unix(0, sp.Start),
		EndTime:              time.Unix(0, sp.End),
		Attributes:           attributes(sp.Attributes),
		Resource:             res,
		InstrumentationScope: instrumentation.Scope{Name: sp.Scope},
	}
	for _, ev := range sp.Events {
		stub.Events = append(stub.Events, sdktrace.Event{Name: ev.Name, Time: time.Unix(0, ev.Time), Attributes: attributes(ev.Attributes)})
	}
	if sp.Status != nil {
		switch sp.Status.Code {
		case "error":
			stub.Status = sdktrace.Status{Code: codes.Error, Description: sp.Status.Message}
		case "ok":
			stub.Status = sdktrace.Status{Code: codes.Ok}
		}
	}
	return stub.Snapshot(), nil
}

func spanKind(k string) trace.SpanKind {
	switch k {
	case "server":
		return trace.SpanKindServer
	case "client":
		return trace.SpanKindClient
	case "producer":
		return trace.SpanKindProducer
	case "consumer":
		return trace.SpanKindConsumer
	default:
		return trace.SpanKindInternal
	}
}

func attributes(in []hostside.Attribute) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, a := range in {
		switch v := a.Value.(type) {
		case string:
			out = append(out, attribute.String(a.Key, v))
		case bool:
			out = append(out, attribute.Bool(a.Key, v))
		case int64:
			out = append(out, attribute.Int64(a.Key, v))
		case float64:
			out = append(out, attribute.Float64(a.Key, v))
		}
	}
	return out
}
