package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/host/pluginhost"
	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/rest"
	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestEventsExample runs examples/rest/events (PagerDuty Events v2 style)
// against the fake events API: trigger, resolve, fire again, and a repeated
// create after a crash.
func TestEventsExample(t *testing.T) {
	fake := restfake.NewEvents(exampleSecrets["PAGERDUTY_ROUTING_KEY"], restfake.Options{})
	t.Cleanup(fake.Close)
	e := loadExample(t, "events", "pagerduty", fake.URL)
	fired := alertOf("High CPU on web tier", 1)
	key := e.delivery(fired).CorrelationKey
	if key != fired.ID {
		t.Fatalf("correlation key = %q, want the default alert.id", key)
	}

	// Only the blocks configured are capabilities: no lookup, update or
	// reopen. Without re-fire requests, a field policy has nothing to
	// govern but create, which writes every field.
	if want := (sdk.Capabilities{Resolve: true, FieldPolicy: true}); e.caps != want {
		t.Errorf("capabilities = %+v, want %+v", e.caps, want)
	}
	r := &record{}
	e.reconcile(r, fired)
	if !slices.Equal(r.calls, []string{"create"}) {
		t.Errorf("calls = %v", r.calls)
	}
	if r.ref.ID != key || r.ref.State != sdk.StateOpen {
		t.Fatalf("work item = %+v; want the dedup key as its id", r.ref)
	}
	inc := fake.Incidents(key)
	if len(inc) != 1 || inc[0].Status != "triggered" || inc[0].Severity != "error" ||
		inc[0].Summary != "[Sev1] High CPU on web tier on vm-web-01" || inc[0].Source != "vm-web-01" {
		t.Fatalf("incidents = %+v", inc)
	}
	if inc[0].CustomDetails["team"] != "platform" || inc[0].CustomDetails["resource_id"] != fired.Resource.ID {
		t.Errorf("custom_details = %v; want the route's fields merged in", inc[0].CustomDetails)
	}
	var sent map[string]any
	if err := json.Unmarshal(fake.Requests()[0].Body, &sent); err != nil || sent["routing_key"] != exampleSecrets["PAGERDUTY_ROUTING_KEY"] {
		t.Errorf("routing_key in the body = %v (%v); want it written from body_secrets", sent["routing_key"], err)
	}

	// The host crashed after the trigger: it creates again; the dedup key
	// keeps one incident.
	if again := e.must("create", fired, nil); again.ID != key {
		t.Errorf("second create = %+v", again)
	}
	if inc := fake.Incidents(key); len(inc) != 1 || inc[0].Events != 2 {
		t.Errorf("after a repeated trigger: %+v; want one incident with two events", inc)
	}

	// Fired again while open: no update block, nothing sent.
	n := len(fake.Requests())
	e.reconcile(r, fired)
	if len(fake.Requests()) != n || r.ref.ID != key {
		t.Errorf("update without an update block sent %d requests", len(fake.Requests())-n)
	}

	e.reconcile(r, resolved(fired))
	if r.ref.State != sdk.StateResolved || fake.Incidents(key)[0].Status != "resolved" {
		t.Fatalf("after resolve: ref %+v, incidents %+v", r.ref, fake.Incidents(key))
	}

	// Fired again: no reopen block, so the host creates; the API opens a
	// new incident under the same dedup key.
	r.calls = nil
	e.reconcile(r, fired)
	if !slices.Equal(r.calls, []string{"create"}) {
		t.Errorf("calls = %v; want a new work item", r.calls)
	}
	if inc := fake.Incidents(key); len(inc) != 2 || inc[1].Status != "triggered" || r.resolved {
		t.Errorf("incidents after firing again = %+v", inc)
	}
}

