package servicenow

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

const (
	testClientID     = "itsm-connector-client"
	testClientSecret = "cl1ent-secret-never-logged"
	testAPIKey       = "api-key-never-logged-0123456789"
)

func oauthFake(noRefresh bool) func(*snowfake.Options) {
	return func(o *snowfake.Options) {
		o.OAuthClients = map[string]string{testClientID: testClientSecret}
		o.TokenTTL = 30 * time.Minute
		o.NoRefreshTokens = noRefresh
	}
}

func oauthConfig(grant string) func(map[string]any) {
	return func(cfg map[string]any) {
		a := map[string]any{"type": "oauth", "client_id": testClientID, "client_secret": testClientSecret, "grant_type": grant}
		if grant == GrantPassword {
			a["username"], a["password"] = testUser, testPassword
		}
		cfg["auth"] = a
		cfg["cmdb"] = map[string]any{"enabled": false}
	}
}

// grants returns the grant_type of every token request, in order.
func (e *env) grants() []string {
	var out []string
	for _, r := range e.requests("POST", "/oauth_token.do") {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			e.t.Errorf("token request Content-Type = %q, want form encoding", ct)
		}
		out = append(out, grantOf(string(r.Body)))
	}
	return out
}

func grantOf(form string) string {
	for _, kv := range strings.Split(form, "&") {
		if g, ok := strings.CutPrefix(kv, "grant_type="); ok {
			return g
		}
	}
	return ""
}

