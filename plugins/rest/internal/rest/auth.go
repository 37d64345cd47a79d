package rest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdkredact"
)

// authenticator adds credentials to a request.
type authenticator interface {
	apply(ctx context.Context, r *http.Request) error
	// invalidate drops a cached credential after a 401 and reports whether
	// trying once more can help.
	invalidate() bool
}

var (
	_ authenticator = noAuth{}
	_ authenticator = basicAuth{}
	_ authenticator = headerAuth{}
	_ authenticator = oauth2{}
)

// noAuth sends no credentials.
type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) error { return nil }
func (noAuth) invalidate() bool                           { return false }

// basicAuth sends HTTP basic credentials.
type basicAuth struct{ user, pass string }

func (b basicAuth) apply(_ context.Context, r *http.Request) error {
	r.SetBasicAuth(b.user, b.pass)
	return nil
}
func (basicAuth) invalidate() bool { return false }

// headerAuth sends a static credential in a header: a bearer token or an
// API key with its prefix.
type headerAuth struct{ header, value string }

func (h headerAuth) apply(_ context.Context, r *http.Request) error {
	r.Header.Set(h.header, h.value)
	return nil
}
func (headerAuth) invalidate() bool { return false }

// oauth2 sends bearer tokens obtained with the client credentials grant
// (see sdkhttp.TokenSource: cached until shortly before they expire).
type oauth2 struct{ tokens *sdkhttp.TokenSource }

// newOAuth2 returns the authenticator for an oauth2 auth block. Every token
// it obtains is redacted from errors and logs.
func newOAuth2(s *settings, hc *http.Client, now func() time.Time, log func() *slog.Logger, red *redactor) oauth2 {
	a := s.auth
	return oauth2{tokens: &sdkhttp.TokenSource{
		TokenURL: s.tokenURL.String(), Grant: sdkhttp.GrantClientCredentials,
		ClientID: a.ClientID, ClientSecret: a.ClientSecret, ClientAuth: a.ClientAuth,
		Scopes: a.Scopes, Params: a.TokenParams,
		Hint: "check client_id, client_secret, scopes and client_auth",
		HTTP: hc, Now: now, Log: log,
		Redact: red.apply, OnToken: red.add,
	}}
}

func (o oauth2) apply(ctx context.Context, r *http.Request) error {
	if err := o.tokens.Authorize(ctx, r); err != nil {
		return fmt.Errorf("rest: %w", err)
	}
	return nil
}

// invalidate forgets the access token after a 401.
func (o oauth2) invalidate() bool {
	o.tokens.Invalidate()
	return true
}

// signer adds an HMAC-SHA256 signature of the body in a header.
type signer struct {
	secret   []byte
	header   string
	encoding string
	prefix   string
}

// sign sets the signature of body on h.
func (s *signer) sign(h http.Header, body []byte) {
	m := hmac.New(sha256.New, s.secret)
	m.Write(body)
	sum := m.Sum(nil)
	var enc string
	if s.encoding == encodingBase64 {
		enc = base64.StdEncoding.EncodeToString(sum)
	} else {
		enc = hex.EncodeToString(sum)
	}
	h.Set(s.header, s.prefix+enc)
}

// redactor removes secret values from text that may reach logs or errors:
// a response body that echoes the request, a transport error. It finds
// them in every form sdkredact knows (encoded, in any case, cut short);
// the host redacts the configured secrets again, but not the access
// tokens the plugin obtains, which add registers.
type redactor struct {
	static []string
	red    atomic.Pointer[sdkredact.Redactor]

	mu     sync.Mutex
	tokens []string
}

// maxTokens is how many obtained access tokens stay redacted: the current
// one and a few before it (expired tokens are worthless).
const maxTokens = 4

func newRedactor(values ...string) *redactor {
	r := &redactor{static: values}
	r.red.Store(sdkredact.New(values...))
	return r
}

// add registers a secret the plugin learned, e.g. an access token.
func (r *redactor) add(v string) {
	if sdkredact.CoverageOf(v) == sdkredact.CoverNone {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, v)
	if len(r.tokens) > maxTokens {
		r.tokens = r.tokens[len(r.tokens)-maxTokens:]
	}
	r.red.Store(sdkredact.New(append(slices.Clone(r.static), r.tokens...)...))
}

// apply replaces every registered secret in s.
func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	return r.red.Load().Replace(s)
}
