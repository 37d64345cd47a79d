package servicenow

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

func TestErrorMapping(t *testing.T) {
	envelope := `{"error":{"message":"Invalid field","detail":"u_bogus is not a field of incident"},"status":"failure"}`
	tests := []struct {
		name      string
		status    int
		header    func(now time.Time) http.Header
		body      string
		call      string // create (default) or update
		kind      sdk.ErrorKind
		after     time.Duration
		inMessage []string
	}{
		{name: "429 Retry-After", status: 429, header: func(time.Time) http.Header { return http.Header{"Retry-After": {"30"}} },
			kind: sdk.KindRetryable, after: 30 * time.Second, inMessage: []string{"HTTP 429", "rate limited"}},
		{name: "503 X-RateLimit-Reset", status: 503, header: func(now time.Time) http.Header {
			return http.Header{"X-RateLimit-Reset": {strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)}}
		}, kind: sdk.KindRetryable, after: 20 * time.Second, inMessage: []string{"HTTP 503"}},
		{name: "500", status: 500, kind: sdk.KindRetryable, inMessage: []string{"HTTP 500"}},
		{name: "502 HTML", status: 502, body: "<html>Bad gateway</html>", kind: sdk.KindRetryable, inMessage: []string{"HTML error page"}},
		{name: "400 envelope", status: 400, body: envelope, kind: sdk.KindPermanent,
			inMessage: []string{"create incident", "POST /api/now/table/incident", "HTTP 400", "Invalid field", "u_bogus is not a field of incident"}},
		{name: "403", status: 403, kind: sdk.KindPermanent, inMessage: []string{"HTTP 403", "Forbidden"}},
		{name: "404 on create", status: 404, kind: sdk.KindPermanent, inMessage: []string{"HTTP 404"}},
		{name: "404 on update", status: 404, call: "update", kind: sdk.KindNotFound, inMessage: []string{"add work note", "HTTP 404"}},
		{name: "401 basic", status: 401, kind: sdk.KindPermanent, inMessage: []string{"HTTP 401", "check the credentials"}},
		{name: "200 hibernating", status: 200, body: snowfake.HibernatingPage, kind: sdk.KindRetryable,
			inMessage: []string{"HTML page instead of JSON", "hibernating"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, func(cfg map[string]any) { cfg["cmdb"] = map[string]any{"enabled": false} })
			var h http.Header
			if tt.header != nil {
				h = tt.header(e.clock.Now())
			}
			if strings.HasPrefix(tt.body, "<") {
				h = http.Header{"Content-Type": {"text/html"}}
			}
			var err error
			if tt.call == "update" {
				item := e.create("k", alert())
				e.fake.FailNext(1, tt.status, h, tt.body)
				_, err = e.p.Update(context.Background(), e.request("k", alert(), item))
			} else {
				e.fake.FailNext(1, tt.status, h, tt.body)
				_, err = e.p.Create(context.Background(), e.request("k", alert(), nil))
			}
			sdktest.CheckError(t, err, tt.kind, tt.after, tt.inMessage...)
			if strings.Contains(err.Error(), testPassword) || strings.Contains(e.logs.String(), testPassword) {
				t.Error("the password leaked into an error or a log")
			}
		})
	}
}

func TestHibernatingInstance(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.SetHibernating(true)
	_, err := e.p.Lookup(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindRetryable || !strings.Contains(err.Error(), "hibernating") {
		t.Fatalf("Lookup on a hibernating instance = %v (%s); want retryable, saying so", err, sdk.KindOf(err))
	}
	e.fake.SetHibernating(false)
	if _, err := e.p.Lookup(context.Background(), e.request("k", alert(), nil)); err != nil {
		t.Fatalf("Lookup after waking: %v", err)
	}
}

func TestResolveDataPolicy(t *testing.T) {
	// An instance whose close_code choice list lacks the default: the data
	// policy rejects an empty close_code, so the configured one is required.
	e := newEnv(t, nil, func(cfg map[string]any) {
		cfg["incident"] = map[string]any{"close_code": "Solved (Permanently)"}
	})
	item := e.create("k", alert())
	if _, err := e.p.Resolve(context.Background(), e.request("k", alert(), item)); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got := e.fake.Record("incident", item.ID)["close_code"]; got != "Solved (Permanently)" {
		t.Errorf("close_code = %q", got)
	}
	// Resolving again (a retry after a crash) succeeds.
	if _, err := e.p.Resolve(context.Background(), e.request("k", alert(), item)); err != nil {
		t.Fatalf("second Resolve: %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	p := New(Options{})
	if _, err := p.Create(context.Background(), &sdk.Request{}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Create before Configure = %v", err)
	}
}