// TestAlertsExample runs both backends of examples/rest/alerts (Opsgenie
// style) against the fake alerts API.
func TestAlertsExample(t *testing.T) {
	apiKey := exampleSecrets["OPSGENIE_API_KEY"]
	fake := restfake.NewAlerts(restfake.Options{Auth: restfake.Auth{Header: "Authorization", Value: "GenieKey " + apiKey}})
	t.Cleanup(fake.Close)

	t.Run("close", func(t *testing.T) {
		e := loadExample(t, "alerts", "opsgenie", fake.URL)
		fired := alertOf("Disk almost full", 3)
		key := e.delivery(fired).CorrelationKey
		if !strings.Contains(key, "|/subscriptions/") {
			t.Fatalf("correlation key = %q", key)
		}
		r := &record{}
		e.reconcile(r, fired)
		if !slices.Equal(r.calls, []string{"lookup", "create"}) || r.ref.ID != key {
			t.Fatalf("calls %v, ref %+v; want lookup (404), create with the alias as id", r.calls, r.ref)
		}
		got := fake.ByAlias(key)
		if len(got) != 1 || got[0].Priority != "P4" || got[0].Details["team"] != "platform" || got[0].Entity != fired.Resource.ID {
			t.Fatalf("alerts = %+v", got)
		}
		// The alias travels as one path segment.
		var lookups []string
		for _, req := range fake.Requests() {
			if req.Method == http.MethodGet {
				lookups = append(lookups, req.RawPath)
			}
		}
		if len(lookups) != 1 || !strings.Contains(lookups[0], "%7C%2Fsubscriptions%2F") {
			t.Errorf("lookup paths = %v; want the alias percent-encoded as one segment", lookups)
		}

		// Crash after create: lookup finds the alert, nothing new is made.
		lost := &record{}
		e.reconcile(lost, fired)
		if !slices.Equal(lost.calls, []string{"lookup"}) || lost.ref.Key != got[0].TinyID || lost.ref.ID != key {
			t.Errorf("recovery: calls %v, ref %+v; want lookup only, finding tiny id %s", lost.calls, lost.ref, got[0].TinyID)
		}

		e.reconcile(r, fired) // fired again: a note
		e.reconcile(r, resolved(fired))
		got = fake.ByAlias(key)
		if len(got) != 1 || got[0].Status != "closed" || len(got[0].Notes) != 2 || r.ref.State != sdk.StateResolved {
			t.Fatalf("after note and close: %+v, ref %+v", got, r.ref)
		}
		if found := e.must("lookup", fired, nil); found == nil || found.State != sdk.StateResolved {
			t.Errorf("lookup of the closed alert = %+v; want it resolved", found)
		}

		r.calls = nil
		e.reconcile(r, fired)
		if !slices.Equal(r.calls, []string{"lookup", "create"}) { // no reopen block
			t.Errorf("calls = %v", r.calls)
		}
		if got := fake.ByAlias(key); len(got) != 2 || got[1].Status != "open" {
			t.Errorf("after firing again: %+v; want a new alert under the alias", got)
		}
	})

	t.Run("acknowledge", func(t *testing.T) {
		e := loadExample(t, "alerts", "opsgenie_review", fake.URL)
		fired := alertOf("Database down", 0)
		key := e.delivery(fired).CorrelationKey
		r := &record{}
		e.reconcile(r, fired)
		e.reconcile(r, resolved(fired))
		got := fake.ByAlias(key)
		if len(got) != 1 || got[0].Status != "open" || !got[0].Acknowledged || got[0].Priority != "P1" {
			t.Fatalf("alerts = %+v; want one acknowledged, still open P1 alert", got)
		}
		r.calls = nil
		e.reconcile(r, fired)
		if !slices.Equal(r.calls, []string{"reopen"}) || r.resolved {
			t.Errorf("calls = %v", r.calls)
		}
		if got := fake.ByAlias(key); len(got) != 1 || len(got[0].Notes) != 2 {
			t.Errorf("after firing again: %+v; want a second note on the same alert", got)
		}
	})
}

