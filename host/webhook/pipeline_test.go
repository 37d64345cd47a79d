package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/host/webhook"
)

// pipeline is the webhook → commonschema → route → delivery ingest path
// of a running connector, over a real store, on a loopback HTTP server.
// Its engine runs no workers: what matters here is what ingest commits.
type pipeline struct {
	url string
	st  store.Store
}

// engines opens each store engine in turn: SQLite in a temp dir, and
// PostgreSQL in a schema of its own when ITSM_TEST_POSTGRES_DSN is set.
func engines(t *testing.T, fn func(t *testing.T, open func() store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func() store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresSchema(t, "webhooktest")
		fn(t, func() store.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

func newPipeline(t *testing.T, st store.Store, routes string) *pipeline {
	t.Helper()
	cfg, diags := config.Load([]byte("auth \"none\" {}\nbackend \"file\" \"x\" {}\n"+routes), "connector.hcl")
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	r, diags := route.Compile(cfg.Routes, map[string]bool{"file.x": true})
	if diags.HasErrors() {
		t.Fatalf("routes: %v", diags)
	}
	eng, err := delivery.New(st, delivery.StaticBackends{}, delivery.Options{InstanceID: "test"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&webhook.Handler{Auth: auth.None{}, Decode: commonschema.Decode, Router: r,
		Ingest: eng, Logger: hclog.NewNullLogger()})
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Stop(ctx)
		_ = st.Close()
	})
	return &pipeline{url: srv.URL + webhook.AlertsPath, st: st}
}

// post sends body and returns the status and the response body.
func (p *pipeline) post(t *testing.T, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(p.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// alertBody is a common-schema Fired alert; essentials is spliced into
// data.essentials after alertId and ctx is the alertContext (raw JSON).
// Both are raw bytes so that a test can put invalid UTF-8 anywhere.
func alertBody(id, essentials, ctx string) []byte {
	return []byte(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"` + id +
		`","alertRule":"cpu","severity":"Sev2","signalType":"Metric","monitorCondition":"Fired",` +
		`"monitoringService":"Platform","firedDateTime":"2026-03-01T12:00:00Z"` + essentials + `},"alertContext":` + ctx + `}}`)
}

// TestUnrepresentableTextIsNeverA503 posts alerts carrying NUL characters
// and invalid UTF-8 through the webhook into each store engine. PostgreSQL
// refuses both in text, so they used to fail every commit with 503 until
// Azure gave up. Now an alertId that cannot be kept exactly is a 400 that
// says why, and text elsewhere is normalized at decode (U+FFFD), so that
// both engines store, and route on, the same thing.
func TestUnrepresentableTextIsNeverA503(t *testing.T) {
	const routes = `
route "all" {
  send_to         = [backend.file.x]
  correlation_key = "${alert.rule}|${alert.id}|${try(alert.custom_properties.k, "")}"
  per_ci          = true
}
`
	tests := []struct {
		name string
		body []byte
		// status is the answer; for 202, check looks at the stored item.
		status  int
		message string
		check   func(t *testing.T, it *store.Item)
	}{
		{name: "NUL in alertId", status: 400, message: "data.essentials.alertId",
			body: alertBody(`a\u0000b`, "", `{}`)},
		{name: "invalid UTF-8 in alertId", status: 400, message: "data.essentials.alertId",
			body: alertBody("a\xffb", "", `{}`)},
		{name: "lone surrogate in alertId", status: 400, message: "data.essentials.alertId",
			body: alertBody(`a\ud800b`, "", `{}`)},
		{name: "NUL in description", status: 202,
			body: alertBody("a1", `,"description":"x\u0000y"`, `{}`),
			check: func(t *testing.T, it *store.Item) {
				if it.Alert.Description != "x\uFFFDy" {
					t.Errorf("description = %q, want %q", it.Alert.Description, "x\uFFFDy")
				}
			}},
		{name: "invalid UTF-8 in rule, part of the correlation key", status: 202,
			body: []byte(strings.Replace(string(alertBody("a2", "", `{}`)), `"cpu"`, "\"c\xffu\"", 1)),
			check: func(t *testing.T, it *store.Item) {
				if want := "c\uFFFDu|a2|"; it.CorrelationKey != want {
					t.Errorf("correlation key = %q, want %q", it.CorrelationKey, want)
				}
			}},
		{name: "NUL in a custom property, part of the correlation key", status: 202,
			body: []byte(strings.Replace(string(alertBody("a3", "", `{}`)), `"alertContext"`, `"customProperties":{"k":"v\u0000w"},"alertContext"`, 1)),
			check: func(t *testing.T, it *store.Item) {
				if want := "cpu|a3|v\uFFFDw"; it.CorrelationKey != want {
					t.Errorf("correlation key = %q, want %q", it.CorrelationKey, want)
				}
			}},
		{name: "NUL and invalid UTF-8 in a configuration item", status: 202,
			body: alertBody("a4", ",\"configurationItems\":[\"vm\\u0000\xfe1\"]", `{}`),
			check: func(t *testing.T, it *store.Item) {
				if want := "cpu|a4||vm\uFFFD\uFFFD1"; it.CorrelationKey != want {
					t.Errorf("correlation key = %q, want %q", it.CorrelationKey, want)
				}
			}},
		{name: "invalid UTF-8 and NUL in the alertContext", status: 202,
			body: alertBody("a5", "", "{\"x\":\"p\xc3q\",\"y\":\"\\u0000\",\"z\":\"\\\\u0000\"}"),
			check: func(t *testing.T, it *store.Item) {
				if want := "{\"x\":\"p\uFFFDq\",\"y\":\"\\ufffd\",\"z\":\"\\\\u0000\"}"; string(it.Alert.Context) != want {
					t.Errorf("context = %s, want %s", it.Alert.Context, want)
				}
			}},
	}
	engines(t, func(t *testing.T, open func() store.Store) {
		p := newPipeline(t, open(), routes)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, resp := p.post(t, tc.body)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %s", status, tc.status, resp)
				}
				if tc.status != 202 {
					if !strings.Contains(resp, tc.message) {
						t.Errorf("answer %s does not name %s", resp, tc.message)
					}
					return
				}
				var acc webhook.Accepted
				if err := json.Unmarshal([]byte(resp), &acc); err != nil {
					t.Fatal(err)
				}
				items, err := p.st.ListItems(context.Background(), store.ItemFilter{})
				if err != nil {
					t.Fatal(err)
				}
				var found []*store.Item
				for _, it := range items {
					if it.AlertID == acc.AlertID {
						found = append(found, it)
					}
				}
				if len(found) != 1 {
					t.Fatalf("alert %q has %d work items, want 1", acc.AlertID, len(found))
				}
				tc.check(t, found[0])
			})
		}
	})
}
