package sdkhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkredact"
)

// OAuth 2.0 grant types a [TokenSource] can use (RFC 6749 §4.3, §4.4, §6).
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
)

// How a [TokenSource] authenticates the client at the token endpoint.
const (
	// ClientAuthBody sends client_id and client_secret as form parameters.
	ClientAuthBody = "body"
	// ClientAuthBasic sends them with HTTP basic authentication, each
	// form-encoded first (RFC 6749 §2.3.1).
	ClientAuthBasic = "basic"
)

// DefaultTokenTTL is assumed when the token endpoint gives no expires_in.
const DefaultTokenTTL = 5 * time.Minute

// TokenSource obtains OAuth 2.0 access tokens from a token endpoint
// (form-encoded, RFC 6749) and caches them until shortly before they
// expire: a tenth of their lifetime, at most a minute, early. When the
// endpoint offers a refresh token, renewals use it, falling back to the
// primary grant when it is rejected.
//
// Set the exported fields, then use it; it is safe for concurrent use, and
// concurrent callers share one fetch. Its errors are classified for the
// host (transport failures, 408, 425, 429 and 5xx retryable with the
// endpoint's Retry-After; a rejection permanent) and never contain the
// client secret, the password or a token.
type TokenSource struct {
	// TokenURL is the token endpoint.
	TokenURL string
	// Grant is GrantClientCredentials (default) or GrantPassword.
	Grant string
	// ClientID and ClientSecret identify the client.
	ClientID, ClientSecret string
	// ClientAuth is ClientAuthBody (default) or ClientAuthBasic.
	ClientAuth string
	// Username and Password are the resource owner's, for GrantPassword.
	Username, Password string
	// Scopes are sent space-separated as scope, when any.
	Scopes []string
	// Params are extra form parameters, e.g. an audience.
	Params map[string]string
	// DefaultTTL is the lifetime assumed without expires_in; zero means
	// DefaultTokenTTL.
	DefaultTTL time.Duration
	// Hint is added to a rejected request's error to tell the operator
	// what to check; default "check client_id and client_secret".
	Hint string
	// HTTP sends the requests; nil means a [NewClient] with defaults.
	HTTP *http.Client
	// Now is the clock for expiry and Retry-After dates; default time.Now.
	Now func() time.Time
	// Log returns the logger for debug lines (never with secrets); nil
	// means slog.Default().
	Log func() *slog.Logger
	// Inspect, when set, sees every answer first and may return the error
	// to report instead of the standard classification, e.g. retryable for
	// a sleeping instance's HTML page. Its message must hold no secret.
	Inspect func(resp *http.Response, body []byte) error
	// Redact, when set, removes further secrets from error text (the
	// source always removes its own credentials and tokens).
	Redact func(string) string
	// OnToken, when set, is called with each new access token, e.g. to
	// register it with a redactor.
	OnToken func(accessToken string)

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
}

// tokenResponse is a token endpoint's JSON answer (RFC 6749 §5.1, §5.2).
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	RefreshToken     string  `json:"refresh_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        float64 `json:"expires_in"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

// Token returns a valid access token, fetching one when none is cached or
// the cached one is about to expire.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access != "" && s.now().Before(s.expires) {
		return s.access, nil
	}
	if s.refresh != "" {
		err := s.fetchLocked(ctx, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {s.refresh}})
		if err == nil {
			return s.access, nil
		}
		if sdk.KindOf(err) == sdk.KindRetryable {
			return "", err
		}
		s.logger().Info("refresh token rejected; requesting a new token with the configured grant", "grant_type", s.grant())
		s.refresh = ""
	}
	form := url.Values{"grant_type": {s.grant()}}
	if s.grant() == GrantPassword {
		form.Set("username", s.Username)
		form.Set("password", s.Password)
	}
	if len(s.Scopes) > 0 {
		form.Set("scope", strings.Join(s.Scopes, " "))
	}
	for k, v := range s.Params {
		form.Set(k, v)
	}
	if err := s.fetchLocked(ctx, form); err != nil {
		return "", err
	}
	return s.access, nil
}