func TestOAuthPasswordGrantAndRefresh(t *testing.T) {
	e := newEnv(t, oauthFake(false), oauthConfig(GrantPassword))
	ctx := context.Background()
	lookup := func() error {
		_, err := e.p.Lookup(ctx, e.request("k", alert(), nil))
		return err
	}
	for range 3 {
		if err := lookup(); err != nil {
			t.Fatal(err)
		}
	}
	if g := e.grants(); !slices.Equal(g, []string{"password"}) {
		t.Errorf("grants after three calls = %v; want one cached password grant", g)
	}

	// Shortly before expiry the token is renewed with the refresh token.
	e.clock.Advance(29*time.Minute + 30*time.Second)
	if err := lookup(); err != nil {
		t.Fatal(err)
	}
	if g := e.grants(); !slices.Equal(g, []string{"password", "refresh_token"}) {
		t.Errorf("grants after expiry = %v; want the refresh grant", g)
	}

	// A 401 (token revoked server-side) is retried once after a refresh.
	e.fake.ExpireTokens()
	if err := lookup(); err != nil {
		t.Fatalf("call after the instance dropped the token: %v", err)
	}
	if g := e.grants(); !slices.Equal(g, []string{"password", "refresh_token", "refresh_token"}) {
		t.Errorf("grants after a 401 = %v", g)
	}

	// A rejected refresh token falls back to the password grant.
	e.fake.ExpireTokens()
	e.fake.RevokeRefreshTokens()
	if err := lookup(); err != nil {
		t.Fatalf("call after the refresh token was revoked: %v", err)
	}
	if g := e.grants(); !slices.Equal(g, []string{"password", "refresh_token", "refresh_token", "refresh_token", "password"}) {
		t.Errorf("grants after refresh revoked = %v", g)
	}
	if strings.Contains(e.logs.String(), testClientSecret) || strings.Contains(e.logs.String(), testPassword) {
		t.Error("a secret leaked into the logs")
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	e := newEnv(t, oauthFake(false), oauthConfig(GrantClientCredentials))
	ctx := context.Background()
	if _, err := e.p.Lookup(ctx, e.request("k", alert(), nil)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.p.Lookup(ctx, e.request("k", alert(), nil)); err != nil {
		t.Fatal(err)
	}
	if g := e.grants(); !slices.Equal(g, []string{"client_credentials", "client_credentials"}) {
		t.Errorf("grants = %v; client_credentials offers no refresh token", g)
	}
}

func TestOAuth401TwiceIsPermanent(t *testing.T) {
	e := newEnv(t, oauthFake(true), oauthConfig(GrantClientCredentials))
	e.fake.FailNext(2, 401, nil, "")
	_, err := e.p.Lookup(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("two 401s = %v (%s); want permanent", err, sdk.KindOf(err))
	}
	if g := e.grants(); len(g) != 2 {
		t.Errorf("grants = %v; want one token, one renewal after the first 401", g)
	}
}

func TestOAuthBadSecret(t *testing.T) {
	e := newEnv(t, oauthFake(false), func(cfg map[string]any) {
		oauthConfig(GrantClientCredentials)(cfg)
		cfg["auth"].(map[string]any)["client_secret"] = "wrong-secret-value"
	})
	_, err := e.p.Create(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "oauth token") {
		t.Fatalf("bad secret = %v (%s); want a permanent oauth error", err, sdk.KindOf(err))
	}
	if strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(e.logs.String(), "wrong-secret-value") {
		t.Error("the client secret leaked")
	}
}

func TestAPIKey(t *testing.T) {
	e := newEnv(t, func(o *snowfake.Options) { o.APIKeys = []string{testAPIKey} }, func(cfg map[string]any) {
		cfg["auth"] = map[string]any{"type": "api_key", "api_key": testAPIKey}
	})
	e.create("k", alert())
	for _, r := range e.fake.Requests() {
		if r.Header.Get("x-sn-apikey") != testAPIKey || r.Header.Get("Authorization") != "" {
			t.Errorf("%s %s: API key header missing or other credentials sent", r.Method, r.Path)
		}
	}
}

// TestMutualTLS: a private CA for the server, a client certificate as the
// only credential.
func TestMutualTLS(t *testing.T) {
	ca := fakehttp.NewCA(t)
	clientCertPEM, clientKeyPEM := ca.ClientCert(t)
	c := fakehttp.NewClock()
	fake := snowfake.New(snowfake.Options{ClientCAs: ca.Pool(), Now: c.Now})
	t.Cleanup(fake.Close)

	configure := func(tlsBlock map[string]any) (*Plugin, error) {
		cfg := baseConfig(fake.URL)
		cfg["auth"] = map[string]any{"type": "certificate"}
		cfg["tls"] = tlsBlock
		p := New(Options{Logger: slog.New(slog.DiscardHandler), Now: c.Now})
		return p, sdktest.Rejected(p.Configure(context.Background(), sdktest.ConfigOf(t, cfg)))
	}
	p, err := configure(map[string]any{"ca_cert": string(fake.CertPEM()), "client_cert": clientCertPEM, "client_key": clientKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()}); err != nil {
		t.Fatalf("Create over mutual TLS: %v", err)
	}

	// Without the custom CA the server's certificate is not trusted.
	p, err = configure(map[string]any{"client_cert": clientCertPEM, "client_key": clientKeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Create without the CA = %v; want a certificate error", err)
	}

	// Without a client certificate the instance refuses.
	_, err = configure(map[string]any{"ca_cert": string(fake.CertPEM()), "insecure_skip_verify": true})
	if err == nil {
		t.Fatal("certificate auth without a client certificate was accepted")
	}
	if d := sdk.AsDiagnostics(err); !hasPath(d, "auth", "type") {
		t.Errorf("diagnostics = %v", d)
	}
}

func TestInsecureSkipVerifyWarns(t *testing.T) {
	c := fakehttp.NewClock()
	fake := snowfake.New(snowfake.Options{TLS: true, Now: c.Now})
	t.Cleanup(fake.Close)
	logs := &fakehttp.LogBuffer{}
	p := New(Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: c.Now})
	cfg := baseConfig(fake.URL)
	cfg["tls"] = map[string]any{"insecure_skip_verify": true}
	// The warning reaches the host with its path, so validate shows its line.
	sdktest.ConfigureWarnings(t, p, sdktest.ConfigOf(t, cfg), []string{"tls", "insecure_skip_verify"})
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "VERIFICATION IS DISABLED") {
		t.Errorf("no loud warning in the logs:\n%s", logs)
	}
	if _, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()}); err != nil {
		t.Fatalf("Create with verification off: %v", err)
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(map[string]any)
		path   []string
	}{
		{"no instance_url", func(c map[string]any) { delete(c, "instance_url") }, []string{"instance_url"}},
		{"bad scheme", func(c map[string]any) { c["instance_url"] = "ftp://x" }, []string{"instance_url"}},
		{"credentials in url", func(c map[string]any) { c["instance_url"] = "https://u:p@x.service-now.com" }, []string{"instance_url"}},
		{"bad mode", func(c map[string]any) { c["mode"] = "ticket" }, []string{"mode"}},
		{"bad timeout", func(c map[string]any) { c["timeout"] = "soon" }, []string{"timeout"}},
		{"no auth", func(c map[string]any) { delete(c, "auth") }, []string{"auth"}},
		{"unknown auth", func(c map[string]any) { c["auth"] = map[string]any{"type": "kerberos"} }, []string{"auth", "type"}},
		{"basic without password", func(c map[string]any) { c["auth"] = map[string]any{"type": "basic", "username": "u"} }, []string{"auth", "password"}},
		{"oauth without secret", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "oauth", "client_id": "c"}
		}, []string{"auth", "client_secret"}},
		{"oauth bad grant", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "oauth", "client_id": "c", "client_secret": "s", "grant_type": "implicit"}
		}, []string{"auth", "grant_type"}},
		{"api key missing", func(c map[string]any) { c["auth"] = map[string]any{"type": "api_key"} }, []string{"auth", "api_key"}},
		{"bad ca", func(c map[string]any) { c["tls"] = map[string]any{"ca_cert": "not pem"} }, []string{"tls", "ca_cert"}},
		{"key without cert", func(c map[string]any) { c["tls"] = map[string]any{"client_key": "x"} }, []string{"tls", "client_cert"}},
		{"bad severity key", func(c map[string]any) {
			c["severity_map"] = map[string]any{"Sev9": map[string]any{"urgency": 1, "impact": 1}}
		}, []string{"severity_map", "Sev9"}},
		{"bad urgency", func(c map[string]any) {
			c["severity_map"] = map[string]any{"Sev0": map[string]any{"urgency": 4, "impact": 1}}
		}, []string{"severity_map", "Sev0", "urgency"}},
		{"short correlation field", func(c map[string]any) {
			c["incident"] = map[string]any{"correlation_id_max": 40}
		}, []string{"incident", "correlation_id_max"}},
		{"bad match order", func(c map[string]any) {
			c["cmdb"] = map[string]any{"match_order": []any{"serial_number"}}
		}, []string{"cmdb", "match_order"}},
		{"bad cache ttl", func(c map[string]any) { c["cmdb"] = map[string]any{"cache_ttl": "-1m"} }, []string{"cmdb", "cache_ttl"}},
		{"bad event severity", func(c map[string]any) {
			c["event"] = map[string]any{"severity_map": map[string]any{"Sev0": 0}}
		}, []string{"event", "severity_map", "Sev0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig("https://contoso.service-now.com")
			cfg["auth"].(map[string]any)["password"] = testPassword
			tt.mutate(cfg)
			err := New(Options{}).Configure(context.Background(), sdktest.ConfigOf(t, cfg))
			if err == nil {
				t.Fatal("Configure succeeded")
			}
			d := sdk.AsDiagnostics(err)
			if !hasPath(d, tt.path...) {
				t.Errorf("diagnostics %v lack an error at %v", d, tt.path)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Error("a diagnostic repeats the password")
			}
		})
	}
	// A valid configuration with only warnings succeeds.
	if err := sdktest.Rejected(New(Options{}).Configure(context.Background(), sdktest.ConfigOf(t, baseConfig("http://127.0.0.1:1")))); err != nil {
		t.Errorf("plain http (a warning) failed Configure: %v", err)
	}
	if err := Schema().Validate(); err != nil {
		t.Errorf("schema: %v", err)
	}
}

func hasPath(d sdk.Diagnostics, path ...string) bool {
	for _, x := range d {
		if x.Severity == sdk.SeverityError && slices.Equal(x.Path, path) && x.Summary != "" {
			return true
		}
	}
	return false
}