// TestTicketsExample runs examples/rest/tickets against the fake ticket
// API: OAuth, CMDB binding, the id from Location used in later URLs, status
// changes, recovery after a crash, deleted and closed tickets.
func TestTicketsExample(t *testing.T) {
	fake := ticketsFake(t)
	assetID := fake.SeedAsset("vm-web-01", strings.ToUpper(alertOf("x", 1).Resource.ID))
	e := loadExample(t, "tickets", "helpdesk", fake.URL)
	fired := alertOf("High CPU on web tier", 1)
	key := e.delivery(fired).CorrelationKey

	r := &record{}
	e.reconcile(r, fired)
	wi := r.ref
	if wi.ID != "1001" || wi.Key != "TCK-1001" || wi.URL != fake.URL+"/agent/tickets/1001" || wi.State != sdk.StateOpen {
		t.Fatalf("created %+v", wi)
	}
	if len(wi.Bindings) != 1 || wi.Bindings[0].BoundID != assetID || wi.Bindings[0].ConfigurationItem.Name != "vm-web-01" {
		t.Errorf("bindings = %+v", wi.Bindings)
	}
	tk := fake.ByExternalID(key)
	if len(tk) != 1 || tk[0].AssetID != assetID || tk[0].Priority != "high" ||
		tk[0].Subject != "[Sev1] High CPU on web tier on vm-web-01" || !strings.Contains(tk[0].Description, "Resource: "+fired.Resource.ID) {
		t.Fatalf("tickets = %+v", tk)
	}
	for _, req := range fake.Requests() {
		if req.Header.Get("X-Api-Version") != "2" || req.Header.Get("Authorization") != "Bearer fake-access-token-1" {
			t.Errorf("%s %s headers = %v", req.Method, req.Path, req.Header)
		}
	}
	if tr := fake.TokenRequests(); len(tr) != 1 || tr[0].Get("scope") != "tickets:write assets:read" {
		t.Errorf("token requests = %v", tr)
	}

	e.reconcile(r, fired) // fired again: a comment
	e.reconcile(r, resolved(fired))
	if r.ref.State != sdk.StateResolved || r.ref.Key != "TCK-1001" {
		t.Fatalf("resolved ref = %+v", r.ref)
	}
	e.reconcile(r, fired) // inside the window: reopen
	tk = fake.ByExternalID(key)
	if len(tk) != 1 || tk[0].Status != "open" || len(tk[0].Comments) != 3 || r.ref.State != sdk.StateOpen {
		t.Fatalf("after update, resolve, reopen: %+v, ref %+v", tk, r.ref)
	}
	var putPaths []string
	for _, req := range fake.Requests() {
		if req.Method == http.MethodPut {
			putPaths = append(putPaths, req.Path)
		}
	}
	if !slices.Equal(putPaths, []string{"/api/v2/tickets/1001", "/api/v2/tickets/1001", "/api/v2/tickets/1001"}) {
		t.Errorf("PUT paths = %v; want the created id in the URL", putPaths)
	}
	if n := fake.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued; want one, cached", n)
	}

	t.Run("crash after create", func(t *testing.T) {
		a := alertOf("Memory pressure", 2)
		key := e.delivery(a).CorrelationKey
		// The ticket is created, but the answer is lost to a gateway
		// timeout: the host retries later, starting with lookup.
		fake.FailAfterNext(http.MethodPost, "/api/v2/tickets", http.StatusGatewayTimeout)
		_, err := e.call("create", a, nil)
		if sdk.KindOf(err) != sdk.KindRetryable {
			t.Fatalf("create behind a gateway timeout = %v (%s); want retryable", err, sdk.KindOf(err))
		}
		r := &record{}
		e.reconcile(r, a)
		if !slices.Equal(r.calls, []string{"lookup"}) {
			t.Errorf("calls = %v; want lookup to find the ticket", r.calls)
		}
		if tk := fake.ByExternalID(key); len(tk) != 1 || r.ref.ID != "1002" || r.ref.Key != "TCK-1002" {
			t.Errorf("tickets %+v, ref %+v; want the one ticket found", tk, r.ref)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		a := alertOf("Deleted ticket", 2)
		r := &record{}
		e.reconcile(r, a)
		fake.Delete(atoi(t, r.ref.ID))
		if _, err := e.call("update", a, r.ref); sdk.KindOf(err) != sdk.KindNotFound {
			t.Errorf("update of a deleted ticket = %v (%s); want not_found", err, sdk.KindOf(err))
		}
	})

	t.Run("closed", func(t *testing.T) {
		a := alertOf("Closed ticket", 2)
		r := &record{}
		e.reconcile(r, a)
		e.reconcile(r, resolved(a))
		first := r.ref.ID
		fake.SetStatus(atoi(t, first), "closed")
		r.calls = nil
		e.reconcile(r, a)
		if !slices.Equal(r.calls, []string{"reopen", "lookup", "create"}) || r.ref.ID == first {
			t.Errorf("calls %v, ref %+v; want a new ticket after the closed one", r.calls, r.ref)
		}
	})

	t.Run("unbound", func(t *testing.T) {
		a := alertOf("No asset", 2)
		a.Resource.ID += "-unknown"
		wi := e.must("create", a, nil)
		if len(wi.Bindings) != 1 || wi.Bindings[0].BoundID != "" || wi.Bindings[0].Reason == "" {
			t.Errorf("bindings = %+v; want one unbound with a reason", wi.Bindings)
		}
	})
}

