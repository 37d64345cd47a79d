package telemetry

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Exporters of the traces block.
const (
	ExporterOTLPGRPC = "otlp_grpc"
	ExporterOTLPHTTP = "otlp_http"
)

// Default endpoints: an OpenTelemetry Collector on the same machine (or
// pod), on the OTLP ports.
const (
	DefaultGRPCEndpoint = "localhost:4317"
	DefaultHTTPEndpoint = "localhost:4318"
)

// Config is the `telemetry {}` block; Traces is nil when it has no
// `traces {}` block, and then nothing is traced.
type Config struct {
	Traces *Traces
}

// Traces is the `telemetry { traces {} }` block: where the connector
// exports its spans, and which share of alerts it traces. Field comments
// name the block's attributes; Validate reports problems by those names.
// Start from DefaultTraces and overwrite what is set, so that an explicit
// value stays as written.
type Traces struct {
	// Exporter is "otlp_grpc" or "otlp_http" (exporter); required.
	Exporter string
	// Endpoint is the collector's host:port (endpoint); default
	// localhost:4317 for otlp_grpc and localhost:4318 for otlp_http, where
	// spans are posted to /v1/traces.
	Endpoint string
	// Insecure sends spans without TLS (insecure); default false.
	Insecure bool
	// Headers are sent with every export (headers), e.g. a vendor's API
	// key: read it with env() or file().
	Headers map[string]string
	// SampleRatio is the share of alerts traced, above 0 and at most 1
	// (sample_ratio); default 1, every alert.
	SampleRatio float64
}

// DefaultTraces is the traces block with every attribute left out.
func DefaultTraces() Traces { return Traces{SampleRatio: 1} }

// endpoint is Endpoint or the exporter's default.
func (t Traces) endpoint() string {
	switch {
	case t.Endpoint != "":
		return t.Endpoint
	case t.Exporter == ExporterOTLPHTTP:
		return DefaultHTTPEndpoint
	default:
		return DefaultGRPCEndpoint
	}
}

// FieldError is one problem Validate found, for one attribute of the
// traces block.
type FieldError struct {
	// Attr is the attribute, e.g. "sample_ratio".
	Attr string
	// Msg explains the problem and the fix; it names the attribute.
	Msg string
}

func (e *FieldError) Error() string { return "telemetry.traces." + e.Attr + ": " + e.Msg }

// Validate reports every problem in t as a *FieldError, joined. It is the
// only check of the block: `validate` shows its errors against the file,
// and New refuses a Traces that fails it.
func (t Traces) Validate() error {
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, &FieldError{Attr: attr, Msg: fmt.Sprintf(format, args...)})
	}
	switch t.Exporter {
	case ExporterOTLPGRPC, ExporterOTLPHTTP:
	case "":
		bad("exporter", "traces needs exporter: %q (OTLP over gRPC, port 4317) or %q (OTLP over HTTP, port 4318).", ExporterOTLPGRPC, ExporterOTLPHTTP)
	default:
		bad("exporter", "exporter %q is not known; use %q or %q.", t.Exporter, ExporterOTLPGRPC, ExporterOTLPHTTP)
	}
	if t.Endpoint != "" {
		host, port, err := net.SplitHostPort(t.Endpoint)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			bad("endpoint", "endpoint = %q is not host:port; write the collector's address without a scheme or path, e.g. %q (the scheme follows insecure, and otlp_http posts to /v1/traces).",
				t.Endpoint, "otel-collector.monitoring:4317")
		}
	}
	for k, v := range t.Headers {
		if !validHeaderName(k) {
			bad("headers", "headers key %q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~).", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			bad("headers", "headers value of %q contains a line break or NUL.", k)
		}
	}
	if !(t.SampleRatio > 0 && t.SampleRatio <= 1) {
		bad("sample_ratio", "sample_ratio = %v is out of range: above 0 and at most 1 (1 traces every alert, 0.1 one in ten). To trace nothing, remove the traces block.", t.SampleRatio)
	}
	return errors.Join(errs...)
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
