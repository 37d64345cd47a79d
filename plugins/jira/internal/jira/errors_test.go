package jira

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		call      string // create (default) or update
		kind      sdk.ErrorKind
		after     time.Duration
		inMessage []string
	}{
		{name: "429 Retry-After", status: 429, header: http.Header{"Retry-After": {"30"}, "X-RateLimit-Reset": {"2025-03-14T09:31Z"}},
			kind: sdk.KindRetryable, after: 30 * time.Second, inMessage: []string{"HTTP 429", "rate limited"}},
		{name: "503 Retry-After", status: 503, header: http.Header{"Retry-After": {"12"}},
			kind: sdk.KindRetryable, after: 12 * time.Second, inMessage: []string{"HTTP 503"}},
		{name: "500", status: 500, body: `{"errorMessages":["Internal server error"],"errors":{}}`,
			kind: sdk.KindRetryable, inMessage: []string{"HTTP 500", "Internal server error"}},
		{name: "502 HTML", status: 502, body: "<html>Bad gateway</html>", kind: sdk.KindRetryable, inMessage: []string{"HTML error page"}},
		{name: "400 names the fields", status: 400,
			body: `{"errorMessages":[],"errors":{"customfield_10010":"Option value 'Ops' is not valid","priority":"Specify the Priority (name) in the string format"}}`,
			kind: sdk.KindPermanent, inMessage: []string{"create issue", "POST /rest/api/", "HTTP 400",
				"field customfield_10010 (Team): Option value 'Ops' is not valid", "field priority (Priority): Specify the Priority"}},
		{name: "401", status: 401, kind: sdk.KindPermanent, inMessage: []string{"HTTP 401", "check the credentials"}},
		{name: "403", status: 403, body: `{"errorMessages":["You do not have permission to create issues in this project."],"errors":{}}`,
			kind: sdk.KindPermanent, inMessage: []string{"HTTP 403", "do not have permission", "lacks a permission"}},
		{name: "404 on create", status: 404, kind: sdk.KindPermanent, inMessage: []string{"HTTP 404"}},
		{name: "404 on update", status: 404, call: "update", kind: sdk.KindNotFound, inMessage: []string{"comment on issue", "HTTP 404", "deleted"}},
		{name: "410", status: 410, kind: sdk.KindPermanent, inMessage: []string{"HTTP 410", "check flavor"}},
		{name: "200 HTML login page", status: 200, header: http.Header{"Content-Type": {"text/html"}}, body: "<html>Log in</html>",
			kind: sdk.KindPermanent, inMessage: []string{"HTML page instead of JSON", "check url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forFlavors(t, func(t *testing.T, flavor string) {
				e := newEnv(t, flavor, nil, nil)
				var err error
				if tt.call == "update" {
					item := e.create("k", alert())
					e.fake.FailNext(1, tt.status, tt.header, tt.body)
					_, err = e.p.Update(context.Background(), e.request("k", alert(), item))
				} else {
					// Load the field metadata first, so the 400 can name fields.
					req := e.request("k", alert(), nil)
					req.Fields = map[string]any{"Team": "Web"}
					if _, err := e.p.Create(context.Background(), req); err != nil {
						t.Fatal(err)
					}
					e.fake.FailNext(1, tt.status, tt.header, tt.body)
					_, err = e.p.Create(context.Background(), e.request("k2", alert(), nil))
				}
				sdktest.CheckError(t, err, tt.kind, tt.after, tt.inMessage...)
				e.noSecrets(err)
			})
		})
	}
}

// TestRejectedLabel: Jira's own 400 for a label with spaces reaches the
// operator, naming the field.
func TestRejectedLabel(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) { cfg["labels"] = nil })
	e.p.state.Load().s.labels = []string{"has space"} // bypass Configure's own check
	_, err := e.p.Create(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "field labels: The label 'has space' contains spaces") {
		t.Errorf("Create with a label with spaces = %v (%s)", err, sdk.KindOf(err))
	}
}

// TestRateLimitNothingLost plays the host: on a retryable error it waits
// what the error asks (Jira's Retry-After, on the shared clock) and calls
// again; every alert gets its issue, once.
func TestRateLimitNothingLost(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, func(o *jirafake.Options) {
			o.RateLimit = 3
			o.RateWindow = 10 * time.Second
		}, nil)
		issues := sdktest.RateLimited(t, 10*time.Second, e.clock.Advance, e.p.Create, sdktest.Requests(7, alert())...)
		if n := len(e.fake.Issues()); n != len(issues) {
			t.Errorf("%d issues for %d alerts", n, len(issues))
		}
	})
}
