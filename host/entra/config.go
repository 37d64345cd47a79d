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

// Defaults of DefaultConfig.
const (
	DefaultClockSkew     = 5 * time.Minute
	DefaultRefreshEvery  = 24 * time.Hour
	DefaultMaxTokenBytes = 16 << 10
	DefaultCacheEntries  = 10000
	// DefaultMaxTokenLifetime is the longest an Entra ID access token
	// lives: 60 to 90 minutes by default, 10 minutes to 1 day under a token
	// lifetime policy, and up to 28 hours for continuous access evaluation.
	DefaultMaxTokenLifetime = 28 * time.Hour
)

// Limits that Validate enforces.
const (
	MaxClockSkew     = time.Hour
	MinRefreshEvery  = time.Minute
	MinMaxTokenBytes = 1 << 10
	MaxMaxTokenBytes = 1 << 20
	// MinMaxTokenLifetime is the shortest lifetime Entra ID gives an
	// access token: a lower max_token_lifetime would refuse every token.
	MinMaxTokenLifetime = 10 * time.Minute
	// MaxMaxTokenLifetime bounds max_token_lifetime well above any Entra
	// ID token, so that a slip such as "2800h" cannot switch the check off.
	MaxMaxTokenLifetime = 7 * 24 * time.Hour
)

// exampleTenantGUID shows the form of a tenant ID in messages.
const exampleTenantGUID = "00000000-0000-0000-0000-000000000000"

// Config is the `auth "entra_id"` block: the one definition that
// `validate` (host/config) checks and `serve` builds the verifier from.
// Field comments name the block's attributes; Validate reports problems
// by those names. A field holds exactly the value it means: start from
// DefaultConfig and overwrite what is set, so that an explicit zero stays
// zero.
type Config struct {
	// TenantIDs are the tenants whose tokens are accepted (tenant_id);
	// at least one, each a GUID.
	TenantIDs []string
	// Audiences are the accepted `aud` values: the App ID URI and/or the
	// client ID of the app registration (audiences); at least one.
	Audiences []string
	// AllowedAppIDs are the accepted callers, `appid` in v1 tokens and
	// `azp` in v2 (allowed_app_ids); at least one, default
	// AzureMonitorAppID.
	AllowedAppIDs []string
	// RequiredRoles must all be in the token's `roles` (required_roles).
	RequiredRoles []string
	// Authority is the Entra ID login endpoint (authority); default
	// DefaultAuthority. Plain http is allowed only on loopback, for tests
	// and dev mode. A trailing slash is ignored.
	Authority string
	// TokenVersions are the accepted `ver` values, "1.0" and/or "2.0"
	// (token_versions); "1", "2", "v1" and "v2" are accepted as spellings.
	// Default both.
	TokenVersions []string
	// ClockSkew is the tolerance on exp, nbf and iat (clock_skew), 0 to 1h;
	// default 5m, and 0 means none.
	ClockSkew time.Duration
	// RefreshEvery is the periodic key refresh interval
	// (refresh_interval), at least 1m; default 24h.
	RefreshEvery time.Duration
	// MaxTokenBytes caps the raw token length (max_token_bytes), 1024 to
	// 1048576; default 16 KiB.
	MaxTokenBytes int
	// CacheEntries bounds the verified-token cache (cache_entries); default
	// 10000, and 0 disables the cache.
	CacheEntries int
	// MaxTokenLifetime is the longest lifetime a token may claim
	// (max_token_lifetime), 10m to 7d; default 28h. A token is refused
	// when exp - iat exceeds it, or exp is more than it plus ClockSkew
	// after now (which bounds a token without iat).
	MaxTokenLifetime time.Duration
}

// DefaultConfig is the block with every attribute left out; tenant_id and
// audiences, which have no default, are empty.
func DefaultConfig() Config {
	return Config{
		AllowedAppIDs:    []string{AzureMonitorAppID},
		Authority:        DefaultAuthority,
		TokenVersions:    []string{Version1, Version2},
		ClockSkew:        DefaultClockSkew,
		RefreshEvery:     DefaultRefreshEvery,
		MaxTokenBytes:    DefaultMaxTokenBytes,
		CacheEntries:     DefaultCacheEntries,
		MaxTokenLifetime: DefaultMaxTokenLifetime,
	}
}

// normalized returns c with surrounding spaces trimmed, tenant and app IDs
// lower-cased, the authority's trailing slash removed and token versions
// spelled "1.0" / "2.0". Slices are copied.
func (c Config) normalized() Config {
	out := c
	out.TenantIDs = lowerAll(trimAll(c.TenantIDs))
	out.Audiences = trimAll(c.Audiences)
	out.AllowedAppIDs = lowerAll(trimAll(c.AllowedAppIDs))
	out.RequiredRoles = trimAll(c.RequiredRoles)
	out.Authority = strings.TrimRight(strings.TrimSpace(c.Authority), "/")
	out.TokenVersions = nil
	for _, v := range c.TokenVersions {
		out.TokenVersions = append(out.TokenVersions, normalizeVersion(v))
	}
	return out
}

// FieldError is one problem Validate found, for one attribute of the
// `auth "entra_id"` block.
type FieldError struct {
	// Attr is the attribute, e.g. "max_token_bytes".
	Attr string
	// Msg explains the problem and the fix; it names the attribute.
	Msg string
}

func (e *FieldError) Error() string { return "auth." + e.Attr + ": " + e.Msg }

