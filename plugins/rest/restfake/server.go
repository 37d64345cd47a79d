// Package restfake runs fake JSON APIs in the three styles the REST plugin's
// examples target, for tests:
//
//   - [Events]: an events API in the style of PagerDuty Events v2
//     (POST /v2/enqueue with trigger / acknowledge / resolve and a dedup_key);
//   - [Alerts]: an alerts API in the style of Opsgenie (alias deduplication,
//     notes, acknowledge and close by id or alias);
//   - [Tickets]: a ticket API where create answers 201 with the id in the
//     body and the Location header, later calls put the id in the URL and
//     resolving is a status change; plus a small asset (CMDB) search.
//
// Every fake shares one front door ([Server]): credentials of each auth mode
// the plugin supports (basic, bearer, API key header, OAuth 2.0 client
// credentials with its token endpoint), an HMAC-SHA256 body signature check,
// optional TLS and mutual TLS, injected faults, and a log of requests. The
// log and the faults cover API requests only, not the token endpoint.
package restfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// Options configure the front door every fake shares.
type Options struct {
	// Auth is what requests must carry; the zero value accepts anything.
	Auth Auth
	// HMAC, when set, requires a valid body signature on every API request.
	HMAC *HMAC
	// TLS serves HTTPS with a self-signed certificate (see CertPEM).
	TLS bool
	// ClientCAs, when set, serves HTTPS and requires a client certificate
	// signed by one of them.
	ClientCAs *x509.CertPool
	// Now is the clock for token expiry; default time.Now.
	Now func() time.Time
}

// Auth says which credential API requests must carry. Set one field.
type Auth struct {
	// Basic is a user name and password.
	Basic *[2]string
	// Bearer is a static bearer token.
	Bearer string
	// Header and Value: an API key header with its exact value.
	Header, Value string
	// OAuth enables POST /oauth/token (client credentials) and requires a
	// bearer token it issued and that has not expired.
	OAuth *OAuth
}

// OAuth configures the token endpoint.
type OAuth struct {
	ClientID, ClientSecret string
	// Scope, when set, must be the requested scope exactly.
	Scope string
	// ClientAuth is "basic" or "body": how the client must authenticate.
	ClientAuth string
	// TTL is the tokens' lifetime (expires_in); default one hour.
	TTL time.Duration
	// Params are extra form parameters the token request must carry.
	Params map[string]string
}

// HMAC configures the signature check.
type HMAC struct {
	Secret, Header, Prefix string
	// Encoding is "hex" or "base64".
	Encoding string
}

// Request is one logged API request.
type Request = fakehttp.Request

// afterFault answers the next request with method on path with a fault
// after the API did the work.
type afterFault struct {
	fakehttp.Fault
	method, path string
}

// afterHook runs fn after the next request with method on path did its
// work, before the answer is written.
type afterHook struct {
	fn           func()
	method, path string
}

// Server is the front door of a fake API; [Events], [Alerts] and [Tickets]
// embed it.
type Server struct {
	// Base holds the base URL, the request log and the injected faults.
	fakehttp.Base

	opts Options
	api  http.Handler

	mu        sync.Mutex
	afterNext *afterFault
	hookNext  *afterHook
	tokens    map[string]time.Time
	issued    int
	tokenReq  []url.Values
}

// newServer starts a fake serving api behind the front door.
func newServer(opts Options, api http.Handler) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, api: api, tokens: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.Handle("/", s.Logged(http.HandlerFunc(s.gate)))
	s.Start(mux, fakehttp.ServeOptions{TLS: opts.TLS, ClientCAs: opts.ClientCAs, RequireClientCert: true, Now: opts.Now})
	return s
}

// TokensIssued counts the access tokens the token endpoint handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// TokenRequests returns the token endpoint's form parameters, one per call.
func (s *Server) TokenRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.tokenReq...)
}

// RevokeTokens makes every issued token invalid, as a server-side rotation.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
}

// FailAfterNext lets the next API request with method on path do its work,
// then answers with status instead of the real response: the API changed,
// the client thinks it failed (a gateway timeout after the backend
// committed).
func (s *Server) FailAfterNext(method, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterNext = &afterFault{Fault: fakehttp.Fault{Status: status, Body: `{"error":"gateway timeout"}`}, method: method, path: path}
}

