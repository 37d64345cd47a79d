package hostside_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// httpPlugin's Create starts a span of its own and, inside it, asks the
// ITSM tool at url through sdkhttp's client.
type httpPlugin struct{ url string }

func (p *httpPlugin) Info(context.Context) (sdk.Info, error)      { return sdk.Info{Name: "http"}, nil }
func (p *httpPlugin) Configure(context.Context, sdk.Config) error { return nil }
func (p *httpPlugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	ctx, span := sdk.TracerProvider().Tracer("example.com/acme").Start(ctx, "acme.create")
	defer span.End()
	err := sdkhttp.Do(ctx, sdkhttp.Call{Client: sdkhttp.NewClient(sdkhttp.ClientOptions{}), Op: "acme: create",
		Method: http.MethodPost, URL: p.url + "/api/tickets?key=secret", Path: "/api/tickets", Body: []byte(`{}`)},
		func(resp *http.Response, _ []byte) error {
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &sdk.WorkItem{ID: "1", State: sdk.StateOpen, CorrelationKey: req.CorrelationKey}, nil
}

// TestSpansComeBackInTheTrailer calls a plugin served over real gRPC
// through CollectSpans: with a sampled traceparent in the metadata, the
// plugin's own span and sdkhttp's request span come back in the trailer,
// in the caller's trace, the request under the plugin's span and that
// under the caller's; an unsampled or absent trace context records
// nothing, and the ITSM tool never sees a trace header.
func TestSpansComeBackInTheTrailer(t *testing.T) {
	var toolHeaders []http.Header
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toolHeaders = append(toolHeaders, r.Header.Clone())
		w.WriteHeader(http.StatusCreated)
	}))
	defer tool.Close()
	client, _ := plugin.TestPluginGRPCConn(t, false, sdk.ServerPluginSets(&httpPlugin{url: tool.URL})[sdk.APIVersion])
	t.Cleanup(func() { _ = client.Close() })
	conn := client.Conn

	call := func(traceparent string, sampled bool) (got []hostside.Spans, refused []error) {
		t.Helper()
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}})
		if sampled {
			sc = sc.WithTraceFlags(trace.FlagsSampled)
		}
		ctx := trace.ContextWithSpanContext(context.Background(), sc)
		if traceparent != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", traceparent)
		}
		intercept := hostside.CollectSpans(func(_ context.Context, s hostside.Spans) { got = append(got, s) },
			func(err error) { refused = append(refused, err) })
		in := &itsmv1.CreateRequest{Call: &itsmv1.Call{CorrelationKey: "k", AlertJson: []byte(`{"id":"a","condition":"fired"}`)}}
		var out itsmv1.CreateResponse
		if err := intercept(ctx, itsmv1.PluginService_Create_FullMethodName, in, &out, conn,
			func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				return cc.Invoke(ctx, method, req, reply, opts...)
			}); err != nil {
			t.Fatalf("Create: %v", err)
		}
		return got, refused
	}

	const tp = "00-01020300000000000000000000000000-0405060000000000-01"
	got, refused := call(tp, true)
	if len(refused) != 0 || len(got) != 1 || len(got[0].Spans) != 2 {
		t.Fatalf("spans %+v, refused %v: want one trailer with two spans", got, refused)
	}
	byName := map[string]hostside.Span{}
	for _, s := range got[0].Spans {
		byName[s.Name] = s
	}
	own, req := byName["acme.create"], byName["HTTP POST"]
	if own.ParentSpanID != "0405060000000000" || own.TraceID != "01020300000000000000000000000000" || own.Scope != "example.com/acme" {
		t.Errorf("the plugin's span = %+v, want a child of the caller's span 0405060000000000", own)
	}
	if req.ParentSpanID != own.SpanID || req.Kind != "client" || req.Scope != "github.com/itsm-connector/itsm-connector/sdk/sdkhttp" {
		t.Errorf("the request's span = %+v, want a client span under %s", req, own.SpanID)
	}
	attrs := map[string]any{}
	for _, a := range req.Attributes {
		attrs[a.Key] = a.Value
	}
	if attrs["http.request.method"] != "POST" || attrs["url.path"] != "/api/tickets" || attrs["http.response.status_code"] != int64(201) ||
		attrs["server.address"] != "127.0.0.1" {
		t.Errorf("request attributes = %v", attrs)
	}
	for _, a := range req.Attributes {
		if s, ok := a.Value.(string); ok && strings.Contains(s, "secret") {
			t.Errorf("attribute %s = %q shows the query", a.Key, s)
		}
	}

	if got, _ := call("00-01020300000000000000000000000000-0405060000000000-00", true); len(got) != 0 {
		t.Errorf("an unsampled trace context recorded %+v", got)
	}
	if got, _ := call("", true); len(got) != 0 {
		t.Errorf("a call without a trace context recorded %+v", got)
	}
	if got, _ := call(tp, false); len(got) != 0 {
		t.Errorf("a caller outside a sampled span asked for spans: %+v", got)
	}
	for _, h := range toolHeaders {
		if h.Get("traceparent") != "" {
			t.Errorf("the ITSM tool got traceparent %q", h.Get("traceparent"))
		}
	}
}

