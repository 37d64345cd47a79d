package sdk

import (
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/sdk/internal/calltrace"
)

// TracerProvider returns the OpenTelemetry tracer provider of a plugin.
// When the host traces a call (its trace is sampled), a span a plugin
// starts under the call's context with one of its tracers is a child of
// the host's plugin-call span, and goes back to the host with the call's
// answer, which exports it with its own spans: a plugin needs no exporter
// and no collector settings. Otherwise Start returns a span that records
// nothing, at the cost of a context lookup.
//
// The sdkhttp client records a span for every HTTP request through it, so
// a plugin built on it needs nothing more. To record a step of your own:
//
//	ctx, span := sdk.TracerProvider().Tracer("example.com/acme").Start(ctx, "acme.find_ci")
//	defer span.End()
func TracerProvider() trace.TracerProvider { return calltrace.TracerProvider() }
