package sdkhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Authenticator adds credentials to a request. [Do] calls Apply before
// every attempt and, after a 401, Renew: when Renew reports that trying
// again can help (a cached token was dropped), Do sends the request once
// more.
type Authenticator interface {
	Apply(ctx context.Context, r *http.Request) error
	Renew() bool
}

var (
	_ Authenticator = NoAuth{}
	_ Authenticator = Basic{}
	_ Authenticator = Header{}
	_ Authenticator = OAuth{}
)

// NoAuth sends no credentials (or relies on a client certificate alone).
type NoAuth struct{}

// Apply does nothing.
func (NoAuth) Apply(context.Context, *http.Request) error { return nil }

// Renew reports that nothing can be renewed.
func (NoAuth) Renew() bool { return false }

// Basic sends HTTP basic credentials.
type Basic struct{ User, Password string }

// Apply sets the Authorization header.
func (b Basic) Apply(_ context.Context, r *http.Request) error {
	r.SetBasicAuth(b.User, b.Password)
	return nil
}

// Renew reports that static credentials cannot be renewed.
func (Basic) Renew() bool { return false }

// Header sends a static credential in a header: a bearer token (see
// [Bearer]) or an API key with its prefix.
type Header struct{ Name, Value string }

// Bearer sends token as "Authorization: Bearer <token>".
func Bearer(token string) Header { return Header{Name: "Authorization", Value: "Bearer " + token} }

// Apply sets the header.
func (h Header) Apply(_ context.Context, r *http.Request) error {
	r.Header.Set(h.Name, h.Value)
	return nil
}

// Renew reports that static credentials cannot be renewed.
func (Header) Renew() bool { return false }

// OAuth sends bearer tokens from a [TokenSource]; Plugin prefixes its
// errors, e.g. "acme".
type OAuth struct {
	Tokens *TokenSource
	Plugin string
}

// Apply sets the bearer token, obtaining one first when none is cached.
func (o OAuth) Apply(ctx context.Context, r *http.Request) error {
	if err := o.Tokens.Authorize(ctx, r); err != nil {
		return fmt.Errorf("%s: %w", o.Plugin, err)
	}
	return nil
}

// Renew forgets the access token after a 401 (a refresh token, if any, is
// kept for the renewal).
func (o OAuth) Renew() bool {
	o.Tokens.Invalidate()
	return true
}

// AuthBlock is the shared `auth {}` block of an HTTP plugin's
// configuration: basic (username, password), bearer (token), API key
// (api_key in api_key_header after api_key_prefix) and OAuth 2.0
// (token_url, client_id, client_secret, scopes, token_params, client_auth,
// grant_type). A plugin declares the attributes it accepts with
// [AuthAttribute] and embeds AuthBlock in its own struct for anything
// more.
type AuthBlock struct {
	Type         string            `json:"type"`
	Username     string            `json:"username"`
	Password     string            `json:"password"`
	Token        string            `json:"token"`
	APIKey       string            `json:"api_key"`
	APIKeyHeader string            `json:"api_key_header"`
	APIKeyPrefix string            `json:"api_key_prefix"`
	TokenURL     string            `json:"token_url"`
	ClientID     string            `json:"client_id"`
	ClientSecret string            `json:"client_secret"`
	GrantType    string            `json:"grant_type"`
	Scopes       []string          `json:"scopes"`
	TokenParams  map[string]string `json:"token_params"`
	ClientAuth   string            `json:"client_auth"`
}

// Secrets are the block's sensitive values, for redaction.
func (a AuthBlock) Secrets() []string {
	return []string{a.Password, a.Token, a.APIKey, a.ClientSecret}
}

// authAttributes are the attributes of [AuthBlock] with what every plugin
// declares alike: type and sensitivity.
var authAttributes = map[string]sdk.Attribute{
	"type":           {Type: "string", Required: true},
	"username":       {Type: "string"},
	"password":       {Type: "string", Sensitive: true},
	"token":          {Type: "string", Sensitive: true},
	"api_key":        {Type: "string", Sensitive: true},
	"api_key_header": {Type: "string"},
	"api_key_prefix": {Type: "string"},
	"token_url":      {Type: "string"},
	"client_id":      {Type: "string"},
	"client_secret":  {Type: "string", Sensitive: true},
	"grant_type":     {Type: "string"},
	"scopes":         {Type: "list(string)"},
	"token_params":   {Type: "map(string)"},
	"client_auth":    {Type: "string", Default: JSONOf(ClientAuthBasic)},
}

// AuthAttribute declares the [AuthBlock] attribute name with the plugin's
// doc, for the plugin's `auth {}` block; api_key_header takes its default
// from the plugin (header, when given). It panics on a name AuthBlock does
// not have: schemas are static.
func AuthAttribute(name, doc string, header ...string) sdk.Attribute {
	a, ok := authAttributes[name]
	if !ok {
		panic("sdkhttp.AuthAttribute: unknown auth attribute " + name)
	}
	a.Name, a.Doc = name, doc
	if name == "api_key_header" && len(header) > 0 {
		a.Default = JSONOf(header[0])
	}
	return a
}

// AuthCheck collects the diagnostics of an `auth {}` block at auth.*.
type AuthCheck struct{ Diags *sdk.Diagnostics }

// Errorf adds an error at auth.attr.
func (c AuthCheck) Errorf(summary, detail, attr string) {
	*c.Diags = append(*c.Diags, sdk.AttributeError(summary, detail, "auth", attr))
}

// Require adds "<name> is required" at auth.name, with why as the detail,
// when v is empty.
func (c AuthCheck) Require(v, name, why string) {
	if v == "" {
		c.Errorf(name+" is required", why, name)
	}
}

// TokenURL checks the token_url attribute: an http or https URL with a
// host and no user information. It reports an error with detail and
// returns nil when raw is not one.
func (c AuthCheck) TokenURL(raw, detail string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		c.Errorf("token_url is not a valid http(s) URL", detail, "token_url")
		return nil
	}
	return u
}

// AuthSchema declares the `auth {}` block that [AuthBlock] decodes, with
// the attributes the plugin accepts (see [AuthAttribute]).
func AuthSchema(doc string, required bool, attrs ...sdk.Attribute) sdk.Block {
	return sdk.Block{Name: "auth", Nesting: sdk.NestingSingle, Required: required, Doc: doc,
		Schema: sdk.Schema{Attributes: attrs}}
}
