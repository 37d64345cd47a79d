package pluginhost

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// fakeInstance is an instance whose "process" dies when told to.
type fakeInstance struct {
	id     int
	dead   atomic.Bool
	killed atomic.Bool
	// create runs for each Create; nil succeeds.
	create func(inst *fakeInstance, req *sdk.Request) (*sdk.WorkItem, error)
	lookup func(inst *fakeInstance, req *sdk.Request) (*sdk.WorkItem, error)
	calls  atomic.Int32
}

func (f *fakeInstance) client() hostside.Client { return fakeClient{f} }
func (f *fakeInstance) exited() bool            { return f.dead.Load() }
func (f *fakeInstance) alive() bool             { return !f.dead.Load() }
func (f *fakeInstance) kill()                   { f.killed.Store(true); f.dead.Store(true) }

type fakeClient struct{ f *fakeInstance }

var errTransport = errors.New("rpc error: code = Unavailable desc = connection refused")

func (c fakeClient) Info(context.Context) (sdk.Info, error)      { return sdk.Info{}, nil }
func (c fakeClient) Configure(context.Context, sdk.Config) error { return nil }
func (c fakeClient) Create(_ context.Context, r *sdk.Request) (*sdk.WorkItem, error) {
	c.f.calls.Add(1)
	if c.f.dead.Load() {
		return nil, errTransport
	}
	if c.f.create != nil {
		return c.f.create(c.f, r)
	}
	return &sdk.WorkItem{ID: r.CorrelationKey}, nil
}
func (c fakeClient) Lookup(_ context.Context, r *sdk.Request) (*sdk.WorkItem, error) {
	if c.f.lookup != nil {
		return c.f.lookup(c.f, r)
	}
	return nil, nil
}
func (c fakeClient) Update(context.Context, *sdk.Request) (*sdk.WorkItem, error)  { return nil, nil }
func (c fakeClient) Resolve(context.Context, *sdk.Request) (*sdk.WorkItem, error) { return nil, nil }
func (c fakeClient) Reopen(context.Context, *sdk.Request) (*sdk.WorkItem, error)  { return nil, nil }
func (c fakeClient) ReadStatus(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	return nil, nil
}

// fakeLauncher launches fakeInstances configured by setup, optionally
// failing, and records the backoff delays the supervisor asked for.
type fakeLauncher struct {
	mu       sync.Mutex
	launched []*fakeInstance
	fail     int // the next fail launches fail
	setup    func(*fakeInstance)
	delays   []time.Duration
}

func (l *fakeLauncher) launch(context.Context) (instance, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail > 0 {
		l.fail--
		return nil, errors.New("exec: permission denied")
	}
	inst := &fakeInstance{id: len(l.launched) + 1}
	if l.setup != nil {
		l.setup(inst)
	}
	l.launched = append(l.launched, inst)
	return inst, nil
}

func (l *fakeLauncher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.launched)
}

func newTestSupervisor(t *testing.T, l *fakeLauncher) (*supervisor, *fakeInstance) {
	t.Helper()
	first, err := l.launch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := newSupervisor("test.x", first.(*fakeInstance), l.launch, hclog.NewNullLogger(), Backoff{Min: time.Second, Max: 4 * time.Second})
	s.sleep = func(_ context.Context, d time.Duration) error {
		l.mu.Lock()
		l.delays = append(l.delays, d)
		l.mu.Unlock()
		return nil
	}
	return s, first.(*fakeInstance)
}

func create(s *supervisor, key string) (*sdk.WorkItem, error) {
	req := &sdk.Request{CorrelationKey: key}
	return s.call(context.Background(), "create", func(c hostside.Client) (*sdk.WorkItem, error) {
		return c.Create(context.Background(), req)
	})
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for n, w := range want {
		if got := b.delay(n); got != w {
			t.Errorf("delay(%d) = %v, want %v", n, got, w)
		}
	}
	if got := b.delay(1000); got != time.Second {
		t.Errorf("delay(1000) = %v, want the cap", got)
	}
}

func TestSupervisorRestartsAnExitedProcess(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	first.dead.Store(true)
	wi, err := create(s, "k")
	if err != nil || wi.ID != "k" {
		t.Fatalf("create = %v, %v", wi, err)
	}
	if l.count() != 2 || s.restarts.Load() != 1 {
		t.Errorf("launches = %d, restarts = %d; want 2 and 1", l.count(), s.restarts.Load())
	}
	if first.calls.Load() != 0 {
		t.Error("a call went to the exited process")
	}
	if len(l.delays) != 0 {
		t.Errorf("first restart waited %v; want no delay", l.delays)
	}
}

