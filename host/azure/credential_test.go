package azure_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/azure/azurefake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

const alertID = "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222222"

// trusting is an HTTP client that trusts the fake's certificate.
func trusting(t *testing.T, f *azurefake.Server) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(f.CertPEM()) {
		t.Fatal("fake certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// config points the azure block at the fake: its authority and ARM, the
// public cloud's audience, no instance discovery (a private authority).
func config(f *azurefake.Server, cred azure.Credential) azure.Config {
	c := azure.DefaultConfig()
	c.Credential = cred
	c.Authority, c.ARMEndpoint, c.ARMAudience, c.InstanceDiscovery = f.Authority(), f.URL, azurefake.DefaultAudience, false
	return c
}

func arm(t *testing.T, f *azurefake.Server, cred azure.Credential) *azure.ARM {
	t.Helper()
	c := config(f, cred)
	hc := trusting(t, f)
	tc, err := azure.NewCredential(c, hc)
	if err != nil {
		t.Fatalf("NewCredential: %v", err)
	}
	return azure.NewARM(c, tc, hc)
}

func TestClientSecretChangesState(t *testing.T) {
	f := azurefake.New(azurefake.Options{Secrets: map[string]string{"app": "s3cret"}})
	t.Cleanup(f.Close)
	f.Seed(alertID)
	a := arm(t, f, azure.Credential{Type: azure.CredClientSecret, TenantID: f.Tenant(), ClientID: "app", Secret: "s3cret"})
	ctx := context.Background()
	if err := a.ChangeState(ctx, alertID, azure.StateAcknowledged, "INC0010001 https://snow/incident"); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	if err := a.ChangeState(ctx, alertID, azure.StateClosed, "resolved by alice"); err != nil {
		t.Fatalf("close: %v", err)
	}
	ch := f.ChangesOf(alertID)
	if len(ch) != 2 || ch[0].State != "Acknowledged" || ch[0].Comments != "INC0010001 https://snow/incident" || ch[1].State != "Closed" || ch[0].Principal != "app" {
		t.Fatalf("changes %+v", ch)
	}
	if n := f.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued for two changes; the credential caches its token", n)
	}
	// The fake checked the path, api-version, body and the token's audience.
	for _, r := range f.RequestsTo(http.MethodPost, "/changestate") {
		if r.Query.Get("api-version") != "2019-05-05-preview" || r.Header.Get("Authorization") == "" {
			t.Errorf("request %s %v", r.Path, r.Query)
		}
	}
}

func TestARMFaults(t *testing.T) {
	f := azurefake.New(azurefake.Options{Secrets: map[string]string{"app": "s"}})
	t.Cleanup(f.Close)
	f.Seed(alertID)
	a := arm(t, f, azure.Credential{Type: azure.CredClientSecret, TenantID: f.Tenant(), ClientID: "app", Secret: "s"})
	ctx := context.Background()

	f.FailNext(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"3"}}, "")
	err := a.ChangeState(ctx, alertID, azure.StateAcknowledged, "")
	if sdk.KindOf(err) != sdk.KindRetryable || sdk.RetryAfterOf(err) != 3*time.Second {
		t.Errorf("429: %v (%s, after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	f.FailNext(1, http.StatusServiceUnavailable, nil, "")
	if err := a.ChangeState(ctx, alertID, azure.StateAcknowledged, ""); sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("503: %v", err)
	}
	f.Deny("app")
	err = a.ChangeState(ctx, alertID, azure.StateAcknowledged, "")
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "Monitoring Contributor") {
		t.Errorf("403: %v", err)
	}
	f.Allow("app")
	other := strings.Replace(alertID, "2222", "3333", 1)
	if err := a.ChangeState(ctx, other, azure.StateClosed, ""); sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "alert not found") {
		t.Errorf("404: %v", err)
	}
	if err := a.ChangeState(ctx, alertID, azure.StateClosed, ""); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}

func TestWrongSecretIsPermanent(t *testing.T) {
	f := azurefake.New(azurefake.Options{Secrets: map[string]string{"app": "right"}})
	t.Cleanup(f.Close)
	a := arm(t, f, azure.Credential{Type: azure.CredClientSecret, TenantID: f.Tenant(), ClientID: "app", Secret: "wrong"})
	err := a.ChangeState(context.Background(), alertID, azure.StateAcknowledged, "")
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret: %v (%s)", err, sdk.KindOf(err))
	}
	if len(f.RequestsTo(http.MethodPost, "/changestate")) != 0 {
		t.Error("a request reached ARM without a token")
	}
}

