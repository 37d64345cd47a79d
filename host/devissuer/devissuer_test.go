package devissuer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/entra"
)

// startVerifier runs the issuer and a ready entra.Verifier pointed at it:
// the dev-mode wiring.
func startVerifier(t *testing.T, opts Options) (*Issuer, *entra.Verifier) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	iss, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iss.Close() })
	v, err := entra.New(ctx, iss.VerifierConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := v.WaitReady(wctx); err != nil {
		t.Fatalf("verifier against the dev issuer: %v", err)
	}
	return iss, v
}

func TestDevTokensVerifyThroughEntra(t *testing.T) {
	iss, v := startVerifier(t, Options{})
	if !strings.HasPrefix(iss.Authority(), "http://127.0.0.1:") {
		t.Errorf("Authority() = %s", iss.Authority())
	}
	for _, ver := range []string{"", entra.Version1, entra.Version2} {
		raw, err := iss.Mint(MintOptions{Version: ver})
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("v%q dev token: %v", ver, err)
		}
		wantVer := ver
		if wantVer == "" {
			wantVer = entra.Version1
		}
		if p.TenantID != DevTenantID || p.AppID != entra.AzureMonitorAppID || p.TokenVersion != wantVer ||
			len(p.Roles) != 1 || p.Roles[0] != DefaultRole || p.Subject != DevServicePrincipalID {
			t.Errorf("principal %+v", p)
		}
	}
}

func TestWrongDevTokensRejected(t *testing.T) {
	iss, v := startVerifier(t, Options{})
	cases := []struct {
		name   string
		opts   MintOptions
		reason string
	}{
		{"no roles", MintOptions{Roles: []string{}}, entra.ReasonMissingRole},
		{"other app", MintOptions{AppID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, entra.ReasonWrongApp},
		{"other tenant", MintOptions{TenantID: "11111111-2222-3333-4444-555555555555"}, entra.ReasonWrongTenant},
		{"other audience", MintOptions{Audience: "api://someone-else"}, entra.ReasonWrongAudience},
		{"expired", MintOptions{IssuedAt: time.Now().Add(-3 * time.Hour)}, entra.ReasonExpired},
		{"v2 issuer on v1", MintOptions{Issuer: iss.V2Issuer()}, entra.ReasonWrongIssuer},
		{"alg lies", MintOptions{Header: map[string]any{"alg": "HS256"}}, entra.ReasonUnsupportedAlg},
		{"no exp", MintOptions{Claims: map[string]any{"exp": nil}}, entra.ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := iss.Mint(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), raw)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Reason != tc.reason {
				t.Fatalf("got %v, want %s", err, tc.reason)
			}
		})
	}
}

func TestKeyFileSharedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "dev-signing-key.pem")
	iss, v := startVerifier(t, Options{KeyFile: path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	// What `itsm-connector token` does: load the key, no server.
	m, err := NewMinter(Options{KeyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if m.KeyID() != iss.KeyID() {
		t.Fatalf("kid %s from the file, %s in the issuer", m.KeyID(), iss.KeyID())
	}
	for _, ver := range []string{entra.Version1, entra.Version2} {
		raw, err := m.Mint(MintOptions{Version: ver})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Fatalf("offline-minted v%s token: %v", ver, err)
		}
	}
}

func TestKeyFileConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	kids := make([]string, 4)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := NewMinter(Options{KeyFile: path})
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = m.KeyID()
		}()
	}
	wg.Wait()
	for _, k := range kids[1:] {
		if k != kids[0] {
			t.Fatalf("concurrent creators disagree on the key: %v", kids)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".devkey-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestBadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewMinter(Options{KeyFile: path})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	_, err := Start(context.Background(), Options{Addr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v", err)
	}
}

func TestMintRejectsUnknownVersion(t *testing.T) {
	m, err := NewMinter(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mint(MintOptions{Version: "3.0"}); err == nil {
		t.Fatal("want an error")
	}
}
