package sdkhttp

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// tracerName is the instrumentation scope of the client's spans.
const tracerName = "github.com/itsm-connector/itsm-connector/sdk/sdkhttp"

// tracing is the RoundTripper of [NewClient]'s clients: each request made
// while the host traces the call (see [sdk.TracerProvider]) is a client
// span named after its method ("HTTP POST") with the OpenTelemetry HTTP
// client attributes: method, scheme, host and port, path (never the
// query, which may carry a key), status and the error of a failed
// exchange. It does not add trace headers to the request: the ITSM tool
// is not part of the connector's traces. A request outside a traced call
// goes straight to the base transport.
type tracing struct {
	base   http.RoundTripper
	tracer trace.Tracer
}

func newTracing(base http.RoundTripper) http.RoundTripper {
	return &tracing{base: base, tracer: sdk.TracerProvider().Tracer(tracerName)}
}

func (t *tracing) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(req.Context(), "HTTP "+req.Method, trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return t.base.RoundTrip(req)
	}
	defer span.End()
	u := req.URL
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("url.scheme", u.Scheme),
		attribute.String("server.address", u.Hostname()),
		attribute.String("url.path", u.EscapedPath()),
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			attrs = append(attrs, attribute.Int("server.port", n))
		}
	}
	span.SetAttributes(attrs...)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		span.SetAttributes(attribute.String("error.type", "transport"))
		span.SetStatus(codes.Error, TransportError(err).Error())
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, "")
	}
	return resp, nil
}
