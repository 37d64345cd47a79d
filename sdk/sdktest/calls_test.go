package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// failures records what a helper reported against a test; Fatal ends the
// helper's goroutine as it ends a test's. Everything else (Cleanup,
// Context) is the real test's.
type failures struct {
	testing.TB
	msgs  []string
	fatal bool
}

func (f *failures) Helper()                   {}
func (f *failures) Errorf(s string, a ...any) { f.msgs = append(f.msgs, fmt.Sprintf(s, a...)) }
func (f *failures) Fatalf(s string, a ...any) { f.Errorf(s, a...); f.fatal = true; runtime.Goexit() }
func (f *failures) Fatal(a ...any)            { f.Fatalf("%s", fmt.Sprint(a...)) }

// check runs fn against a recording test and returns what it reported.
func check(t *testing.T, fn func(tb testing.TB)) *failures {
	f := &failures{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

// says fails t unless f reported exactly one failure holding want, or none
// when want is "".
func (f *failures) says(t *testing.T, want string) {
	t.Helper()
	switch {
	case want == "" && len(f.msgs) > 0:
		t.Errorf("reported %q; want no failure", f.msgs)
	case want != "" && (len(f.msgs) != 1 || !strings.Contains(f.msgs[0], want)):
		t.Errorf("reported %q; want one failure saying %q", f.msgs, want)
	}
}

func TestConfigOf(t *testing.T) {
	var got sdk.Config
	check(t, func(tb testing.TB) {
		got = sdktest.ConfigOf(tb, map[string]any{"prefix": "INC", "limits": map[string]int{"max_items": 10}})
	}).says(t, "")
	if string(got) != `{"limits":{"max_items":10},"prefix":"INC"}` {
		t.Errorf("ConfigOf = %s", got)
	}
	check(t, func(tb testing.TB) { sdktest.ConfigOf(tb, map[string]any{"c": make(chan int)}) }).says(t, "sdktest.ConfigOf: json: unsupported type")
}

func TestRequestAndCreate(t *testing.T) {
	a := sdktest.SampleAlert()
	ref := &sdk.WorkItem{ID: "mem-1"}
	req := sdktest.Request("k", a, ref)
	if req.CorrelationKey != "k" || req.Alert.ID != a.ID || len(req.ConfigurationItems) != 1 || req.ConfigurationItems[0] != a.ConfigurationItems[0] || req.Ref != ref {
		t.Errorf("Request = %+v", req)
	}

	b := memplugin.NewBackend()
	p := memplugin.New(b)
	if err := p.Configure(t.Context(), sdk.Config(validConfig)); err != nil {
		t.Fatal(err)
	}
	b.SetFault(sdk.KindPermanent, 0)
	check(t, func(tb testing.TB) { sdktest.Create(tb, p, sdktest.Request("k", a, nil)) }).says(t, "Create: ")
	b.SetFault("", 0)
	var wi *sdk.WorkItem
	check(t, func(tb testing.TB) { wi = sdktest.Create(tb, p, sdktest.Request("k", a, nil)) }).says(t, "")
	if wi == nil || wi.CorrelationKey != "k" {
		t.Errorf("Create = %+v", wi)
	}
}

func TestReadStatus(t *testing.T) {
	b := memplugin.NewBackend()
	p := memplugin.New(b)
	if err := p.Configure(t.Context(), sdk.Config(validConfig)); err != nil {
		t.Fatal(err)
	}
	open := sdktest.Create(t, p, sdktest.Request("k1", sdktest.SampleAlert(), nil))
	gone := sdktest.Create(t, p, sdktest.Request("k2", sdktest.SampleAlert(), nil))
	b.Delete(gone.ID)

	var got map[string]sdk.WorkItemStatus
	check(t, func(tb testing.TB) { got = sdktest.ReadStatus(tb, p, open, gone) }).says(t, "")
	if st := got[open.ID]; !st.Found || st.State != sdk.StateOpen {
		t.Errorf("status of the open item = %+v", st)
	}
	if st := got[gone.ID]; st.Found || st.ID != gone.ID {
		t.Errorf("status of the deleted item = %+v", st)
	}

	check(t, func(tb testing.TB) { sdktest.ReadStatus(tb, skipsDeleted{p}, open, gone) }).says(t, "answered 1 statuses for 2 work items")
	check(t, func(tb testing.TB) { sdktest.ReadStatus(tb, statusOfOthers{p}, open) }).says(t, "ReadStatus: ")
}

func TestCheckError(t *testing.T) {
	limited := sdk.RetryableAfter(errors.New("acme: create ticket: HTTP 429: slow down"), 30*time.Second)
	for _, tt := range []struct {
		name     string
		err      error
		kind     sdk.ErrorKind
		after    time.Duration
		contains []string
		want     string
	}{
		{"as expected", limited, sdk.KindRetryable, 30 * time.Second, []string{"HTTP 429", "slow down"}, ""},
		{"no error", nil, sdk.KindPermanent, 0, nil, "no error; want a permanent error"},
		{"another kind", limited, sdk.KindPermanent, 30 * time.Second, nil, "error kind = retryable, want permanent"},
		{"another delay", limited, sdk.KindRetryable, 0, nil, "asks to retry after 30s, want 0s"},
		{"another text", limited, sdk.KindRetryable, 30 * time.Second, []string{"HTTP 503"}, `does not say "HTTP 503"`},
		{"unclassified", errors.New("boom"), sdk.KindRetryable, 0, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check(t, func(tb testing.TB) { sdktest.CheckError(tb, tt.err, tt.kind, tt.after, tt.contains...) }).says(t, tt.want)
		})
	}
}

func TestRequests(t *testing.T) {
	reqs := sdktest.Requests(3, sdktest.SampleAlert())
	if len(reqs) != 3 || reqs[0].CorrelationKey != "key-1" || reqs[2].CorrelationKey != "key-3" || reqs[1].Alert.Rule != "High CPU on web tier" || reqs[1].Ref != nil {
		t.Errorf("Requests = %+v", reqs)
	}
}

func TestRateLimited(t *testing.T) {
	limited := sdk.RetryableAfter(errors.New("HTTP 429"), 5*time.Second)
	for _, tt := range []struct {
		name   string
		errs   []error // what the calls return, in order; nil is success
		reqs   int
		want   string
		waited time.Duration
	}{
		{"after two waits", []error{limited, nil, limited, nil}, 2, "", 10 * time.Second},
		{"never limited", []error{nil, nil}, 2, "none of 2 requests was rate-limited", 0},
		{"permanent", []error{sdk.Permanent(errors.New("HTTP 400"))}, 1, "request 1 of 1 (key-1): a permanent error, want retryable", 0},
		{"no delay", []error{nil, sdk.Retryable(errors.New("HTTP 503"))}, 2, "request 2 of 2 (key-2): the error asks to wait 0s, want the backend's delay (at most 10s)", 0},
		{"too long a delay", []error{sdk.RetryableAfter(errors.New("HTTP 429"), time.Minute)}, 1, "asks to wait 1m0s", 0},
		{"never succeeds", slices.Repeat([]error{limited}, sdktest.RateLimitedTries), 1, "request 1 of 1 (key-1): still failing after 10 calls", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var waited time.Duration
			var items []*sdk.WorkItem
			check(t, func(tb testing.TB) {
				items = sdktest.RateLimited(tb, 10*time.Second, func(d time.Duration) { waited += d },
					func(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
						calls++
						if err := tt.errs[calls-1]; err != nil {
							return nil, err
						}
						return &sdk.WorkItem{ID: req.CorrelationKey}, nil
					}, sdktest.Requests(tt.reqs, sdktest.SampleAlert())...)
			}).says(t, tt.want)
			if tt.want == "" && (waited != tt.waited || len(items) != tt.reqs || items[0].ID != "key-1" || items[1].ID != "key-2") {
				t.Errorf("RateLimited = %+v after waiting %v; want %d items after %v", items, waited, tt.reqs, tt.waited)
			}
		})
	}
}
