package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// hookPlugin implements only Create (and the required methods); each
// behaviour comes from a hook, so tests see exactly what crosses the wire.
type hookPlugin struct {
	info      sdk.Info
	configure func(context.Context, sdk.Config) error
	create    func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
}

func (p *hookPlugin) Info(context.Context) (sdk.Info, error) { return p.info, nil }

func (p *hookPlugin) Configure(ctx context.Context, cfg sdk.Config) error {
	if p.configure == nil {
		return nil
	}
	return p.configure(ctx, cfg)
}

func (p *hookPlugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.create(ctx, req)
}

// failing returns a plugin whose Create and Configure both fail with err.
func failing(err error) *hookPlugin {
	return &hookPlugin{
		configure: func(context.Context, sdk.Config) error { return err },
		create:    func(context.Context, *sdk.Request) (*sdk.WorkItem, error) { return nil, err },
	}
}

func TestErrorsSurviveTheWire(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "30")
	diags := sdk.Diagnostics{
		sdk.AttributeError("Invalid URL", "must be https", "instance_url"),
		sdk.AttributeWarning("Deprecated", "use oauth", "auth", "basic"),
	}
	tests := []struct {
		name       string
		err        error
		kind       sdk.ErrorKind
		retryAfter time.Duration
		diags      sdk.Diagnostics
		is         error
	}{
		{name: "retryable", err: sdk.Retryable(errors.New("backend busy")), kind: sdk.KindRetryable},
		{name: "retryable after", err: sdk.RetryableAfter(errors.New("slow down"), 7*time.Second), kind: sdk.KindRetryable, retryAfter: 7 * time.Second},
		{name: "permanent", err: sdk.Permanent(errors.New("HTTP 403: forbidden")), kind: sdk.KindPermanent},
		{name: "not found", err: sdk.NotFound(errors.New("incident deleted")), kind: sdk.KindNotFound},
		{name: "from HTTP 429", err: sdk.FromHTTPStatus(429, h, "POST /api/now/table/incident"), kind: sdk.KindRetryable, retryAfter: 30 * time.Second},
		{name: "from HTTP 400", err: sdk.FromHTTPStatus(400, nil, "bad field"), kind: sdk.KindPermanent},
		{name: "unclassified counts as retryable", err: errors.New("something odd"), kind: sdk.KindRetryable},
		{name: "diagnostics", err: diags, kind: sdk.KindRetryable, diags: diags},
		{name: "classified diagnostics", err: sdk.Permanent(diags), kind: sdk.KindPermanent, diags: diags},
		{name: "wrapped classified", err: fmt.Errorf("create incident: %w", sdk.Permanent(errors.New("no such group"))), kind: sdk.KindPermanent},
		{name: "plugin's own deadline", err: fmt.Errorf("POST: %w", context.DeadlineExceeded), kind: sdk.KindRetryable, is: context.DeadlineExceeded},
		{name: "plugin's own cancel, classified", err: sdk.Retryable(fmt.Errorf("POST: %w", context.Canceled)), kind: sdk.KindRetryable, is: context.Canceled},
		{name: "kind without cause", err: &sdk.Error{Kind: sdk.KindPermanent}, kind: sdk.KindPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdktest.Connect(t, failing(tt.err))
			for call, err := range map[string]error{
				"Create":    second(c.Create(t.Context(), &sdk.Request{})),
				"Configure": c.Configure(t.Context(), sdk.Config(`{}`)),
			} {
				if err == nil {
					t.Fatalf("%s: nil error", call)
				}
				if err.Error() != tt.err.Error() {
					t.Errorf("%s: message %q, want %q", call, err, tt.err)
				}
				if got := sdk.KindOf(err); got != tt.kind {
					t.Errorf("%s: kind %q, want %q", call, got, tt.kind)
				}
				if got := sdk.RetryAfterOf(err); got != tt.retryAfter {
					t.Errorf("%s: retry after %v, want %v", call, got, tt.retryAfter)
				}
				if tt.diags != nil {
					var got sdk.Diagnostics
					if !errors.As(err, &got) || !reflect.DeepEqual(got, tt.diags) {
						t.Errorf("%s: diagnostics %#v, want %#v", call, got, tt.diags)
					}
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("%s: errors.Is(err, %v) = false", call, tt.is)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestLongErrorMessageIsBounded(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	c := sdktest.Connect(t, failing(sdk.Permanent(errors.New(long))))
	_, err := c.Create(t.Context(), &sdk.Request{})
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Fatalf("kind %q (%v), want permanent", sdk.KindOf(err), err)
	}
	if n := len(err.Error()); n > 64<<10 || !strings.HasSuffix(err.Error(), "(truncated)") {
		t.Errorf("message of %d bytes, want it truncated", n)
	}
}

func TestHostDeadlineReachesPlugin(t *testing.T) {
	seen := make(chan time.Time, 1)
	c := sdktest.Connect(t, &hookPlugin{create: func(ctx context.Context, _ *sdk.Request) (*sdk.WorkItem, error) {
		d, _ := ctx.Deadline()
		seen <- d
		return &sdk.WorkItem{ID: "1"}, nil
	}})
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	if _, err := c.Create(ctx, &sdk.Request{}); err != nil {
		t.Fatal(err)
	}
	got := <-seen
	// gRPC sends the time left, so the instant drifts by the transit time.
	if got.IsZero() || got.Sub(deadline).Abs() > time.Minute {
		t.Errorf("plugin saw deadline %v, want about %v", got, deadline)
	}
}

func TestHostCancellationReachesPlugin(t *testing.T) {
	started := make(chan struct{})
	pluginSaw := make(chan error, 1)
	c := sdktest.Connect(t, &hookPlugin{create: func(ctx context.Context, _ *sdk.Request) (*sdk.WorkItem, error) {
		close(started)
		<-ctx.Done()
		pluginSaw <- ctx.Err()
		return nil, ctx.Err()
	}})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	_, err := c.Create(ctx, &sdk.Request{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("host got %v, want context.Canceled", err)
	}
	select {
	case err := <-pluginSaw:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("plugin's ctx ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin's context was not cancelled within 10s")
	}
}

func TestHostDeadlineExceeded(t *testing.T) {
	c := sdktest.Connect(t, &hookPlugin{create: func(ctx context.Context, _ *sdk.Request) (*sdk.WorkItem, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Create(ctx, &sdk.Request{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("host got %v, want context.DeadlineExceeded", err)
	}
}

func TestMissingCallsArePermanentErrors(t *testing.T) {
	p := &hookPlugin{info: sdk.Info{Name: "minimal", Version: "1"}}
	c := sdktest.Connect(t, p)
	calls := map[string]func(context.Context, *sdk.Request) (*sdk.WorkItem, error){
		"Lookup": c.Lookup, "Update": c.Update, "Resolve": c.Resolve, "Reopen": c.Reopen,
	}
	for name, call := range calls {
		wi, err := call(t.Context(), &sdk.Request{Ref: &sdk.WorkItem{ID: "1"}})
		if wi != nil || sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), name) {
			t.Errorf("%s = (%v, %v); want a permanent error naming %s", name, wi, err, name)
		}
	}
}

func TestInfoIsCompleted(t *testing.T) {
	tests := []struct {
		name   string
		plugin sdk.Plugin
		want   sdk.Info
	}{
		{
			name:   "create only, versions filled",
			plugin: &hookPlugin{info: sdk.Info{Name: "minimal", Version: "1", Capabilities: sdk.Capabilities{Reopen: true, CMDB: true}}},
			// A claimed lifecycle capability without the interface is dropped.
			want: sdk.Info{Name: "minimal", Version: "1", APIVersions: []int{1}, Capabilities: sdk.Capabilities{CMDB: true}},
		},
		{
			name:   "full plugin keeps its own versions and flags",
			plugin: withVersions{memplugin.New(memplugin.NewBackend())},
			want: sdk.Info{Name: "memory", Version: "0.1.0", APIVersions: []int{1, 2}, MaxStatusBatch: memplugin.StatusBatch,
				Capabilities: sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, Comment: true, ReadStatus: true}},
		},
		{
			name:   "a capability reporter keeps read_status",
			plugin: narrowed{withVersions{memplugin.New(memplugin.NewBackend())}, sdk.Capabilities{ReadStatus: true}},
			want: sdk.Info{Name: "memory", Version: "0.1.0", APIVersions: []int{1, 2}, MaxStatusBatch: memplugin.StatusBatch,
				Capabilities: sdk.Capabilities{Comment: true, ReadStatus: true}},
		},
		{
			name:   "read_status claimed in Info without the interface is dropped",
			plugin: &hookPlugin{info: sdk.Info{Name: "minimal", Version: "1", Capabilities: sdk.Capabilities{ReadStatus: true}}},
			want:   sdk.Info{Name: "minimal", Version: "1", APIVersions: []int{1}},
		},
		{
			name: "a capability reporter narrows the interfaces it implements",
			// It implements all four and ReadStatus and reports Update and
			// Reopen: Lookup, Resolve and ReadStatus are dropped.
			plugin: narrowed{withVersions{memplugin.New(memplugin.NewBackend())}, sdk.Capabilities{Update: true, Reopen: true}},
			want: sdk.Info{Name: "memory", Version: "0.1.0", APIVersions: []int{1, 2}, MaxStatusBatch: memplugin.StatusBatch,
				Capabilities: sdk.Capabilities{Update: true, Reopen: true, Comment: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdktest.Connect(t, tt.plugin).Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got.Schema = sdk.Schema{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info = %+v, want %+v", got, tt.want)
			}
		})
	}
}

type withVersions struct{ *memplugin.Plugin }

// narrowed reports caps as its configured capabilities.
type narrowed struct {
	withVersions
	caps sdk.Capabilities
}

func (p narrowed) Capabilities() sdk.Capabilities { return p.caps }

func (p withVersions) Info(ctx context.Context) (sdk.Info, error) {
	i, err := p.Plugin.Info(ctx)
	i.APIVersions = []int{1, 2}
	return i, err
}

func TestPanicBecomesPermanentError(t *testing.T) {
	c := sdktest.Connect(t, &hookPlugin{create: func(context.Context, *sdk.Request) (*sdk.WorkItem, error) {
		panic("backend client not initialised")
	}})
	_, err := c.Create(t.Context(), &sdk.Request{})
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "panicked in Create") {
		t.Fatalf("err = %v (%s), want a permanent panic error", err, sdk.KindOf(err))
	}
	// The plugin survived and still answers.
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("Info after a panic: %v", err)
	}
}

func TestCreateWithoutWorkItemIsAnError(t *testing.T) {
	c := sdktest.Connect(t, &hookPlugin{create: func(context.Context, *sdk.Request) (*sdk.WorkItem, error) { return nil, nil }})
	_, err := c.Create(t.Context(), &sdk.Request{})
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestRequestArrivesIntact(t *testing.T) {
	got := make(chan *sdk.Request, 1)
	c := sdktest.Connect(t, &hookPlugin{create: func(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
		got <- req
		return &sdk.WorkItem{ID: "1", State: sdk.StateOpen}, nil
	}})
	alert := sdktest.SampleAlert()
	want := &sdk.Request{
		CorrelationKey:     "k|1",
		Alert:              alert,
		Fields:             map[string]any{"urgency": float64(1), "title": "CPU"},
		Values:             sdk.Values(`{"assignee":"ops"}`),
		ConfigurationItems: alert.ConfigurationItems,
	}
	if _, err := c.Create(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	r := <-got
	// Times lose their monotonic clock reading in JSON; compare instants.
	if !r.Alert.FiredAt.Equal(want.Alert.FiredAt) {
		t.Errorf("FiredAt %v, want %v", r.Alert.FiredAt, want.Alert.FiredAt)
	}
	r.Alert.FiredAt = want.Alert.FiredAt
	if !reflect.DeepEqual(r, want) {
		t.Errorf("plugin got\n%#v\nwant\n%#v", r, want)
	}
}

func TestUnencodableRequestIsPermanent(t *testing.T) {
	c := sdktest.Connect(t, memplugin.New(memplugin.NewBackend()))
	_, err := c.Create(t.Context(), &sdk.Request{Fields: map[string]any{"n": func() {}}})
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Fatalf("err = %v, want permanent", err)
	}
}

// TestTransportFailureIsRetryable stops the plugin's server under the host:
// the host must see a retryable error, never a permanent one, so the
// delivery is retried once the plugin is back.
func TestTransportFailureIsRetryable(t *testing.T) {
	client, server := plugin.TestPluginGRPCConn(t, false, sdk.ServerPluginSets(memplugin.New(memplugin.NewBackend()))[sdk.APIVersion])
	defer client.Close()
	c, err := hostside.Dispense(client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatal(err)
	}
	server.Stop()
	_, err = c.Lookup(t.Context(), &sdk.Request{CorrelationKey: "k"})
	if err == nil || sdk.KindOf(err) != sdk.KindRetryable {
		t.Fatalf("after the plugin went away: err = %v (%s), want retryable", err, sdk.KindOf(err))
	}
	if !strings.Contains(err.Error(), "plugin Lookup call failed") {
		t.Errorf("message %q does not say which call failed", err)
	}
}

func TestServerPluginSetsRefuseNilForClientSets(t *testing.T) {
	sets := hostside.ClientPluginSets()
	p, ok := sets[sdk.APIVersion][hostside.PluginName].(plugin.GRPCPlugin)
	if !ok {
		t.Fatalf("client plugin set for v%d has no gRPC plugin %q", sdk.APIVersion, hostside.PluginName)
	}
	if err := p.GRPCServer(nil, nil); err == nil {
		t.Error("serving a client-side plugin set succeeded")
	}
}
