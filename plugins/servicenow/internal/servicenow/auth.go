package servicenow

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// basicAuth sends HTTP basic credentials.
type basicAuth struct{ user, pass string }

func (b basicAuth) apply(_ context.Context, r *http.Request) error {
	r.SetBasicAuth(b.user, b.pass)
	return nil
}
func (basicAuth) invalidate() bool { return false }

// apiKeyAuth sends a REST API key in a header.
type apiKeyAuth struct{ header, key string }

func (a apiKeyAuth) apply(_ context.Context, r *http.Request) error {
	r.Header.Set(a.header, a.key)
	return nil
}
func (apiKeyAuth) invalidate() bool { return false }

// certAuth relies on the client certificate alone (mutual TLS).
type certAuth struct{}

func (certAuth) apply(context.Context, *http.Request) error { return nil }
func (certAuth) invalidate() bool                           { return false }

// oauth obtains bearer tokens from oauth_token.do and caches them until
// shortly before they expire. When the instance offers a refresh token, it
// is used to renew; the primary grant is the fallback.
type oauth struct {
	tokenURL     string
	grant        string
	clientID     string
	clientSecret string
	username     string
	password     string
	http         *http.Client
	now          func() time.Time
	log          func() *slog.Logger

	mu      sync.Mutex
	access  string
	refresh string
	expires time.Time
}

var (
	_ authenticator = basicAuth{}
	_ authenticator = apiKeyAuth{}
	_ authenticator = certAuth{}
	_ authenticator = (*oauth)(nil)
)

// tokenResponse is oauth_token.do's answer.
type tokenResponse struct {
	AccessToken      string  `json:"access_token"`
	RefreshToken     string  `json:"refresh_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        float64 `json:"expires_in"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
}

func (o *oauth) apply(ctx context.Context, r *http.Request) error {
	tok, err := o.token(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// invalidate forgets the access token after a 401; the refresh token (if
// any) is kept for the renewal.
func (o *oauth) invalidate() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.access, o.expires = "", time.Time{}
	return true
}

// token returns a valid access token, fetching one when needed.
func (o *oauth) token(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.access != "" && o.now().Before(o.expires) {
		return o.access, nil
	}
	if o.refresh != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {o.refresh}}
		err := o.fetchLocked(ctx, form)
		if err == nil {
			return o.access, nil
		}
		if sdk.KindOf(err) == sdk.KindRetryable {
			return "", err
		}
		o.log().Info("refresh token rejected; requesting a new token with the configured grant", "grant_type", o.grant)
		o.refresh = ""
	}
	form := url.Values{"grant_type": {o.grant}}
	if o.grant == GrantPassword {
		form.Set("username", o.username)
		form.Set("password", o.password)
	}
	if err := o.fetchLocked(ctx, form); err != nil {
		return "", err
	}
	return o.access, nil
}

// fetchLocked posts a form-encoded grant and stores the result.
func (o *oauth) fetchLocked(ctx context.Context, form url.Values) error {
	grant := form.Get("grant_type")
	form.Set("client_id", o.clientID)
	form.Set("client_secret", o.clientSecret)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("servicenow: oauth token (grant %s) from %s: %s", grant, o.tokenURL, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return sdk.Permanent(fail("build request: %v", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.http.Do(req)
	if err != nil {
		return sdk.Retryable(fail("%v", transportError(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return sdk.Retryable(fail("read response: %v", err))
	}
	if isHTML(resp.Header, body) {
		return sdk.Retryable(fail("HTTP %d with an HTML page instead of JSON (the instance is probably hibernating or under maintenance)", resp.StatusCode))
	}
	var tr tokenResponse
	decodeErr := json.Unmarshal(body, &tr)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s >= 500:
		return sdk.RetryableAfter(fail("HTTP %d %s", s, describeOAuthError(tr)), sdk.ParseRetryAfter(resp.Header, o.now()))
	case s >= 400:
		return sdk.Permanent(fail("HTTP %d %s (check client_id, client_secret and, for the password grant, username and password)", s, describeOAuthError(tr)))
	case s < 200 || s >= 300:
		return sdk.Retryable(fail("unexpected HTTP %d", s))
	case decodeErr != nil || tr.AccessToken == "":
		return sdk.Retryable(fail("HTTP %d without an access_token", s))
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = 30 * time.Minute // instance default when expires_in is missing
	}
	o.access = tr.AccessToken
	o.expires = o.now().Add(ttl - min(time.Minute, ttl/10))
	if tr.RefreshToken != "" {
		o.refresh = tr.RefreshToken
	}
	o.log().Debug("obtained oauth access token", "grant_type", grant, "expires_in", ttl.String(), "refresh_offered", tr.RefreshToken != "")
	return nil
}

func describeOAuthError(tr tokenResponse) string {
	switch {
	case tr.Error != "" && tr.ErrorDescription != "":
		return tr.Error + ": " + tr.ErrorDescription
	case tr.Error != "":
		return tr.Error
	}
	return "without an OAuth error"
}
