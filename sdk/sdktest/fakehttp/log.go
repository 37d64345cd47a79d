package fakehttp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one logged request.
type Request struct {
	// Time is when the request arrived, on the fake's clock.
	Time   time.Time
	Method string
	// Path is the URL path without the query; RawPath is the escaped path
	// as sent.
	Path    string
	RawPath string
	Query   url.Values
	Header  http.Header
	Body    []byte
	// Status is the status code the fake answered with.
	Status int
}

// JSON decodes the request's body as a JSON object; a body that is not
// one fails the test.
func (r Request) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("%s %s body: %v", r.Method, r.Path, err)
	}
	return m
}

// Log records requests. The zero value is ready to use, with time.Now as
// its clock; it is safe for concurrent use.
type Log struct {
	now func() time.Time

	mu       sync.Mutex
	requests []Request
}

// Logged wraps next so that every request it serves is logged, with the
// status it answered. The body is read first and handed to next intact.
func (l *Log) Logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := l.clock()
		body := Body(r)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		entry := Request{
			Time: at, Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, Status: rec.status,
		}
		l.mu.Lock()
		l.requests = append(l.requests, entry)
		l.mu.Unlock()
	})
}

// Body reads r's body and puts it back, so that it can be read again (by
// the handler, or a proxied request). Behind [Log.Logged], which has read
// it already, it cannot fail; elsewhere an unreadable body reads as what
// arrived of it.
func Body(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// Requests returns the logged requests, oldest first.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}

// RequestsTo returns the logged requests with method whose path ends with
// suffix, e.g. ("POST", "/comment"), oldest first.
func (l *Log) RequestsTo(method, suffix string) []Request {
	var out []Request
	for _, r := range l.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests empties the request log.
func (l *Log) ResetRequests() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = nil
}

func (l *Log) clock() time.Time {
	if l.now == nil {
		return time.Now()
	}
	return l.now()
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (a fake that
// drops a connection on purpose hijacks it).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
