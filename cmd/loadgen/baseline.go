package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// baseline is a bare net/http server on loopback: it reads the body and
// answers 202, nothing else. Measured with the same client in the same run,
// it shows what the machine and the client allow, so the connector's
// figures can be read against it.
type baseline struct {
	srv *http.Server
	URL string
}

// startBaseline serves the bare handler on a free loopback port.
func startBaseline() (*baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline listener: %w", err)
	}
	b := &baseline{
		srv: &http.Server{Handler: http.HandlerFunc(bareHandler), ReadHeaderTimeout: 10 * time.Second},
		URL: "http://" + ln.Addr().String() + "/api/v1/alerts",
	}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// bareHandler reads the request body and answers 202 Accepted.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusAccepted)
}

// Close stops the server.
func (b *baseline) Close() error { return b.srv.Close() }
