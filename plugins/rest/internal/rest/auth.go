package rest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
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
	_ authenticator = (*oauth2)(nil)
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

// oauth2 obtains access tokens with the client credentials grant and caches
// them until shortly before they expire.
type oauth2 struct {
	tokenURL     string
	clientID     string
	clientSecret string
	scopes       []string
	params       map[string]string
	clientAuth   string
	http         *http.Client
	now          func() time.Time
	log          func() *slog.Logger
	redact       *redactor

	mu      sync.Mutex
	access  string
	expires time.Time
}

// tokenResponse is an RFC 6749 token endpoint answer.
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        float64 `json:"expires_in"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

// defaultTokenTTL is assumed when the token endpoint gives no expires_in.
const defaultTokenTTL = 5 * time.Minute

func (o *oauth2) apply(ctx context.Context, r *http.Request) error {
	tok, err := o.token(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// invalidate forgets the access token after a 401.
func (o *oauth2) invalidate() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.access, o.expires = "", time.Time{}
	return true
}

// token returns a cached access token or fetches a new one.
func (o *oauth2) token(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.access != "" && o.now().Before(o.expires) {
		return o.access, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(o.scopes) > 0 {
		form.Set("scope", strings.Join(o.scopes, " "))
	}
	keys := make([]string, 0, len(o.params))
	for k := range o.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		form.Set(k, o.params[k])
	}
	if o.clientAuth == clientAuthBody {
		form.Set("client_id", o.clientID)
		form.Set("client_secret", o.clientSecret)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("rest: oauth2 token from %s: %s", o.tokenURL, o.redact.apply(fmt.Sprintf(format, args...)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", sdk.Permanent(fail("build request: %v", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if o.clientAuth == clientAuthBasic {
		// RFC 6749 §2.3.1: form-encode both before the basic encoding.
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.clientSecret))
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return "", sdk.Retryable(fail("%v", transportError(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", sdk.Retryable(fail("read response: %v", err))
	}
	var tr tokenResponse
	decodeErr := json.Unmarshal(body, &tr)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s >= 500 || s == http.StatusRequestTimeout:
		return "", sdk.RetryableAfter(fail("HTTP %d %s", s, describeOAuthError(tr, body)), sdk.ParseRetryAfter(resp.Header, o.now()))
	case s >= 400:
		return "", sdk.Permanent(fail("HTTP %d %s (check client_id, client_secret, scopes and client_auth)", s, describeOAuthError(tr, body)))
	case s < 200 || s >= 300:
		return "", sdk.Permanent(fail("unexpected HTTP %d", s))
	case decodeErr != nil || tr.AccessToken == "":
		return "", sdk.Permanent(fail("HTTP %d without an access_token in a JSON body: %s", s, snippet(body)))
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return "", sdk.Permanent(fail("token_type %q is not supported; only bearer tokens are", tr.TokenType))
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = defaultTokenTTL
	}
	o.access = tr.AccessToken
	o.redact.add(tr.AccessToken)
	o.expires = o.now().Add(ttl - min(time.Minute, ttl/10))
	o.log().Debug("obtained oauth2 access token", "token_url", o.tokenURL, "expires_in", ttl.String())
	return o.access, nil
}

func describeOAuthError(tr tokenResponse, body []byte) string {
	switch {
	case tr.Error != "" && tr.ErrorDescription != "":
		return tr.Error + ": " + tr.ErrorDescription
	case tr.Error != "":
		return tr.Error
	}
	return snippet(body)
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
// a response body that echoes the request, a transport error.
type redactor struct {
	mu     sync.RWMutex
	values []string
}

// minRedact is the shortest value redacted; shorter ones would mangle
// ordinary text and are not worth protecting.
const minRedact = 4

func newRedactor(values ...string) *redactor {
	r := &redactor{}
	for _, v := range values {
		r.add(v)
	}
	return r
}

// add registers a secret (and its common encodings).
func (r *redactor) add(v string) {
	if len(v) < minRedact {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v)))
	// Longest first, so that a secret containing another is removed whole.
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
}

// apply replaces every registered secret in s.
func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}
