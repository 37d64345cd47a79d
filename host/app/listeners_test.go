package app

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/entra"
)

// shortLimits are listener limits short enough for tests to see them act.
func shortLimits() listenerLimits {
	l := limitsFor(&config.Config{})
	l.ReadHeaderTimeout, l.ReadTimeout, l.WriteTimeout, l.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, time.Second, 300*time.Millisecond
	return l
}

// startListeners opens and serves both listeners on loopback as serve
// does, with lim: by default the webhook answers "ok" and the admin
// listener is the admin handler.
func startListeners(t *testing.T, cfg *config.Config, cert *certStore, lim listenerLimits, web, adm http.Handler) *listeners {
	t.Helper()
	if cfg == nil {
		cfg = &config.Config{}
	}
	cfg.Server.Listen, cfg.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0"
	if web == nil {
		web = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	}
	if adm == nil {
		adm = (&admin.Server{}).Handler()
	}
	l, err := openListeners(cfg, cert, lim, web, adm, nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	l.serve(errc)
	t.Cleanup(func() {
		l.web.Close()
		l.admin.Close()
		for range 2 {
			if err := <-errc; err != nil {
				t.Error(err)
			}
		}
	})
	return l
}

// closedByServer reads conn until it ends and reports whether the server
// closed it; false when the test's own deadline passed first.
func closedByServer(t *testing.T, conn net.Conn, r io.Reader) bool {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func eachListener(t *testing.T, l *listeners, f func(t *testing.T, addr string)) {
	for _, ln := range []struct {
		name string
		ln   net.Listener
	}{{"webhook", l.webLn}, {"admin", l.adminLn}} {
		t.Run(ln.name, func(t *testing.T) { f(t, ln.ln.Addr().String()) })
	}
}

// TestListenersCloseIdleConnections: a keep-alive connection that sends
// nothing after its request is closed once the idle timeout passes, on
// both listeners. The admin listener kept such connections open forever.
func TestListenersCloseIdleConnections(t *testing.T) {
	l := startListeners(t, nil, nil, shortLimits(), nil, nil)
	eachListener(t, l, func(t *testing.T, addr string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			t.Fatalf("the server closed the connection after the request (status %d); want it kept alive", resp.StatusCode)
		}
		if !closedByServer(t, conn, br) {
			t.Error("an idle keep-alive connection was still open 15 s after its request; the idle timeout is 300 ms")
		}
	})
}

// TestListenersCutOffSlowBody: a request whose body stops arriving is cut
// off once the read timeout passes, also on /healthz, which never reads
// its body.
func TestListenersCutOffSlowBody(t *testing.T) {
	l := startListeners(t, nil, nil, shortLimits(), nil, nil)
	eachListener(t, l, func(t *testing.T, addr string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("x", 100)); err != nil {
			t.Fatal(err)
		}
		if !closedByServer(t, conn, conn) {
			t.Error("a request whose body stalled was still open 15 s later; the read timeout is 300 ms")
		}
	})
}

// TestWebhookTLSOffersOnlyAEAD: with TLS 1.2 the webhook refuses a client
// that offers only a CBC cipher suite, and agrees on an AEAD suite with
// one that offers both.
func TestWebhookTLSOffersOnlyAEAD(t *testing.T) {
	cert, err := newCertStore(writeCert(t, t.TempDir(), 1))
	if err != nil {
		t.Fatal(err)
	}
	l := startListeners(t, nil, cert, shortLimits(), nil, nil)
	addr := l.webLn.Addr().String()
	dial := func(suites ...uint16) (*tls.Conn, error) {
		return tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites}) //nolint:gosec // a test server's self-signed certificate
	}
	if c, err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA); err == nil {
		c.Close()
		t.Errorf("a TLS 1.2 client offering only CBC suites got %s; want the handshake refused", tls.CipherSuiteName(c.ConnectionState().CipherSuite))
	}
	c, err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().CipherSuite; got != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("suite %s, want TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", tls.CipherSuiteName(got))
	}
}

// TestListenersCapConnections: with max_connections = 2, six clients whose
// requests each hold their handler are served two at a time, all of them
// in the end.
func TestListenersCapConnections(t *testing.T) {
	const limit, clients = 2, 6
	var (
		inflight, peak atomic.Int32
		release        = make(chan struct{})
	)
	hold := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		inflight.Add(-1)
		_, _ = io.WriteString(w, "ok")
	})
	cfg := &config.Config{}
	cfg.Server.MaxConnections, cfg.Admin.MaxConnections = limit, limit
	l := startListeners(t, cfg, nil, limitsFor(cfg), hold, hold)
	eachListener(t, l, func(t *testing.T, addr string) {
		peak.Store(0)
		var sent sync.WaitGroup
		results := make(chan error, clients)
		for range clients {
			sent.Add(1)
			go func() {
				results <- func() error {
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						sent.Done()
						return err
					}
					defer conn.Close()
					_, err = io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
					sent.Done()
					if err != nil {
						return err
					}
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if err != nil {
						return err
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				}()
			}()
		}
		// Every request is on the wire; release them one at a time, each
		// time once the listener is full (as many in handlers as it
		// allows), so the peak below is taken with every slot taken.
		sent.Wait()
		for i := range clients {
			full := int32(min(limit, clients-i))
			waitFor(t, fmt.Sprintf("%d requests in handlers before release %d", full, i+1), func() bool { return inflight.Load() >= full })
			release <- struct{}{}
		}
		for range clients {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		if p := peak.Load(); p > limit {
			t.Errorf("%d connections were served at once; max_connections is %d", p, limit)
		}
	})
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestListenersCapHeaderBytes: a request with the largest bearer token
// auth accepts (max_token_bytes) is read; one whose headers are far larger
// gets 431, on both listeners, before it is read whole.
func TestListenersCapHeaderBytes(t *testing.T) {
	l := startListeners(t, nil, nil, limitsFor(&config.Config{}), nil, nil)
	eachListener(t, l, func(t *testing.T, addr string) {
		for _, tt := range []struct {
			name   string
			header string
			want   int
		}{
			{"largest token", "Authorization: Bearer " + strings.Repeat("t", entra.DefaultMaxTokenBytes), http.StatusOK},
			{"1 MB header", "X-Pad: " + strings.Repeat("a", 1000<<10), http.StatusRequestHeaderFieldsTooLarge},
		} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			// The server answers before reading everything: write in the
			// background.
			go func() {
				_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n"+tt.header+"\r\n\r\n")
			}()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			resp.Body.Close()
			conn.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		}
	})
}

func TestMaxHeaderBytes(t *testing.T) {
	tests := []struct{ maxToken, want int }{
		{0, 32 << 10},
		{4 << 10, 32 << 10},
		{16 << 10, 32 << 10},
		{20 << 10, 36 << 10},
		{64 << 10, 80 << 10},
	}
	for _, tt := range tests {
		if got := maxHeaderBytes(tt.maxToken); got != tt.want {
			t.Errorf("maxHeaderBytes(%d) = %d, want %d", tt.maxToken, got, tt.want)
		}
	}
	cfg := &config.Config{Auth: config.Auth{EntraID: &entra.Config{MaxTokenBytes: 64 << 10}}}
	if got := limitsFor(cfg).MaxHeaderBytes; got != 80<<10 {
		t.Errorf("limits for max_token_bytes = 65536: MaxHeaderBytes %d, want %d", got, 80<<10)
	}
}
