package fakehttp

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"
)

// ServeOptions say how [Base.Start] serves a fake.
type ServeOptions struct {
	// TLS serves HTTPS with a self-signed certificate (see CertPEM).
	TLS bool
	// ClientCAs, when set, serves HTTPS and verifies client certificates
	// against them.
	ClientCAs *x509.CertPool
	// RequireClientCert refuses connections without a valid client
	// certificate; otherwise one is verified when given and the fake's
	// handler decides (r.TLS.VerifiedChains).
	RequireClientCert bool
	// Now is the clock for the request log; nil means time.Now.
	Now func() time.Time
}

// Base is what every fake shares: the loopback server, the request log and
// injected faults. Embed it in the fake's server type and call Start from
// its constructor. Its methods are safe for concurrent use.
type Base struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234, set by Start.
	URL string

	Log
	Faults

	srv *httptest.Server
}

// Start serves h on a loopback address, over HTTPS when o asks for it, and
// sets URL. h is served as it is: wrap the routes to log with
// b.Logged (all of them, or only the API's). The server's own error log
// (refused TLS handshakes, which tests provoke on purpose) is discarded.
func (b *Base) Start(h http.Handler, o ServeOptions) {
	b.Log.now = o.Now
	b.srv = httptest.NewUnstartedServer(h)
	b.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	switch {
	case o.ClientCAs != nil:
		auth := tls.VerifyClientCertIfGiven
		if o.RequireClientCert {
			auth = tls.RequireAndVerifyClientCert
		}
		b.srv.TLS = &tls.Config{ClientCAs: o.ClientCAs, ClientAuth: auth}
		b.srv.StartTLS()
	case o.TLS:
		b.srv.StartTLS()
	default:
		b.srv.Start()
	}
	b.URL = b.srv.URL
}

// Close shuts the server down.
func (b *Base) Close() {
	if b.srv != nil {
		b.srv.Close()
	}
}

// CertPEM is the server certificate in PEM, for a client's custom CA
// (ca_cert); nil without TLS.
func (b *Base) CertPEM() []byte {
	if b.srv == nil || b.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.srv.Certificate().Raw})
}
