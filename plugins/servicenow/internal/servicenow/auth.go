package servicenow

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
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

// oauth sends bearer tokens from oauth_token.do (see sdkhttp.TokenSource:
// cached until shortly before they expire, renewed with the refresh token
// the password grant offers).
type oauth struct{ tokens *sdkhttp.TokenSource }

var (
	_ authenticator = basicAuth{}
	_ authenticator = apiKeyAuth{}
	_ authenticator = certAuth{}
	_ authenticator = oauth{}
)

// defaultTokenTTL is an instance's token lifetime, assumed when the answer
// has no expires_in.
const defaultTokenTTL = 30 * time.Minute

// newOAuth returns the authenticator for an oauth auth block.
func newOAuth(s *settings, hc *http.Client, now func() time.Time, log func() *slog.Logger) oauth {
	return oauth{tokens: &sdkhttp.TokenSource{
		TokenURL: s.tokenURL, Grant: s.auth.GrantType,
		ClientID: s.auth.ClientID, ClientSecret: s.auth.ClientSecret,
		Username: s.auth.Username, Password: s.auth.Password,
		DefaultTTL: defaultTokenTTL,
		Hint:       "check client_id, client_secret and, for the password grant, username and password",
		HTTP:       hc, Now: now, Log: log,
		Inspect: hibernatingToken,
	}}
}

func (o oauth) apply(ctx context.Context, r *http.Request) error {
	if err := o.tokens.Authorize(ctx, r); err != nil {
		return fmt.Errorf("servicenow: %w", err)
	}
	return nil
}

// invalidate forgets the access token after a 401; the refresh token (if
// any) is kept for the renewal.
func (o oauth) invalidate() bool {
	o.tokens.Invalidate()
	return true
}

// hibernatingToken recognises a sleeping instance's wake-up page on the
// token endpoint: worth retrying, unlike a rejected grant.
func hibernatingToken(resp *http.Response, body []byte) error {
	if sdkhttp.LooksLikeHTML(resp.Header, body) {
		return sdk.Retryable(fmt.Errorf("HTTP %d with an HTML page instead of JSON (the instance is probably hibernating or under maintenance)", resp.StatusCode))
	}
	return nil
}
