package entra

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if len(c.AllowedAppIDs) != 1 || c.AllowedAppIDs[0] != AzureMonitorAppID {
		t.Errorf("AllowedAppIDs = %v", c.AllowedAppIDs)
	}
	if c.Authority != DefaultAuthority || c.ClockSkew != 5*time.Minute || c.RefreshEvery != 24*time.Hour ||
		c.MaxTokenBytes != 16<<10 || c.CacheEntries != 10000 || c.MaxTokenLifetime != 28*time.Hour {
		t.Errorf("defaults: %+v", c)
	}
	if strings.Join(c.TokenVersions, ",") != "1.0,2.0" {
		t.Errorf("TokenVersions = %v", c.TokenVersions)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "auth.tenant_id") || !strings.Contains(err.Error(), "auth.audiences") {
		t.Errorf("DefaultConfig().Validate() = %v, want tenant_id and audiences required", err)
	}
}

func TestConfigNormalized(t *testing.T) {
	c := DefaultConfig()
	c.TenantIDs = []string{" " + strings.ToUpper(testTenant) + " "}
	c.Audiences = []string{testAppIDURI}
	c.Authority = "https://login.microsoftonline.us/"
	c.TokenVersions = []string{"v2", "1"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	n := c.normalized()
	if n.TenantIDs[0] != testTenant || n.Authority != "https://login.microsoftonline.us" ||
		strings.Join(n.TokenVersions, ",") != "2.0,1.0" {
		t.Errorf("normalized: %+v", n)
	}
	if c.TenantIDs[0] == testTenant {
		t.Error("normalized changed its receiver's slice")
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.TenantIDs, c.Audiences = []string{testTenant}, []string{testAppIDURI}
		return c
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" means valid
	}{
		{name: "valid", mod: func(*Config) {}},
		{name: "loopback http authority", mod: func(c *Config) { c.Authority = "http://127.0.0.1:8080" }},
		{name: "sovereign cloud", mod: func(c *Config) { c.Authority = "https://login.microsoftonline.us/" }},
		{name: "no tenant", mod: func(c *Config) { c.TenantIDs = nil }, want: "auth.tenant_id: auth \"entra_id\" needs tenant_id"},
		{name: "tenant domain", mod: func(c *Config) { c.TenantIDs = []string{"contoso.onmicrosoft.com"} }, want: `tenant_id "contoso.onmicrosoft.com" is not a tenant ID`},
		{name: "common", mod: func(c *Config) { c.TenantIDs = []string{"common"} }, want: "auth.tenant_id"},
		{name: "no audience", mod: func(c *Config) { c.Audiences = nil }, want: "auth.audiences"},
		{name: "empty audience", mod: func(c *Config) { c.Audiences = []string{" "} }, want: "audiences contains an empty entry"},
		{name: "bad app id", mod: func(c *Config) { c.AllowedAppIDs = []string{"azure-monitor"} }, want: "auth.allowed_app_ids"},
		{name: "no app id", mod: func(c *Config) { c.AllowedAppIDs = nil }, want: "allowed_app_ids is empty"},
		{name: "empty role", mod: func(c *Config) { c.RequiredRoles = []string{""} }, want: "auth.required_roles"},
		{name: "http authority", mod: func(c *Config) { c.Authority = "http://login.example.com" }, want: "auth.authority: authority \"http://login.example.com\" uses plain http"},
		{name: "authority with query", mod: func(c *Config) { c.Authority = "https://login.example.com/?x=1" }, want: "auth.authority"},
		{name: "ftp authority", mod: func(c *Config) { c.Authority = "ftp://login.example.com" }, want: "auth.authority"},
		{name: "no version", mod: func(c *Config) { c.TokenVersions = nil }, want: "token_versions is empty"},
		{name: "bad version", mod: func(c *Config) { c.TokenVersions = []string{"3"} }, want: `Token version "3" is not known`},
		{name: "duplicate version", mod: func(c *Config) { c.TokenVersions = []string{"1", "1.0"} }, want: "listed twice"},
		{name: "zero skew", mod: func(c *Config) { c.ClockSkew = 0 }},
		{name: "skew of an hour", mod: func(c *Config) { c.ClockSkew = time.Hour }},
		{name: "negative skew", mod: func(c *Config) { c.ClockSkew = -time.Second }, want: "auth.clock_skew: clock_skew = -1s is negative"},
		{name: "skew over an hour", mod: func(c *Config) { c.ClockSkew = 90 * time.Minute }, want: "clock_skew = 90m is more than 1h"},
		{name: "short refresh", mod: func(c *Config) { c.RefreshEvery = time.Second }, want: "auth.refresh_interval"},
		{name: "zero refresh", mod: func(c *Config) { c.RefreshEvery = 0 }, want: "auth.refresh_interval"},
		{name: "tiny token limit", mod: func(c *Config) { c.MaxTokenBytes = 512 }, want: "auth.max_token_bytes: max_token_bytes = 512 is outside 1024..1048576"},
		{name: "zero token limit", mod: func(c *Config) { c.MaxTokenBytes = 0 }, want: "auth.max_token_bytes"},
		{name: "huge token limit", mod: func(c *Config) { c.MaxTokenBytes = 2 << 20 }, want: "auth.max_token_bytes"},
		{name: "cache disabled", mod: func(c *Config) { c.CacheEntries = 0 }},
		{name: "negative cache", mod: func(c *Config) { c.CacheEntries = -1 }, want: "auth.cache_entries"},
		{name: "lifetime of 2h", mod: func(c *Config) { c.MaxTokenLifetime = 2 * time.Hour }},
		{name: "lifetime at the minimum", mod: func(c *Config) { c.MaxTokenLifetime = 10 * time.Minute }},
		{name: "lifetime at the maximum", mod: func(c *Config) { c.MaxTokenLifetime = 7 * 24 * time.Hour }},
		{name: "zero lifetime", mod: func(c *Config) { c.MaxTokenLifetime = 0 },
			want: "auth.max_token_lifetime: max_token_lifetime = 0s would refuse every token"},
		{name: "negative lifetime", mod: func(c *Config) { c.MaxTokenLifetime = -time.Hour },
			want: "auth.max_token_lifetime: max_token_lifetime = -1h would refuse every token"},
		{name: "lifetime under 10m", mod: func(c *Config) { c.MaxTokenLifetime = 5 * time.Minute },
			want: "auth.max_token_lifetime: max_token_lifetime = 5m is shorter than 10m"},
		{name: "lifetime over 7d", mod: func(c *Config) { c.MaxTokenLifetime = 2800 * time.Hour },
			want: "auth.max_token_lifetime: max_token_lifetime = 2800h is more than 168h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			var fe *FieldError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error %v is not a *FieldError", err)
			}
		})
	}
}