// TestDecodeSpans refuses a trailer that is not a checked list of spans of
// the call's trace, and cuts what is only too long.
func TestDecodeSpans(t *testing.T) {
	tid := trace.TraceID{0xab}
	good := func() hostside.Span {
		return hostside.Span{TraceID: tid.String(), SpanID: "0000000000000001", ParentSpanID: "0000000000000002",
			Name: "HTTP GET", Kind: "client", Start: 10, End: 20}
	}
	enc := func(s hostside.Spans) []byte {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := hostside.Spans{}
	for range hostside.MaxSpans + 1 {
		many.Spans = append(many.Spans, good())
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"another trace", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.TraceID = trace.TraceID{1}.String(); return s }()}}), "is not the call's trace"},
		{"bad span id", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.SpanID = "xyz"; return s }()}}), "span_id"},
		{"zero parent", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.ParentSpanID = "0000000000000000"; return s }()}}), "parent_span_id"},
		{"ends before it starts", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.End = 5; return s }()}}), "end_time_unix_nano"},
		{"unknown kind", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.Kind = "sideways"; return s }()}}), "kind"},
		{"unknown status", enc(hostside.Spans{Spans: []hostside.Span{func() hostside.Span { s := good(); s.Status = &hostside.Status{Code: "meh"}; return s }()}}), "status code"},
		{"object value", []byte(`{"spans":[{"trace_id":"` + tid.String() + `","span_id":"0000000000000001","parent_span_id":"0000000000000002","name":"x","start_time_unix_nano":1,"end_time_unix_nano":2,"attributes":[{"key":"k","value":{"a":1}}]}]}`), `attribute "k"`},
		{"too many spans", enc(many), "more than 128"},
		{"too large", []byte(`{"spans":[],"x":"` + strings.Repeat("a", hostside.MaxSpanBytes) + `"}`), "exceeds"},
		{"not JSON", []byte(`spans`), "span trailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := hostside.DecodeSpans(tc.in, tid); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeSpans = %v, want an error with %q", err, tc.want)
			}
		})
	}
	long := good()
	long.Name = strings.Repeat("n", hostside.MaxValueBytes+10)
	for i := range hostside.MaxAttributes + 5 {
		long.Attributes = append(long.Attributes, hostside.Attribute{Key: fmt.Sprint("k", i), Value: strings.Repeat("v", hostside.MaxValueBytes+1)})
	}
	got, err := hostside.DecodeSpans(enc(hostside.Spans{Spans: []hostside.Span{long}}), tid)
	if err != nil {
		t.Fatal(err)
	}
	s := got.Spans[0]
	if len(s.Name) != hostside.MaxValueBytes || len(s.Attributes) != hostside.MaxAttributes || len(s.Attributes[0].Value.(string)) != hostside.MaxValueBytes {
		t.Errorf("not cut: name %d bytes, %d attributes", len(s.Name), len(s.Attributes))
	}
}