// ticketsFake starts the ticket API with the OAuth client of the example.
func ticketsFake(t *testing.T) *restfake.Tickets {
	fake := restfake.NewTickets(restfake.Options{Auth: restfake.Auth{OAuth: &restfake.OAuth{
		ClientID: "itsm-connector", ClientSecret: exampleSecrets["TICKETS_CLIENT_SECRET"], Scope: "tickets:write assets:read",
	}}})
	t.Cleanup(fake.Close)
	return fake
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("id %q is not a number", s)
	}
	return n
}

// TestExampleMistakesPointAtTheLine breaks the tickets example in the ways
// operators do and checks that the host's decoding (templates) or the
// plugin's Configure (JSON paths, statuses, methods) reports each mistake
// at its line, as `itsm-connector validate` prints it.
func TestExampleMistakesPointAtTheLine(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "rest", "tickets", "connector.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range exampleSecrets {
		t.Setenv(k, v)
	}
	tests := []struct {
		name, old, new string
		// marker is text on the line the diagnostic must point at.
		marker  string
		summary string
	}{
		{"template typo", `${alert.rule} on ${alert.resource_name}"`, `${alert.rule} on ${alert.resource_nme}"`,
			"alert.resource_nme", "Unsupported attribute"},
		{"env in a template", `body = "Azure Monitor reports ${alert.rule} resolved."`,
			`body = "Azure Monitor reports ${alert.rule} resolved. ${env("HOME")}"`, `env("HOME")`, ""},
		{"bad JSON path", `id              = "tickets[-1].id"`, `id              = "tickets[-1]..id"`,
			`"tickets[-1]..id"`, "invalid JSON path"},
		{"bad regexp", `id_regex = "([^/]+)$"`, `id_regex = "([^/]+$"`, `"([^/]+$"`, "invalid regexp"},
		{"bad status", `success_statuses = [201]`, `success_statuses = [201, "2xy"]`, `"2xy"`, "invalid success status"},
		{"bad method", `method = "PUT"` + "\n      url    = \"/api/v2/tickets\"\n      path   = [work_item.id]\n      body = jsonencode({\n        ticket = {\n          status  = \"solved\"",
			`method = "put"` + "\n      url    = \"/api/v2/tickets\"\n      path   = [work_item.id]\n      body = jsonencode({\n        ticket = {\n          status  = \"solved\"",
			`method = "put"`, "method is not an HTTP method"},
		{"wrong type", `scopes        = ["tickets:write", "assets:read"]`, `scopes        = "tickets:write"`, `scopes        = "tickets:write"`, "Incorrect attribute value type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(src), tc.old) {
				t.Fatalf("the example no longer contains %q", tc.old)
			}
			broken := strings.Replace(string(src), tc.old, tc.new, 1)
			want := 0
			for i, line := range strings.Split(broken, "\n") {
				if strings.Contains(line, tc.marker) {
					want = i + 1
					break
				}
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "connector.hcl")
			if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, diags := config.LoadFile(file)
			if diags.HasErrors() {
				t.Fatalf("load: %s", diags.Error())
			}
			b := cfg.Backends[0]
			dec, diags := pluginhost.DecodeConfig(rest.Schema(), b.Config, b.ConfigRange, config.LoadContext(cfg.Dir), hclfuncs.PerAlert())
			if !diags.HasErrors() {
				err := rest.New(rest.Options{Logger: slog.New(slog.DiscardHandler)}).Configure(context.Background(), dec.Config)
				if err == nil {
					t.Fatal("the broken example configured without error")
				}
				diags = dec.Diagnostics(sdk.AsDiagnostics(err))
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Subject != nil && d.Subject.Start.Line == want &&
					strings.Contains(d.Summary, tc.summary) {
					for _, secret := range exampleSecrets {
						if strings.Contains(d.Error(), secret) {
							t.Errorf("diagnostic %q shows a secret", d.Error())
						}
					}
					return
				}
			}
			t.Errorf("want an error %q at line %d (%q); got:\n%s", tc.summary, want, tc.marker, strings.Join(diagLines(diags), "\n"))
		})
	}
}
