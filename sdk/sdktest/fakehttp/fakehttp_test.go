package fakehttp_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestLog(t *testing.T) {
	clock := fakehttp.NewClock()
	var b fakehttp.Base
	b.Start(b.Logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = w.Write(body) // the handler still sees the body
	})), fakehttp.ServeOptions{Now: clock.Now})
	t.Cleanup(b.Close)

	send := func(method, path, body string) string {
		req, _ := http.NewRequest(method, b.URL+path, strings.NewReader(body))
		req.Header.Set("X-Test", method)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		echoed, _ := io.ReadAll(resp.Body)
		return string(echoed)
	}
	if got := send("POST", "/api/a%2Fb?q=1", `{"x":1}`); got != `{"x":1}` {
		t.Errorf("handler saw body %q", got)
	}
	clock.Advance(time.Minute)
	send("GET", "/missing", "")

	got := b.Requests()
	want := []fakehttp.Request{
		{Time: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC), Method: "POST", Path: "/api/a/b", RawPath: "/api/a%2Fb", Body: []byte(`{"x":1}`), Status: 200},
		{Time: time.Date(2025, 3, 14, 9, 31, 0, 0, time.UTC), Method: "GET", Path: "/missing", RawPath: "/missing", Body: []byte{}, Status: 404},
	}
	if len(got) != len(want) {
		t.Fatalf("logged %d requests, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !g.Time.Equal(w.Time) || g.Method != w.Method || g.Path != w.Path || g.RawPath != w.RawPath || string(g.Body) != string(w.Body) ||
			g.Status != w.Status || g.Header.Get("X-Test") != w.Method {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
	if got[0].Query.Get("q") != "1" {
		t.Errorf("query = %v", got[0].Query)
	}
	if r := b.RequestsTo("GET", "/missing"); len(r) != 1 || r[0].Status != 404 {
		t.Errorf("RequestsTo = %+v", r)
	}
	b.ResetRequests()
	if n := len(b.Requests()); n != 0 {
		t.Errorf("%d requests after ResetRequests", n)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakehttp.Faults)
		want  []int // statuses of the next answers; 0 is no fault
	}{
		{"none", func(*fakehttp.Faults) {}, []int{0, 0}},
		{"next n", func(f *fakehttp.Faults) { f.FailNext(2, 503, nil, "") }, []int{503, 503, 0}},
		{"all", func(f *fakehttp.Faults) { f.FailAll(500, nil, "") }, []int{500, 500, 500}},
		{"next before all", func(f *fakehttp.Faults) { f.FailAll(500, nil, ""); f.FailNext(1, 429, nil, "") }, []int{429, 500, 500}},
		{"healed", func(f *fakehttp.Faults) { f.FailAll(500, nil, ""); f.FailNext(1, 429, nil, ""); f.Heal() }, []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakehttp.Faults
			tt.setup(&f)
			var got []int
			for range tt.want {
				ft, ok := f.NextFault()
				if ok != (ft.Status != 0) {
					t.Fatalf("NextFault = %+v, %v", ft, ok)
				}
				got = append(got, ft.Status)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("statuses %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerAndBody(t *testing.T) {
	var b fakehttp.Base
	b.Start(b.Logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.Answer(w, "application/json", func(w http.ResponseWriter, status int) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"error":"injected"}`)
		}) {
			return
		}
		first, again := fakehttp.Body(r), fakehttp.Body(r)
		rest, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, string(first)+"|"+string(again)+"|"+string(rest))
	})), fakehttp.ServeOptions{})
	t.Cleanup(b.Close)

	b.FailNext(1, http.StatusServiceUnavailable, nil, "")
	if resp, _ := fakehttp.Call(t, http.MethodPost, b.URL, `{"a":1}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("with a fault: %d", resp.StatusCode)
	}
	resp, err := http.Post(b.URL, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(got) != `{"a":1}|{"a":1}|{"a":1}` {
		t.Errorf("without a fault: %d %s; want the body three times", resp.StatusCode, got)
	}
	if r := b.Requests(); len(r) != 2 || r[0].Status != http.StatusServiceUnavailable || string(r[1].Body) != `{"a":1}` {
		t.Errorf("logged %+v", r)
	}
}

func TestFaultWrite(t *testing.T) {
	envelope := func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"`+http.StatusText(status)+`"}`)
	}
	tests := []struct {
		name      string
		fault     fakehttp.Fault
		ctype     string
		envelope  func(http.ResponseWriter, int)
		wantCType string
		wantBody  string
	}{
		{"body with content type", fakehttp.Fault{Status: 400, Body: `{"e":1}`}, "application/json", nil, "application/json", `{"e":1}`},
		{"body without content type", fakehttp.Fault{Status: 400, Body: "oops"}, "", nil, "", "oops"},
		{"fault's own content type wins", fakehttp.Fault{Status: 400, Body: "<html>", Header: http.Header{"Content-Type": {"text/html"}}},
			"application/json", nil, "text/html", "<html>"},
		{"envelope", fakehttp.Fault{Status: 503, Header: http.Header{"Retry-After": {"7"}}}, "", envelope, "application/json", `{"error":"Service Unavailable"}`},
		{"bare status", fakehttp.Fault{Status: 429}, "application/json", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.fault.Write(rec, tt.ctype, tt.envelope)
			if rec.Code != tt.fault.Status || rec.Header().Get("Content-Type") != tt.wantCType || rec.Body.String() != tt.wantBody {
				t.Errorf("answer %d %q %q, want %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.fault.Status, tt.wantCType, tt.wantBody)
			}
			for k := range tt.fault.Header {
				if rec.Header().Get(k) != tt.fault.Header.Get(k) {
					t.Errorf("header %s = %q", k, rec.Header().Get(k))
				}
			}
		})
	}
}

func TestBudget(t *testing.T) {
	clock := fakehttp.NewClock()
	b := &fakehttp.Budget{Limit: 2, Window: time.Minute, Now: clock.Now}
	steps := []struct {
		advance time.Duration
		limited bool
		wait    time.Duration
	}{
		{0, false, 0},
		{10 * time.Second, false, 0},
		{0, true, 50 * time.Second},
		{20 * time.Second, true, 30 * time.Second},
		{30 * time.Second, false, 0}, // a new window
		{0, false, 0},
		{0, true, time.Minute},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		wait, limited := b.Spend()
		if limited != st.limited || wait != st.wait {
			t.Errorf("step %d: Spend = %v, %v; want %v, %v", i, wait, limited, st.wait, st.limited)
		}
	}
	rec := httptest.NewRecorder()
	reset, limited := b.Limited(rec)
	if !limited || !reset.Equal(clock.Now().Add(time.Minute)) || rec.Header().Get("Retry-After") != "60" || rec.Header().Get("X-RateLimit-Limit") != "2" {
		t.Errorf("Limited = %v, %v; headers %v", reset, limited, rec.Header())
	}
	b.ResetRateLimit()
	if _, limited := b.Spend(); limited {
		t.Error("limited right after ResetRateLimit")
	}
	var unlimited fakehttp.Budget
	for range 100 {
		if _, limited := unlimited.Spend(); limited {
			t.Fatal("the zero Budget limited a request")
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{0, "0"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Millisecond, "1"}, {time.Minute, "60"},
	}
	for _, tt := range tests {
		if got := fakehttp.RetryAfter(tt.wait); got != tt.want {
			t.Errorf("RetryAfter(%v) = %q, want %q", tt.wait, got, tt.want)
		}
	}
}

func TestServeTLS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			_, _ = io.WriteString(w, "client certificate")
			return
		}
		_, _ = io.WriteString(w, "anonymous")
	})
	ca := fakehttp.NewCA(t)
	certPEM, keyPEM := ca.ClientCert(t)
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       fakehttp.ServeOptions
		clientCert bool
		want       string // "" means the request fails
	}{
		{"plain http", fakehttp.ServeOptions{}, false, "anonymous"},
		{"https", fakehttp.ServeOptions{TLS: true}, false, "anonymous"},
		{"client certificate optional, not given", fakehttp.ServeOptions{ClientCAs: ca.Pool()}, false, "anonymous"},
		{"client certificate optional, given", fakehttp.ServeOptions{ClientCAs: ca.Pool()}, true, "client certificate"},
		{"client certificate required, not given", fakehttp.ServeOptions{ClientCAs: ca.Pool(), RequireClientCert: true}, false, ""},
		{"client certificate required, given", fakehttp.ServeOptions{ClientCAs: ca.Pool(), RequireClientCert: true}, true, "client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b fakehttp.Base
			b.Start(ok, tt.opts)
			t.Cleanup(b.Close)
			plain := !tt.opts.TLS && tt.opts.ClientCAs == nil
			if plain != (b.CertPEM() == nil) || plain != strings.HasPrefix(b.URL, "http://") {
				t.Fatalf("URL %s, CertPEM %q", b.URL, b.CertPEM())
			}
			cfg := &tls.Config{}
			if !plain {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(b.CertPEM())
				cfg.RootCAs = pool
			}
			if tt.clientCert {
				cfg.Certificates = []tls.Certificate{pair}
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			t.Cleanup(client.CloseIdleConnections)
			resp, err := client.Get(b.URL)
			got := ""
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				got = string(body)
			}
			if got != tt.want {
				t.Errorf("answer %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestClockAndLogBuffer(t *testing.T) {
	c := fakehttp.NewClock()
	start := c.Now()
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Errorf("advanced %v, want 90s", got)
	}
	var buf fakehttp.LogBuffer
	done := make(chan struct{})
	for range 4 {
		go func() {
			_, _ = buf.Write([]byte("line\n"))
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	if got := buf.String(); got != strings.Repeat("line\n", 4) {
		t.Errorf("LogBuffer = %q", got)
	}
}

func TestRequestJSON(t *testing.T) {
	r := fakehttp.Request{Method: http.MethodPost, Path: "/api", Body: []byte(`{"title": "x"}`)}
	if got := r.JSON(t); got["title"] != "x" {
		t.Errorf("JSON = %v; want title x", got)
	}
}
