package pluginhost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/itsm-connector/itsm-connector/host/telemetry"
)

// TestPluginSpansJoinTheHostsTrace runs the test plugin as a real
// subprocess with tracing on. A Create made inside a trace is otelgrpc's
// client span; the plugin's request to the ITSM tool through sdkhttp's
// client comes back with the answer as a span whose parent is that client
// span, exported as the plugin's own service, with the backend's token
// redacted from its path. The tool sees no trace headers. Calls outside a
// trace (Info and Configure at start, a Create without a parent) record
// nothing.
func TestPluginSpansJoinTheHostsTrace(t *testing.T) {
	dir, _ := testPluginDirs(t)
	const token = "tok-secret-in-the-path-0123456789"
	t.Setenv("PLUGINHOST_TEST_TOKEN", token)
	var (
		mu      sync.Mutex
		headers []http.Header
	)
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer tool.Close()

	rec := tracetest.NewSpanRecorder()
	tr := telemetry.NewWithProcessor(rec, telemetry.Service{Version: "test", InstanceID: "host-1"}, 1)
	h, diags, _ := startHost(t, dir, goodConfig, Options{Tracing: tr})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans from starting and configuring the plugin, want none", n)
	}

	req := testRequest("k-untraced")
	req.Fields = map[string]any{"http_get": tool.URL + "/api/" + token}
	if _, err := b.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans from a call outside a trace, want none", n)
	}

	ctx, parent := tr.Tracer().Start(context.Background(), "reconcile")
	req = testRequest("k-traced")
	req.Fields = map[string]any{"http_get": tool.URL + "/api/" + token}
	wi, err := b.Create(ctx, req)
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	if wi.Attributes["status"] != "200" {
		t.Fatalf("the plugin's request got %q", wi.Attributes["status"])
	}

	var client, httpSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "itsm.v1.PluginService/Create":
			client = s
		case "HTTP GET":
			httpSpan = s
		}
	}
	if client == nil || httpSpan == nil {
		t.Fatalf("spans %v: want the host's plugin call and the plugin's HTTP GET", names(rec.Ended()))
	}
	if client.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("the plugin call's parent is %s, want the reconcile %s", client.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if httpSpan.SpanContext().TraceID() != parent.SpanContext().TraceID() || httpSpan.Parent().SpanID() != client.SpanContext().SpanID() {
		t.Errorf("the plugin's HTTP span is %s under %s, want trace %s under the plugin call %s",
			httpSpan.SpanContext().TraceID(), httpSpan.Parent().SpanID(), parent.SpanContext().TraceID(), client.SpanContext().SpanID())
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range httpSpan.Attributes() {
		attrs[kv.Key] = kv.Value
	}
	if v := attrs["http.response.status_code"]; v.Type() != attribute.INT64 || v.AsInt64() != 200 {
		t.Errorf("http.response.status_code = %v", v.String())
	}
	if p := attrs["url.path"].AsString(); strings.Contains(p, token) || !strings.Contains(p, "[redacted]") {
		t.Errorf("url.path = %q: the backend's token is not redacted", p)
	}
	res := map[attribute.Key]string{}
	for _, kv := range httpSpan.Resource().Attributes() {
		res[kv.Key] = kv.Value.String()
	}
	if res[semconv.ServiceNameKey] != "itsm-connector-plugin-test" || res[semconv.ServiceVersionKey] != "0.1.0" ||
		res[semconv.ServiceInstanceIDKey] != "host-1" || res[telemetry.AttrBackend] != "test.prod" {
		t.Errorf("the plugin span's resource = %v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, hd := range headers {
		if hd.Get("traceparent") != "" {
			t.Errorf("the ITSM tool got a traceparent header: %q", hd.Get("traceparent"))
		}
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}
