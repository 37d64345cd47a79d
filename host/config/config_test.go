package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLoadFull(t *testing.T) {
	t.Setenv("ITSM_TEST_DSN", "postgres://u@127.0.0.1/db")
	t.Setenv("ITSM_TEST_ADMIN_TOKEN", "0123456789abcdef0123")
	c, diags := LoadFile("testdata/full.hcl")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
	}
	abs, _ := filepath.Abs("testdata")
	checks := []struct {
		name      string
		got, want any
	}{
		{"dir", c.Dir, abs},
		{"plugin_dir", c.PluginDir, "/opt/itsm/plugins"},
		{"log_level", c.LogLevel, "debug"},
		{"log_format", c.LogFormat, "text"},
		{"server", c.Server, Server{Listen: "0.0.0.0:9443", MaxBodyBytes: 524288, MaxConnections: 2000, TLS: &TLS{CertFile: "tls/cert.pem", KeyFile: "tls/key.pem"}}},
		{"admin", c.Admin, Admin{Listen: "127.0.0.1:9999", Token: "0123456789abcdef0123", MetricsAuth: true,
			AllowedHosts: []string{"itsm-admin.example.com"}, MaxConnections: 20}},
		{"auth type", c.Auth.Type, AuthEntraID},
		// As written: the verifier normalizes spellings ("v2", the
		// trailing slash) when it validates and starts.
		{"entra", *c.Auth.EntraID, entra.Config{
			TenantIDs:        []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"},
			Audiences:        []string{"api://itsm-connector"},
			AllowedAppIDs:    []string{entra.AzureMonitorAppID},
			RequiredRoles:    []string{"ActionGroupsSecureWebhook"},
			Authority:        "https://login.microsoftonline.us/",
			TokenVersions:    []string{"v2"},
			ClockSkew:        2 * time.Minute,
			RefreshEvery:     12 * time.Hour,
			MaxTokenBytes:    8192,
			CacheEntries:     500,
			MaxTokenLifetime: 2 * time.Hour,
		}},
		{"store", c.Store, Store{Driver: DriverPostgres, DSN: "postgres://u@127.0.0.1/db", AuditRetention: 7 * 24 * time.Hour}},
		{"delivery", c.Delivery, Delivery{InstanceID: "connector-a", CallTimeout: 20 * time.Second, Lease: 2 * time.Minute}},
		{"plugins", len(c.Plugins), 1},
		{"plugin name", c.Plugins[0].Name, "servicenow"},
		{"plugin sha256 lowercased", c.Plugins[0].SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"plugin path", c.Plugins[0].Path, "/opt/snow/plugin"},
		{"plugin pass_env", c.Plugins[0].PassEnv, []string{"HTTPS_PROXY", "NO_PROXY"}},
		{"plugin run_as", c.Plugins[0].RunAs, "itsm-plugin:itsm-plugin"},
		{"backends", len(c.Backends), 2},
		{"backend ref", c.Backends[0].Ref(), "servicenow.prod"},
		{"backend max_in_flight", c.Backends[0].MaxInFlight, 8},
		{"backend rate_limit", c.Backends[0].RateLimit, 2.5},
		{"backend max_attempts", c.Backends[0].MaxAttempts, 10},
		{"backend max_age", c.Backends[0].MaxAge, 7 * 24 * time.Hour},
		{"backend adopt_existing", c.Backends[0].AdoptExisting, true},
		{"default adopt_existing", c.Backends[1].AdoptExisting, false},
		{"backend config line", c.Backends[0].ConfigRange.Start.Line, 56},
		{"default max_in_flight", c.Backends[1].MaxInFlight, DefaultMaxInFlight},
		{"default max_age", c.Backends[1].MaxAge, DefaultMaxAge},
		{"empty config range is the backend block", c.Backends[1].ConfigRange, c.Backends[1].Range},
		{"routes", len(c.Routes), 2},
		{"route send_to", refs(c.Routes[0].SendTo), []string{"servicenow.prod", "file.local"}},
		{"route reopen_window", c.Routes[0].ReopenWindow, time.Hour},
		{"route per_ci", c.Routes[0].PerCI, true},
		{"route on_resolved_without_item", c.Routes[0].OnResolvedWithoutItem, OnResolvedCreateAndResolve},
		{"route continue", c.Routes[0].Continue, true},
		{"route when kept", c.Routes[0].When != nil, true},
		{"route key kept", c.Routes[0].CorrelationKey != nil, true},
		{"route fields kept", c.Routes[0].Fields != nil, true},
		{"absent when is nil", c.Routes[1].When == nil, true},
		{"absent key is nil", c.Routes[1].CorrelationKey == nil, true},
		{"absent fields is nil", c.Routes[1].Fields == nil, true},
		{"default reopen_window", c.Routes[1].ReopenWindow, DefaultReopenWindow},
		{"default on_resolved_without_item", c.Routes[1].OnResolvedWithoutItem, OnResolvedRecord},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}

	// The backend config body decodes later with the load-time context;
	// file() reads relative to the config's directory and trims newlines.
	attrs, d := c.Backends[0].Config.JustAttributes()
	if d.HasErrors() {
		t.Fatal(d)
	}
	v, d := attrs["password"].Expr.Value(LoadContext(c.Dir))
	if d.HasErrors() || v.AsString() != "s3cret" {
		t.Errorf("password = %#v (%v), want s3cret", v, d)
	}
}

