package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/entra"
)

// writeCert writes a self-signed certificate with serial into dir and
// returns its TLS block.
func writeCert(t *testing.T, dir string, serial int64) config.TLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tl := config.TLS{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	if err := os.WriteFile(tl.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tl.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tl
}

// TestCertificateReload: a renewed certificate is served to new
// connections after a reload; a broken one leaves the old in place.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	cert, err := newCertStore(writeCert(t, dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listen(config.Server{Listen: "127.0.0.1:0"}, cert)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	served := func() int64 {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test inspects the certificate itself
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}

	if got := served(); got != 1 {
		t.Fatalf("serial %d served, want 1", got)
	}
	if err := cert.load(writeCert(t, dir, 2)); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != 2 {
		t.Errorf("serial %d served after the reload, want 2", got)
	}
	if err := cert.load(config.TLS{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: filepath.Join(dir, "tls.key")}); err == nil {
		t.Error("loading a missing certificate succeeded")
	}
	if got := served(); got != 2 {
		t.Errorf("serial %d served after a failed reload, want 2 (unchanged)", got)
	}
}

func TestRestartOnlyChanges(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{Server: config.Server{Listen: ":8443"}, Store: config.Store{Driver: "sqlite", Path: "a.db"},
			Backends: []*config.Backend{{Type: "file", Name: "x", MaxInFlight: 4}}}
	}
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string // "" for no warning
	}{
		{"nothing", func(*config.Config) {}, ""},
		{"a new backend's limits", func(c *config.Config) {
			c.Backends = append(c.Backends, &config.Backend{Type: "jira", Name: "y", MaxInFlight: 9})
		}, ""},
		{"listen", func(c *config.Config) { c.Server.Listen = ":9443" }, "server block"},
		{"store", func(c *config.Config) { c.Store.Path = "b.db" }, "store block"},
		{"auth", func(c *config.Config) { c.Auth.EntraID = &entra.Config{Audiences: []string{"api://x"}} }, "auth block"},
		{"only where a block sits in the file", func(c *config.Config) { c.Auth.Range.Start.Line = 7 }, ""},
		{"backend limits", func(c *config.Config) { c.Backends[0].MaxInFlight = 8 }, "backend file.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := base()
			tt.change(cur)
			diags := restartOnly(base(), cur)
			switch {
			case tt.want == "" && len(diags) > 0:
				t.Errorf("warnings %v, want none", diags)
			case tt.want != "" && (len(diags) != 1 || !strings.Contains(diags[0].Detail, tt.want) || diags.HasErrors()):
				t.Errorf("warnings %v, want one warning naming %q", diags, tt.want)
			}
		})
	}
}

func TestInstanceID(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	tests := []struct {
		listen, set, want string
	}{
		{"0.0.0.0:8443", "", host + ":8443"},
		{":9000", "", host + ":9000"},
		{"127.0.0.1:0", "", host},
		{"0.0.0.0:8443", "itsm-a", "itsm-a"},
	}
	for _, tt := range tests {
		cfg := &config.Config{Server: config.Server{Listen: tt.listen}, Delivery: config.Delivery{InstanceID: tt.set}}
		if got := instanceID(cfg); got != tt.want {
			t.Errorf("instanceID(listen %q, instance_id %q) = %q, want %q", tt.listen, tt.set, got, tt.want)
		}
	}
}
