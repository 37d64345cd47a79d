package rest

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// httpStatusServer answers every request with status and header.
func httpStatusServer(t *testing.T, status int, h http.Header) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, vs := range h {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestStatusClassification(t *testing.T) {
	date := fakehttp.NewClock().Now().Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name      string
		retryable []any // retryable_statuses; nil for the default
		status    int
		header    http.Header
		kind      sdk.ErrorKind
		after     time.Duration
	}{
		{"503 with seconds", nil, 503, http.Header{"Retry-After": {"7"}}, sdk.KindRetryable, 7 * time.Second},
		{"429 with a date", nil, 429, http.Header{"Retry-After": {date}}, sdk.KindRetryable, 90 * time.Second},
		{"408", nil, 408, nil, sdk.KindRetryable, 0},
		{"500 without Retry-After", nil, 500, nil, sdk.KindRetryable, 0},
		{"400", nil, 400, nil, sdk.KindPermanent, 0},
		{"403", nil, 403, nil, sdk.KindPermanent, 0},
		{"409 made retryable", []any{409, "5xx"}, 409, nil, sdk.KindRetryable, 0},
		{"429 no longer retryable", []any{"503"}, 429, http.Header{"Retry-After": {"7"}}, sdk.KindPermanent, 0},
		{"302 is not followed", nil, 302, http.Header{"Location": {"https://sso.example.com/login"}}, sdk.KindPermanent, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
				if tc.retryable != nil {
					cfg["retryable_statuses"] = tc.retryable
				}
			})
			e.fake.FailNext(1, tc.status, tc.header, `{"error":"boom"}`)
			_, err := e.p.Create(context.Background(), e.request("k", nil))
			if sdk.KindOf(err) != tc.kind || sdk.RetryAfterOf(err) != tc.after {
				t.Errorf("Create = %v; kind %s retry after %v, want %s and %v", err, sdk.KindOf(err), sdk.RetryAfterOf(err), tc.kind, tc.after)
			}
			if !strings.Contains(err.Error(), `{"error":"boom"}`) {
				t.Errorf("error %q does not carry the response body", err)
			}
			if tc.status == 302 && !strings.Contains(err.Error(), "redirects are not followed") {
				t.Errorf("error %q does not explain the redirect", err)
			}
		})
	}
}

func TestErrorBodyIsBoundedAndRedacted(t *testing.T) {
	e := newEnv(t, restfake.Options{Auth: restfake.Auth{Bearer: "st4tic-bearer-token"}}, func(cfg map[string]any) {
		cfg["auth"] = map[string]any{"type": "bearer", "token": "st4tic-bearer-token"}
		cfg["body_secrets"] = map[string]any{"routing_key": "r0uting-key-value"}
	})
	// The API echoes the request, secrets included, in a huge error.
	echo := `{"error":"invalid","request":{"routing_key":"r0uting-key-value","auth":"Bearer st4tic-bearer-token"},"pad":"` +
		strings.Repeat("é", 50000) + `"}`
	e.fake.FailNext(1, http.StatusUnprocessableEntity, nil, echo)
	_, err := e.p.Create(context.Background(), e.request("k", nil))
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Fatalf("Create = %v (%s)", err, sdk.KindOf(err))
	}
	msg := err.Error()
	if len(msg) > maxErrorBody+200 {
		t.Errorf("error is %d bytes; want the body cut to about %d", len(msg), maxErrorBody)
	}
	if !strings.Contains(msg, "bytes in all)") || !strings.Contains(msg, "HTTP 422") {
		t.Errorf("error %q does not say the body was cut", msg[:200])
	}
	if strings.Contains(msg, "r0uting-key-value") || strings.Contains(msg, "st4tic-bearer-token") || !strings.Contains(msg, "[redacted]") {
		t.Errorf("error shows a secret: %s", msg[:300])
	}
	if !strings.HasPrefix(msg, "rest: create: POST /api/v2/tickets: HTTP 422") {
		t.Errorf("error = %q", msg[:100])
	}
}