// TestExampleLoads keeps the annotated reference configuration at the
// repository root valid: no errors and no warnings.
func TestExampleLoads(t *testing.T) {
	c, diags := LoadFile("../../connector.hcl.example")
	if len(diags) > 0 {
		t.Fatalf("connector.hcl.example:\n%s", diagText(c, diags))
	}
	if c.Auth.Type != AuthEntraID || len(c.Backends) == 0 || len(c.Routes) == 0 {
		t.Errorf("example lost its auth, backends or routes: %+v", c)
	}
}

func refs(rs []BackendRef) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ref())
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	c, diags := LoadFile("testdata/minimal.hcl")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
	}
	want := Server{Listen: DefaultServerListen, MaxBodyBytes: DefaultMaxBodyBytes, MaxConnections: DefaultServerMaxConnections}
	if !reflect.DeepEqual(c.Server, want) {
		t.Errorf("server = %#v, want %#v", c.Server, want)
	}
	if !reflect.DeepEqual(c.Admin, Admin{Listen: DefaultAdminListen, MaxConnections: DefaultAdminMaxConnections}) || c.Store != (Store{Driver: DriverSQLite, Path: DefaultStorePath, AuditRetention: DefaultAuditRetention}) ||
		c.PluginDir != DefaultPluginDir || c.LogLevel != DefaultLogLevel || c.LogFormat != DefaultLogFormat ||
		c.Delivery != (Delivery{CallTimeout: DefaultCallTimeout, Lease: DefaultLease}) {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestEntraIDDefaults(t *testing.T) {
	src := `
auth "entra_id" {
  tenant_id = "00000000-0000-0000-0000-000000000001"
  audiences = ["api://x"]
}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	c, diags := Load([]byte(src), "inline.hcl")
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
	}
	want := entra.DefaultConfig()
	want.TenantIDs = []string{"00000000-0000-0000-0000-000000000001"}
	want.Audiences = []string{"api://x"}
	if !reflect.DeepEqual(*c.Auth.EntraID, want) {
		t.Errorf("entra = %#v, want %#v", *c.Auth.EntraID, want)
	}
	if len(diags) != 0 {
		t.Errorf("want no warnings, got %v", diags)
	}
}

// TestDiagnosticsGolden loads every testdata/diags/*.hcl and compares the
// printed diagnostics (file, line, snippet, detail) with its .golden file.
// Run with -update to rewrite them.
func TestDiagnosticsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diags/*.hcl")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".hcl"), func(t *testing.T) {
			c, diags := LoadFile(f)
			if len(diags) == 0 {
				t.Fatal("want diagnostics, got none")
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
			}
			var buf bytes.Buffer
			if err := WriteDiagnostics(&buf, c.Files, diags, false); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".hcl")+".golden", buf.Bytes())
		})
	}
}

func TestWarnings(t *testing.T) {
	c, diags := LoadFile("testdata/diags/auth_none.hcl")
	if diags.HasErrors() {
		t.Fatalf("auth none must load: %s", diagText(c, diags))
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Detail, "anyone") {
		t.Errorf("want one warning that anyone can create work items, got %v", w)
	}
}

func TestAdmin(t *testing.T) {
	const rest = `
auth "dev" {}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	tests := []struct {
		name  string
		admin string // the admin block's body
		want  Admin
		err   string // part of the error; "" for none
		warn  string // part of the warning; "" for none
	}{
		{name: "default", want: Admin{Listen: DefaultAdminListen}},
		{name: "token of 16 characters", admin: `token = "0123456789abcdef"`, want: Admin{Listen: DefaultAdminListen, Token: "0123456789abcdef"}},
		{name: "token read with env()", admin: `token = env("ITSM_TEST_ADMIN_TOKEN")`, want: Admin{Listen: DefaultAdminListen, Token: "from-the-environment-0001"}},
		{name: "metrics_auth", admin: `token = "0123456789abcdef"
metrics_auth = true`, want: Admin{Listen: DefaultAdminListen, Token: "0123456789abcdef", MetricsAuth: true}},
		{name: "loopback names need no token", admin: `listen = "localhost:9464"`, want: Admin{Listen: "localhost:9464"}},
		{name: "IPv6 loopback needs no token", admin: `listen = "[::1]:9464"`, want: Admin{Listen: "[::1]:9464"}},
		{name: "other loopback addresses need no token", admin: `listen = "127.0.0.2:9464"`, want: Admin{Listen: "127.0.0.2:9464"}},
		{name: "non-loopback with a token", admin: `listen = "0.0.0.0:9464"
token = "0123456789abcdef"`, want: Admin{Listen: "0.0.0.0:9464", Token: "0123456789abcdef"}},
		{name: "all interfaces without a token", admin: `listen = ":9464"`, want: Admin{Listen: ":9464"}, warn: `admin.listen = ":9464" is not a loopback address and admin.token is not set`},
		{name: "host name without a token", admin: `listen = "admin.internal:9464"`, want: Admin{Listen: "admin.internal:9464"}, warn: "anyone who can reach it"},
		{name: "short token", admin: `token = "0123456789abcde"`, err: "admin.token must be at least 16 characters; it has 15"},
		{name: "empty token", admin: `token = ""`, err: "admin.token must be at least 16 characters; it has 0"},
		{name: "empty token from the environment", admin: `token = env("ITSM_TEST_EMPTY")`, err: "admin.token must be at least 16 characters; it has 0"},
		{name: "token with a space", admin: `token = "0123456789 abcdef"`, err: "admin.token may contain only printable ASCII characters without spaces"},
		{name: "token with a non-ASCII character", admin: `token = "0123456789abcdefé"`, err: "admin.token may contain only printable ASCII characters without spaces"},
		{name: "metrics_auth without a token", admin: `metrics_auth = true`, err: "admin.metrics_auth needs admin.token"},
		{name: "metrics_auth not a bool", admin: `metrics_auth = "yes please"`, err: "Unsuitable value type"},
		{name: "allowed_hosts", admin: `allowed_hosts = ["itsm-admin.example.com", "itsm-admin", "10.0.5.7", "::1"]`,
			want: Admin{Listen: DefaultAdminListen, AllowedHosts: []string{"itsm-admin.example.com", "itsm-admin", "10.0.5.7", "::1"}}},
		{name: "allowed_hosts with a port", admin: `allowed_hosts = ["ok.example.com", "itsm-admin:9464"]`, err: `admin.allowed_hosts[1] = "itsm-admin:9464" is not a host name`},
		{name: "allowed_hosts with a scheme", admin: `allowed_hosts = ["http://itsm-admin"]`, err: `admin.allowed_hosts[0] = "http://itsm-admin" is not a host name`},
		{name: "allowed_hosts wildcard", admin: `allowed_hosts = ["*"]`, err: `admin.allowed_hosts[0] = "*" is not a host name`},
		{name: "allowed_hosts empty name", admin: `allowed_hosts = [""]`, err: `admin.allowed_hosts[0] = "" is not a host name`},
		{name: "max_connections", admin: `max_connections = 10`, want: Admin{Listen: DefaultAdminListen, MaxConnections: 10}},
		{name: "max_connections zero", admin: `max_connections = 0`, err: "admin.max_connections = 0: it caps the listener's open connections"},
	}
	t.Setenv("ITSM_TEST_ADMIN_TOKEN", "from-the-environment-0001")
	t.Setenv("ITSM_TEST_EMPTY", "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := Load([]byte("admin {\n"+tc.admin+"\n}\n"+rest), "inline.hcl")
			text := diagText(c, diags)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				for _, d := range diags {
					if strings.Contains(d.Detail, "0123456789") {
						t.Errorf("diagnostic shows the token: %s", d.Detail)
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", text)
			}
			if tc.want.MaxConnections == 0 {
				tc.want.MaxConnections = DefaultAdminMaxConnections
			}
			if !reflect.DeepEqual(c.Admin, tc.want) {
				t.Errorf("admin = %#v, want %#v", c.Admin, tc.want)
			}
			if tc.warn == "" && len(diags) > 0 || tc.warn != "" && (len(diags) != 1 || !strings.Contains(diags[0].Detail, tc.warn)) {
				t.Errorf("want warning %q, got:\n%s", tc.warn, text)
			}
		})
	}
}

