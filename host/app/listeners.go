package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"golang.org/x/net/netutil"
)

// listenerLimits bound what one connection may hold, in time and memory.
// Both listeners, the webhook's and the admin's, get the same ones: what
// reaches them before any token is checked is the same.
type listenerLimits struct {
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's line and headers (net/http allows
	// 4 KiB more); a request over it gets 431.
	MaxHeaderBytes int
}

// limitsFor are the limits serve runs cfg's listeners with.
func limitsFor(cfg *config.Config) listenerLimits {
	tokenBytes := entra.DefaultMaxTokenBytes
	if e := cfg.Auth.EntraID; e != nil && e.MaxTokenBytes > 0 {
		tokenBytes = e.MaxTokenBytes
	}
	return listenerLimits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: maxHeaderBytes(tokenBytes)}
}

// Header room besides the bearer token: Azure Monitor's requests carry a
// few hundred bytes of other headers.
const (
	headerRoom     = 16 << 10
	minHeaderBytes = 32 << 10
)

// maxHeaderBytes is the header cap for bearer tokens of up to
// maxTokenBytes (auth's max_token_bytes): the token and headerRoom for the
// other headers, at least minHeaderBytes. net/http's default of 1 MiB let
// each connection hold a megabyte before any token was checked.
func maxHeaderBytes(maxTokenBytes int) int {
	return max(minHeaderBytes, maxTokenBytes+headerRoom)
}

// server is an http.Server for h with the limits.
func (l listenerLimits) server(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes, ErrorLog: errLog}
}

// listeners are the webhook and admin listeners, open and ready to serve.
type listeners struct {
	web, admin     *http.Server
	webLn, adminLn net.Listener
}

// openListeners opens the webhook listener (with TLS from cert when it is
// set) and the admin listener as cfg says, serving web and adm with lim.
func openListeners(cfg *config.Config, cert *certStore, lim listenerLimits, web, adm http.Handler, errLog *log.Logger) (*listeners, error) {
	l := &listeners{web: lim.server(web, errLog), admin: lim.server(adm, errLog)}
	var err error
	if l.webLn, err = listen(cfg.Server, cert); err != nil {
		return nil, err
	}
	if l.adminLn, err = listenTCP(cfg.Admin.Listen, cfg.Admin.MaxConnections); err != nil {
		l.webLn.Close()
		return nil, fmt.Errorf("admin listener %s: %w", cfg.Admin.Listen, err)
	}
	return l, nil
}

// serve serves both listeners until they are shut down; a listener that
// fails sends its error to errc.
func (l *listeners) serve(errc chan<- error) {
	go func() { errc <- serveHTTP(l.web, l.webLn) }()
	go func() { errc <- serveHTTP(l.admin, l.adminLn) }()
}

// listen opens the webhook listener, with TLS from cert when it is set.
func listen(s config.Server, cert *certStore) (net.Listener, error) {
	ln, err := listenTCP(s.Listen, s.MaxConnections)
	if err != nil {
		return nil, fmt.Errorf("webhook listener %s: %w", s.Listen, err)
	}
	if cert == nil {
		return ln, nil
	}
	return tls.NewListener(ln, tlsConfig(cert.get)), nil
}

// listenTCP listens on addr with at most maxConns connections open at
// once (none when it is zero, for a Config built in code; Validate wants
// at least 1). Further connections are not accepted until one closes:
// they wait in the kernel's listen queue, which holds them without
// process memory, and are served in turn, so a client such as Azure
// Monitor is delayed rather than refused while slow connections hold the
// slots (each for at most the limits' timeouts). When the queue is full
// the kernel drops new connection attempts and clients retry.
func listenTCP(addr string, maxConns int) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil || maxConns <= 0 {
		return ln, err
	}
	return netutil.LimitListener(ln, maxConns), nil
}

// aeadSuites are the TLS 1.2 cipher suites the webhook offers: forward
// secret (ECDHE) and authenticated encryption only, no CBC. TLS 1.3's
// suites are all AEAD and not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig is the webhook's TLS: 1.2 at least, AEAD suites only.
func tlsConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{GetCertificate: get, MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites}
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
