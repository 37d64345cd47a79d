package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Helpers for a plugin's own tests, beyond the conformance suite: they
// call the plugin directly (Create, RateLimited) or over real gRPC as the
// host does (ReadStatus), and fail the test with a message that says what
// went wrong.

// ConfigOf encodes v, a map or struct shaped like the plugin's schema, as
// the configuration the host sends to Configure.
//
//	err := p.Configure(ctx, sdktest.ConfigOf(t, map[string]any{"url": fake.URL}))
func ConfigOf(tb testing.TB, v any) sdk.Config {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("sdktest.ConfigOf: %v", err)
	}
	return sdk.Config(b)
}

// Request is a lifecycle request as the host sends it about alert a: the
// correlation key, the alert with its configuration items and, for
// Update, Resolve and Reopen, ref, the work item the plugin returned
// before (nil for Create and Lookup). Set Fields and Values on it as the
// test needs.
func Request(key string, a sdk.Alert, ref *sdk.WorkItem) *sdk.Request {
	return &sdk.Request{CorrelationKey: key, Alert: a, ConfigurationItems: a.ConfigurationItems, Ref: ref}
}

// Create calls p.Create with req directly and returns the work item; it
// fails the test when Create returns an error or no work item.
func Create(tb testing.TB, p sdk.Plugin, req *sdk.Request) *sdk.WorkItem {
	tb.Helper()
	wi, err := p.Create(context.Background(), req)
	if err != nil {
		tb.Fatalf("Create: %v", err)
	}
	if wi == nil {
		tb.Fatal("Create returned no work item and no error")
	}
	return wi
}

// ReadStatus reads the status of items from p over real gRPC, as the
// host does, and returns the answer by ID. It fails the test when the
// call fails or the answer does not hold exactly one status for each
// item.
func ReadStatus(tb testing.TB, p sdk.Plugin, items ...*sdk.WorkItem) map[string]sdk.WorkItemStatus {
	tb.Helper()
	req := &sdk.StatusRequest{}
	for _, wi := range items {
		req.Items = append(req.Items, *wi)
	}
	got, err := Connect(tb, p).ReadStatus(context.Background(), req)
	if err != nil {
		tb.Fatalf("ReadStatus: %v", err)
	}
	out := make(map[string]sdk.WorkItemStatus, len(got))
	for _, st := range got {
		out[st.ID] = st
	}
	if len(out) != len(got) || len(got) != len(req.Items) {
		tb.Fatalf("ReadStatus answered %d statuses for %d work items: %+v", len(got), len(req.Items), got)
	}
	for _, wi := range req.Items {
		if _, ok := out[wi.ID]; !ok {
			tb.Fatalf("ReadStatus answered no status for work item %q: %+v", wi.ID, got)
		}
	}
	return out
}

// CheckError fails the test unless err is an error of kind, asking the
// host to wait retryAfter before the next attempt (0: no delay of its
// own), whose message holds each of contains.
//
//	sdktest.CheckError(t, err, sdk.KindRetryable, 30*time.Second, "HTTP 429")
func CheckError(tb testing.TB, err error, kind sdk.ErrorKind, retryAfter time.Duration, contains ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error; want a %s error", kind)
	}
	if got := sdk.KindOf(err); got != kind {
		tb.Errorf("error kind = %s, want %s (%v)", got, kind, err)
	}
	if got := sdk.RetryAfterOf(err); got != retryAfter {
		tb.Errorf("error asks to retry after %v, want %v (%v)", got, retryAfter, err)
	}
	for _, want := range contains {
		if !strings.Contains(err.Error(), want) {
			tb.Errorf("error %q does not say %q", err, want)
		}
	}
}

// Requests returns n requests about alert a with the correlation keys
// key-1 … key-n, for tests that deliver many alerts.
func Requests(n int, a sdk.Alert) []*sdk.Request {
	reqs := make([]*sdk.Request, n)
	for i := range reqs {
		reqs[i] = Request(fmt.Sprintf("key-%d", i+1), a, nil)
	}
	return reqs
}

// RateLimitedTries is how many times [RateLimited] calls with one request
// before it gives up.
const RateLimitedTries = 10

// RateLimited plays the host delivering reqs one after another with call
// (a lifecycle method, e.g. p.Create) to a backend that rate-limits them:
// after a failure, which must be retryable and ask for a delay of at most
// maxWait (the backend's Retry-After), it waits that delay with wait (a
// test clock's Advance: no test sleeps) and calls again. It fails the test
// on any other error, when a request still fails after RateLimitedTries
// calls, and when no call failed at all (the backend never limited them,
// so the test would prove nothing). It returns the work items in the
// order of reqs.
//
//	items := sdktest.RateLimited(t, 10*time.Second, clock.Advance, p.Create, sdktest.Requests(7, alert)...)
func RateLimited(tb testing.TB, maxWait time.Duration, wait func(time.Duration), call func(context.Context, *sdk.Request) (*sdk.WorkItem, error), reqs ...*sdk.Request) []*sdk.WorkItem {
	tb.Helper()
	items := make([]*sdk.WorkItem, len(reqs))
	limited := 0
	for i, req := range reqs {
		for tries := 1; ; tries++ {
			wi, err := call(context.Background(), req)
			if err == nil {
				items[i] = wi
				break
			}
			if tries >= RateLimitedTries {
				tb.Fatalf("request %d of %d (%s): still failing after %d calls: %v", i+1, len(reqs), req.CorrelationKey, tries, err)
			}
			if sdk.KindOf(err) != sdk.KindRetryable {
				tb.Fatalf("request %d of %d (%s): a %s error, want retryable: %v", i+1, len(reqs), req.CorrelationKey, sdk.KindOf(err), err)
			}
			d := sdk.RetryAfterOf(err)
			if d <= 0 || d > maxWait {
				tb.Fatalf("request %d of %d (%s): the error asks to wait %v, want the backend's delay (at most %v): %v", i+1, len(reqs), req.CorrelationKey, d, maxWait, err)
			}
			limited++
			wait(d)
		}
	}
	if limited == 0 {
		tb.Fatalf("none of %d requests was rate-limited: the test proves nothing", len(reqs))
	}
	return items
}
