package sdkhttp

import (
	"crypto/tls"
	"crypto/x509"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// TLSOptions are the usual attributes of a plugin's `tls {}` block.
// Certificates and keys are PEM text, so operators load them with file().
type TLSOptions struct {
	// CACert is a PEM bundle trusted in addition to the system roots.
	CACert string
	// ClientCert and ClientKey are a PEM certificate and its key for
	// mutual TLS; set both or neither.
	ClientCert string
	ClientKey  string
	// InsecureSkipVerify turns server certificate verification off.
	InsecureSkipVerify bool
	// Exposes names what travels over the connection besides credentials,
	// for the warning about InsecureSkipVerify, e.g. "incidents"; default
	// "data".
	Exposes string
}

// Config builds the client TLS configuration (TLS 1.2 or later). Problems
// come back as diagnostics at path followed by the attribute name, e.g.
// ["tls", "ca_cert"]; InsecureSkipVerify adds a warning. The diagnostics
// never quote key material. The configuration is usable only when the
// diagnostics hold no error.
func (o TLSOptions) Config(path ...string) (*tls.Config, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	at := func(attr string) []string { return append(append([]string(nil), path...), attr) }
	errf := func(summary, detail, attr string) {
		diags = append(diags, sdk.AttributeError(summary, detail, at(attr)...))
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(o.CACert)) {
			errf("ca_cert holds no PEM certificate", `Load the CA bundle with file("/path/ca.pem").`, "ca_cert")
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.ClientCert != "" && o.ClientKey == "":
		errf("client_key is required with client_cert", "", "client_key")
	case o.ClientCert == "" && o.ClientKey != "":
		errf("client_cert is required with client_key", "", "client_cert")
	case o.ClientCert != "":
		pair, err := tls.X509KeyPair([]byte(o.ClientCert), []byte(o.ClientKey))
		if err != nil {
			// The parse error can quote key material; do not repeat it.
			errf("client_cert and client_key do not form a valid key pair",
				"Both must be PEM; the key must match the certificate.", "client_key")
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	if o.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
		exposes := o.Exposes
		if exposes == "" {
			exposes = "data"
		}
		diags = append(diags, sdk.AttributeWarning("TLS certificate verification is OFF",
			"Anyone on the network path can read the credentials and "+exposes+". Set ca_cert instead.",
			at("insecure_skip_verify")...))
	}
	return cfg, diags
}
