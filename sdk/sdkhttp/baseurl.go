package sdkhttp

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// BaseURL describes a backend's base URL attribute for [BaseURL.Parse].
type BaseURL struct {
	// Attr is the attribute's name, e.g. "instance_url"; diagnostics are
	// reported at it.
	Attr string
	// Example is a valid value shown to the operator, e.g.
	// "https://contoso.service-now.com".
	Example string
	// Exposes names what travels unencrypted over plain http besides
	// credentials, e.g. "incident data"; default "data".
	Exposes string
}

// Parse validates raw as the base URL of an HTTP API: http or https, a
// host, no credentials (they belong in the auth block, treated as
// secrets), no query or fragment. It returns the URL without a trailing
// slash and diagnostics at b.Attr: errors, or a warning for plain http.
// The URL is nil when the diagnostics hold an error.
func (b BaseURL) Parse(raw string) (*url.URL, sdk.Diagnostics) {
	errd := func(summary, detail string) sdk.Diagnostics {
		return sdk.Diagnostics{sdk.AttributeError(b.Attr+" "+summary, detail, b.Attr)}
	}
	setIt := fmt.Sprintf("Set it to the base URL, e.g. %q.", b.Example)
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errd("is required", setIt)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errd("is not a valid URL", err.Error())
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, errd("must use https", fmt.Sprintf("Got scheme %q.", u.Scheme))
	case u.Host == "":
		return nil, errd("has no host", setIt)
	case u.User != nil:
		return nil, errd("must not carry credentials", "Put them in the auth block, where they are treated as secrets.")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, errd("must not have a query or fragment", "Set it to the base URL only; the plugin adds paths and queries itself.")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if u.Scheme == "http" {
		exposes := b.Exposes
		if exposes == "" {
			exposes = "data"
		}
		return u, sdk.Diagnostics{sdk.AttributeWarning(b.Attr+" uses plain http",
			"Credentials and "+exposes+" travel unencrypted; use https outside tests.", b.Attr)}
	}
	return u, nil
}