func TestRefreshAdminWarning(t *testing.T) {
	// serve -admin-listen changes admin.listen after Load; the warning
	// follows the address actually used.
	tests := []struct {
		name, file, override string
		token                string
		wantWarning          bool
	}{
		{name: "loopback to all interfaces", file: "127.0.0.1:9464", override: "0.0.0.0:9464", wantWarning: true},
		{name: "all interfaces to loopback", file: "0.0.0.0:9464", override: "127.0.0.1:9464"},
		{name: "all interfaces to a host", file: "0.0.0.0:9464", override: "10.0.0.5:9464", wantWarning: true},
		{name: "token set", file: "127.0.0.1:9464", override: "0.0.0.0:9464", token: "0123456789abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{}
			c.applyDefaults()
			c.Admin = Admin{Listen: tc.file, Token: tc.token}
			c.Auth.Type = AuthDev
			c.Backends = []*Backend{{Type: "file", Name: "a", MaxInFlight: 1, MaxAge: time.Hour}}
			c.Routes = []*Route{{Name: "r", SendTo: []BackendRef{{Type: "file", Name: "a"}}}}
			other := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Other"}
			diags := append(c.Validate(), other)
			c.Admin.Listen = tc.override
			diags = c.RefreshAdminWarning(diags)
			var found []string
			for _, d := range diags {
				if d.Summary == SummaryAdminUnprotected {
					found = append(found, d.Detail)
				}
			}
			if !slices.Contains(diags, other) {
				t.Errorf("other diagnostics dropped: %v", diags)
			}
			if tc.wantWarning != (len(found) == 1) || len(found) > 1 || (len(found) == 1 && !strings.Contains(found[0], tc.override)) {
				t.Errorf("warnings %q, want one naming %s: %v", found, tc.override, tc.wantWarning)
			}
		})
	}
}

