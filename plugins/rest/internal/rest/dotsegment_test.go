package rest

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestHasDotSegment(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"..", true},
		{".", true},
		{"../admin", true},
		{"a/../b", true},
		{"a/./b", true},
		{"/api/v2/tickets/..", true},
		{"/api/v2/tickets/../", true},
		{`..\admin`, true},
		{`a\..\b`, true},
		{"%2e%2e", true},
		{"%2E%2E", true},
		{"%2e", true},
		{".%2e", true},
		{"%2e%2e%2fadmin", true},
		{"%252e%252e", true}, // decoded twice by some servers
		{"%25252e%25252e", true},
		{"..%5cadmin", true},
		{"..%255cadmin", true},
		{"..;", true}, // a path parameter: Tomcat reads "..;/" as "../"
		{"..;jsessionid=x", true},
		{"%c0%ae%c0%ae", true}, // overlong UTF-8 dots
		{"\uff0e\uff0e", true}, // fullwidth dots, folded by NFKC
		{"a/%2e%2e/b", true},

		{"", false},
		{"...", false},
		{"..a", false},
		{"a..", false},
		{".hidden", false},
		{"v1.2", false},
		{"High CPU|/subscriptions/x", false},
		{"/api/v2/tickets", false},
		{"1042", false},
		{"%zz..", false}, // not decodable: read as it is
		{"%2e%2e/%zz", true},
		{"%zz/%2e%2e", true},
		{`a\b`, false},
		{"%2e%2ex", false},
	}
	for _, tc := range tests {
		if got := hasDotSegment(tc.in); got != tc.want {
			t.Errorf("hasDotSegment(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestDotSegmentsRefused: a "." or ".." from the alert in a path element
// or in a templated url is refused, permanently and naming the attribute,
// before anything (credentials included) is sent.
func TestDotSegmentsRefused(t *testing.T) {
	tests := []struct {
		name string
		url  string
		path []string
		attr string
	}{
		{"path element", "/api/v2/tickets", []string{".."}, "update.path[0]"},
		{"path element dot", "/api/v2/tickets", []string{"1", "."}, "update.path[1]"},
		{"path element encoded", "/api/v2/tickets", []string{"%2e%2e"}, "update.path[0]"},
		{"path element backslash", "/api/v2/tickets", []string{`..\..\admin`}, "update.path[0]"},
		{"path element slash", "/api/v2/tickets", []string{"../../admin"}, "update.path[0]"},
		{"templated url", "/api/v2/tickets/..", nil, "update.url"},
		{"templated url inside", "/api/v2/tickets/../../admin/users", nil, "update.url"},
		{"templated url encoded", "/api/v2/tickets/%2e%2e", nil, "update.url"},
		{"templated url upper-case encoded", "/api/v2/tickets/%2E%2E/x", nil, "update.url"},
		{"templated url double-encoded", "/api/v2/tickets/%252e%252e", nil, "update.url"},
		{"templated url backslash", `/api/v2/tickets/..\..\admin`, nil, "update.url"},
		{"templated absolute url", "URL_BASE/api/v2/tickets/..", nil, "update.url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{Auth: restfake.Auth{Bearer: "t0ken"}}, func(cfg map[string]any) {
				cfg["auth"] = map[string]any{"type": "bearer", "token": "t0ken"}
			})
			wi := e.create("k")
			e.fake.ResetRequests()
			req := e.request("k", wi)
			update := map[string]any{"url": strings.Replace(tc.url, "URL_BASE", e.fake.URL, 1), "path": tc.path,
				"body": `{"ticket":{"comment":{"body":"x"}}}`}
			req.Values = withAction(t, req.Values, "update", update)
			_, err := e.p.Update(context.Background(), req)
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), tc.attr) || !strings.Contains(err.Error(), "dot segment") {
				t.Fatalf("Update = %v; want a permanent error naming %s and the dot segment", err, tc.attr)
			}
			if got := e.fake.Requests(); len(got) != 0 {
				t.Errorf("the API received %d requests, first %s %s; want none", len(got), got[0].Method, got[0].RawPath)
			}
		})
	}
}

// withAction replaces one action's rendered values.
func withAction(t *testing.T, v sdk.Values, name string, av map[string]any) sdk.Values {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		t.Fatal(err)
	}
	m[name] = av
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostLockHolds: whatever a template renders into url and path, the
// request goes to base_url's scheme and host or nowhere.
func TestHostLockHolds(t *testing.T) {
	base, _ := url.Parse("https://api.example.com/v2")
	urls := []string{
		"https://evil.example.net/..", "https://evil.example.net/x", "//evil.example.net/x", "///evil.example.net/x",
		`\\evil.example.net\x`, `https:\\evil.example.net\x`, `https:/evil.example.net`, "https://api.example.com@evil.example.net/x",
		"https://api.example.com.evil.example.net/x", "https://api.example.com:8443/x", "HTTPS://evil.example.net/x",
		"/../../evil.example.net", "/%2e%2e/%2e%2e/evil.example.net", "/..%2f..%2fevil.example.net", "@evil.example.net",
		"/x?next=https://evil.example.net", "/x#https://evil.example.net", "javascript:alert(1)", "\thttps://evil.example.net",
		"/tickets",
	}
	paths := [][]string{nil, {".."}, {"//evil.example.net"}, {"https://evil.example.net/x"}, {"@evil.example.net"}, {"%2e%2e", "x"}}
	for _, raw := range urls {
		for _, path := range paths {
			u, err := target(base, &ActionValues{URL: raw, Path: path}, "create")
			if err != nil {
				continue
			}
			if u.Scheme != "https" || u.Host != "api.example.com" || u.User != nil {
				t.Errorf("target(url %q, path %q) = %s; left base_url's host", raw, path, u)
			}
			if hasDotSegment(u.EscapedPath()[len("/v2"):]) {
				t.Errorf("target(url %q, path %q) = %s; a dot segment got through", raw, path, u)
			}
		}
	}
}