// HookAfterNext lets the next API request with method on path do its work,
// then calls fn before the answer is written, and writes it when fn
// returns: a test stops or kills the client in fn to crash it between the
// API's change and the client's record of it. fn runs on the request's
// goroutine, so it must not call t.Fatal.
func (s *Server) HookAfterNext(method, path string, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookNext = &afterHook{fn: fn, method: method, path: path}
}

// Heal clears every injected fault, FailAfterNext's and HookAfterNext's
// included.
func (s *Server) Heal() {
	s.Base.Heal()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterNext = nil
	s.hookNext = nil
}

// gate injects faults, checks credentials and the signature, then passes
// the request to the API.
func (s *Server) gate(w http.ResponseWriter, r *http.Request) {
	if s.Answer(w, "application/json", nil) {
		return
	}
	s.mu.Lock()
	after := s.afterNext
	if after != nil && after.method == r.Method && after.path == r.URL.Path {
		s.afterNext = nil
	} else {
		after = nil
	}
	hook := s.hookNext
	if hook != nil && hook.method == r.Method && hook.path == r.URL.Path {
		s.hookNext = nil
	} else {
		hook = nil
	}
	s.mu.Unlock()
	if msg := s.checkAuth(r); msg != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fake"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized", "message": msg})
		return
	}
	if msg := s.checkSignature(r, fakehttp.Body(r)); msg != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_signature", "message": msg})
		return
	}
	if after != nil {
		s.api.ServeHTTP(httptest.NewRecorder(), r)
		after.Write(w, "application/json", nil)
		return
	}
	if hook != nil {
		rec := httptest.NewRecorder()
		s.api.ServeHTTP(rec, r)
		hook.fn()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	s.api.ServeHTTP(w, r)
}

// checkAuth returns why r's credentials are refused, or "".
func (s *Server) checkAuth(r *http.Request) string {
	a := s.opts.Auth
	switch {
	case a.Basic != nil:
		u, p, ok := r.BasicAuth()
		if !ok || !equal(u, a.Basic[0]) || !equal(p, a.Basic[1]) {
			return "bad basic credentials"
		}
	case a.Bearer != "":
		if !equal(r.Header.Get("Authorization"), "Bearer "+a.Bearer) {
			return "bad bearer token"
		}
	case a.Header != "":
		if !equal(r.Header.Get(a.Header), a.Value) {
			return "bad API key"
		}
	case a.OAuth != nil:
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		if !ok || !known {
			return "unknown access token"
		}
		if !s.opts.Now().Before(exp) {
			return "access token expired"
		}
	}
	return ""
}

// checkSignature returns why r's body signature is refused, or "".
func (s *Server) checkSignature(r *http.Request, body []byte) string {
	h := s.opts.HMAC
	if h == nil {
		return ""
	}
	got, ok := strings.CutPrefix(r.Header.Get(h.Header), h.Prefix)
	if !ok || got == "" {
		return "missing signature header " + h.Header
	}
	var sig []byte
	var err error
	if h.Encoding == "base64" {
		sig, err = base64.StdEncoding.DecodeString(got)
	} else {
		sig, err = hex.DecodeString(got)
	}
	if err != nil {
		return "undecodable signature"
	}
	m := hmac.New(sha256.New, []byte(h.Secret))
	m.Write(body)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return "signature does not match the body"
	}
	return ""
}

// token is the OAuth 2.0 client credentials token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	o := s.opts.Auth.OAuth
	if o == nil {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	s.tokenReq = append(s.tokenReq, r.PostForm)
	s.mu.Unlock()
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if o.ClientAuth != "body" {
		u, p, ok := r.BasicAuth()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "HTTP basic client authentication required"})
			return
		}
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	switch {
	case !equal(id, o.ClientID) || !equal(secret, o.ClientSecret):
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	case o.Scope != "" && r.PostForm.Get("scope") != o.Scope:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_scope", "error_description": "scope must be " + o.Scope})
		return
	}
	for k, v := range o.Params {
		if r.PostForm.Get(k) != v {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "missing " + k})
			return
		}
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	s.mu.Lock()
	s.issued++
	tok := fmt.Sprintf("fake-access-token-%d", s.issued)
	s.tokens[tok] = s.opts.Now().Add(ttl)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl / time.Second)})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeBody decodes a JSON request body into v, answering 400 when it is
// not valid JSON.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": "Content-Type must be application/json, got " + strconv.Quote(ct)})
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid JSON: " + err.Error()})
		return false
	}
	return true
}