func TestValidateInCode(t *testing.T) {
	// A Config built in code has no ranges; Validate still names the field.
	c := &Config{}
	c.applyDefaults()
	c.Auth.Type = AuthNone
	c.Store = Store{Driver: DriverPostgres}
	c.Backends = []*Backend{{Type: "file", Name: "a", MaxInFlight: 1, MaxAge: time.Hour}}
	c.Routes = []*Route{{Name: "r", SendTo: []BackendRef{{Type: "file", Name: "a"}}}}
	diags := c.Validate()
	found := false
	for _, d := range diags.Errs() {
		found = found || strings.Contains(d.Error(), "store.dsn")
	}
	if !found {
		t.Errorf("want an error naming store.dsn, got %v", diags)
	}
}

func TestAuditRetention(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	tests := []struct {
		name  string
		store string // the store block, or "" for none
		want  time.Duration
		err   string // part of the error; "" for none
	}{
		{"default without a store block", "", DefaultAuditRetention, ""},
		{"default when left out", `store { path = "x.db" }`, DefaultAuditRetention, ""},
		{"hours", `store { audit_retention = "48h" }`, 48 * time.Hour, ""},
		{"days", `store { audit_retention = "90d" }`, 90 * 24 * time.Hour, ""},
		{"zero keeps forever", `store { audit_retention = "0" }`, 0, ""},
		{"negative", `store { audit_retention = "-1h" }`, 0, `audit_retention = "-1h": negative duration`},
		{"unparsable", `store { audit_retention = "a month" }`, 0, `audit_retention = "a month": not a duration`},
		{"number without a unit", `store { audit_retention = 3600 }`, 0, `audit_retention = "3600": not a duration`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := Load([]byte(tc.store+rest), "inline.hcl")
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
					t.Fatalf("want an error containing %q, got %v", tc.err, diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
			}
			if c.Store.AuditRetention != tc.want {
				t.Errorf("audit_retention = %v, want %v", c.Store.AuditRetention, tc.want)
			}
		})
	}

	// A Config built in code is checked by Validate, which names the field.
	c := &Config{}
	c.applyDefaults()
	c.Auth.Type = AuthNone
	c.Store.AuditRetention = -time.Hour
	c.Backends = []*Backend{{Type: "file", Name: "a", MaxInFlight: 1, MaxAge: time.Hour}}
	c.Routes = []*Route{{Name: "r", SendTo: []BackendRef{{Type: "file", Name: "a"}}}}
	errs := c.Validate().Errs()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "store.audit_retention") {
		t.Errorf("want one error naming store.audit_retention, got %v", errs)
	}
}