// TestErrorBodyRedactsEncodedEchoes: an API that echoes a secret hex-
// encoded, in upper case, \u-escaped or cut short does not get it into the
// error either.
func TestErrorBodyRedactsEncodedEchoes(t *testing.T) {
	const token = "st4tic-bearer-token-0123456789"
	e := newEnv(t, restfake.Options{Auth: restfake.Auth{Bearer: token}}, func(cfg map[string]any) {
		cfg["auth"] = map[string]any{"type": "bearer", "token": token}
	})
	var u strings.Builder
	for _, r := range token {
		fmt.Fprintf(&u, `\u%04x`, r)
	}
	echoes := map[string]string{
		"hex":        hex.EncodeToString([]byte(token)),
		"upper case": strings.ToUpper(token),
		`\u-escaped`: u.String(),
		"cut short":  token[:20],
	}
	body := `{"error":"invalid token"`
	for name, f := range echoes {
		body += fmt.Sprintf(`,%q:"%s"`, name, f)
	}
	e.fake.FailNext(1, http.StatusUnauthorized, nil, body+"}")
	_, err := e.p.Create(context.Background(), e.request("k", nil))
	if err == nil {
		t.Fatal("Create succeeded")
	}
	for name, f := range echoes {
		if strings.Contains(err.Error(), f) {
			t.Errorf("error shows the token %s: %s", name, err)
		}
	}
}

func TestTransportErrorIsRetryable(t *testing.T) {
	e := newEnv(t, restfake.Options{}, nil)
	e.fake.Close()
	_, err := e.p.Create(context.Background(), e.request("k", nil))
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Create against a closed server = %v (%s)", err, sdk.KindOf(err))
	}
}

