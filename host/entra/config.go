package entra

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// AzureMonitorAppID is the application ID of Azure Monitor action groups
// (service principal "AzNS AAD Webhook"), the caller of a Secure Webhook.
const AzureMonitorAppID = "461e8683-5575-4561-ac7f-899cc907d62a"

// DefaultAuthority is the Entra ID authority of the public cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// Token versions, as carried in the token's `ver` claim.
const (
	Version1 = "1.0"
	Version2 = "2.0"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultClockSkew          = 5 * time.Minute
	DefaultRefreshEvery       = 24 * time.Hour
	DefaultMinRefreshInterval = 5 * time.Minute
	DefaultMaxTokenBytes      = 16 << 10
	DefaultCacheEntries       = 10000
)

// Config is what the verifier accepts. Field comments name the matching
// attribute of the `auth "entra_id"` block; Validate reports problems by
// those attribute names. Zero values take the documented defaults.
type Config struct {
	// TenantIDs are the tenants whose tokens are accepted (tenant_id);
	// at least one, each a GUID.
	TenantIDs []string
	// Audiences are the accepted `aud` values: the App ID URI and/or the
	// client ID of the app registration (audiences); at least one.
	Audiences []string
	// AllowedAppIDs are the accepted callers, `appid` in v1 tokens and
	// `azp` in v2 (allowed_app_ids); default AzureMonitorAppID.
	AllowedAppIDs []string
	// RequiredRoles must all be in the token's `roles` (required_roles).
	RequiredRoles []string
	// Authority is the Entra ID login endpoint (authority); default
	// DefaultAuthority. Plain http is allowed only on loopback, for tests
	// and dev mode.
	Authority string
	// TokenVersions are the accepted `ver` values, "1.0" and/or "2.0"
	// (token_versions); "1", "2", "v1" and "v2" are accepted as spellings.
	// Default both.
	TokenVersions []string
	// ClockSkew is the tolerance on exp, nbf and iat (clock_skew); default 5m.
	ClockSkew time.Duration
	// RefreshEvery is the periodic key refresh interval
	// (refresh_interval); default 24h.
	RefreshEvery time.Duration
	// MinRefreshInterval is the least time between two key refreshes
	// triggered by an unknown `kid` (min_refresh_interval); default 5m. It
	// bounds what a flood of tokens with random key IDs can cost the issuer.
	MinRefreshInterval time.Duration
	// MaxTokenBytes caps the raw token length (max_token_bytes); default 16 KiB.
	MaxTokenBytes int
	// CacheEntries bounds the verified-token cache (cache_entries); default
	// 10000. A negative value disables the cache (`cache_entries = 0` in
	// the block).
	CacheEntries int
}

// WithDefaults returns c with defaults filled in and token versions
// normalized to "1.0" / "2.0". Slices are copied.
func (c Config) WithDefaults() Config {
	out := c
	out.TenantIDs = lowerAll(trimAll(c.TenantIDs))
	out.Audiences = trimAll(c.Audiences)
	out.AllowedAppIDs = lowerAll(trimAll(c.AllowedAppIDs))
	out.RequiredRoles = trimAll(c.RequiredRoles)
	if len(out.AllowedAppIDs) == 0 {
		out.AllowedAppIDs = []string{AzureMonitorAppID}
	}
	out.Authority = strings.TrimRight(strings.TrimSpace(c.Authority), "/")
	if out.Authority == "" {
		out.Authority = DefaultAuthority
	}
	if len(c.TokenVersions) == 0 {
		out.TokenVersions = []string{Version1, Version2}
	} else {
		out.TokenVersions = make([]string, 0, len(c.TokenVersions))
		for _, v := range c.TokenVersions {
			out.TokenVersions = append(out.TokenVersions, normalizeVersion(v))
		}
	}
	if out.ClockSkew == 0 {
		out.ClockSkew = DefaultClockSkew
	}
	if out.RefreshEvery == 0 {
		out.RefreshEvery = DefaultRefreshEvery
	}
	if out.MinRefreshInterval == 0 {
		out.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if out.MaxTokenBytes == 0 {
		out.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if out.CacheEntries == 0 {
		out.CacheEntries = DefaultCacheEntries
	}
	return out
}

// Validate reports every problem in c (after defaults), each naming the
// attribute of the `auth "entra_id"` block it concerns.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.TenantIDs) == 0 {
		bad("tenant_id: at least one tenant ID is required")
	}
	for _, t := range c.TenantIDs {
		if !isGUID(t) {
			bad("tenant_id: %q is not a tenant ID (a GUID such as 00000000-0000-0000-0000-000000000000); "+
				"domain names and \"common\" are not accepted because the token's tid claim is compared to it", t)
		}
	}
	if len(c.Audiences) == 0 {
		bad("audiences: at least one audience is required (the Application ID URI and/or the client ID of the app registration)")
	}
	for _, a := range c.Audiences {
		if a == "" {
			bad("audiences: empty value")
		}
	}
	for _, a := range c.AllowedAppIDs {
		if !isGUID(a) {
			bad("allowed_app_ids: %q is not an application ID (a GUID)", a)
		}
	}
	for _, r := range c.RequiredRoles {
		if r == "" {
			bad("required_roles: empty role name")
		}
	}
	if err := checkAuthority(c.Authority); err != nil {
		bad("authority: %v", err)
	}
	if len(c.TokenVersions) == 0 {
		bad("token_versions: at least one of \"1.0\" and \"2.0\" is required")
	}
	seen := map[string]bool{}
	for _, v := range c.TokenVersions {
		if v != Version1 && v != Version2 {
			bad("token_versions: %q is not a token version; use \"1.0\" and/or \"2.0\"", v)
		}
		if seen[v] {
			bad("token_versions: %q is listed twice", v)
		}
		seen[v] = true
	}
	if c.ClockSkew < 0 || c.ClockSkew > time.Hour {
		bad("clock_skew: %s is outside 0s..1h", c.ClockSkew)
	}
	if c.RefreshEvery < time.Minute {
		bad("refresh_interval: %s is too short; use at least 1m (Entra rotates keys over weeks)", c.RefreshEvery)
	}
	if c.MinRefreshInterval < 0 {
		bad("min_refresh_interval: %s is negative", c.MinRefreshInterval)
	}
	if c.MaxTokenBytes < 1024 || c.MaxTokenBytes > 1<<20 {
		bad("max_token_bytes: %d is outside 1024..1048576", c.MaxTokenBytes)
	}
	return errors.Join(errs...)
}

func checkAuthority(a string) error {
	u, err := url.Parse(a)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", a, err)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be a plain base URL such as %s", a, DefaultAuthority)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q uses plain http; only https is allowed except on loopback (tests, dev mode)", a)
	default:
		return fmt.Errorf("%q must use https", a)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func normalizeVersion(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "1.0", "v1", "v1.0":
		return Version1
	case "2", "2.0", "v2", "v2.0":
		return Version2
	}
	return v
}

func trimAll(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

func lowerAll(in []string) []string {
	for i, s := range in {
		in[i] = strings.ToLower(s)
	}
	return in
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of a GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
