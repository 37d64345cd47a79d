package sdkhttp_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// discard drops the token source's logs.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

const (
	clientSecret = "cl1ent/secret+never-shown"
	userPassword = "pa55-w0rd-never-shown"
)

// tokenEndpoint is a scriptable OAuth 2.0 token endpoint.
type tokenEndpoint struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	forms    []url.Values
	basic    [][2]string
	answer   func(form url.Values) (int, http.Header, string)
	issued   int
	ttl      int
	refresh  bool
	refusing map[string]bool // refresh tokens refused
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	e := &tokenEndpoint{t: t, ttl: 600, refusing: map[string]bool{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
		e.t.Errorf("token request %s with Content-Type %q", r.Method, ct)
	}
	if err := r.ParseForm(); err != nil {
		e.t.Errorf("token request form: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forms = append(e.forms, r.PostForm)
	if u, p, ok := r.BasicAuth(); ok {
		e.basic = append(e.basic, [2]string{u, p})
	}
	if e.answer != nil {
		status, h, body := e.answer(r.PostForm)
		for k, vs := range h {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	if rt := r.PostForm.Get("refresh_token"); rt != "" && e.refusing[rt] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token revoked"}`))
		return
	}
	e.issued++
	resp := map[string]any{"access_token": fmt.Sprintf("access-%d", e.issued), "token_type": "Bearer", "expires_in": e.ttl}
	if e.refresh {
		resp["refresh_token"] = fmt.Sprintf("refresh-%d", e.issued)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (e *tokenEndpoint) grants() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, f := range e.forms {
		out = append(out, f.Get("grant_type"))
	}
	return out
}

func (e *tokenEndpoint) lastForm() url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.forms[len(e.forms)-1]
}

func TestTokenSourceRequests(t *testing.T) {
	tests := []struct {
		name      string
		ts        *sdkhttp.TokenSource
		wantForm  url.Values
		wantBasic bool
	}{
		{"client credentials in the body", &sdkhttp.TokenSource{ClientID: "app", ClientSecret: clientSecret},
			url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {clientSecret}}, false},
		{"client credentials with basic auth, scopes and params",
			&sdkhttp.TokenSource{ClientID: "app:1", ClientSecret: clientSecret, ClientAuth: sdkhttp.ClientAuthBasic,
				Scopes: []string{"tickets:write", "assets:read"}, Params: map[string]string{"audience": "https://api.example.com"}},
			url.Values{"grant_type": {"client_credentials"}, "scope": {"tickets:write assets:read"}, "audience": {"https://api.example.com"}}, true},
		{"password grant", &sdkhttp.TokenSource{Grant: sdkhttp.GrantPassword, ClientID: "app", ClientSecret: clientSecret, Username: "svc", Password: userPassword},
			url.Values{"grant_type": {"password"}, "client_id": {"app"}, "client_secret": {clientSecret}, "username": {"svc"}, "password": {userPassword}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTokenEndpoint(t)
			ts := tt.ts
			ts.TokenURL = e.srv.URL
			req := httptest.NewRequest(http.MethodGet, "https://api.example.com/x", nil)
			if err := ts.Authorize(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != "Bearer access-1" {
				t.Errorf("Authorization = %q", got)
			}
			if got := e.lastForm(); fmt.Sprint(got) != fmt.Sprint(tt.wantForm) {
				t.Errorf("form = %v, want %v", got, tt.wantForm)
			}
			if tt.wantBasic != (len(e.basic) == 1) {
				t.Fatalf("basic client authentication sent %v, want %v", e.basic, tt.wantBasic)
			}
			if tt.wantBasic {
				// RFC 6749 §2.3.1: form-encoded before the basic encoding.
				if e.basic[0] != [2]string{url.QueryEscape(ts.ClientID), url.QueryEscape(clientSecret)} {
					t.Errorf("basic credentials = %q", e.basic[0])
				}
			}
		})
	}
}

func TestTokenSourceCachesAndRenews(t *testing.T) {
	e := newTokenEndpoint(t)
	e.refresh = true
	clock := fakehttp.NewClock()
	var issued []string
	ts := &sdkhttp.TokenSource{TokenURL: e.srv.URL, Grant: sdkhttp.GrantPassword, ClientID: "app", ClientSecret: clientSecret,
		Username: "svc", Password: userPassword, Now: clock.Now, Log: discard, OnToken: func(tok string) { issued = append(issued, tok) }}
	steps := []struct {
		name       string
		before     func()
		wantToken  string
		wantGrants []string
	}{
		{"first call fetches", nil, "access-1", []string{"password"}},
		{"cached", func() { clock.Advance(8 * time.Minute) }, "access-1", []string{"password"}},
		{"renewed with the refresh token a minute before expiry", func() { clock.Advance(time.Minute) }, "access-2",
			[]string{"password", "refresh_token"}},
		{"invalidated after a 401", ts.Invalidate, "access-3", []string{"password", "refresh_token", "refresh_token"}},
		{"a refused refresh token falls back to the grant", func() {
			e.mu.Lock()
			e.refusing["refresh-3"] = true
			e.mu.Unlock()
			ts.Invalidate()
		}, "access-4", []string{"password", "refresh_token", "refresh_token", "refresh_token", "password"}},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		tok, err := ts.Token(context.Background())
		if err != nil || tok != st.wantToken {
			t.Fatalf("%s: Token = %q, %v; want %q", st.name, tok, err, st.wantToken)
		}
		if g := e.grants(); !slices.Equal(g, st.wantGrants) {
			t.Fatalf("%s: grants = %v, want %v", st.name, g, st.wantGrants)
		}
	}
	if !slices.Equal(issued, []string{"access-1", "access-2", "access-3", "access-4"}) {
		t.Errorf("OnToken saw %v", issued)
	}
}

func TestTokenSourceDefaultTTL(t *testing.T) {
	e := newTokenEndpoint(t)
	e.ttl = 0 // no expires_in
	clock := fakehttp.NewClock()
	ts := &sdkhttp.TokenSource{TokenURL: e.srv.URL, ClientID: "app", ClientSecret: clientSecret, Now: clock.Now, DefaultTTL: 30 * time.Minute}
	for _, advance := range []time.Duration{0, 28 * time.Minute, 2 * time.Minute} {
		clock.Advance(advance)
		if _, err := ts.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if g := e.grants(); len(g) != 2 {
		t.Errorf("grants = %v; want a renewal only after 29 of 30 minutes", g)
	}
}

func TestTokenSourceFailures(t *testing.T) {
	json := "application/json"
	tests := []struct {
		name    string
		status  int
		ctype   string
		header  http.Header
		body    string
		inspect func(*http.Response, []byte) error
		kind    sdk.ErrorKind
		after   time.Duration
		msg     string
	}{
		{"rejected client", 401, json, nil, `{"error":"invalid_client","error_description":"bad secret ` + clientSecret + `"}`, nil,
			sdk.KindPermanent, 0, "HTTP 401 invalid_client: bad secret [redacted] (check the app)"},
		{"rejected client, secret echoed in upper case and hex", 401, json, nil, `{"error":"invalid_client","error_description":"got ` +
			strings.ToUpper(clientSecret) + ` / ` + hex.EncodeToString([]byte(userPassword)) + `"}`, nil,
			sdk.KindPermanent, 0, "HTTP 401 invalid_client: got [redacted] / [redacted] (check the app)"},
		{"rate limited", 429, json, http.Header{"Retry-After": {"12"}}, `{"error":"slow_down"}`, nil, sdk.KindRetryable, 12 * time.Second, "HTTP 429 slow_down"},
		{"down", 503, "text/plain", nil, "maintenance", nil, sdk.KindRetryable, 0, "HTTP 503 maintenance"},
		{"no OAuth error", 400, "", nil, "", nil, sdk.KindPermanent, 0, "HTTP 400 without an OAuth error"},
		{"redirect", 302, "", http.Header{"Location": {"/login"}}, "", nil, sdk.KindPermanent, 0, "unexpected HTTP 302"},
		{"no access token", 200, json, nil, `{"token_type":"bearer"}`, nil, sdk.KindPermanent, 0, "without an access_token"},
		{"not JSON", 200, "text/html", nil, "<html>login</html>", nil, sdk.KindPermanent, 0, "without an access_token in a JSON body: <html>login</html>"},
		{"not a bearer token", 200, json, nil, `{"access_token":"tok-123","token_type":"mac"}`, nil, sdk.KindPermanent, 0, `token_type "mac" is not supported`},
		{"inspected", 200, "text/html", nil, "<html>sleeping</html>", func(resp *http.Response, body []byte) error {
			if sdkhttp.LooksLikeHTML(resp.Header, body) {
				return sdk.Retryable(errors.New("hibernating"))
			}
			return nil
		}, sdk.KindRetryable, 0, "hibernating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTokenEndpoint(t)
			e.answer = func(url.Values) (int, http.Header, string) {
				h := tt.header.Clone()
				if h == nil {
					h = http.Header{}
				}
				if tt.ctype != "" {
					h.Set("Content-Type", tt.ctype)
				}
				return tt.status, h, tt.body
			}
			ts := &sdkhttp.TokenSource{TokenURL: e.srv.URL, Grant: sdkhttp.GrantPassword, ClientID: "app", ClientSecret: clientSecret,
				Username: "svc", Password: userPassword, Hint: "check the app", Inspect: tt.inspect}
			_, err := ts.Token(context.Background())
			if sdk.KindOf(err) != tt.kind || sdk.RetryAfterOf(err) != tt.after {
				t.Errorf("error %q is %s after %v, want %s after %v", err, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.kind, tt.after)
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), "oauth token (grant password) from "+e.srv.URL) {
				t.Errorf("error %q lacks %q or the endpoint", err, tt.msg)
			}
			if err != nil && (strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), userPassword)) {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		e := newTokenEndpoint(t)
		e.srv.Close()
		ts := &sdkhttp.TokenSource{TokenURL: e.srv.URL, ClientID: "app", ClientSecret: clientSecret}
		_, err := ts.Token(context.Background())
		if sdk.KindOf(err) != sdk.KindRetryable || strings.Count(err.Error(), e.srv.URL) != 1 {
			t.Errorf("unreachable endpoint: %q (%s); want retryable, naming the URL once", err, sdk.KindOf(err))
		}
	})
}

// TestTokenSourceConcurrent: concurrent callers share one fetch, and
// invalidation races with them safely (run with -race).
func TestTokenSourceConcurrent(t *testing.T) {
	e := newTokenEndpoint(t)
	ts := &sdkhttp.TokenSource{TokenURL: e.srv.URL, ClientID: "app", ClientSecret: clientSecret}
	call := func(invalidate bool) []error {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				if tok, err := ts.Token(context.Background()); err != nil || !strings.HasPrefix(tok, "access-") {
					errs <- fmt.Errorf("Token = %q, %v", tok, err)
				}
				if invalidate {
					ts.Invalidate()
				}
			})
		}
		wg.Wait()
		close(errs)
		var out []error
		for err := range errs {
			out = append(out, err)
		}
		return out
	}
	if errs := call(false); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := len(e.grants()); n != 1 {
		t.Errorf("%d token requests for 8 concurrent callers; want one", n)
	}
	if errs := call(true); len(errs) > 0 {
		t.Fatal(errs)
	}
}
