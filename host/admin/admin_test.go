package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/console"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
)

const token = "0123456789abcdef-admin"

// newServer runs the admin handler as serve wires it, with the real console and JSON API over an empty SQLite store, and counts replays.
func newServer(t *testing.T, tok string, metricsAuth bool) (*httptest.Server, func() int) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var (
		mu      sync.Mutex
		replays int
	)
	dl := &adminapi.DeadLetters{Store: st, Replay: func(context.Context, int64) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		replays++
		return []string{"file.x"}, nil
	}}
	page := console.Handler(console.Sources{
		Backends:    func() []console.Backend { return nil },
		Stats:       func(context.Context) (delivery.Stats, error) { return delivery.Stats{}, nil },
		Store:       st,
		DeadLetters: dl,
	})
	adm := &admin.Server{
		Metrics:     metrics.New(),
		Ready:       map[string]admin.Check{"store": func() error { return nil }},
		Extra:       map[string]http.Handler{"/": page, adminapi.Prefix: dl.Handler()},
		Token:       tok,
		MetricsAuth: metricsAuth,
	}
	srv := httptest.NewServer(adm.Handler())
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return replays }
}

func TestAuth(t *testing.T) {
	const (
		replay    = "/deadletters/1/replay"
		apiReplay = "/api/v1/deadletters/1/replay"
		apiList   = "/api/v1/deadletters"
	)
	type creds struct{ scheme, user, secret string }
	var (
		none        = creds{}
		bearer      = creds{scheme: "Bearer", secret: token}
		basic       = creds{scheme: "Basic", user: "anyone", secret: token}
		basicNoUser = creds{scheme: "Basic", secret: token}
		wrongBearer = creds{scheme: "Bearer", secret: token + "x"}
		wrongBasic  = creds{scheme: "Basic", user: "anyone", secret: "0123456789abcdef"}
		tokenAsUser = creds{scheme: "Basic", user: token}
		otherScheme = creds{scheme: "Token", secret: token}
	)
	tests := []struct {
		name        string
		token       string
		metricsAuth bool
		method      string
		path        string
		creds       creds
		headers     map[string]string // "self" in a value is the server's URL
		wantStatus  int
		wantReplays int
	}{
		// Probes stay open.
		{name: "healthz open", token: token, method: "GET", path: "/healthz", creds: none, wantStatus: 200},
		{name: "readyz open", token: token, method: "GET", path: "/readyz", creds: none, wantStatus: 200},
		{name: "metrics open by default", token: token, method: "GET", path: "/metrics", creds: none, wantStatus: 200},
		{name: "metrics_auth without credentials", token: token, metricsAuth: true, method: "GET", path: "/metrics", creds: none, wantStatus: 401},
		{name: "metrics_auth with a wrong token", token: token, metricsAuth: true, method: "GET", path: "/metrics", creds: wrongBearer, wantStatus: 401},
		{name: "metrics_auth with bearer", token: token, metricsAuth: true, method: "GET", path: "/metrics", creds: bearer, wantStatus: 200},
		{name: "metrics_auth probes open", token: token, metricsAuth: true, method: "GET", path: "/readyz", creds: none, wantStatus: 200},

		// The console.
		{name: "page without credentials", token: token, method: "GET", path: "/", creds: none, wantStatus: 401},
		{name: "page with a wrong bearer token", token: token, method: "GET", path: "/", creds: wrongBearer, wantStatus: 401},
		{name: "page with a wrong basic password", token: token, method: "GET", path: "/", creds: wrongBasic, wantStatus: 401},
		{name: "page with the token as basic user", token: token, method: "GET", path: "/", creds: tokenAsUser, wantStatus: 401},
		{name: "page with another scheme", token: token, method: "GET", path: "/", creds: otherScheme, wantStatus: 401},
		{name: "page with bearer", token: token, method: "GET", path: "/", creds: bearer, wantStatus: 200},
		{name: "page with basic", token: token, method: "GET", path: "/", creds: basic, wantStatus: 200},
		{name: "page with basic, empty user", token: token, method: "GET", path: "/", creds: basicNoUser, wantStatus: 200},
		{name: "unknown path without credentials", token: token, method: "GET", path: "/nowhere", creds: none, wantStatus: 401},

		// Replay.
		{name: "replay without credentials", token: token, method: "POST", path: replay, creds: none, headers: map[string]string{"Origin": "self"}, wantStatus: 401},
		{name: "replay with a wrong token", token: token, method: "POST", path: replay, creds: wrongBearer, wantStatus: 401},
		{name: "replay with bearer (curl)", token: token, method: "POST", path: replay, creds: bearer, wantStatus: 303, wantReplays: 1},
		{name: "replay with bearer cross-origin", token: token, method: "POST", path: replay, creds: bearer, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "replay with basic same-origin", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Origin": "self", "Sec-Fetch-Site": "same-origin"}, wantStatus: 303, wantReplays: 1},
		{name: "replay with basic cross-origin", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "replay with basic, opaque origin", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Origin": "null"}, wantStatus: 403},
		{name: "replay with basic, same-origin referer", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Referer": "self/"}, wantStatus: 303, wantReplays: 1},
		{name: "replay with basic, cross-origin referer", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Referer": "https://evil.example/x"}, wantStatus: 403},
		{name: "replay with basic, same-origin fetch metadata", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Sec-Fetch-Site": "same-origin"}, wantStatus: 303, wantReplays: 1},
		{name: "replay with basic, cross-site fetch metadata", token: token, method: "POST", path: replay, creds: basic, headers: map[string]string{"Sec-Fetch-Site": "same-site", "Referer": "self/"}, wantStatus: 403},
		{name: "replay with basic and no proof of origin", token: token, method: "POST", path: replay, creds: basic, wantStatus: 403},
		// The console's other actions are guarded alike (they then ask
		// for their confirmation field: 400).
		{name: "drop with basic cross-origin", token: token, method: "POST", path: "/deadletters/1/drop", creds: basic, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "drop with basic same-origin", token: token, method: "POST", path: "/deadletters/1/drop", creds: basic, headers: map[string]string{"Origin": "self"}, wantStatus: 400},
		{name: "bulk with basic cross-site fetch metadata", token: token, method: "POST", path: "/deadletters/bulk", creds: basic, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "bulk without credentials", token: token, method: "POST", path: "/deadletters/bulk", creds: none, headers: map[string]string{"Origin": "self"}, wantStatus: 401},
		{name: "no token: bulk cross-origin", method: "POST", path: "/deadletters/bulk", creds: none, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "api bulk replay with basic cross-origin", token: token, method: "POST", path: "/api/v1/deadletters/bulk/replay", creds: basic, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "console page with bearer", token: token, method: "GET", path: "/workitems", creds: bearer, wantStatus: 200},

		// The JSON API follows the same rules, and answers JSON.
		{name: "api list without credentials", token: token, method: "GET", path: apiList, creds: none, wantStatus: 401},
		{name: "api list with bearer", token: token, method: "GET", path: apiList, creds: bearer, wantStatus: 200},
		{name: "api replay without credentials", token: token, method: "POST", path: apiReplay, creds: none, wantStatus: 401},
		{name: "api replay with a wrong token", token: token, method: "POST", path: apiReplay, creds: wrongBearer, wantStatus: 401},
		{name: "api replay with bearer (the command line)", token: token, method: "POST", path: apiReplay, creds: bearer, wantStatus: 200, wantReplays: 1},
		{name: "api replay with bearer cross-origin", token: token, method: "POST", path: apiReplay, creds: bearer, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "api replay with basic and no proof of origin", token: token, method: "POST", path: apiReplay, creds: basic, wantStatus: 403},
		{name: "api replay with basic same-origin", token: token, method: "POST", path: apiReplay, creds: basic, headers: map[string]string{"Origin": "self"}, wantStatus: 200, wantReplays: 1},
		{name: "api drop with basic and no proof of origin", token: token, method: "DELETE", path: "/api/v1/deadletters/1", creds: basic, wantStatus: 403},
		{name: "api unknown path without credentials", token: token, method: "GET", path: "/api/v2/x", creds: none, wantStatus: 401},
		{name: "no token: api replay (the command line)", method: "POST", path: apiReplay, creds: none, wantStatus: 200, wantReplays: 1},
		{name: "no token: api replay cross-site form", method: "POST", path: apiReplay, creds: none, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "no token: api replay cross-site fetch metadata", method: "POST", path: apiReplay, creds: none, headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403},
		{name: "no token: api replay opaque origin", method: "POST", path: apiReplay, creds: none, headers: map[string]string{"Origin": "null"}, wantStatus: 403},
		{name: "no token: api list cross-site read", method: "GET", path: apiList, creds: none, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 200},

		// Without a token nothing changes.
		{name: "no token: page", method: "GET", path: "/", creds: none, wantStatus: 200},
		{name: "no token: metrics_auth has no effect", metricsAuth: true, method: "GET", path: "/metrics", creds: none, wantStatus: 200},
		{name: "no token: replay (curl)", method: "POST", path: replay, creds: none, wantStatus: 303, wantReplays: 1},
		{name: "no token: replay same-origin", method: "POST", path: replay, creds: none, headers: map[string]string{"Origin": "self"}, wantStatus: 303, wantReplays: 1},
		{name: "no token: replay cross-origin", method: "POST", path: replay, creds: none, headers: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403},
		{name: "no token: credentials are ignored", method: "GET", path: "/", creds: wrongBearer, wantStatus: 200},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, replays := newServer(t, tt.token, tt.metricsAuth)
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			switch tt.creds.scheme {
			case "":
			case "Basic":
				req.SetBasicAuth(tt.creds.user, tt.creds.secret)
			default:
				req.Header.Set("Authorization", tt.creds.scheme+" "+tt.creds.secret)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, strings.ReplaceAll(v, "self", srv.URL))
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if strings.HasPrefix(tt.path, adminapi.Prefix) && (resp.Header.Get("Content-Type") != "application/json" || !json.Valid(body)) {
				t.Errorf("API answered %q with Content-Type %q; want JSON", body, resp.Header.Get("Content-Type"))
			}
			challenge := resp.Header.Values("WWW-Authenticate")
			if wantChallenge := tt.wantStatus == 401; wantChallenge != slices.Contains(challenge, `Basic realm="itsm-connector admin"`) {
				t.Errorf("WWW-Authenticate %q; want the Basic challenge: %v", challenge, wantChallenge)
			}
			if tt.token != "" && tt.wantStatus == 200 && tt.path == "/" && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q on a page behind the token, want no-store", resp.Header.Get("Cache-Control"))
			}
			if got := replays(); got != tt.wantReplays {
				t.Errorf("replayed %d times, want %d", got, tt.wantReplays)
			}
		})
	}
}

// TestHostAllowList: DNS rebinding. A page on the attacker's name, once
// that name resolves to the admin listener, is same-origin with it: the
// browser sends the attacker's name as Host (and as Origin). Without a
// token nothing else stops it, so such a Host is refused everywhere but
// on the probes, and its replay never runs.
func TestHostAllowList(t *testing.T) {
	const rebound = "rebind.attacker.example"
	tests := []struct {
		name, method, path, host string
		origin                   bool // send Origin: http://<host>, as the rebound page's fetch does
		wantStatus, wantReplays  int
	}{
		{name: "rebound page reads the console", method: "GET", path: "/", host: rebound + ":9464", wantStatus: 421},
		{name: "rebound page reads dead letters", method: "GET", path: "/api/v1/deadletters", host: rebound + ":9464", wantStatus: 421},
		{name: "rebound page reads one dead letter", method: "GET", path: "/api/v1/deadletters/1", host: rebound, wantStatus: 421},
		{name: "rebound page replays through the API", method: "POST", path: "/api/v1/deadletters/1/replay", host: rebound + ":9464", origin: true, wantStatus: 421},
		{name: "rebound page replays through the page's form", method: "POST", path: "/deadletters/1/replay", host: rebound + ":9464", origin: true, wantStatus: 421},
		{name: "rebound page reads metrics", method: "GET", path: "/metrics", host: rebound + ":9464", wantStatus: 421},
		{name: "rebound page, unknown path", method: "GET", path: "/nowhere", host: rebound, wantStatus: 421},
		{name: "upper case and a trailing dot are the same name", method: "GET", path: "/", host: "REBIND.attacker.example.:9464", wantStatus: 421},
		{name: "probe healthz with any Host", method: "GET", path: "/healthz", host: rebound + ":9464", wantStatus: 200},
		{name: "probe readyz with any Host (Kubernetes sends the pod IP)", method: "GET", path: "/readyz", host: rebound, wantStatus: 200},
		{name: "localhost", method: "GET", path: "/", host: "localhost:9464", wantStatus: 200},
		{name: "localhost, upper case", method: "GET", path: "/", host: "LOCALHOST:9464", wantStatus: 200},
		{name: "IPv4 address", method: "GET", path: "/", host: "10.0.5.7:9464", wantStatus: 200},
		{name: "IPv6 loopback", method: "POST", path: "/api/v1/deadletters/1/replay", host: "[::1]:9464", origin: true, wantStatus: 200, wantReplays: 1},
		{name: "loopback replay from the page", method: "POST", path: "/deadletters/1/replay", host: "127.0.0.1:9464", origin: true, wantStatus: 303, wantReplays: 1},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, replays := newServer(t, "", false)
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			if tt.origin {
				req.Header.Set("Origin", "http://"+tt.host)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := replays(); got != tt.wantReplays {
				t.Errorf("replayed %d times, want %d", got, tt.wantReplays)
			}
			if tt.wantStatus != 421 {
				return
			}
			if !strings.Contains(string(body), "admin.allowed_hosts") {
				t.Errorf("the refusal does not say how to allow the name: %s", body)
			}
			if strings.HasPrefix(tt.path, adminapi.Prefix) && (resp.Header.Get("Content-Type") != "application/json" || !json.Valid(body)) {
				t.Errorf("API answered %q with Content-Type %q; want JSON", body, resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestFrameHeaders: no admin answer may be framed by another site's page
// (clickjacking the replay button): every one carries X-Frame-Options and
// a Content-Security-Policy with frame-ancestors 'none'.
func TestFrameHeaders(t *testing.T) {
	for _, tok := range []string{"", token} {
		srv, _ := newServer(t, tok, false)
		for _, path := range []string{"/", "/healthz", "/readyz", "/metrics", "/api/v1/deadletters", "/api/v1/deadletters/1", "/nowhere", "/deadletters/1/replay"} {
			for _, host := range []string{"", "rebind.attacker.example"} {
				req, err := http.NewRequest("GET", srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if host != "" {
					req.Host = host
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				what := fmt.Sprintf("GET %s (Host %q, token %v): %d", path, req.Host, tok != "", resp.StatusCode)
				if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
					t.Errorf("%s: X-Frame-Options %q, want DENY", what, got)
				}
				csp := resp.Header.Values("Content-Security-Policy")
				if !slices.ContainsFunc(csp, func(p string) bool { return strings.Contains(p, "frame-ancestors 'none'") }) {
					t.Errorf("%s: Content-Security-Policy %q, want frame-ancestors 'none'", what, csp)
				}
			}
		}
	}
}
