package rest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// TestAuthModes runs create and lookup with each auth mode against a fake
// that accepts only the right credential, and checks that a wrong one is a
// permanent error that does not show the secret.
func TestAuthModes(t *testing.T) {
	tests := []struct {
		name  string
		fake  restfake.Auth
		good  map[string]any
		wrong map[string]any
	}{
		{"none", restfake.Auth{}, nil, nil},
		{"basic", restfake.Auth{Basic: &[2]string{"svc-itsm", "b4sic-pa55word"}},
			map[string]any{"type": "basic", "username": "svc-itsm", "password": "b4sic-pa55word"},
			map[string]any{"type": "basic", "username": "svc-itsm", "password": "wrong-pa55word"}},
		{"bearer", restfake.Auth{Bearer: "st4tic-bearer-token"},
			map[string]any{"type": "bearer", "token": "st4tic-bearer-token"},
			map[string]any{"type": "bearer", "token": "wrong-bearer-token"}},
		{"api key with prefix", restfake.Auth{Header: "Authorization", Value: "GenieKey k3y-0123456789"},
			map[string]any{"type": "api_key", "api_key_header": "Authorization", "api_key_prefix": "GenieKey ", "api_key": "k3y-0123456789"},
			map[string]any{"type": "api_key", "api_key_header": "Authorization", "api_key_prefix": "GenieKey ", "api_key": "k3y-wrong-value"}},
		{"api key default header", restfake.Auth{Header: "X-API-Key", Value: "k3y-0123456789"},
			map[string]any{"type": "api_key", "api_key": "k3y-0123456789"},
			map[string]any{"type": "api_key", "api_key": "k3y-wrong-value"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{Auth: tc.fake}, func(cfg map[string]any) {
				if tc.good != nil {
					cfg["auth"] = tc.good
				}
			})
			wi := e.create("k1")
			found, err := e.p.Lookup(context.Background(), e.request("k1", nil))
			if err != nil || found == nil || found.ID != wi.ID {
				t.Fatalf("Lookup = %+v, %v; want %s", found, err, wi.ID)
			}
			if tc.wrong == nil {
				return
			}
			e2 := newEnv(t, restfake.Options{Auth: tc.fake}, func(cfg map[string]any) { cfg["auth"] = tc.wrong })
			_, err = e2.p.Create(context.Background(), e2.request("k2", nil))
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "HTTP 401") {
				t.Fatalf("Create with a wrong credential = %v (%s); want a permanent 401", err, sdk.KindOf(err))
			}
			for _, v := range tc.wrong {
				if s, ok := v.(string); ok && len(s) > 8 && strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows a credential", err)
				}
			}
		})
	}
}

func oauthFake(ttl time.Duration, clientAuth string) restfake.Options {
	return restfake.Options{Auth: restfake.Auth{OAuth: &restfake.OAuth{
		ClientID: "itsm-connector", ClientSecret: "0auth-client-s3cret", Scope: "tickets:write assets:read",
		ClientAuth: clientAuth, TTL: ttl, Params: map[string]string{"audience": "https://tickets.example.com"},
	}}}
}