func TestOnResolvedWithoutItem(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name string
		attr string // the attribute line, or "" for none
		want string
		err  string // part of the error; "" for none
	}{
		{"default", "", OnResolvedRecord, ""},
		{"record", `on_resolved_without_item = "record"`, OnResolvedRecord, ""},
		{"create_and_resolve", `on_resolved_without_item = "create_and_resolve"`, OnResolvedCreateAndResolve, ""},
		{"unknown", `on_resolved_without_item = "ignore"`, "", `on_resolved_without_item "ignore" of route "r" is not known; use "record"`},
		{"not a string", `on_resolved_without_item = ["record"]`, "", "Unsuitable value type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := rest + "route \"r\" {\n  send_to = [backend.file.a]\n  " + tc.attr + "\n}\n"
			c, diags := Load([]byte(src), "inline.hcl")
			if tc.err != "" {
				if text := diagText(c, diags); !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
			}
			if got := c.Routes[0].OnResolvedWithoutItem; got != tc.want {
				t.Errorf("on_resolved_without_item = %q, want %q", got, tc.want)
			}
		})
	}

	// A Config built in code may leave it empty (the default); an unknown
	// value is named by Validate.
	c := &Config{}
	c.applyDefaults()
	c.Auth.Type = AuthNone
	c.Backends = []*Backend{{Type: "file", Name: "a", MaxInFlight: 1, MaxAge: time.Hour}}
	c.Routes = []*Route{{Name: "r", SendTo: []BackendRef{{Type: "file", Name: "a"}}}}
	if errs := c.Validate().Errs(); len(errs) != 0 {
		t.Errorf("empty on_resolved_without_item: %v", errs)
	}
	c.Routes[0].OnResolvedWithoutItem = "create-and-resolve"
	errs := c.Validate().Errs()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "on_resolved_without_item") || !strings.Contains(errs[0].Error(), `"create_and_resolve"`) {
		t.Errorf("want one error naming on_resolved_without_item and its values, got %v", errs)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"24h", 24 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"0s", 0, true},
		{"", 0, false},
		{"1 day", 0, false},
		{"-5m", 0, false},
		{"-7d", 0, false},
		{"xd", 0, false},
		{"5", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, diags := LoadFile("testdata/does-not-exist.hcl")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "does-not-exist.hcl") {
		t.Errorf("want an error naming the file, got %v", diags)
	}
}

func diagText(c *Config, diags hcl.Diagnostics) string {
	var buf bytes.Buffer
	_ = WriteDiagnostics(&buf, c.Files, diags, false)
	return buf.String()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestMaxConfigurationItems(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name string
		attr string // the route's attribute lines
		want int
		diag string // part of the one error or warning; "" for none
		err  bool   // the diagnostic is an error
	}{
		{"default", "per_ci = true", DefaultMaxConfigurationItems, "", false},
		{"set", "per_ci = true\n  max_configuration_items = 5", 5, "", false},
		{"one", "per_ci = true\n  max_configuration_items = 1", 1, "", false},
		{"zero is refused", "per_ci = true\n  max_configuration_items = 0", 0, `max_configuration_items of route "r" must be at least 1; the default is 100`, true},
		{"negative", "per_ci = true\n  max_configuration_items = -3", 0, "must be at least 1", true},
		{"not a number", "per_ci = true\n  max_configuration_items = \"many\"", 0, "Unsuitable value type", true},
		{"without per_ci it only warns", "max_configuration_items = 5", 5, `max_configuration_items of route "r" has no effect: the route sets no per_ci = true`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := rest + "route \"r\" {\n  send_to = [backend.file.a]\n  " + tc.attr + "\n}\n"
			c, diags := Load([]byte(src), "inline.hcl")
			text := diagText(c, diags)
			mentioned := strings.Contains(text, "max_configuration_items") || strings.Contains(text, "Unsuitable")
			if diags.HasErrors() != tc.err || !strings.Contains(text, tc.diag) || (tc.diag == "") == mentioned {
				t.Fatalf("want diagnostics containing %q (error %v), got:\n%s", tc.diag, tc.err, text)
			}
			if !tc.err {
				if got := c.Routes[0].MaxConfigurationItems; got != tc.want {
					t.Errorf("max_configuration_items = %d, want %d", got, tc.want)
				}
			}
		})
	}
}

