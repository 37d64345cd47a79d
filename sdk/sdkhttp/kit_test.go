package sdkhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// renewable counts how often it was renewed; it always can be.
type renewable struct{ renewed atomic.Int32 }

func (r *renewable) Apply(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer t"+string(rune('0'+r.renewed.Load())))
	return nil
}
func (r *renewable) Renew() bool { r.renewed.Add(1); return true }

func TestDoRenewsOnceAfter401(t *testing.T) {
	tests := []struct {
		name      string
		auth      sdkhttp.Authenticator
		accept    string // the Authorization the server accepts
		wantCalls int32
		wantKind  sdk.ErrorKind
	}{
		{"renewed token accepted", &renewable{}, "Bearer t1", 2, ""},
		{"renewed token rejected too", &renewable{}, "none", 2, sdk.KindPermanent},
		{"static credentials are not retried", sdkhttp.Basic{User: "u", Password: "p"}, "none", 1, sdk.KindPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if r.Header.Get("Authorization") != tt.accept {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_, _ = w.Write([]byte(`{}`))
			}))
			t.Cleanup(srv.Close)
			err := sdkhttp.Do(context.Background(), sdkhttp.Call{
				Client: srv.Client(), Auth: tt.auth, Op: "acme: get", Method: "GET", URL: srv.URL + "/x", Path: "/x",
			}, func(resp *http.Response, _ []byte) error {
				if resp.StatusCode >= 300 {
					return sdkhttp.Classify(resp.StatusCode, resp.Header, sdkhttp.Options{}.WithDefaults().Now(), errStatus(resp.StatusCode))
				}
				return nil
			})
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d requests; want %d", calls.Load(), tt.wantCalls)
			}
			if (err == nil) != (tt.wantKind == "") || (err != nil && sdk.KindOf(err) != tt.wantKind) {
				t.Errorf("Do = %v (%v); want kind %q", err, sdk.KindOf(err), tt.wantKind)
			}
		})
	}
}

type errStatus int

func (e errStatus) Error() string { return http.StatusText(int(e)) }

func TestDoTransportErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	err := sdkhttp.Do(context.Background(), sdkhttp.Call{
		Client: http.DefaultClient, Op: "acme: get", Method: "GET", URL: srv.URL + "/x?key=secret", Path: "/x",
	}, func(*http.Response, []byte) error { t.Fatal("interpret called without an answer"); return nil })
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Do = %v; want a retryable error", err)
	}
}

func TestConfigureReturnsWarningsOnly(t *testing.T) {
	type cfg struct {
		Insecure bool `json:"insecure"`
	}
	check := func(c cfg) (bool, sdk.Diagnostics) {
		if c.Insecure {
			return true, sdk.Diagnostics{sdk.AttributeWarning("off", "", "insecure")}
		}
		return false, nil
	}
	var applied bool
	apply := func(_ cfg, v bool) { applied = v }
	log := sdkhttp.Options{}.Log()
	if err := sdkhttp.Configure(log, sdk.Config(`{"insecure": true}`), check, apply); !applied || len(sdk.AsDiagnostics(err)) != 1 || sdk.AsDiagnostics(err).HasErrors() {
		t.Errorf("Configure = %v, applied %v; want the warning alone and the configuration applied", err, applied)
	}
	if err := sdkhttp.Configure(log, sdk.Config(`{"insecure": "yes"}`), check, apply); !sdk.AsDiagnostics(err).HasErrors() {
		t.Errorf("Configure of a mismatched block = %v; want an error diagnostic", err)
	}
	if err := sdkhttp.Configure(log, sdk.Config(`{}`), check, apply); err != nil {
		t.Errorf("Configure = %v; want nil", err)
	}
}

func TestStateBeforeConfigure(t *testing.T) {
	var s sdkhttp.State[int]
	if _, err := s.Configured("acme"); sdk.KindOf(err) != sdk.KindPermanent || err.Error() != "acme: plugin is not configured" {
		t.Errorf("Configured before Store = %v; want a permanent not-configured error", err)
	}
	v := 3
	s.Store(&v)
	if b, err := s.Configured("acme"); err != nil || *b != 3 {
		t.Errorf("Configured = %v, %v", b, err)
	}
}

func TestStateRun(t *testing.T) {
	var s sdkhttp.State[string]
	op := func(_ context.Context, b *string, req *sdk.Request) (*sdk.WorkItem, error) {
		return &sdk.WorkItem{ID: *b + "/" + req.CorrelationKey}, nil
	}
	req := &sdk.Request{CorrelationKey: "k"}
	if wi, err := s.Run(t.Context(), "acme", req, op); wi != nil || sdk.KindOf(err) != sdk.KindPermanent || err.Error() != "acme: plugin is not configured" {
		t.Errorf("Run before Store = %v, %v; want a permanent not-configured error", wi, err)
	}
	b := "site"
	s.Store(&b)
	if wi, err := s.Run(t.Context(), "acme", req, op); err != nil || wi.ID != "site/k" {
		t.Errorf("Run = %v, %v; want site/k", wi, err)
	}
}
