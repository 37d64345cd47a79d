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
)

// listenerLimits bound what one connection may hold, in time and memory,
// on the connector's listeners.
type listenerLimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// defaultLimits are the limits serve runs with.
func defaultLimits() listenerLimits {
	return listenerLimits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
}

// listeners are the webhook and admin listeners, open and ready to serve.
type listeners struct {
	web, admin     *http.Server
	webLn, adminLn net.Listener
}

// openListeners opens the webhook listener (with TLS from cert when it is
// set) and the admin listener as cfg says, serving web and adm with lim.
func openListeners(cfg *config.Config, cert *certStore, lim listenerLimits, web, adm http.Handler, errLog *log.Logger) (*listeners, error) {
	l := &listeners{
		web: &http.Server{Handler: web, ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout,
			WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout, ErrorLog: errLog},
		admin: &http.Server{Handler: adm, ReadHeaderTimeout: lim.ReadHeaderTimeout},
	}
	var err error
	if l.webLn, err = listen(cfg.Server, cert); err != nil {
		return nil, err
	}
	if l.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
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
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return nil, fmt.Errorf("webhook listener %s: %w", s.Listen, err)
	}
	if cert == nil {
		return ln, nil
	}
	return tls.NewListener(ln, &tls.Config{GetCertificate: cert.get, MinVersion: tls.VersionTLS12}), nil
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