func TestWorkloadIdentity(t *testing.T) {
	f := azurefake.New(azurefake.Options{FederatedTokens: map[string]string{"wi-app": "eyJ.k8s.token"}, AutoCreate: true})
	t.Cleanup(f.Close)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("eyJ.k8s.token"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Defaults from the variables the workload identity webhook injects.
	env := map[string]string{azure.EnvClientID: "wi-app", azure.EnvTenantID: f.Tenant(), azure.EnvFederatedTokenFile: tokenFile}
	c := config(f, azure.Credential{Type: azure.CredWorkloadIdentity})
	c.ApplyEnv(func(k string) string { return env[k] })
	hc := trusting(t, f)
	tc, err := azure.NewCredential(c, hc)
	if err != nil {
		t.Fatal(err)
	}
	if err := azure.NewARM(c, tc, hc).ChangeState(context.Background(), alertID, azure.StateAcknowledged, "x"); err != nil {
		t.Fatalf("workload identity: %v", err)
	}
	if ch := f.ChangesOf(alertID); len(ch) != 1 || ch[0].Principal != "wi-app" {
		t.Errorf("changes %+v", ch)
	}
}

func TestClientCertificate(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "itsm-connector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "cert.pem")
	pemText := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	if err := os.WriteFile(file, pemText, 0o600); err != nil {
		t.Fatal(err)
	}
	f := azurefake.New(azurefake.Options{Certificates: map[string]*x509.Certificate{"cert-app": cert}, AutoCreate: true})
	t.Cleanup(f.Close)
	a := arm(t, f, azure.Credential{Type: azure.CredClientCertificate, TenantID: f.Tenant(), ClientID: "cert-app", CertificateFile: file})
	if err := a.ChangeState(context.Background(), alertID, azure.StateAcknowledged, "x"); err != nil {
		t.Fatalf("client certificate: %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	c := config(f, azure.Credential{Type: azure.CredClientCertificate, TenantID: f.Tenant(), ClientID: "cert-app", CertificateFile: bad})
	if _, err := azure.NewCredential(c, nil); err == nil || !strings.Contains(err.Error(), "credential.certificate_file") {
		t.Errorf("a bad certificate file: %v", err)
	}
}

func TestManagedIdentity(t *testing.T) {
	f := azurefake.New(azurefake.Options{ManagedIdentities: map[string]bool{"": true, "user-mi": true}, IdentityHeader: "hdr", AutoCreate: true})
	t.Cleanup(f.Close)
	// App Service's variables point azidentity at the identity endpoint.
	t.Setenv("IDENTITY_ENDPOINT", f.ManagedIdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", "hdr")
	for _, id := range []string{"", "user-mi"} {
		a := arm(t, f, azure.Credential{Type: azure.CredManagedIdentity, ClientID: id})
		if err := a.ChangeState(context.Background(), alertID, azure.StateAcknowledged, "x"); err != nil {
			t.Fatalf("managed identity %q: %v", id, err)
		}
	}
	if ch := f.ChangesOf(alertID); len(ch) != 2 || ch[0].Principal != "" || ch[1].Principal != "user-mi" {
		t.Errorf("changes %+v", ch)
	}
}

func TestWrongAudienceIsRefused(t *testing.T) {
	f := azurefake.New(azurefake.Options{Secrets: map[string]string{"app": "s"}, AutoCreate: true})
	t.Cleanup(f.Close)
	c := config(f, azure.Credential{Type: azure.CredClientSecret, TenantID: f.Tenant(), ClientID: "app", Secret: "s"})
	c.ARMAudience = "" // the scope becomes the fake's own URL, not ARM's audience
	hc := trusting(t, f)
	tc, err := azure.NewCredential(c, hc)
	if err != nil {
		t.Fatal(err)
	}
	err = azure.NewARM(c, tc, hc).ChangeState(context.Background(), alertID, azure.StateAcknowledged, "")
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "AADSTS70011") {
		t.Errorf("a token for another audience: %v", err)
	}
}

func TestFeedbackNeverReacknowledgesAClosedAlert(t *testing.T) {
	f := azurefake.New(azurefake.Options{Secrets: map[string]string{"app": "s"}, AutoCreate: true})
	t.Cleanup(f.Close)
	fb := &azure.Feedback{ARM: arm(t, f, azure.Credential{Type: azure.CredClientSecret, TenantID: f.Tenant(), ClientID: "app", Secret: "s"})}
	ctx := context.Background()
	req := &sdk.Request{CorrelationKey: "k", Alert: sdk.Alert{ID: alertID}, Fields: map[string]any{azure.CommentField: "INC1"}}
	wi, err := fb.Create(ctx, req)
	if err != nil || wi.ID != alertID || wi.Attributes["state"] != "Acknowledged" {
		t.Fatalf("Create: %+v, %v", wi, err)
	}
	req.Ref, req.Fields = wi, map[string]any{azure.CommentField: "resolved by alice"}
	closed, err := fb.Resolve(ctx, req)
	if err != nil || closed.State != sdk.StateResolved {
		t.Fatalf("Resolve: %+v, %v", closed, err)
	}
	req.Ref = closed
	again, err := fb.Reopen(ctx, req)
	if err != nil || again.Attributes["state"] != "Closed" || again.Note == "" {
		t.Fatalf("Reopen of a closed alert: %+v, %v", again, err)
	}
	if ch := f.ChangesOf(alertID); len(ch) != 2 || ch[1].State != "Closed" || ch[1].Comments != "resolved by alice" {
		t.Errorf("changes %+v; the closed alert must not be acknowledged again", ch)
	}
}
