package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeAuth struct{ err error }

func (f fakeAuth) Authenticate(context.Context, *http.Request) (*auth.Principal, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &auth.Principal{AppID: "app"}, nil
}

type fakeRouter struct{ d route.Decision }

func (f fakeRouter) Route(*sdk.Alert) (route.Decision, error) { return f.d, nil }

type fakeIngest struct {
	mu   sync.Mutex
	err  error
	got  []route.Decision
	seen []string
}

func (f *fakeIngest) Ingest(_ context.Context, a *sdk.Alert, d route.Decision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, d)
	f.seen = append(f.seen, a.ID)
	return nil
}

func decodeStub(body []byte) (*sdk.Alert, error) {
	var a sdk.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, errors.New("body is not JSON")
	}
	if a.ID == "" {
		return nil, errors.New("data.essentials.alertId is required")
	}
	return &a, nil
}

func TestHandler(t *testing.T) {
	matched := route.Decision{Deliveries: []route.Delivery{{Route: "r", Backend: "file.local", CorrelationKey: "a1"}}}
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		auth        error
		ingestErr   error
		decision    route.Decision
		maxBody     int64
		wantStatus  int
		wantCode    string
		wantCheck   string
		wantHeader  map[string]string
		wantIngest  int
	}{
		{name: "accepted", body: `{"id":"a1"}`, decision: matched, wantStatus: 202, wantIngest: 1},
		{name: "json with charset", contentType: "application/json; charset=utf-8", body: `{"id":"a1"}`, decision: matched, wantStatus: 202, wantIngest: 1},
		{name: "unmatched is still accepted", body: `{"id":"a1"}`, decision: route.Decision{Unmatched: "no route matched"}, wantStatus: 202, wantIngest: 1},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: map[string]string{"Allow": "POST"}},
		{name: "not json", contentType: "text/plain", body: `{}`, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "too large", body: `{"id":"` + strings.Repeat("x", 100) + `"}`, maxBody: 50, wantStatus: 413, wantCode: "too_large"},
		{name: "bad payload", body: `{"id":""}`, wantStatus: 400, wantCode: "bad_payload"},
		{name: "missing token", auth: &auth.Error{Status: 401, Reason: "missing_token", Description: "no Authorization header"}, wantStatus: 401, wantCode: "invalid_token", wantCheck: "missing_token",
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="itsm-connector"`}},
		{name: "expired token", auth: &auth.Error{Status: 401, Reason: "expired", Description: "token expired"}, wantStatus: 401, wantCode: "invalid_token", wantCheck: "expired",
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="itsm-connector", error="invalid_token", error_description="token expired"`}},
		{name: "wrong app", auth: &auth.Error{Status: 403, Reason: "wrong_app_id", Description: "app x is not allowed"}, wantStatus: 403, wantCode: "forbidden", wantCheck: "wrong_app_id"},
		{name: "verifier not ready", auth: errors.New("keys not loaded"), wantStatus: 503, wantCode: "auth_unavailable", wantHeader: map[string]string{"Retry-After": "5"}},
		{name: "signing key lookup throttled", auth: &auth.Unavailable{Reason: "key_refresh_throttled", RetryAfter: 27 * time.Second, Description: "the signing key is not known yet"},
			wantStatus: 503, wantCode: "auth_unavailable", wantHeader: map[string]string{"Retry-After": "27", "WWW-Authenticate": ""}},
		{name: "retry-after rounded up to whole seconds", auth: fmt.Errorf("verifying: %w", &auth.Unavailable{Reason: "issuer_unavailable", RetryAfter: 1500 * time.Millisecond, Description: "issuer down"}),
			wantStatus: 503, wantCode: "auth_unavailable", wantHeader: map[string]string{"Retry-After": "2"}},
		{name: "unavailable without retry-after", auth: &auth.Unavailable{Reason: "x", Description: "later"},
			wantStatus: 503, wantCode: "auth_unavailable", wantHeader: map[string]string{"Retry-After": "5"}},
		{name: "store down", body: `{"id":"a1"}`, decision: matched, ingestErr: errors.New("disk full"), wantStatus: 503, wantCode: "unavailable", wantHeader: map[string]string{"Retry-After": "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := &fakeIngest{err: tt.ingestErr}
			m := metrics.New()
			h := &Handler{Auth: fakeAuth{tt.auth}, Decode: decodeStub, Router: fakeRouter{tt.decision}, Ingest: ing,
				MaxBodyBytes: tt.maxBody, Logger: hclog.NewNullLogger(), Metrics: m}
			srv := httptest.NewServer(h)
			defer srv.Close()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, srv.URL+AlertsPath, strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.wantStatus == 202 {
				var a Accepted
				if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
					t.Fatal(err)
				}
				if a.ID == "" || a.AlertID != "a1" || a.Deliveries != len(tt.decision.Deliveries) || a.Unmatched != tt.decision.Unmatched {
					t.Errorf("receipt = %+v", a)
				}
			} else {
				var e ErrorBody
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
					t.Fatal(err)
				}
				if e.Error.Code != tt.wantCode || e.Error.Check != tt.wantCheck || e.Error.Message == "" {
					t.Errorf("error body = %+v, want code %q check %q", e, tt.wantCode, tt.wantCheck)
				}
			}
			if len(ing.got) != tt.wantIngest {
				t.Errorf("ingested %d, want %d", len(ing.got), tt.wantIngest)
			}
			if tt.wantCheck != "" && tt.wantStatus < 500 {
				if got := testutil.ToFloat64(m.AuthFailures.WithLabelValues(tt.wantCheck)); got != 1 {
					t.Errorf("auth failure metric = %v", got)
				}
			}
		})
	}
}
