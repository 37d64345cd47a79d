package servicenow

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// defaultTokenTTL is an instance's token lifetime, assumed when the answer
// has no expires_in.
const defaultTokenTTL = 30 * time.Minute

// newOAuth returns the authenticator for an oauth auth block.
// It sends bearer tokens from oauth_token.do (see sdkhttp.TokenSource:
// cached until shortly before they expire, renewed with the refresh token
// the password grant offers).
func newOAuth(s *settings, hc *http.Client, now func() time.Time, log func() *slog.Logger) sdkhttp.OAuth {
	return sdkhttp.OAuth{Plugin: Name, Tokens: &sdkhttp.TokenSource{
		TokenURL: s.tokenURL, Grant: s.auth.GrantType,
		ClientID: s.auth.ClientID, ClientSecret: s.auth.ClientSecret,
		Username: s.auth.Username, Password: s.auth.Password,
		DefaultTTL: defaultTokenTTL,
		Hint:       "check client_id, client_secret and, for the password grant, username and password",
		HTTP:       hc, Now: now, Log: log,
		Inspect: hibernatingToken,
	}}
}

// hibernatingToken recognises a sleeping instance's wake-up page on the
// token endpoint: worth retrying, unlike a rejected grant.
func hibernatingToken(resp *http.Response, body []byte) error {
	if sdkhttp.LooksLikeHTML(resp.Header, body) {
		return sdk.Retryable(fmt.Errorf("HTTP %d with an HTML page instead of JSON (the instance is probably hibernating or under maintenance)", resp.StatusCode))
	}
	return nil
}
