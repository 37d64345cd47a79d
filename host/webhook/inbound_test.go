package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/config"
)

const inboundSecret = "0123456789abcdef0123"

func TestAuthenticate(t *testing.T) {
	body := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"id":"10002","key":"OPS-1"}}`)
	jira := InboundBackend{Scheme: config.InboundJiraHMAC, Secret: inboundSecret}
	snow := InboundBackend{Scheme: config.InboundServiceNowHMAC, Secret: inboundSecret}
	shared := InboundBackend{Scheme: config.InboundSharedSecret, Secret: inboundSecret}
	cases := []struct {
		name   string
		cfg    InboundBackend
		header http.Header
		ok     bool
		replay string
	}{
		{"jira signed", jira, http.Header{HeaderHubSignature: {Sign(inboundSecret, body)}, HeaderWebhookID: {"d1"}}, true, "jira:d1"},
		{"jira other secret", jira, http.Header{HeaderHubSignature: {Sign("another secret, long enough", body)}}, false, ""},
		{"jira unsigned", jira, http.Header{}, false, ""},
		{"jira signature not hex", jira, http.Header{HeaderHubSignature: {"sha256=zz"}}, false, ""},
		{"servicenow signed", snow, http.Header{http.CanonicalHeaderKey(HeaderSignature): {Sign(inboundSecret, body)}}, true, "snow:" + strings.TrimPrefix(Sign(inboundSecret, body), "sha256=")},
		{"servicenow other body", snow, http.Header{http.CanonicalHeaderKey(HeaderSignature): {Sign(inboundSecret, append(body, ' '))}}, false, ""},
		{"servicenow with jira's header", snow, http.Header{HeaderHubSignature: {Sign(inboundSecret, body)}}, false, ""},
		{"shared secret", shared, http.Header{http.CanonicalHeaderKey(HeaderSecret): {inboundSecret}}, true, ""},
		{"wrong shared secret", shared, http.Header{http.CanonicalHeaderKey(HeaderSecret): {inboundSecret + "x"}}, false, ""},
		{"unknown scheme", InboundBackend{Scheme: "basic", Secret: inboundSecret}, http.Header{http.CanonicalHeaderKey(HeaderSecret): {inboundSecret}}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, why := Authenticate(tc.cfg, tc.header, body)
			if (why == "") != tc.ok {
				t.Fatalf("why = %q, want ok %v", why, tc.ok)
			}
			if key != tc.replay {
				t.Errorf("replay key %q, want %q", key, tc.replay)
			}
		})
	}
}

func TestRefsOf(t *testing.T) {
	for body, want := range map[string]string{
		`{"sys_id":"abc","number":"INC0010001"}`:                    "abc,INC0010001",
		`{"webhookEvent":"x","issue":{"id":"10002","key":"OPS-1"}}`: "10002,OPS-1",
		`{"id":"1","key":"1"}`:                                      "1",
		`{"state":"6"}`:                                             "",
		`not json`:                                                  "",
	} {
		if got := strings.Join(RefsOf([]byte(body)), ","); got != want {
			t.Errorf("RefsOf(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestInboundHandler(t *testing.T) {
	var mu sync.Mutex
	var checked [][]string
	h := &Inbound{
		Backends: map[string]InboundBackend{"jira.ops": {Scheme: config.InboundJiraHMAC, Secret: inboundSecret}},
		Check: func(_ context.Context, backend string, ids []string) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			checked = append(checked, append([]string{backend}, ids...))
			return 1, nil
		},
		MaxBodyBytes: 1024,
		Logger:       hclog.NewNullLogger(),
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	post := func(path, body string, hdr http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := `{"webhookEvent":"jira:issue_updated","issue":{"id":"10002","key":"OPS-1"}}`
	signed := http.Header{HeaderHubSignature: {Sign(inboundSecret, []byte(body))}, HeaderWebhookID: {"delivery-1"}}
	if got := post("/api/v1/itsm/jira.ops/events", body, http.Header{HeaderHubSignature: {"sha256=00"}}); got != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", got)
	}
	if len(checked) != 0 {
		t.Fatal("an unauthenticated notification was acted on")
	}
	if got := post("/api/v1/itsm/jira.ops/events", body, signed); got != http.StatusAccepted {
		t.Errorf("signed: %d", got)
	}
	if len(checked) != 1 || strings.Join(checked[0], ",") != "jira.ops,10002,OPS-1" {
		t.Errorf("checked %v", checked)
	}
	if got := post("/api/v1/itsm/jira.ops/events", body, signed); got != http.StatusConflict {
		t.Errorf("replayed delivery: %d", got)
	}
	if got := post("/api/v1/itsm/jira.other/events", body, signed); got != http.StatusNotFound {
		t.Errorf("unknown backend: %d", got)
	}
	big := `{"issue":{"id":"` + strings.Repeat("x", 2000) + `"}}`
	if got := post("/api/v1/itsm/jira.ops/events", big, http.Header{HeaderHubSignature: {Sign(inboundSecret, []byte(big))}}); got != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", got)
	}
	empty := `{"webhookEvent":"x"}`
	if got := post("/api/v1/itsm/jira.ops/events", empty, http.Header{HeaderHubSignature: {Sign(inboundSecret, []byte(empty))}}); got != http.StatusBadRequest {
		t.Errorf("no work item named: %d", got)
	}
	if len(checked) != 1 {
		t.Errorf("checked %v", checked)
	}
}