// TestEntraIDSettings checks the auth "entra_id" settings as `validate`
// sees them; host/app's TestAuthSettingsValidateAndServeAgree checks that
// `serve` builds the verifier from exactly what is accepted here.
func TestEntraIDSettings(t *testing.T) {
	const rest = `
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	tests := []struct {
		name string
		attr string // one attribute line of the auth block
		err  string // part of the error; "" for none
		// check inspects the loaded settings when there is no error.
		check func(t *testing.T, c *Config)
	}{
		{name: "max_token_bytes below the verifier's minimum", attr: `max_token_bytes = 512`,
			err: "auth.max_token_bytes"},
		{name: "max_token_bytes zero", attr: `max_token_bytes = 0`, err: "auth.max_token_bytes"},
		{name: "max_token_bytes at the minimum", attr: `max_token_bytes = 1024`,
			check: func(t *testing.T, c *Config) { eq(t, "max_token_bytes", c.Auth.EntraID.MaxTokenBytes, 1024) }},
		{name: "clock_skew 30m", attr: `clock_skew = "30m"`,
			check: func(t *testing.T, c *Config) { eq(t, "clock_skew", c.Auth.EntraID.ClockSkew, 30*time.Minute) }},
		{name: "clock_skew 1h", attr: `clock_skew = "1h"`,
			check: func(t *testing.T, c *Config) { eq(t, "clock_skew", c.Auth.EntraID.ClockSkew, time.Hour) }},
		{name: "clock_skew over 1h", attr: `clock_skew = "2h"`, err: "clock_skew = 2h is more than 1h"},
		{name: "clock_skew negative", attr: `clock_skew = "-1m"`, err: "negative duration"},
		{name: "explicit zero clock_skew is zero", attr: `clock_skew = "0s"`,
			check: func(t *testing.T, c *Config) { eq(t, "clock_skew", c.Auth.EntraID.ClockSkew, time.Duration(0)) }},
		{name: "explicit zero cache_entries disables the cache", attr: `cache_entries = 0`,
			check: func(t *testing.T, c *Config) { eq(t, "cache_entries", c.Auth.EntraID.CacheEntries, 0) }},
		{name: "negative cache_entries", attr: `cache_entries = -1`, err: "auth.cache_entries"},
		{name: "max_token_lifetime 2h", attr: `max_token_lifetime = "2h"`,
			check: func(t *testing.T, c *Config) {
				eq(t, "max_token_lifetime", c.Auth.EntraID.MaxTokenLifetime, 2*time.Hour)
			}},
		{name: "max_token_lifetime in days", attr: `max_token_lifetime = "7d"`,
			check: func(t *testing.T, c *Config) {
				eq(t, "max_token_lifetime", c.Auth.EntraID.MaxTokenLifetime, 7*24*time.Hour)
			}},
		{name: "explicit zero max_token_lifetime is refused", attr: `max_token_lifetime = "0s"`,
			err: "max_token_lifetime = 0s would refuse every token"},
		{name: "max_token_lifetime under 10m", attr: `max_token_lifetime = "5m"`, err: "auth.max_token_lifetime"},
		{name: "max_token_lifetime over 7d", attr: `max_token_lifetime = "30d"`, err: "auth.max_token_lifetime"},
		{name: "max_token_lifetime negative", attr: `max_token_lifetime = "-1h"`, err: "negative duration"},
		{name: "max_token_lifetime not a duration", attr: `max_token_lifetime = "long"`, err: "Invalid duration for max_token_lifetime"},
		{name: "refresh_interval too short", attr: `refresh_interval = "30s"`, err: "auth.refresh_interval"},
		{name: "plain http authority off loopback", attr: `authority = "http://login.example.com"`,
			err: "auth.authority"},
		{name: "loopback http authority", attr: `authority = "http://127.0.0.1:8080"`,
			check: func(t *testing.T, c *Config) { eq(t, "authority", c.Auth.EntraID.Authority, "http://127.0.0.1:8080") }},
		{name: "allowed_app_ids not a GUID", attr: `allowed_app_ids = ["azure-monitor"]`, err: "auth.allowed_app_ids"},
		{name: "allowed_app_ids empty", attr: `allowed_app_ids = []`, err: "auth.allowed_app_ids"},
		{name: "duplicate token version", attr: `token_versions = ["1", "1.0"]`, err: "auth.token_versions"},
		{name: "empty role", attr: `required_roles = [""]`, err: "auth.required_roles"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "auth \"entra_id\" {\n  tenant_id = \"00000000-0000-0000-0000-000000000001\"\n  audiences = [\"api://x\"]\n  " +
				tc.attr + "\n}\n" + rest
			c, diags := Load([]byte(src), "inline.hcl")
			text := diagText(c, diags)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				for _, d := range diags {
					if d.Subject == nil {
						t.Errorf("diagnostic %q has no source range", d.Summary)
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", text)
			}
			tc.check(t, c)
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestRunAsAccount(t *testing.T) {
	tests := []struct {
		in, user, group string
		wantErr         string
	}{
		{in: "nobody", user: "nobody"},
		{in: "itsm-plugin:itsm-plugin", user: "itsm-plugin", group: "itsm-plugin"},
		{in: "1001:1001", user: "1001", group: "1001"},
		{in: "", wantErr: "names no user"},
		{in: ":wheel", wantErr: "names no user"},
		{in: "nobody:", wantErr: "one group name"},
		{in: "a:b:c", wantErr: "one group name"},
		{in: "no body", wantErr: "white space"},
	}
	for _, tt := range tests {
		user, group, err := RunAsAccount(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("RunAsAccount(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || user != tt.user || group != tt.group {
			t.Errorf("RunAsAccount(%q) = %q, %q, %v; want %q, %q", tt.in, user, group, err, tt.user, tt.group)
		}
	}
}

// TestTelemetry decodes the telemetry block: no block (or no traces block)
// is tracing off, left-out attributes take their defaults, and
// telemetry.Traces.Validate's problems point at the attribute.
func TestTelemetry(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	tests := []struct {
		name  string
		block string
		want  *telemetry.Traces
		err   string // part of the error; "" for none
		line  int    // the error's line, when err is set
	}{
		{"off without a block", "", nil, "", 0},
		{"off without a traces block", "telemetry {}\n", nil, "", 0},
		{"defaults", "telemetry {\n  traces {\n    exporter = \"otlp_grpc\"\n  }\n}\n",
			&telemetry.Traces{Exporter: "otlp_grpc", SampleRatio: 1}, "", 0},
		{"all set", "telemetry {\n  traces {\n    exporter = \"otlp_http\"\n    endpoint = \"collector:4318\"\n    insecure = true\n" +
			"    headers = { \"x-api-key\" = \"k\" }\n    sample_ratio = 0.5\n  }\n}\n",
			&telemetry.Traces{Exporter: "otlp_http", Endpoint: "collector:4318", Insecure: true, Headers: map[string]string{"x-api-key": "k"}, SampleRatio: 0.5}, "", 0},
		{"bad ratio", "telemetry {\n  traces {\n    exporter = \"otlp_grpc\"\n    sample_ratio = 0\n  }\n}\n", nil,
			"telemetry.traces.sample_ratio", 4},
		{"no exporter", "telemetry {\n  traces {\n    endpoint = \"collector:4317\"\n  }\n}\n", nil,
			"telemetry.traces.exporter", 2},
		{"unknown attribute", "telemetry {\n  traces {\n    exporter = \"otlp_grpc\"\n    url = \"x\"\n  }\n}\n", nil,
			`An argument named "url" is not expected here`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := Load([]byte(tc.block+rest), "inline.hcl")
			if tc.err != "" {
				var found *hcl.Diagnostic
				for _, d := range diags {
					if d.Severity == hcl.DiagError && strings.Contains(d.Summary+" "+d.Detail, tc.err) {
						found = d
					}
				}
				if found == nil {
					t.Fatalf("want an error containing %q, got %v", tc.err, diags)
				}
				if found.Subject == nil || found.Subject.Start.Line != tc.line {
					t.Errorf("the error points at %v, want line %d", found.Subject, tc.line)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
			}
			if !reflect.DeepEqual(c.Telemetry.Traces, tc.want) {
				t.Errorf("traces = %+v, want %+v", c.Telemetry.Traces, tc.want)
			}
		})
	}
}
