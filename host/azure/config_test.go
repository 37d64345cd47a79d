package azure

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := func(c Credential) Config { cfg := DefaultConfig(); cfg.Credential = c; return cfg }
	secret := Credential{Type: CredClientSecret, TenantID: "00000000-0000-0000-0000-000000000001", ClientID: "c", Secret: "s"}
	cases := []struct {
		name string
		cfg  Config
		// attrs are the attributes the errors name, in any order; none for a valid block.
		attrs []string
		want  string
	}{
		{"client secret", ok(secret), nil, ""},
		{"managed identity, system assigned", ok(Credential{Type: CredManagedIdentity}), nil, ""},
		{"managed identity, user assigned", ok(Credential{Type: CredManagedIdentity, ClientID: "c"}), nil, ""},
		{"managed identity takes no secret", ok(Credential{Type: CredManagedIdentity, Secret: "s"}), []string{"credential.secret"}, "takes only client_id"},
		{"workload identity complete", ok(Credential{Type: CredWorkloadIdentity, ClientID: "c", TenantID: "contoso.onmicrosoft.com", TokenFile: "/var/run/t"}), nil, ""},
		{"workload identity without its variables", ok(Credential{Type: CredWorkloadIdentity}),
			[]string{"credential.client_id", "credential.tenant_id", "credential.token_file"}, "AZURE_FEDERATED_TOKEN_FILE"},
		{"client secret without secret", ok(Credential{Type: CredClientSecret, TenantID: "t", ClientID: "c"}), []string{"credential.secret"}, "env() or file()"},
		{"client certificate", ok(Credential{Type: CredClientCertificate, TenantID: "t", ClientID: "c", CertificateFile: "c.pem"}), nil, ""},
		{"client certificate without file", ok(Credential{Type: CredClientCertificate, TenantID: "t", ClientID: "c"}), []string{"credential.certificate_file"}, "PKCS#12"},
		{"no credential", DefaultConfig(), []string{"credential"}, "managed_identity, workload_identity, client_secret, client_certificate"},
		{"unknown credential", ok(Credential{Type: "password"}), []string{"credential"}, `"password" is not known`},
		{"bad tenant", ok(Credential{Type: CredClientSecret, TenantID: "a/b", ClientID: "c", Secret: "s"}), []string{"credential.tenant_id"}, "GUID"},
		{"http authority", func() Config { c := ok(secret); c.Authority = "http://login.example/"; return c }(), []string{"authority"}, "https"},
		{"arm endpoint with a path", func() Config { c := ok(secret); c.ARMEndpoint = "https://management.azure.com/x"; return c }(), []string{"arm_endpoint"}, "without a path"},
		{"bad audience", func() Config { c := ok(secret); c.ARMAudience = "management"; return c }(), []string{"arm_audience"}, "https URL"},
		{"limits", func() Config {
			c := ok(secret)
			c.RateLimit, c.MaxInFlight, c.MaxAttempts, c.MaxAge = -1, 0, -1, 0
			return c
		}(), []string{"rate_limit", "max_in_flight", "max_attempts", "max_age"}, "max_age must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.attrs) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the block")
			}
			got := map[string]bool{}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				got[fe.Attr] = true
			}
			for _, a := range tc.attrs {
				if !got[a] {
					t.Errorf("no error names %s; got %v", a, err)
				}
			}
			if len(got) != len(tc.attrs) {
				t.Errorf("errors name %v, want %v", got, tc.attrs)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{EnvClientID: "cid", EnvTenantID: "tid", EnvFederatedTokenFile: "/tok"}
	c := DefaultConfig()
	c.Credential = Credential{Type: CredWorkloadIdentity, ClientID: "mine"}
	c.ApplyEnv(func(k string) string { return env[k] })
	if cr := c.Credential; cr.ClientID != "mine" || cr.TenantID != "tid" || cr.TokenFile != "/tok" {
		t.Errorf("ApplyEnv gave %+v; the block's client_id must win and the rest come from the environment", cr)
	}
	s := DefaultConfig()
	s.Credential = Credential{Type: CredClientSecret}
	s.ApplyEnv(func(k string) string { return env[k] })
	if s.Credential.ClientID != "" {
		t.Error("ApplyEnv filled a client_secret credential from the environment")
	}
}

func TestScope(t *testing.T) {
	c := DefaultConfig()
	if got := c.Scope(); got != "https://management.azure.com/.default" {
		t.Errorf("Scope = %q", got)
	}
	c.ARMEndpoint, c.ARMAudience = "https://management.local.azurestack.external/", "https://management.adfs.azurestack.local/abc"
	if got := c.Scope(); got != "https://management.adfs.azurestack.local/abc/.default" {
		t.Errorf("Scope with arm_audience = %q", got)
	}
}