// Validate reports every problem in c as a *FieldError, joined. It is the
// only check of the block: `validate` shows its errors against the file,
// and New refuses a Config that fails it.
func (c Config) Validate() error {
	c = c.normalized()
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, &FieldError{Attr: attr, Msg: fmt.Sprintf(format, args...)})
	}

	if len(c.TenantIDs) == 0 {
		bad("tenant_id", "auth \"entra_id\" needs tenant_id: your directory (tenant) ID, or a list of them.")
	}
	for _, t := range c.TenantIDs {
		if !isGUID(t) {
			bad("tenant_id", "tenant_id %q is not a tenant ID. Use the directory (tenant) ID, a GUID such as %s: "+
				"tokens carry it in their tid claim, and a domain name or \"common\" cannot be compared with it.", t, exampleTenantGUID)
		}
	}
	if len(c.Audiences) == 0 {
		bad("audiences", "auth \"entra_id\" needs audiences: the app registration's Application ID URI (e.g. \"api://itsm-connector\") and/or its client ID.")
	}
	for _, a := range c.Audiences {
		if a == "" {
			bad("audiences", "audiences contains an empty entry.")
		}
	}
	if len(c.AllowedAppIDs) == 0 {
		bad("allowed_app_ids", "allowed_app_ids is empty, so no caller could ever be accepted; leave it out for the Azure Monitor app (%s).", AzureMonitorAppID)
	}
	for _, a := range c.AllowedAppIDs {
		if !isGUID(a) {
			bad("allowed_app_ids", "allowed_app_ids entry %q is not an application ID (a GUID); Azure Monitor action groups are %s.", a, AzureMonitorAppID)
		}
	}
	for _, r := range c.RequiredRoles {
		if r == "" {
			bad("required_roles", "required_roles contains an empty role name.")
		}
	}
	if err := checkAuthority(c.Authority); err != nil {
		bad("authority", "authority %v.", err)
	}
	if len(c.TokenVersions) == 0 {
		bad("token_versions", "token_versions is empty; leave it out to accept both, or list %q and/or %q.", Version1, Version2)
	}
	seen := map[string]bool{}
	for _, v := range c.TokenVersions {
		if v != Version1 && v != Version2 {
			bad("token_versions", "Token version %q is not known; use %q (v1, issuer sts.windows.net) and/or %q (v2).", v, Version1, Version2)
		} else if seen[v] {
			bad("token_versions", "Token version %q is listed twice.", v)
		}
		seen[v] = true
	}
	switch {
	case c.ClockSkew < 0:
		bad("clock_skew", "clock_skew = %s is negative; use 0 (no tolerance) to %s. The default is %s.", fmtDuration(c.ClockSkew), fmtDuration(MaxClockSkew), fmtDuration(DefaultClockSkew))
	case c.ClockSkew > MaxClockSkew:
		bad("clock_skew", "clock_skew = %s is more than %s; a larger tolerance would accept tokens long expired. The default is %s.", fmtDuration(c.ClockSkew), fmtDuration(MaxClockSkew), fmtDuration(DefaultClockSkew))
	}
	if c.RefreshEvery < MinRefreshEvery {
		bad("refresh_interval", "refresh_interval = %s is too short; use at least %s so the issuer is not hammered (Entra ID rotates keys over weeks). The default is %s.",
			fmtDuration(c.RefreshEvery), fmtDuration(MinRefreshEvery), fmtDuration(DefaultRefreshEvery))
	}
	if c.MaxTokenBytes < MinMaxTokenBytes || c.MaxTokenBytes > MaxMaxTokenBytes {
		bad("max_token_bytes", "max_token_bytes = %d is outside %d..%d; Entra ID tokens are 1 to 3 KB and the default is %d.",
			c.MaxTokenBytes, MinMaxTokenBytes, MaxMaxTokenBytes, DefaultMaxTokenBytes)
	}
	switch {
	case c.MaxTokenLifetime <= 0:
		bad("max_token_lifetime", "max_token_lifetime = %s would refuse every token; leave it out for the default %s, the lifetime of the longest Entra ID tokens (continuous access evaluation).",
			fmtDuration(c.MaxTokenLifetime), fmtDuration(DefaultMaxTokenLifetime))
	case c.MaxTokenLifetime < MinMaxTokenLifetime:
		bad("max_token_lifetime", "max_token_lifetime = %s is shorter than %s, the shortest lifetime Entra ID gives a token, so it would refuse every token. The default is %s.",
			fmtDuration(c.MaxTokenLifetime), fmtDuration(MinMaxTokenLifetime), fmtDuration(DefaultMaxTokenLifetime))
	case c.MaxTokenLifetime > MaxMaxTokenLifetime:
		bad("max_token_lifetime", "max_token_lifetime = %s is more than %s (7d); Entra ID tokens live at most 28h and the default is %s.",
			fmtDuration(c.MaxTokenLifetime), fmtDuration(MaxMaxTokenLifetime), fmtDuration(DefaultMaxTokenLifetime))
	}
	if c.CacheEntries < 0 {
		bad("cache_entries", "cache_entries = %d is negative; 0 disables the verified-token cache, the default is %d.", c.CacheEntries, DefaultCacheEntries)
	}
	return errors.Join(errs...)
}

// fmtDuration prints whole hours and minutes the way the docs write them
// ("1h", "5m"), anything else as Go does.
func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
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
