package sdkhttp_test

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			t.Error("the redirect was followed")
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	resp, err := sdkhttp.NewClient(sdkhttp.ClientOptions{}).Get(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login" {
		t.Errorf("status %d, Location %q; want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestNewClientOptions(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	trusting, diags := sdkhttp.TLSOptions{CACert: string(certPEM(tlsSrv))}.Config("tls")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var viaCustom bool
	custom := roundTripper(func(r *http.Request) (*http.Response, error) {
		viaCustom = true
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})
	tests := []struct {
		name    string
		opts    sdkhttp.ClientOptions
		timeout time.Duration
		wantErr string // "" means the GET succeeds
	}{
		{"defaults reject an unknown CA", sdkhttp.ClientOptions{}, sdkhttp.DefaultTimeout, "certificate"},
		{"ca_cert trusted", sdkhttp.ClientOptions{TLS: trusting, Timeout: time.Second}, time.Second, ""},
		{"base transport cloned with TLS", sdkhttp.ClientOptions{TLS: trusting, Transport: &http.Transport{}}, sdkhttp.DefaultTimeout, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := sdkhttp.NewClient(tt.opts)
			if hc.Timeout != tt.timeout {
				t.Errorf("Timeout = %v, want %v", hc.Timeout, tt.timeout)
			}
			resp, err := hc.Get(tlsSrv.URL)
			if err == nil {
				_ = resp.Body.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("GET: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("GET error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
	t.Run("other round trippers are used as they are", func(t *testing.T) {
		resp, err := sdkhttp.NewClient(sdkhttp.ClientOptions{TLS: trusting, Transport: custom}).Get("https://backend.invalid/")
		if err != nil || resp.StatusCode != http.StatusNoContent || !viaCustom {
			t.Errorf("GET through a custom RoundTripper = %v, %v", resp, err)
		}
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestTLSOptionsConfig(t *testing.T) {
	ca := fakehttp.NewCA(t)
	cert, key := ca.ClientCert(t)
	_, otherKey := fakehttp.NewCA(t).ClientCert(t)
	caPEM := ca.CertPEM()
	tests := []struct {
		name      string
		opts      sdkhttp.TLSOptions
		errAt     []string // path of the expected error, nil for none
		warn      string   // detail of the expected warning
		wantCerts int
	}{
		{"empty", sdkhttp.TLSOptions{}, nil, "", 0},
		{"ca bundle", sdkhttp.TLSOptions{CACert: caPEM}, nil, "", 0},
		{"not pem", sdkhttp.TLSOptions{CACert: "not pem"}, []string{"tls", "ca_cert"}, "", 0},
		{"cert without key", sdkhttp.TLSOptions{ClientCert: cert}, []string{"tls", "client_key"}, "", 0},
		{"key without cert", sdkhttp.TLSOptions{ClientKey: key}, []string{"tls", "client_cert"}, "", 0},
		{"mismatched pair", sdkhttp.TLSOptions{ClientCert: cert, ClientKey: otherKey}, []string{"tls", "client_key"}, "", 0},
		{"client certificate", sdkhttp.TLSOptions{ClientCert: cert, ClientKey: key}, nil, "", 1},
		{"insecure", sdkhttp.TLSOptions{InsecureSkipVerify: true, Exposes: "incidents"}, nil,
			"Anyone on the network path can read the credentials and incidents. Set ca_cert instead.", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := tt.opts.Config("tls")
			if cfg.MinVersion != tls.VersionTLS12 || len(cfg.Certificates) != tt.wantCerts || cfg.InsecureSkipVerify != tt.opts.InsecureSkipVerify {
				t.Errorf("config: min version %x, %d certificates, insecure %v", cfg.MinVersion, len(cfg.Certificates), cfg.InsecureSkipVerify)
			}
			if (tt.opts.CACert != "") != (cfg.RootCAs != nil) {
				t.Errorf("RootCAs = %v with ca_cert %q", cfg.RootCAs, tt.opts.CACert)
			}
			switch {
			case tt.errAt == nil && diags.HasErrors():
				t.Errorf("unexpected errors: %v", diags)
			case tt.errAt != nil && (len(diags) != 1 || !diags.HasErrors() || !slices.Equal(diags[0].Path, tt.errAt)):
				t.Errorf("diagnostics %v, want one error at %v", diags, tt.errAt)
			case tt.warn != "" && (len(diags) != 1 || diags[0].Severity != sdk.SeverityWarning || diags[0].Detail != tt.warn ||
				!slices.Equal(diags[0].Path, []string{"tls", "insecure_skip_verify"})):
				t.Errorf("diagnostics %v, want the warning %q", diags, tt.warn)
			}
			if strings.Contains(diags.Error(), "PRIVATE KEY") {
				t.Error("a diagnostic quotes key material")
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	b := sdkhttp.BaseURL{Attr: "instance_url", Example: "https://contoso.service-now.com", Exposes: "incident data"}
	tests := []struct {
		raw     string
		want    string // "" when invalid
		summary string
		warning bool
	}{
		{"https://contoso.service-now.com", "https://contoso.service-now.com", "", false},
		{" https://contoso.service-now.com/sub/ ", "https://contoso.service-now.com/sub", "", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "instance_url uses plain http", true},
		{"", "", "instance_url is required", false},
		{"ftp://x", "", "instance_url must use https", false},
		{"https://", "", "instance_url has no host", false},
		{"https://u:p@x.service-now.com", "", "instance_url must not carry credentials", false},
		{"https://x?a=b", "", "instance_url must not have a query or fragment", false},
		{"https://x#frag", "", "instance_url must not have a query or fragment", false},
		{"https://x/%zz", "", "instance_url is not a valid URL", false},
	}
	for _, tt := range tests {
		u, diags := b.Parse(tt.raw)
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		switch {
		case tt.summary == "" && len(diags) > 0:
			t.Errorf("Parse(%q): unexpected diagnostics %v", tt.raw, diags)
		case tt.summary != "" && (len(diags) != 1 || diags[0].Summary != tt.summary || diags.HasErrors() == tt.warning ||
			!slices.Equal(diags[0].Path, []string{"instance_url"})):
			t.Errorf("Parse(%q): diagnostics %v, want %q at instance_url", tt.raw, diags, tt.summary)
		}
		if strings.Contains(diags.Error(), "u:p@") {
			t.Errorf("Parse(%q): a diagnostic repeats the credentials", tt.raw)
		}
	}
}

func TestReadBody(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		limit int64
		want  string
	}{
		{"whole", `{"a":1}`, 0, `{"a":1}`},
		{"cut at the limit", "0123456789", 4, "0123"},
		{"empty", "", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &closeRecorder{Reader: strings.NewReader(tt.body)}
			got, err := sdkhttp.ReadBody(&http.Response{Body: rc}, tt.limit)
			if err != nil || string(got) != tt.want || !rc.closed {
				t.Errorf("ReadBody = %q, %v (closed %v); want %q, closed", got, err, rc.closed, tt.want)
			}
		})
	}
	rc := &closeRecorder{Reader: io.MultiReader(strings.NewReader("part"), errReader{})}
	if _, err := sdkhttp.ReadBody(&http.Response{Body: rc}, 0); err == nil || !strings.Contains(err.Error(), "read response") || !rc.closed {
		t.Errorf("ReadBody of a broken body = %v (closed %v)", err, rc.closed)
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, syscall.ECONNRESET }

func TestLooksLikeHTML(t *testing.T) {
	tests := []struct {
		ct, body string
		want     bool
	}{
		{"text/html; charset=UTF-8", "", true},
		{"application/json", `{"result":[]}`, false},
		{"", "  \n<!DOCTYPE html><html>", true},
		{"application/json", "<html>", true},
		{"", "", false},
		{"text/plain", "sleeping", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.ct != "" {
			h.Set("Content-Type", tt.ct)
		}
		if got := sdkhttp.LooksLikeHTML(h, []byte(tt.body)); got != tt.want {
			t.Errorf("LooksLikeHTML(%q, %q) = %v, want %v", tt.ct, tt.body, got, tt.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  short \n", 10, "short"},
		{"0123456789abc", 10, "0123456789… (13 bytes in all)"},
		{"ééééé", 3, "é… (10 bytes in all)"},
		{"bad\xff", 10, "bad?"},
		{strings.Repeat("x", 5000), 0, strings.Repeat("x", 4096) + "… (5000 bytes in all)"},
	}
	for _, tt := range tests {
		if got := sdkhttp.Snippet([]byte(tt.in), tt.max); got != tt.want {
			t.Errorf("Snippet(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestTransportError(t *testing.T) {
	if sdkhttp.TransportError(nil) != nil {
		t.Error("TransportError(nil) is not nil")
	}
	cause := syscall.ECONNREFUSED
	tests := []struct {
		name string
		in   error
	}{
		{"url error", &url.Error{Op: "Post", URL: "https://x.example/api?key=s3cret-value", Err: cause}},
		{"wrapped url error", wrapErr(&url.Error{Op: "Get", URL: "https://x.example/?key=s3cret-value", Err: cause})},
		{"plain", cause},
	}
	for _, tt := range tests {
		err := sdkhttp.TransportError(tt.in)
		if sdk.KindOf(err) != sdk.KindRetryable || !errors.Is(err, cause) || strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("%s: TransportError = %q (%s)", tt.name, err, sdk.KindOf(err))
		}
	}
}

func wrapErr(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "call: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestClassify(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	cause := errors.New("acme: create ticket: HTTP n: the backend's message")
	tests := []struct {
		status int
		header http.Header
		kind   sdk.ErrorKind
		after  time.Duration
	}{
		{http.StatusMovedPermanently, http.Header{"Location": {"/login"}}, sdk.KindPermanent, 0},
		{http.StatusBadRequest, nil, sdk.KindPermanent, 0},
		{http.StatusUnauthorized, nil, sdk.KindPermanent, 0},
		{http.StatusNotFound, nil, sdk.KindPermanent, 0},
		{http.StatusRequestTimeout, nil, sdk.KindRetryable, 0},
		{http.StatusTooEarly, nil, sdk.KindRetryable, 0},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, sdk.KindRetryable, 30 * time.Second},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}, sdk.KindRetryable, time.Minute},
		{http.StatusServiceUnavailable, header("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Minute).Unix(), 10)), sdk.KindRetryable, time.Minute},
		{http.StatusBadGateway, nil, sdk.KindRetryable, 0},
	}
	for _, tt := range tests {
		err := sdkhttp.Classify(tt.status, tt.header, now, cause)
		if sdk.KindOf(err) != tt.kind || sdk.RetryAfterOf(err) != tt.after || !errors.Is(err, cause) || err.Error() != cause.Error() {
			t.Errorf("Classify(%d) = %q (%s, after %v); want %s after %v, the cause's message", tt.status, err, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.kind, tt.after)
		}
	}
}

// TestClassifyFollowsFromHTTPStatus checks that the SDK has one rule for a
// failed HTTP answer: Classify gives every status from 100 to 599 the kind
// sdk.FromHTTPStatus gives it (whose table is sdk's TestFromHTTPStatus).
func TestClassifyFollowsFromHTTPStatus(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {"7"}}
	for status := 100; status < 600; status++ {
		want := sdk.FromHTTPStatus(status, h, "x")
		got := sdkhttp.Classify(status, h, now, errors.New("x"))
		if sdk.KindOf(got) != sdk.KindOf(want) || sdk.RetryAfterOf(got) != sdk.RetryAfterOf(want) {
			t.Errorf("status %d: Classify says %s after %v, sdk.FromHTTPStatus %s after %v",
				status, sdk.KindOf(got), sdk.RetryAfterOf(got), sdk.KindOf(want), sdk.RetryAfterOf(want))
		}
	}
}

func TestNoRedirects(t *testing.T) {
	if err := sdkhttp.NoRedirects(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("NoRedirects = %v", err)
	}
}

// header builds a header with canonical keys.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestOptionsDefaultsAndWarnings(t *testing.T) {
	o := sdkhttp.Options{}.WithDefaults()
	if o.Version != "dev" || o.Now == nil || o.Log() != slog.Default() {
		t.Fatalf("defaults: version %q, now set %v, log is default %v", o.Version, o.Now != nil, o.Log() == slog.Default())
	}
	var buf bytes.Buffer
	o.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	sdkhttp.LogWarnings(o.Log(), sdk.Diagnostics{
		{Severity: sdk.SeverityWarning, Summary: "plain http", Detail: "use https", Path: []string{"tls", "ca_file"}},
		{Severity: sdk.SeverityWarning, Summary: "no path"},
	})
	out := buf.String()
	for _, want := range []string{`msg="plain http" detail="use https" attribute=tls.ca_file`, `msg="no path" detail=""`} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Count(out, "attribute=") != 1 {
		t.Errorf("log %q: only the diagnostic with a path names an attribute", out)
	}
}

func TestExchange(t *testing.T) {
	type apiError struct {
		sdkhttp.Exchange
		Message string
	}
	e := apiError{Exchange: sdkhttp.Exchange{Op: "create ticket", Method: "POST", Path: "/api/v2/tickets", Status: 422}, Message: "subject is required"}
	if got := "acme: " + e.Exchange.String() + ": " + e.Message; got != "acme: create ticket: POST /api/v2/tickets: HTTP 422: subject is required" {
		t.Errorf("message = %q", got)
	}
	if e.Status != 422 {
		t.Errorf("Status through the embedded Exchange = %d", e.Status)
	}
}

func TestTimeoutAttribute(t *testing.T) {
	a := sdkhttp.TimeoutAttribute("Jira")
	if a.Name != "timeout" || a.Type != "string" || string(a.Default) != `"30s"` || a.Doc != "Timeout of one HTTP request to Jira, as a duration." {
		t.Errorf("TimeoutAttribute = %+v", a)
	}
	if err := (sdk.Schema{Attributes: []sdk.Attribute{a}}).Validate(); err != nil {
		t.Errorf("schema with the attribute: %v", err)
	}
}
