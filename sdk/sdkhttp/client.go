package sdkhttp

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// DefaultTimeout bounds a whole exchange (connect, request, response body)
// when [ClientOptions].Timeout is zero.
const DefaultTimeout = 30 * time.Second

// TimeoutAttribute declares the `timeout` attribute of an HTTP plugin's
// configuration: how long one request to backend ("Jira", "the
// instance") may take, as a duration, DefaultTimeout when not set. Read
// it into ClientOptions.Timeout with sdktext.ParseDuration(value,
// DefaultTimeout, &diags, "timeout").
func TimeoutAttribute(backend string) sdk.Attribute {
	return sdk.Attribute{Name: "timeout", Type: "string", Default: JSONOf(DefaultTimeout.String()),
		Doc: "Timeout of one HTTP request to " + backend + ", as a duration."}
}

// ClientOptions configure [NewClient].
type ClientOptions struct {
	// Timeout bounds each exchange, body included; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// TLS is the client TLS configuration, usually from [TLSOptions.Config];
	// nil keeps Go's defaults.
	TLS *tls.Config
	// Transport overrides the base transport (tests, proxies). An
	// *http.Transport is cloned and gets TLS; any other RoundTripper is
	// used as it is. Nil means a clone of http.DefaultTransport, which
	// honours the proxy environment variables.
	Transport http.RoundTripper
}

// NewClient returns an HTTP client for one backend configuration. It never
// follows redirects: a redirect would carry credentials to another URL or
// hide a sign-in page, so the 3xx response comes back to the caller, which
// reports it (see [Classify]). When the host traces a call, each request
// the client sends under the call's context is a span of the host's trace
// (see [sdk.TracerProvider]).
func NewClient(o ClientOptions) *http.Client {
	rt := o.Transport
	var transport *http.Transport
	switch t := o.Transport.(type) {
	case nil:
		transport = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		transport = t.Clone()
	}
	if transport != nil {
		if o.TLS != nil {
			transport.TLSClientConfig = o.TLS
		}
		rt = transport
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Transport:     newTracing(rt),
		Timeout:       timeout,
		CheckRedirect: NoRedirects,
	}
}

// NoRedirects is an http.Client CheckRedirect function that stops at the
// first redirect and returns it as the response.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