func oauthConfig(url, clientAuth string) map[string]any {
	return map[string]any{
		"type": "oauth2", "token_url": url + "/oauth/token", "client_id": "itsm-connector",
		"client_secret": "0auth-client-s3cret", "scopes": []string{"tickets:write", "assets:read"},
		"token_params": map[string]string{"audience": "https://tickets.example.com"}, "client_auth": clientAuth,
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	for _, style := range []string{"basic", "body"} {
		t.Run(style, func(t *testing.T) {
			e := newEnv(t, oauthFake(time.Hour, style), nil)
			// The token URL is the fake's, known only once it runs.
			if err := sdktest.Rejected(e.p.Configure(context.Background(), sdktest.ConfigOf(t, withAuth(ticketConfig(e.fake.URL), oauthConfig(e.fake.URL, style))))); err != nil {
				t.Fatal(err)
			}
			wi := e.create("k1")
			for range 3 {
				if _, err := e.p.Update(context.Background(), e.request("k1", wi)); err != nil {
					t.Fatalf("Update: %v", err)
				}
			}
			if n := e.fake.TokensIssued(); n != 1 {
				t.Errorf("%d tokens for four calls; want one, cached", n)
			}
			req := e.fake.TokenRequests()[0]
			if req.Get("grant_type") != "client_credentials" || req.Get("scope") != "tickets:write assets:read" || req.Get("audience") == "" {
				t.Errorf("token request = %v", req)
			}
			if (req.Get("client_secret") != "") != (style == "body") {
				t.Errorf("client_auth %s: token request form = %v", style, req)
			}

			// Expired: a new token before the call.
			e.clock.Advance(time.Hour)
			if _, err := e.p.Update(context.Background(), e.request("k1", wi)); err != nil {
				t.Fatalf("Update after expiry: %v", err)
			}
			if n := e.fake.TokensIssued(); n != 2 {
				t.Errorf("%d tokens after expiry; want 2", n)
			}
			// Revoked server-side: the 401 fetches a new token once.
			e.fake.RevokeTokens()
			if _, err := e.p.Update(context.Background(), e.request("k1", wi)); err != nil {
				t.Fatalf("Update after revocation: %v", err)
			}
			if n := e.fake.TokensIssued(); n != 3 {
				t.Errorf("%d tokens after revocation; want 3", n)
			}
		})
	}
}

func withAuth(cfg, auth map[string]any) map[string]any {
	cfg["auth"] = auth
	return cfg
}

func TestOAuth2Failures(t *testing.T) {
	e := newEnv(t, oauthFake(time.Hour, "basic"), nil)
	bad := oauthConfig(e.fake.URL, "basic")
	bad["client_secret"] = "wrong-client-s3cret"
	if err := sdktest.Rejected(e.p.Configure(context.Background(), sdktest.ConfigOf(t, withAuth(ticketConfig(e.fake.URL), bad)))); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.Create(context.Background(), e.request("k", nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "wrong-client-s3cret") {
		t.Errorf("Create with a bad client secret = %v (%s)", err, sdk.KindOf(err))
	}

	// A token endpoint that is down is retryable, with its Retry-After.
	down := httpStatusServer(t, http.StatusServiceUnavailable, http.Header{"Retry-After": {"12"}})
	cfg := oauthConfig(e.fake.URL, "basic")
	cfg["token_url"] = down
	if err := sdktest.Rejected(e.p.Configure(context.Background(), sdktest.ConfigOf(t, withAuth(ticketConfig(e.fake.URL), cfg)))); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Create(context.Background(), e.request("k", nil))
	if sdk.KindOf(err) != sdk.KindRetryable || sdk.RetryAfterOf(err) != 12*time.Second {
		t.Errorf("Create with the token endpoint down = %v (%s, %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
}

func TestHMACSignature(t *testing.T) {
	for _, enc := range []string{"hex", "base64"} {
		t.Run(enc, func(t *testing.T) {
			h := &restfake.HMAC{Secret: "hm4c-signing-secret", Header: "X-Signature-256", Prefix: "sha256=", Encoding: enc}
			e := newEnv(t, restfake.Options{HMAC: h, Auth: restfake.Auth{Bearer: "st4tic-bearer-token"}}, func(cfg map[string]any) {
				cfg["auth"] = map[string]any{"type": "bearer", "token": "st4tic-bearer-token"}
				cfg["hmac"] = map[string]any{"secret": h.Secret, "header": h.Header, "prefix": h.Prefix, "encoding": enc}
			})
			wi := e.create("k1") // POST with a body
			if _, err := e.p.Lookup(context.Background(), e.request("k1", nil)); err != nil {
				t.Fatalf("Lookup (no body) = %v", err)
			}
			if _, err := e.p.Resolve(context.Background(), e.request("k1", wi)); err != nil {
				t.Fatalf("Resolve = %v", err)
			}
			sig := e.fake.Requests()[0].Header.Get("X-Signature-256")
			if !strings.HasPrefix(sig, "sha256=") {
				t.Errorf("signature header = %q", sig)
			}

			// A different secret: the fake refuses the signature.
			e2 := newEnv(t, restfake.Options{HMAC: h}, func(cfg map[string]any) {
				cfg["hmac"] = map[string]any{"secret": "other-signing-secret", "header": h.Header, "prefix": h.Prefix, "encoding": enc}
			})
			_, err := e2.p.Create(context.Background(), e2.request("k2", nil))
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "signature does not match") {
				t.Errorf("Create with a wrong secret = %v", err)
			}
		})
	}
}

func TestBodySecrets(t *testing.T) {
	e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
		cfg["body_secrets"] = map[string]any{"ticket.requester_token": "b0dy-secret-value", "$.routing_key": "r0uting-key-value"}
	})
	e.create("k1")
	body := string(e.fake.Requests()[0].Body)
	if !strings.Contains(body, `"requester_token":"b0dy-secret-value"`) || !strings.Contains(body, `"routing_key":"r0uting-key-value"`) {
		t.Errorf("body = %s; want both secrets written", body)
	}
	// A body that is not a JSON object cannot carry them; the error does
	// not quote the body.
	req := e.request("k2", nil)
	req.Values = sdk.Values(`{"create": {"url": "/api/v2/tickets", "body": "subject=b0dy-secret-value"}}`)
	_, err := e.p.Create(context.Background(), req)
	if sdk.KindOf(err) != sdk.KindPermanent || strings.Contains(err.Error(), "b0dy-secret-value") {
		t.Errorf("Create with a form body = %v", err)
	}
}

// TestMutualTLS: a private CA for the server, a client certificate.
func TestMutualTLS(t *testing.T) {
	ca := fakehttp.NewCA(t)
	certPEM, keyPEM := ca.ClientCert(t)
	fake := restfake.NewTickets(restfake.Options{ClientCAs: ca.Pool()})
	t.Cleanup(fake.Close)

	configure := func(tlsBlock map[string]any) *Plugin {
		cfg := ticketConfig(fake.URL)
		cfg["tls"] = tlsBlock
		p := New(Options{Logger: slog.New(slog.DiscardHandler)})
		if err := sdktest.Rejected(p.Configure(context.Background(), sdktest.ConfigOf(t, cfg))); err != nil {
			t.Fatal(err)
		}
		return p
	}
	e := &env{t: t}
	p := configure(map[string]any{"ca_cert": string(fake.CertPEM()), "client_cert": certPEM, "client_key": keyPEM})
	if _, err := p.Create(context.Background(), e.request("k", nil)); err != nil {
		t.Fatalf("Create over mutual TLS: %v", err)
	}
	p = configure(map[string]any{"client_cert": certPEM, "client_key": keyPEM})
	if _, err := p.Create(context.Background(), e.request("k", nil)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Create without the CA = %v; want a certificate error", err)
	}
	p = configure(map[string]any{"ca_cert": string(fake.CertPEM())})
	if _, err := p.Create(context.Background(), e.request("k", nil)); err == nil {
		t.Error("Create without a client certificate succeeded")
	}
}

func TestInsecureSkipVerifyWarns(t *testing.T) {
	fake := restfake.NewTickets(restfake.Options{TLS: true})
	t.Cleanup(fake.Close)
	logs := &fakehttp.LogBuffer{}
	p := New(Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	cfg := ticketConfig(fake.URL)
	cfg["tls"] = map[string]any{"insecure_skip_verify": true}
	// The warning reaches the host with its path, so validate shows its line.
	sdktest.ConfigureWarnings(t, p, sdktest.ConfigOf(t, cfg), []string{"tls", "insecure_skip_verify"})
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "VERIFICATION IS DISABLED") {
		t.Errorf("no loud warning in the logs:\n%s", logs)
	}
	e := &env{t: t}
	if _, err := p.Create(context.Background(), e.request("k", nil)); err != nil {
		t.Fatalf("Create with verification off: %v", err)
	}
}
