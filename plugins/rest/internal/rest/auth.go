package rest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdkredact"
)

// newOAuth2 returns the authenticator for an oauth2 auth block: bearer
// tokens obtained with the client credentials grant (see
// sdkhttp.TokenSource: cached until shortly before they expire). Every
// token it obtains is redacted from errors and logs.
func newOAuth2(s *settings, hc *http.Client, now func() time.Time, log func() *slog.Logger, red *redactor) sdkhttp.OAuth {
	a := s.auth
	return sdkhttp.OAuth{Plugin: Name, Tokens: &sdkhttp.TokenSource{
		TokenURL: s.tokenURL.String(), Grant: sdkhttp.GrantClientCredentials,
		ClientID: a.ClientID, ClientSecret: a.ClientSecret, ClientAuth: a.ClientAuth,
		Scopes: a.Scopes, Params: a.TokenParams,
		Hint: "check client_id, client_secret, scopes and client_auth",
		HTTP: hc, Now: now, Log: log,
		Redact: red.apply, OnToken: red.add,
	}}
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