// TestSupervisorCrashDuringCallIsRetryable: the process dies during a
// Create, for a key whose old work item Lookup would find resolved. The
// supervisor restarts the process but repeats nothing and looks nothing up
// (the Create may have reached the backend; settling that is the delivery
// engine's job): the call fails retryably, and the next one runs on the
// new process.
func TestSupervisorCrashDuringCallIsRetryable(t *testing.T) {
	l := &fakeLauncher{setup: func(f *fakeInstance) {
		f.lookup = func(*fakeInstance, *sdk.Request) (*sdk.WorkItem, error) {
			return &sdk.WorkItem{ID: "old", State: sdk.StateResolved}, nil
		}
	}}
	s, first := newTestSupervisor(t, l)
	first.create = func(f *fakeInstance, _ *sdk.Request) (*sdk.WorkItem, error) {
		f.dead.Store(true) // the process dies during the call
		return nil, errTransport
	}
	wi, err := create(s, "k")
	if wi != nil || sdk.KindOf(err) != sdk.KindRetryable || !errors.Is(err, errTransport) {
		t.Fatalf("create = %+v, %v (kind %s); want no item and a retryable error wrapping the crash", wi, err, sdk.KindOf(err))
	}
	if l.count() != 2 || l.launched[1].calls.Load() != 0 {
		t.Fatalf("launches %d; want the process restarted and the call not repeated", l.count())
	}
	wi, err = create(s, "k")
	if err != nil || wi.ID != "k" || l.launched[1].calls.Load() != 1 {
		t.Errorf("next create = %+v, %v; want a new item from the restarted process", wi, err)
	}
}

func TestSupervisorKeepsPluginErrors(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	perm := sdk.Permanent(errors.New("HTTP 400: bad field"))
	first.create = func(*fakeInstance, *sdk.Request) (*sdk.WorkItem, error) { return nil, perm }
	_, err := create(s, "k")
	if !errors.Is(err, perm) {
		t.Fatalf("err = %v, want the plugin's own error", err)
	}
	if l.count() != 1 {
		t.Error("a live plugin was restarted")
	}
}

func TestSupervisorCrashLoopBacksOffAndStaysRetryable(t *testing.T) {
	crash := func(f *fakeInstance) {
		f.create = func(f *fakeInstance, _ *sdk.Request) (*sdk.WorkItem, error) {
			f.dead.Store(true)
			return nil, errTransport
		}
	}
	l := &fakeLauncher{setup: crash}
	s, first := newTestSupervisor(t, l)
	crash(first)
	for i := range 5 {
		_, err := create(s, "k")
		if sdk.KindOf(err) != sdk.KindRetryable {
			t.Fatalf("call %d: err = %v (kind %s), want retryable", i, err, sdk.KindOf(err))
		}
	}
	// Each call's process dies under it and is restarted: the first time at
	// once (the plugin was healthy until then), then waiting longer each
	// time, up to the cap.
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(l.delays) != len(want) {
		t.Fatalf("delays = %v, want %v", l.delays, want)
	}
	for i := range want {
		if l.delays[i] != want[i] {
			t.Errorf("delays = %v, want %v", l.delays, want)
			break
		}
	}
	// Once a call succeeds the backoff starts over.
	l.setup = nil
	s.mu.RLock()
	cur := s.cur
	s.mu.RUnlock()
	cur.(*fakeInstance).dead.Store(true)
	if _, err := create(s, "k"); err != nil {
		t.Fatal(err)
	}
	l.delays = nil
	s.cur.(*fakeInstance).dead.Store(true)
	if _, err := create(s, "k"); err != nil {
		t.Fatal(err)
	}
	if len(l.delays) != 0 {
		t.Errorf("after a healthy call the restart waited %v", l.delays)
	}
}

func TestSupervisorLaunchFailureIsRetryable(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	first.dead.Store(true)
	l.fail = 1
	_, err := create(s, "k")
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Fatalf("err = %v, want retryable", err)
	}
	wi, err := create(s, "k")
	if err != nil || wi.ID != "k" {
		t.Fatalf("second call = %v, %v", wi, err)
	}
	if len(l.delays) != 1 || l.delays[0] != time.Second {
		t.Errorf("delays = %v, want one backoff after the failed launch", l.delays)
	}
}

func TestSupervisorConcurrentCallsShareOneRestart(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	first.dead.Store(true)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if _, err := create(s, "k"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if l.count() != 2 {
		t.Errorf("launches = %d, want 2 (one restart shared by all callers)", l.count())
	}
}

func TestSupervisorClose(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	s.close()
	if !first.killed.Load() {
		t.Error("close did not kill the process")
	}
	_, err := create(s, "k")
	if sdk.KindOf(err) != sdk.KindRetryable || !errors.Is(err, errClosed) {
		t.Errorf("after close: %v, want retryable %v", err, errClosed)
	}
	if l.count() != 1 {
		t.Error("a closed supervisor restarted the plugin")
	}
}

func TestSupervisorHonoursContextWhileWaiting(t *testing.T) {
	l := &fakeLauncher{}
	s, first := newTestSupervisor(t, l)
	s.sleep = sleepCtx
	s.failures = 5 // deep in a crash loop: the next restart waits
	first.dead.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.call(ctx, "create", func(c hostside.Client) (*sdk.WorkItem, error) { return c.Create(ctx, &sdk.Request{}) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
