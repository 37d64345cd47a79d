package entra

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{TenantIDs: []string{" " + strings.ToUpper(testTenant) + " "}, Audiences: []string{testAppIDURI}}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TenantIDs[0] != testTenant {
		t.Errorf("tenant not normalized: %q", c.TenantIDs[0])
	}
	if len(c.AllowedAppIDs) != 1 || c.AllowedAppIDs[0] != AzureMonitorAppID {
		t.Errorf("AllowedAppIDs = %v", c.AllowedAppIDs)
	}
	if c.Authority != DefaultAuthority || c.ClockSkew != 5*time.Minute || c.RefreshEvery != 24*time.Hour ||
		c.MinRefreshInterval != 5*time.Minute || c.MaxTokenBytes != 16<<10 || c.CacheEntries != 10000 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if strings.Join(c.TokenVersions, ",") != "1.0,2.0" {
		t.Errorf("TokenVersions = %v", c.TokenVersions)
	}
	c = Config{TenantIDs: []string{testTenant}, Audiences: []string{"a"}, TokenVersions: []string{"v2"}}.WithDefaults()
	if c.TokenVersions[0] != Version2 {
		t.Errorf("v2 not normalized: %v", c.TokenVersions)
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config { return Config{TenantIDs: []string{testTenant}, Audiences: []string{testAppIDURI}} }
	cases := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" means valid
	}{
		{name: "valid", mod: func(*Config) {}},
		{name: "loopback http authority", mod: func(c *Config) { c.Authority = "http://127.0.0.1:8080" }},
		{name: "sovereign cloud", mod: func(c *Config) { c.Authority = "https://login.microsoftonline.us/" }},
		{name: "no tenant", mod: func(c *Config) { c.TenantIDs = nil }, want: "tenant_id: at least one"},
		{name: "tenant domain", mod: func(c *Config) { c.TenantIDs = []string{"contoso.onmicrosoft.com"} }, want: `tenant_id: "contoso.onmicrosoft.com" is not a tenant ID`},
		{name: "common", mod: func(c *Config) { c.TenantIDs = []string{"common"} }, want: "tenant_id"},
		{name: "no audience", mod: func(c *Config) { c.Audiences = nil }, want: "audiences: at least one"},
		{name: "bad app id", mod: func(c *Config) { c.AllowedAppIDs = []string{"azure-monitor"} }, want: "allowed_app_ids"},
		{name: "empty role", mod: func(c *Config) { c.RequiredRoles = []string{""} }, want: "required_roles"},
		{name: "http authority", mod: func(c *Config) { c.Authority = "http://login.example.com" }, want: "authority: \"http://login.example.com\" uses plain http"},
		{name: "authority with query", mod: func(c *Config) { c.Authority = "https://login.example.com/?x=1" }, want: "authority"},
		{name: "ftp authority", mod: func(c *Config) { c.Authority = "ftp://login.example.com" }, want: "authority"},
		{name: "bad version", mod: func(c *Config) { c.TokenVersions = []string{"3"} }, want: `token_versions: "3"`},
		{name: "duplicate version", mod: func(c *Config) { c.TokenVersions = []string{"1", "1.0"} }, want: "listed twice"},
		{name: "negative skew", mod: func(c *Config) { c.ClockSkew = -time.Second }, want: "clock_skew"},
		{name: "short refresh", mod: func(c *Config) { c.RefreshEvery = time.Second }, want: "refresh_interval"},
		{name: "tiny token limit", mod: func(c *Config) { c.MaxTokenBytes = 10 }, want: "max_token_bytes"},
		{name: "cache disabled", mod: func(c *Config) { c.CacheEntries = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mod(&c)
			err := c.WithDefaults().Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