// TestResultReading covers reading the work item from responses: numbers,
// negative indexes, headers with a regexp, missing and malformed values.
func TestResultReading(t *testing.T) {
	serve := func(status int, h http.Header, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for k, vs := range h {
				w.Header()[k] = vs
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	tests := []struct {
		name   string
		result map[string]any
		status int
		header http.Header
		body   string
		want   sdk.WorkItem
		err    string
	}{
		{"big number id", map[string]any{"id": "data.id"}, 201, nil, `{"data":{"id":90071992547409931234}}`,
			sdk.WorkItem{ID: "90071992547409931234", State: sdk.StateOpen}, ""},
		{"array and dollar", map[string]any{"id": "$.result[0].sys_id", "key": "result[0].number"}, 200, nil,
			`{"result":[{"sys_id":"abc","number":"INC001"}]}`, sdk.WorkItem{ID: "abc", Key: "INC001", State: sdk.StateOpen}, ""},
		{"location header", map[string]any{"id": "header:location", "id_regex": "([^/]+)$", "url": "header:Location"}, 201,
			http.Header{"Location": {"https://api.example.com/tickets/77"}}, ``,
			sdk.WorkItem{ID: "77", URL: "https://api.example.com/tickets/77", State: sdk.StateOpen}, ""},
		{"regexp without group", map[string]any{"id": "data.ref", "id_regex": "[0-9]+"}, 201, nil, `{"data":{"ref":"T-0042/x"}}`,
			sdk.WorkItem{ID: "0042", State: sdk.StateOpen}, ""},
		{"state resolved", map[string]any{"id": "id", "state": "status", "resolved_states": []string{"closed"}}, 200, nil,
			`{"id":"1","status":"closed"}`, sdk.WorkItem{ID: "1", State: sdk.StateResolved}, ""},
		{"no id configured", map[string]any{"key": "data.tinyId"}, 202, nil, `{"requestId":"r1"}`,
			sdk.WorkItem{ID: "the-key", State: sdk.StateOpen}, ""},
		{"id missing", map[string]any{"id": "data.id"}, 201, nil, `{"data":{}}`, sdk.WorkItem{}, "has no value at data.id"},
		{"id is an object", map[string]any{"id": "data"}, 201, nil, `{"data":{"id":1}}`, sdk.WorkItem{}, "is an object"},
		{"not JSON", map[string]any{"id": "data.id"}, 200, nil, `<html>sign in</html>`, sdk.WorkItem{}, "not JSON"},
		{"empty header", map[string]any{"id": "header:Location"}, 201, nil, ``, sdk.WorkItem{}, "has no value at header:Location"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := serve(tc.status, tc.header, tc.body)
			p := New(Options{Logger: slog.New(slog.DiscardHandler)})
			cfg := map[string]any{"base_url": url, "create": map[string]any{"result": tc.result}}
			if err := sdktest.Rejected(p.Configure(context.Background(), sdktest.ConfigOf(t, cfg))); err != nil {
				t.Fatal(err)
			}
			wi, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "the-key",
				Values: sdk.Values(`{"create": {"url": "/x", "body": "{}"}}`)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || sdk.KindOf(err) != sdk.KindPermanent {
					t.Fatalf("Create = %+v, %v; want a permanent error containing %q", wi, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.CorrelationKey = "the-key"
			if wi.ID != tc.want.ID || wi.Key != tc.want.Key || wi.URL != tc.want.URL || wi.State != tc.want.State || wi.CorrelationKey != "the-key" {
				t.Errorf("Create = %+v, want %+v", *wi, tc.want)
			}
		})
	}
}

func TestLookupEdgeCases(t *testing.T) {
	e := newEnv(t, restfake.Options{}, nil)
	ctx := context.Background()
	if wi, err := e.p.Lookup(ctx, e.request("nothing-here", nil)); wi != nil || err != nil {
		t.Errorf("Lookup of an unknown key = %+v, %v", wi, err)
	}
	first := e.create("k")
	if _, err := e.p.Resolve(ctx, e.request("k", first)); err != nil {
		t.Fatal(err)
	}
	second := e.create("k")
	found, err := e.p.Lookup(ctx, e.request("k", nil))
	if err != nil || found.ID != second.ID || found.State != sdk.StateOpen || found.Key != second.Key {
		t.Errorf("Lookup = %+v, %v; want the newest ticket %s", found, err, second.ID)
	}
	e.fake.FailNext(1, http.StatusNotFound, nil, "")
	if wi, err := e.p.Lookup(ctx, e.request("k", nil)); wi != nil || err != nil {
		t.Errorf("Lookup answered 404 = %+v, %v; want (nil, nil)", wi, err)
	}
	e.fake.FailNext(1, http.StatusOK, http.Header{"Content-Type": {"text/html"}}, "<html>login</html>")
	if _, err := e.p.Lookup(ctx, e.request("k", nil)); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Lookup of an HTML page = %v; want a permanent error, not (nil, nil)", err)
	}
}

// TestAbsentActions: a configuration reports only the lifecycle steps it
// has blocks for, so the host never calls the others; called anyway, they
// fail permanently and send nothing. (Resolve used to report success
// without sending anything, and the host recorded an item resolved that
// was still open in the tool.)
func TestAbsentActions(t *testing.T) {
	p := New(Options{})
	if got := sdk.CapabilitiesOf(p); got != (sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, ReadStatus: true}) {
		t.Errorf("capabilities before Configure = %+v; want every lifecycle step", got)
	}
	e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
		for _, a := range []string{"lookup", "update", "resolve", "reopen"} {
			delete(cfg, a)
		}
	})
	info, err := e.p.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Capabilities{}
	if got := sdk.CapabilitiesOf(e.p); got != want {
		t.Errorf("capabilities with create alone = %+v; want none", got)
	}
	if info.Capabilities.Comment || info.Capabilities.CMDB {
		t.Errorf("Info.Capabilities = %+v; want no Comment without update, no CMDB without find_ci", info.Capabilities)
	}
	ctx := context.Background()
	wi := e.create("k")
	n := len(e.fake.Requests())
	for name, call := range map[string]func(context.Context, *sdk.Request) (*sdk.WorkItem, error){
		"Lookup": e.p.Lookup, "Update": e.p.Update, "Resolve": e.p.Resolve, "Reopen": e.p.Reopen,
	} {
		if got, err := call(ctx, e.request("k", wi)); got != nil || sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "no "+strings.ToLower(name)+" block") {
			t.Errorf("%s = %+v, %v; want a permanent error naming the missing block", name, got, err)
		}
	}
	if len(e.fake.Requests()) != n {
		t.Errorf("%d requests sent for absent actions", len(e.fake.Requests())-n)
	}
}