// Invalidate forgets the cached access token, e.g. after the API answered
// 401 because the token was revoked; the next Token call fetches a new one
// (with the refresh token, when there is one).
func (s *TokenSource) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access, s.expires = "", time.Time{}
}

// Authorize sets r's Authorization header to a bearer token from Token.
func (s *TokenSource) Authorize(ctx context.Context, r *http.Request) error {
	tok, err := s.Token(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// fetchLocked posts one grant and stores the token it returns.
func (s *TokenSource) fetchLocked(ctx context.Context, form url.Values) error {
	grant := form.Get("grant_type")
	if s.ClientAuth != ClientAuthBasic {
		form.Set("client_id", s.ClientID)
		form.Set("client_secret", s.ClientSecret)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("oauth token (grant %s) from %s: %s", grant, s.TokenURL, s.redact(fmt.Sprintf(format, args...)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return sdk.Permanent(fail("build request: %v", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.ClientAuth == ClientAuthBasic {
		req.SetBasicAuth(url.QueryEscape(s.ClientID), url.QueryEscape(s.ClientSecret))
	}
	hc := s.HTTP
	if hc == nil {
		hc = NewClient(ClientOptions{})
	}
	resp, err := hc.Do(req)
	if err != nil {
		return sdk.Retryable(fail("%v", withoutURL(err)))
	}
	body, err := ReadBody(resp, 0)
	if err != nil {
		return sdk.Retryable(fail("%v", err))
	}
	if s.Inspect != nil {
		if err := s.Inspect(resp, body); err != nil {
			return fmt.Errorf("oauth token (grant %s) from %s: %w", grant, s.TokenURL, err)
		}
	}
	var tr tokenResponse
	decodeErr := json.Unmarshal(body, &tr)
	switch st := resp.StatusCode; {
	case st >= http.StatusBadRequest:
		hint := s.Hint
		if hint == "" {
			hint = "check client_id and client_secret"
		}
		return Classify(st, resp.Header, s.now(), fail("HTTP %d %s (%s)", st, describeOAuthError(tr, body), hint))
	case st < 200 || st >= 300:
		return sdk.Permanent(fail("unexpected HTTP %d", st))
	case decodeErr != nil || tr.AccessToken == "":
		return sdk.Permanent(fail("HTTP %d without an access_token in a JSON body: %s", st, Snippet(body, 512)))
	case tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer"):
		return sdk.Permanent(fail("token_type %q is not supported; only bearer tokens are", tr.TokenType))
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = s.DefaultTTL
		if ttl <= 0 {
			ttl = DefaultTokenTTL
		}
	}
	s.access = tr.AccessToken
	s.expires = s.now().Add(ttl - min(time.Minute, ttl/10))
	if tr.RefreshToken != "" {
		s.refresh = tr.RefreshToken
	}
	if s.OnToken != nil {
		s.OnToken(tr.AccessToken)
	}
	s.logger().Debug("obtained oauth access token", "token_url", s.TokenURL, "grant_type", grant,
		"expires_in", ttl.String(), "refresh_offered", tr.RefreshToken != "")
	return nil
}

// describeOAuthError is the endpoint's error and description, or the start
// of its body when it sent no OAuth error.
func describeOAuthError(tr tokenResponse, body []byte) string {
	switch {
	case tr.Error != "" && tr.ErrorDescription != "":
		return tr.Error + ": " + tr.ErrorDescription
	case tr.Error != "":
		return tr.Error
	}
	if sn := Snippet(body, 512); sn != "" {
		return sn
	}
	return "without an OAuth error"
}

// redact removes the source's own secrets, in every form sdkredact knows,
// then applies Redact.
func (s *TokenSource) redact(text string) string {
	text = sdkredact.New(s.ClientSecret, s.Password, s.access, s.refresh).Replace(text)
	if s.Redact != nil {
		text = s.Redact(text)
	}
	return text
}

func (s *TokenSource) grant() string {
	if s.Grant == "" {
		return GrantClientCredentials
	}
	return s.Grant
}

func (s *TokenSource) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *TokenSource) logger() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log()
}
