package pluginhost

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// pluginService is the gRPC service of the plugin protocol; go-plugin's
// own streams (stdio, the controller, health checks) are not traced.
const pluginService = "/itsm.v1.PluginService/"

// traceOptions are the dial options of a traced plugin connection: a
// lifecycle call made inside a sampled trace (a reconcile) is otelgrpc's
// client span, whose W3C trace context goes to the plugin in the call's
// metadata, and the spans the plugin sends back in the call's trailer are
// checked, redacted and exported as the plugin's (see sink). Calls outside
// a trace (Info, Configure at start and reload) start none. Nil when
// tracing is off.
func (h *Host) traceOptions(s *spanSink) []grpc.DialOption {
	if h.opts.Tracing == nil {
		return nil
	}
	return []grpc.DialOption{
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(childOnly{tp: h.opts.Tracing.TracerProvider()}),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
			otelgrpc.WithFilter(func(i *stats.RPCTagInfo) bool { return strings.HasPrefix(i.FullMethodName, pluginService) }))),
		grpc.WithChainUnaryInterceptor(hostside.CollectSpans(s.export, s.refused)),
	}
}

// spanSink exports the spans one plugin process sends back.
type spanSink struct {
	t       *telemetry.Tracing
	name    string
	backend string
	version atomic.Pointer[string]
	secrets *secretSet
	log     hclog.Logger
}

func (s *spanSink) export(_ context.Context, spans hostside.Spans) {
	p := telemetry.Plugin{Name: s.name, Backend: s.backend}
	if v := s.version.Load(); v != nil {
		p.Version = *v
	}
	for i := range spans.Spans {
		redactSpan(&spans.Spans[i], s.secrets)
	}
	s.t.ExportPluginSpans(p, spans)
}

func (s *spanSink) refused(err error) {
	s.log.Warn("plugin sent spans that were refused", "error", s.secrets.replace(err.Error()))
}

// redactSpan replaces the backend's sensitive values in every text of a
// plugin's span, as in everything else the host takes from a plugin.
func redactSpan(sp *hostside.Span, secrets *secretSet) {
	sp.Name, sp.Scope = secrets.replace(sp.Name), secrets.replace(sp.Scope)
	if sp.Status != nil {
		sp.Status.Message = secrets.replace(sp.Status.Message)
	}
	redactAttributes(sp.Attributes, secrets)
	for i := range sp.Events {
		sp.Events[i].Name = secrets.replace(sp.Events[i].Name)
		redactAttributes(sp.Events[i].Attributes, secrets)
	}
}

func redactAttributes(attrs []hostside.Attribute, secrets *secretSet) {
	for i := range attrs {
		attrs[i].Key = secrets.replace(attrs[i].Key)
		if v, ok := attrs[i].Value.(string); ok {
			attrs[i].Value = secrets.replace(v)
		}
	}
}

// childOnly is a tracer provider whose tracers start a span only under a
// valid parent: otelgrpc then traces the calls a reconcile makes, not the
// Info and Configure calls of a start or a reload, which would each be a
// trace of their own.
type childOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (c childOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childOnlyTracer{t: c.tp.Tracer(name, opts...)}
}

type childOnlyTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (c childOnlyTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, noop.Span{}
	}
	return c.t.Start(ctx, name, opts...)
}