// TestCapabilitiesFollowBlocks: each lifecycle step is reported exactly
// when its block is configured.
func TestCapabilitiesFollowBlocks(t *testing.T) {
	for _, block := range []string{"lookup", "update", "resolve", "reopen"} {
		t.Run(block, func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) { delete(cfg, block) })
			got := sdk.CapabilitiesOf(e.p)
			has := map[string]bool{"lookup": got.Lookup, "update": got.Update, "resolve": got.Resolve, "reopen": got.Reopen}
			for name, ok := range has {
				if ok == (name == block) {
					t.Errorf("without %s: %s reported = %v", block, name, ok)
				}
			}
		})
	}
}

func TestNotConfigured(t *testing.T) {
	p := New(Options{})
	if _, err := p.Create(context.Background(), &sdk.Request{}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Create before Configure = %v", err)
	}
	e := newEnv(t, restfake.Options{}, nil)
	req := e.request("k", nil)
	req.Values = nil
	if _, err := e.p.Create(context.Background(), req); sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "create.url") {
		t.Errorf("Create without rendered values = %v", err)
	}
}

func TestTarget(t *testing.T) {
	base, _ := url.Parse("https://api.example.com/v2")
	tests := []struct {
		name string
		av   ActionValues
		want string
		err  string
	}{
		{"relative", ActionValues{URL: "/tickets"}, "https://api.example.com/v2/tickets", ""},
		{"relative without slash", ActionValues{URL: "tickets?x=1"}, "https://api.example.com/v2/tickets?x=1", ""},
		{"absolute same host", ActionValues{URL: "https://api.example.com/other"}, "https://api.example.com/other", ""},
		{"segments escaped", ActionValues{URL: "/alerts", Path: []string{"High CPU|/subscriptions/x", "close"}},
			"https://api.example.com/v2/alerts/High%20CPU%7C%2Fsubscriptions%2Fx/close", ""},
		{"query merged and encoded", ActionValues{URL: "/t?a=1", Query: map[string]string{"b": "x y&z", "a": "2"}},
			"https://api.example.com/v2/t?a=2&b=x+y%26z", ""},
		{"other host", ActionValues{URL: "https://evil.example.net/steal"}, "", "not on base_url's host"},
		{"other scheme", ActionValues{URL: "http://api.example.com/x"}, "", "not on base_url's host"},
		{"odd scheme", ActionValues{URL: "ftp://api.example.com/x"}, "", "must be a path below base_url"},
		{"empty segment", ActionValues{URL: "/t", Path: []string{""}}, "", "path[0] rendered empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := target(base, &tc.av, "update")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("target = %v, %v; want error %q", u, err, tc.err)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Errorf("target = %v, %v; want %s", u, err, tc.want)
			}
		})
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(map[string]any)
		path   []string
	}{
		{"no base_url", func(c map[string]any) { delete(c, "base_url") }, []string{"base_url"}},
		{"base_url scheme", func(c map[string]any) { c["base_url"] = "ftp://x" }, []string{"base_url"}},
		{"base_url credentials", func(c map[string]any) { c["base_url"] = "https://u:p@x" }, []string{"base_url"}},
		{"timeout", func(c map[string]any) { c["timeout"] = "soon" }, []string{"timeout"}},
		{"header name", func(c map[string]any) { c["headers"] = map[string]any{"Bad Header": "x"} }, []string{"headers", "Bad Header"}},
		{"retryable status", func(c map[string]any) { c["retryable_statuses"] = []any{"6xx"} }, []string{"retryable_statuses"}},
		{"body secret path", func(c map[string]any) { c["body_secrets"] = map[string]any{"a..b": "s3cr3t-value"} }, []string{"body_secrets"}},
		{"no create", func(c map[string]any) { delete(c, "create") }, []string{"create"}},
		{"method", func(c map[string]any) { c["update"].(map[string]any)["method"] = "put" }, []string{"update", "method"}},
		{"success status", func(c map[string]any) { c["create"].(map[string]any)["success_statuses"] = []any{"20"} }, []string{"create", "success_statuses"}},
		{"status both", func(c map[string]any) { c["update"].(map[string]any)["not_found_statuses"] = []any{200} }, []string{"update", "not_found_statuses"}},
		{"result path", func(c map[string]any) {
			c["lookup"].(map[string]any)["result"].(map[string]any)["id"] = "tickets[x].id"
		}, []string{"lookup", "result", "id"}},
		{"result header", func(c map[string]any) {
			c["create"].(map[string]any)["result"].(map[string]any)["id"] = "header:Bad Name"
		}, []string{"create", "result", "id"}},
		{"result regexp", func(c map[string]any) { c["create"].(map[string]any)["result"].(map[string]any)["id_regex"] = "(" }, []string{"create", "result", "id_regex"}},
		{"two groups", func(c map[string]any) { c["create"].(map[string]any)["result"].(map[string]any)["id_regex"] = "(a)(b)" }, []string{"create", "result", "id_regex"}},
		{"lookup without id", func(c map[string]any) { c["lookup"] = map[string]any{} }, []string{"lookup", "result", "id"}},
		{"resolved without state", func(c map[string]any) {
			c["update"].(map[string]any)["result"] = map[string]any{"resolved_states": []string{"x"}}
		}, []string{"update", "result", "resolved_states"}},
		{"find_ci body_path", func(c map[string]any) {
			c["find_ci"] = map[string]any{"body_path": "$", "result": map[string]any{"id": "x"}}
		}, []string{"find_ci", "body_path"}},
		{"find_ci without id", func(c map[string]any) { c["find_ci"] = map[string]any{"body_path": "a"} }, []string{"find_ci", "result", "id"}},
		{"find_ci body_value reference", func(c map[string]any) {
			c["find_ci"] = map[string]any{"body_path": "a", "body_value": "asset:${find_ci.key}", "result": map[string]any{"id": "x"}}
		}, []string{"find_ci", "body_value"}},
		{"body_value outside find_ci", func(c map[string]any) { c["update"].(map[string]any)["body_value"] = "x" }, []string{"update", "body_value"}},
		{"fields_path outside update and reopen", func(c map[string]any) { c["create"].(map[string]any)["fields_path"] = "ticket" }, []string{"create", "fields_path"}},
		{"fields_path", func(c map[string]any) { c["update"].(map[string]any)["fields_path"] = "a..b" }, []string{"update", "fields_path"}},
		{"comment_path without fields_path", func(c map[string]any) { c["reopen"].(map[string]any)["comment_path"] = "ticket.comment.body" }, []string{"reopen", "comment_path"}},
		{"comment_path root", func(c map[string]any) {
			c["update"].(map[string]any)["fields_path"], c["update"].(map[string]any)["comment_path"] = "ticket", "$"
		}, []string{"update", "comment_path"}},
		{"url_template reference", func(c map[string]any) {
			c["create"].(map[string]any)["result"] = map[string]any{"id": "ticket.id", "url_template": "https://t/${alert.id}"}
		}, []string{"create", "result", "url_template"}},
		{"url_template unclosed", func(c map[string]any) {
			c["create"].(map[string]any)["result"] = map[string]any{"id": "ticket.id", "url_template": "https://t/${work_item.id"}
		}, []string{"create", "result", "url_template"}},
		{"url_template with url", func(c map[string]any) {
			c["create"].(map[string]any)["result"].(map[string]any)["url_template"] = "https://t/${work_item.id}"
		}, []string{"create", "result", "url_template"}},
		{"url_template attribute nobody keeps", func(c map[string]any) {
			c["create"].(map[string]any)["result"] = map[string]any{"id": "ticket.id", "url_template": "https://t/${work_item.attributes.project}"}
		}, []string{"create", "result", "url_template"}},
		{"attribute name", func(c map[string]any) {
			c["create"].(map[string]any)["result"].(map[string]any)["attributes"] = map[string]any{"a-b": "x"}
		}, []string{"create", "result", "attributes"}},
		{"attribute source", func(c map[string]any) {
			c["create"].(map[string]any)["result"].(map[string]any)["attributes"] = map[string]any{"p": "a..b"}
		}, []string{"create", "result", "attributes", "p"}},
		{"error regexp", func(c map[string]any) {
			c["resolve"].(map[string]any)["result"] = map[string]any{"error": "[0]", "error_regex": "("}
		}, []string{"resolve", "result", "error_regex"}},
		{"resolve state without resolved_states", func(c map[string]any) {
			c["resolve"].(map[string]any)["result"] = map[string]any{"state": "ticket.status"}
		}, []string{"resolve", "result", "resolved_states"}},
		{"auth type", func(c map[string]any) { c["auth"] = map[string]any{"type": "kerberos"} }, []string{"auth", "type"}},
		{"basic password", func(c map[string]any) { c["auth"] = map[string]any{"type": "basic", "username": "u"} }, []string{"auth", "password"}},
		{"bearer token", func(c map[string]any) { c["auth"] = map[string]any{"type": "bearer"} }, []string{"auth", "token"}},
		{"api key", func(c map[string]any) { c["auth"] = map[string]any{"type": "api_key"} }, []string{"auth", "api_key"}},
		{"oauth token_url", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "oauth2", "client_id": "i", "client_secret": "s3cr3t-value", "token_url": "not a url"}
		}, []string{"auth", "token_url"}},
		{"oauth client_auth", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "oauth2", "client_id": "i", "client_secret": "s3cr3t-value", "token_url": "https://t/x", "client_auth": "jwt"}
		}, []string{"auth", "client_auth"}},
		{"oauth params", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "oauth2", "client_id": "i", "client_secret": "s3cr3t-value", "token_url": "https://t/x", "token_params": map[string]any{"scope": "x"}}
		}, []string{"auth", "token_params"}},
		{"hmac encoding", func(c map[string]any) {
			c["hmac"] = map[string]any{"secret": "s3cr3t-value", "header": "X-Sig", "encoding": "base32"}
		}, []string{"hmac", "encoding"}},
		{"hmac header", func(c map[string]any) { c["hmac"] = map[string]any{"secret": "s3cr3t-value", "header": "X Sig"} }, []string{"hmac", "header"}},
		{"ca_cert", func(c map[string]any) { c["tls"] = map[string]any{"ca_cert": "not pem"} }, []string{"tls", "ca_cert"}},
		{"client key alone", func(c map[string]any) { c["tls"] = map[string]any{"client_key": "s3cr3t-value"} }, []string{"tls", "client_cert"}},
		{"key pair", func(c map[string]any) { c["tls"] = map[string]any{"client_cert": "x", "client_key": "s3cr3t-value"} }, []string{"tls", "client_key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ticketConfig("https://api.example.com")
			tc.mutate(cfg)
			err := New(Options{Logger: slog.New(slog.DiscardHandler)}).Configure(context.Background(), sdktest.ConfigOf(t, cfg))
			d := sdk.AsDiagnostics(err)
			if !d.HasErrors() {
				t.Fatalf("Configure accepted it: %v", err)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("diagnostics show a secret: %v", err)
			}
			for _, x := range d {
				if slices.Equal(x.Path, tc.path) && x.Severity == sdk.SeverityError {
					return
				}
			}
			t.Errorf("Configure = %v; want an error at %v", err, tc.path)
		})
	}
}

func TestSchemaIsValid(t *testing.T) {
	s := Schema()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	// Every template attribute is per-alert, so the host type-checks it at
	// load and renders it per call; nothing else is.
	templates := map[string]bool{"url": true, "path": true, "query": true, "headers": true, "body": true}
	for _, b := range s.Blocks {
		if !slices.Contains(actionNames, b.Name) {
			continue
		}
		for _, a := range b.Schema.Attributes {
			if a.PerAlert != templates[a.Name] {
				t.Errorf("%s.%s: PerAlert = %v", b.Name, a.Name, a.PerAlert)
			}
		}
	}
	for _, a := range s.Attributes {
		if a.PerAlert {
			t.Errorf("top-level %s is per-alert", a.Name)
		}
	}
}
