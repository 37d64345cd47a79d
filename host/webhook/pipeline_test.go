package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
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

func newPipeline(t testing.TB, st store.Store, routes string) *pipeline {
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
func (p *pipeline) post(t testing.TB, body []byte) (int, string) {
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
route "decoded" {
  when            = can(alert.custom_properties.b64)
  send_to         = [backend.file.x]
  correlation_key = base64decode(alert.custom_properties.b64)
}
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
		{name: "a route makes a key with NUL of clean text: it does not match", status: 202,
			body: []byte(strings.Replace(string(alertBody("a6", "", `{}`)), `"alertContext"`, `"customProperties":{"b64":"YQBi"},"alertContext"`, 1)),
			check: func(t *testing.T, it *store.Item) {
				if want := "cpu|a6|"; it.Route != "all" || it.CorrelationKey != want {
					t.Errorf("route %q, correlation key %q; want route all, key %q", it.Route, it.CorrelationKey, want)
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

// manyCIs is a Fired alert with n configuration items (names only, as
// Azure sends them in configurationItems).
func manyCIs(id string, n int) []byte {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf(`"vm-%05d"`, i)
	}
	return alertBody(id, `,"configurationItems":[`+strings.Join(names, ",")+`]`, `{}`)
}

// TestManyConfigurationItemsDoNotHoldUpOthers: an alert with 20,000
// configuration items on a per_ci route used to commit 20,000 work items
// in one transaction, holding the single writer for tens of seconds while
// other alerts got no answer. Now it commits at most
// max_configuration_items + 1, and a normal alert posted at the same time
// is acknowledged with its own work item.
func TestManyConfigurationItemsDoNotHoldUpOthers(t *testing.T) {
	const routes = `
route "per-vm" {
  send_to = [backend.file.x]
  per_ci  = true
}
`
	engines(t, func(t *testing.T, open func() store.Store) {
		p := newPipeline(t, open(), routes)
		big, normal := manyCIs("big", 20000), manyCIs("normal", 1)
		type answer struct {
			status int
			body   string
		}
		answers := make(chan answer, 2)
		for _, body := range [][]byte{big, normal} {
			go func() {
				resp, err := http.Post(p.url, "application/json", bytes.NewReader(body))
				if err != nil {
					answers <- answer{body: err.Error()}
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answers <- answer{resp.StatusCode, string(b)}
			}()
		}
		deliveries := map[string]int{}
		for range 2 {
			a := <-answers
			var acc webhook.Accepted
			if a.status != http.StatusAccepted || json.Unmarshal([]byte(a.body), &acc) != nil {
				t.Fatalf("answer %d %s, want 202", a.status, a.body)
			}
			deliveries[acc.AlertID] = acc.Deliveries
		}
		if want := map[string]int{"big": config.DefaultMaxConfigurationItems + 1, "normal": 1}; !maps.Equal(deliveries, want) {
			t.Errorf("deliveries per alert = %v, want %v", deliveries, want)
		}
		rest, err := p.st.ListItems(context.Background(), store.ItemFilter{CorrelationKey: "big|" + route.PerCIRest})
		if err != nil {
			t.Fatal(err)
		}
		if len(rest) != 1 || len(rest[0].ConfigurationItems) != 20000-config.DefaultMaxConfigurationItems {
			t.Fatalf("work items for the rest: %d, want one covering %d CIs", len(rest), 20000-config.DefaultMaxConfigurationItems)
		}
		events, err := p.st.Events(context.Background(), rest[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || !strings.Contains(events[0].Message, "max_configuration_items (100): this work item covers the 19900 after the first 100") {
			t.Errorf("audit trail of the rest's work item = %+v, want a note on the cap", events)
		}
	})
}

// BenchmarkManyConfigurationItems measures what one alert with n
// configuration items on a per_ci route costs the single writer: the
// time from POST to 202 on SQLite, with nothing else queued.
func BenchmarkManyConfigurationItems(b *testing.B) {
	for _, n := range []int{100, 1000, 20000} {
		b.Run(fmt.Sprintf("cis=%d", n), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "c.db"))
			if err != nil {
				b.Fatal(err)
			}
			p := newPipeline(b, st, "route \"per-vm\" {\n  send_to = [backend.file.x]\n  per_ci  = true\n}\n")
			for i := 0; b.Loop(); i++ {
				resp, err := http.Post(p.url, "application/json", bytes.NewReader(manyCIs(fmt.Sprintf("a%d", i), n)))
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
