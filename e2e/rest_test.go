//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
)

// The REST tests' shape.
const (
	restTimeout = 60 * time.Second
	// restTicketsWindow is the tickets example's reopen_window; a ticket
	// resolved longer ago than that is not reopened.
	restTicketsWindow = 24 * time.Hour
	// restSampleSummary is how the examples' templates title the metric
	// sample (severity Sev4, resource test-storageAccount) for a rule.
	restSampleSummary = "[Sev4] %s on test-storageAccount"
)

// restSecrets are what the REST examples read with env(); the fakes accept
// exactly these.
var restSecrets = map[string]string{
	"PAGERDUTY_ROUTING_KEY": "e2e-routing-key-0123456789abcdef",
	"OPSGENIE_API_KEY":      "e2e-opsgenie-key-0123456789",
	"TICKETS_CLIENT_SECRET": "e2e-tickets-client-secret",
}

// restEnv is restSecrets as environment entries for the host.
func restEnv() []string {
	var env []string
	for k, v := range restSecrets {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// restExample reads examples/rest/<style>/connector.hcl.
func restExample(t *testing.T, style string) (path string, src []byte) {
	t.Helper()
	path = filepath.Join("..", "examples", "rest", style, "connector.hcl")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, src
}

// restTestConfig derives a test configuration from the shipped example of
// style, changing only what a test must: the server, admin, auth, store
// and plugin blocks and plugin_dir give way to dev auth and a SQLite store
// under the data directory, and every backend's base_url (and OAuth
// token_url) points at the fake. Routes and action templates stay as
// shipped, so they are what the test runs.
func restTestConfig(t *testing.T, style, fakeURL string) string {
	t.Helper()
	path, src := restExample(t, style)
	f, diags := hclwrite.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing %s: %s", path, diags.Error())
	}
	body := f.Body()
	if body.GetAttribute("plugin_dir") != nil {
		body.RemoveAttribute("plugin_dir")
	}
	backends := 0
	for _, b := range body.Blocks() {
		switch b.Type() {
		case "server", "admin", "auth", "store", "plugin":
			body.RemoveBlock(b)
		case "backend":
			backends++
			cfg := b.Body().FirstMatchingBlock("config", nil)
			if cfg == nil || cfg.Body().GetAttribute("base_url") == nil {
				t.Fatalf("%s: backend %v has no config.base_url to point at the fake", path, b.Labels())
			}
			cfg.Body().SetAttributeValue("base_url", cty.StringVal(fakeURL))
			if auth := cfg.Body().FirstMatchingBlock("auth", nil); auth != nil && auth.Body().GetAttribute("token_url") != nil {
				auth.Body().SetAttributeValue("token_url", cty.StringVal(fakeURL+"/oauth/token"))
			}
		}
	}
	if backends == 0 {
		t.Fatalf("%s has no backend", path)
	}
	body.AppendNewline()
	body.AppendNewBlock("auth", []string{"dev"})
	store := body.AppendNewBlock("store", nil).Body()
	store.SetAttributeValue("driver", cty.StringVal("sqlite"))
	store.SetAttributeValue("path", cty.StringVal("data/connector.db"))
	return string(f.Bytes())
}

// startREST starts the host with the rest plugin on the example of style,
// pointed at fakeURL, with the examples' secrets in its environment.
func startREST(t *testing.T, style, fakeURL string) *harness.Connector {
	t.Helper()
	return harness.Start(t, harness.Options{
		Config:  restTestConfig(t, style, fakeURL),
		Plugins: []string{"rest"},
		Env:     restEnv(),
	})
}

// restNotifier is a notifier whose alerts carry their own rule and
// severity: the alerts and tickets examples correlate by
// "${alert.rule}|${alert.resource.id}", so each test's rule keeps its work
// items apart, and severity picks the alerts example's route.
type restNotifier struct {
	notifier
	rule, severity string
}

func newRESTNotifier(t *testing.T, n int, rule, severity string) restNotifier {
	return restNotifier{notifier: newNotifier(t, n), rule: rule, severity: severity}
}

// key is the examples' correlation key "${alert.rule}|${alert.resource.id}".
func (n restNotifier) key() string { return n.rule + "|" + lifecycleTarget }

func (n restNotifier) fired(firedAt time.Time) []byte {
	return n.edit(n.notifier.fired(firedAt))
}

func (n restNotifier) resolved(firedAt, resolvedAt time.Time) []byte {
	return n.edit(n.notifier.resolved(firedAt, resolvedAt))
}

func (n restNotifier) edit(payload []byte) []byte {
	n.t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(payload, &doc); err != nil {
		n.t.Fatal(err)
	}
	ess := doc["data"].(map[string]any)["essentials"].(map[string]any)
	ess["alertRule"] = n.rule
	ess["severity"] = n.severity
	b, err := json.Marshal(doc)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// crashAfterNext makes the fake hold its answer to the next request with
// method on path, after it did the work, until the test killed the host.
// The returned function reports whether a request is being held; release
// lets the fake answer (it is also called when the test ends).
func crashAfterNext(t *testing.T, fake *restfake.Server, method, path string) (held func() bool, release func()) {
	var holding atomic.Bool
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	fake.HookAfterNext(method, path, func() {
		holding.Store(true)
		<-gate
	})
	return holding.Load, release
}

// TestRESTEventsExample runs examples/rest/events (PagerDuty Events v2
// style) through the host against the fake events API: fired → one
// triggered incident under the alert id as dedup key, with the routing key
// from the environment; resolved → resolved; fired again → a new incident
// under the same key (the example has no reopen, as the API has none).
func TestRESTEventsExample(t *testing.T) {
	fake := restfake.NewEvents(restSecrets["PAGERDUTY_ROUTING_KEY"], restfake.Options{})
	t.Cleanup(fake.Close)
	c := startREST(t, "events", fake.URL)
	sender := c.Sender(t)
	n := newNotifier(t, 400)
	key := n.alert.ID // the example's route keeps the default correlation key

	wait := func(what string, ok func([]restfake.Incident) bool) []restfake.Incident {
		t.Helper()
		var inc []restfake.Incident
		harness.Eventually(t, restTimeout, what, func() (bool, string) {
			inc = fake.Incidents(key)
			var states []string
			for _, in := range inc {
				states = append(states, fmt.Sprintf("#%d=%s", in.Number, in.Status))
			}
			return ok(inc), fmt.Sprintf("incidents %v", states)
		})
		return inc
	}

	fired := n.alert.FiredAt
	sender.Send(t, n.fired(fired))
	inc := wait("one triggered incident", func(inc []restfake.Incident) bool {
		return len(inc) == 1 && inc[0].Status == "triggered"
	})
	if want := fmt.Sprintf(restSampleSummary, "test-metricAlertRule"); inc[0].Summary != want || inc[0].Severity != "info" ||
		inc[0].Source != "test-storageAccount" || inc[0].CustomDetails["team"] != "platform" {
		t.Errorf("incident = %+v; want summary %q, severity info (Sev4), source the resource, the route's team in custom_details", inc[0], want)
	}
	first := inc[0].Number

	resolvedAt := fired.Add(harness.ResolveAfter)
	sender.Send(t, n.resolved(fired, resolvedAt))
	wait("the incident resolved", func(inc []restfake.Incident) bool {
		return len(inc) == 1 && inc[0].Status == "resolved"
	})

	sender.Send(t, n.fired(resolvedAt.Add(reopenAfter)))
	inc = wait("a new incident under the same dedup key", func(inc []restfake.Incident) bool {
		return len(inc) == 2 && inc[1].Status == "triggered"
	})
	if inc[0].Number != first || inc[0].Status != "resolved" {
		t.Errorf("first incident = %+v; want #%d left resolved", inc[0], first)
	}
	drainQueue(t, c)
	if got := len(fake.Incidents(key)); got != 2 {
		t.Errorf("%d incidents after the queue drained, want 2", got)
	}
}

// TestRESTAlertsExample runs both backends of examples/rest/alerts
// (Opsgenie style) through the host against the fake alerts API, chosen by
// the example's routes: "opsgenie" notes a re-fire, closes on resolve and
// opens a new alert under the alias when the alert fires again;
// "opsgenie_review" (Sev0/Sev1) only acknowledges, and a later fire adds a
// note to the same alert. Last, the host is killed after the API created an
// alert and before the host heard of it: after the restart lookup finds the
// alert by alias, nothing is created twice, and the resolution closes it.
func TestRESTAlertsExample(t *testing.T) {
	fake := restfake.NewAlerts(restfake.Options{Auth: restfake.Auth{Header: "Authorization", Value: "GenieKey " + restSecrets["OPSGENIE_API_KEY"]}})
	t.Cleanup(fake.Close)
	c := startREST(t, "alerts", fake.URL)
	sender := c.Sender(t)

	wait := func(t *testing.T, alias, what string, ok func([]restfake.Alert) bool) []restfake.Alert {
		t.Helper()
		var got []restfake.Alert
		harness.Eventually(t, restTimeout, what, func() (bool, string) {
			got = fake.ByAlias(alias)
			var states []string
			for _, a := range got {
				states = append(states, fmt.Sprintf("%s=%s(ack %v, count %d, %d notes)", a.TinyID, a.Status, a.Acknowledged, a.Count, len(a.Notes)))
			}
			return ok(got), fmt.Sprintf("alerts %v", states)
		})
		return got
	}

	t.Run("close", func(t *testing.T) {
		n := newRESTNotifier(t, 410, "e2e-rest-close", "Sev4")
		key := n.key()
		fired := n.alert.FiredAt
		sender.Send(t, n.fired(fired))
		got := wait(t, key, "one open alert", func(a []restfake.Alert) bool { return len(a) == 1 && a[0].Status == "open" })
		if want := fmt.Sprintf(restSampleSummary, n.rule); got[0].Message != want || got[0].Priority != "P5" ||
			got[0].Entity != lifecycleTarget || got[0].Details["team"] != "platform" {
			t.Errorf("alert = %+v; want message %q, priority P5 (Sev4), the resource as entity, the route's team in details", got[0], want)
		}
		tiny := got[0].TinyID

		sender.Send(t, n.fired(fired.Add(refireAfter)))
		got = wait(t, key, "a note for the re-fire", func(a []restfake.Alert) bool { return len(a) == 1 && len(a[0].Notes) == 1 })
		if want := "Azure Monitor: " + n.rule + " fired again."; got[0].Notes[0] != want || got[0].Count != 1 {
			t.Errorf("after the re-fire: notes %q, count %d; want [%q] and no second create", got[0].Notes, got[0].Count, want)
		}

		resolvedAt := fired.Add(harness.ResolveAfter)
		sender.Send(t, n.resolved(fired, resolvedAt))
		wait(t, key, "the alert closed", func(a []restfake.Alert) bool { return len(a) == 1 && a[0].Status == "closed" })

		sender.Send(t, n.fired(resolvedAt.Add(reopenAfter)))
		got = wait(t, key, "a new alert under the alias", func(a []restfake.Alert) bool { return len(a) == 2 && a[1].Status == "open" })
		if got[0].TinyID != tiny || got[0].Status != "closed" {
			t.Errorf("first alert = %+v; want %s left closed", got[0], tiny)
		}
	})

	t.Run("acknowledge for review", func(t *testing.T) {
		n := newRESTNotifier(t, 420, "e2e-rest-review", "Sev1")
		key := n.key()
		fired := n.alert.FiredAt
		sender.Send(t, n.fired(fired))
		got := wait(t, key, "one open alert", func(a []restfake.Alert) bool { return len(a) == 1 && a[0].Status == "open" })
		if got[0].Priority != "P1" || !slices.Contains(got[0].Tags, "needs-review") {
			t.Errorf("alert = %+v; want the review backend's P1 with tag needs-review", got[0])
		}

		resolvedAt := fired.Add(harness.ResolveAfter)
		sender.Send(t, n.resolved(fired, resolvedAt))
		wait(t, key, "the alert acknowledged, still open", func(a []restfake.Alert) bool {
			return len(a) == 1 && a[0].Acknowledged && a[0].Status == "open" && len(a[0].Notes) == 1
		})

		sender.Send(t, n.fired(resolvedAt.Add(reopenAfter)))
		got = wait(t, key, "a note on the same alert", func(a []restfake.Alert) bool { return len(a) == 1 && len(a[0].Notes) == 2 })
		if got[0].Status != "open" || got[0].Count != 1 {
			t.Errorf("after firing again: %+v; want the one alert, open, created once", got[0])
		}
	})

	t.Run("lookup after a crash", func(t *testing.T) {
		n := newRESTNotifier(t, 430, "e2e-rest-crash", "Sev4")
		key := n.key()
		held, release := crashAfterNext(t, fake.Server, http.MethodPost, "/v2/alerts")
		requests := func() (creates, lookups int) {
			for _, r := range fake.Requests() {
				var body struct {
					Alias string `json:"alias"`
				}
				switch {
				case r.Method == http.MethodPost && r.Path == "/v2/alerts" && json.Unmarshal(r.Body, &body) == nil && body.Alias == key:
					creates++
				case r.Method == http.MethodGet && r.Path == "/v2/alerts/"+key:
					lookups++
				}
			}
			return creates, lookups
		}
		fired := n.alert.FiredAt
		sender.Send(t, n.fired(fired))
		harness.Eventually(t, restTimeout, "the alert created, its answer held", func() (bool, string) {
			got := len(fake.ByAlias(key))
			return held() && got == 1, fmt.Sprintf("held %v, %d alerts", held(), got)
		})
		_, lookupsBefore := requests()
		c.Kill(t)
		release()
		c.Restart(t)
		drainQueue(t, c)
		if _, lookups := requests(); lookups <= lookupsBefore {
			t.Errorf("no lookup for the alias after the restart (%d before, %d after)", lookupsBefore, lookups)
		}

		sender.Send(t, n.resolved(fired, fired.Add(harness.ResolveAfter)))
		wait(t, key, "the alert closed", func(a []restfake.Alert) bool { return len(a) == 1 && a[0].Status == "closed" })
		drainQueue(t, c)
		got := fake.ByAlias(key)
		if len(got) != 1 || got[0].Count != 1 {
			t.Errorf("alerts %+v; want exactly one, created once", got)
		}
		if creates, _ := requests(); creates != 1 {
			t.Errorf("%d creates for the alias; want one, found again by lookup after the restart", creates)
		}
	})
}

// TestRESTTicketsExample runs examples/rest/tickets through the host
// against the fake ticket API with OAuth: fired → one ticket bound to the
// asset of the alert's resource; a re-fire → a comment; resolved → solved;
// fired inside the reopen window → the same ticket open again; fired after
// it → a new ticket. Then the host is killed after the API created a ticket
// and before the host heard of it: after the restart lookup finds the
// ticket by its external id, no second ticket is made, and the resolution
// solves the one ticket.
func TestRESTTicketsExample(t *testing.T) {
	fake := restfake.NewTickets(restfake.Options{Auth: restfake.Auth{OAuth: &restfake.OAuth{
		ClientID: "itsm-connector", ClientSecret: restSecrets["TICKETS_CLIENT_SECRET"], Scope: "tickets:write assets:read",
	}}})
	t.Cleanup(fake.Close)
	asset := fake.SeedAsset("test-storageAccount", lifecycleTarget)
	c := startREST(t, "tickets", fake.URL)
	sender := c.Sender(t)

	wait := func(t *testing.T, key, what string, ok func([]restfake.Ticket) bool) []restfake.Ticket {
		t.Helper()
		var got []restfake.Ticket
		harness.Eventually(t, restTimeout, what, func() (bool, string) {
			got = fake.ByExternalID(key)
			var states []string
			for _, tk := range got {
				states = append(states, fmt.Sprintf("%s=%s(%d comments)", tk.Number, tk.Status, len(tk.Comments)))
			}
			return ok(got), fmt.Sprintf("tickets %v", states)
		})
		return got
	}

	t.Run("lifecycle", func(t *testing.T) {
		n := newRESTNotifier(t, 440, "e2e-rest-lifecycle", "Sev4")
		key := n.key()
		fired := n.alert.FiredAt
		sender.Send(t, n.fired(fired))
		got := wait(t, key, "one new ticket", func(tk []restfake.Ticket) bool { return len(tk) == 1 && tk[0].Status == "new" })
		tk := got[0]
		if want := fmt.Sprintf(restSampleSummary, n.rule); tk.Subject != want || tk.Priority != "low" || tk.AssetID != asset ||
			!strings.Contains(tk.Description, "Resource: "+lifecycleTarget) || !slices.Equal(tk.Tags, []string{"azure-monitor", "sev4"}) {
			t.Errorf("ticket = %+v; want subject %q, priority low (Sev4), asset %s, the resource in the description, tags azure-monitor and sev4", tk, want, asset)
		}
		id := tk.ID

		sender.Send(t, n.fired(fired.Add(refireAfter)))
		wait(t, key, "a comment for the re-fire", func(tk []restfake.Ticket) bool { return len(tk) == 1 && len(tk[0].Comments) == 1 })

		resolvedAt := fired.Add(harness.ResolveAfter)
		sender.Send(t, n.resolved(fired, resolvedAt))
		wait(t, key, "the ticket solved", func(tk []restfake.Ticket) bool { return len(tk) == 1 && tk[0].Status == "solved" })

		refired := resolvedAt.Add(reopenAfter)
		sender.Send(t, n.fired(refired))
		got = wait(t, key, "the ticket reopened", func(tk []restfake.Ticket) bool { return len(tk) == 1 && tk[0].Status == "open" })
		if got[0].ID != id || len(got[0].Comments) != 3 {
			t.Errorf("reopened ticket %d with %d comments; want %d with a comment each for re-fire, resolve and reopen", got[0].ID, len(got[0].Comments), id)
		}

		resolvedAt = refired.Add(harness.ResolveAfter)
		sender.Send(t, n.resolved(refired, resolvedAt))
		wait(t, key, "the reopened ticket solved again", func(tk []restfake.Ticket) bool { return len(tk) == 1 && tk[0].Status == "solved" })
		sender.Send(t, n.fired(resolvedAt.Add(2*restTicketsWindow)))
		got = wait(t, key, "a new ticket after the reopen window", func(tk []restfake.Ticket) bool {
			return len(tk) == 2 && tk[1].Status == "new"
		})
		if got[0].ID != id || got[0].Status != "solved" {
			t.Errorf("first ticket = %d in %q; want %d left solved", got[0].ID, got[0].Status, id)
		}
	})

	t.Run("lookup after a crash", func(t *testing.T) {
		n := newRESTNotifier(t, 450, "e2e-rest-crash", "Sev4")
		key := n.key()
		held, release := crashAfterNext(t, fake.Server, http.MethodPost, "/api/v2/tickets")
		requests := func() (creates, lookups int) {
			for _, r := range fake.Requests() {
				var body struct {
					Ticket struct {
						ExternalID string `json:"external_id"`
					} `json:"ticket"`
				}
				switch {
				case r.Method == http.MethodPost && r.Path == "/api/v2/tickets" && json.Unmarshal(r.Body, &body) == nil && body.Ticket.ExternalID == key:
					creates++
				case r.Method == http.MethodGet && r.Path == "/api/v2/tickets" && r.Query.Get("external_id") == key:
					lookups++
				}
			}
			return creates, lookups
		}
		fired := n.alert.FiredAt
		sender.Send(t, n.fired(fired))
		harness.Eventually(t, restTimeout, "the ticket created, its answer held", func() (bool, string) {
			got := len(fake.ByExternalID(key))
			return held() && got == 1, fmt.Sprintf("held %v, %d tickets", held(), got)
		})
		_, lookupsBefore := requests()
		c.Kill(t)
		release()
		c.Restart(t)
		drainQueue(t, c)
		if _, lookups := requests(); lookups <= lookupsBefore {
			t.Errorf("no lookup by external id after the restart (%d before, %d after)", lookupsBefore, lookups)
		}

		sender.Send(t, n.resolved(fired, fired.Add(harness.ResolveAfter)))
		wait(t, key, "the ticket solved", func(tk []restfake.Ticket) bool { return len(tk) == 1 && tk[0].Status == "solved" })
		drainQueue(t, c)
		got := fake.ByExternalID(key)
		if len(got) != 1 {
			t.Fatalf("%d tickets for the alert; want exactly one", len(got))
		}
		if creates, _ := requests(); creates != 1 {
			t.Errorf("%d creates for the alert; want one, found again by lookup after the restart", creates)
		}
	})
}

// TestRESTValidateDiagnostics breaks a shipped REST example the ways
// operators do, runs `itsm-connector validate` on it, and checks that the
// error names the file and the broken line and says what is wrong. The
// example is copied as shipped but for its plugin checksum, set to the
// built plugin's as its comment tells the operator to.
func TestRESTValidateDiagnostics(t *testing.T) {
	bins := harness.Build(t, "rest")
	plugin, err := os.ReadFile(filepath.Join(bins.PluginDir, "itsm-connector-plugin-rest"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(plugin)
	const placeholder = `sha256 = "0000000000000000000000000000000000000000000000000000000000000000"`

	tests := []struct {
		name, style string
		// old is replaced by new once; marker is text on the broken line.
		old, new, marker string
		want             []string
		// cascade: HCL's parser reports follow-on errors after a syntax
		// error; the first still names the broken line.
		cascade bool
	}{
		{
			name: "template references an unknown alert field", style: "tickets",
			old:    `${alert.rule} on ${alert.resource_name}"`,
			new:    `${alert.rule} on ${alert.no_such_field}"`,
			marker: "alert.no_such_field",
			want:   []string{"Error: Unsupported attribute", `alert.no_such_field does not exist: alert has no attribute named "no_such_field".`},
		},
		{
			name: "unterminated interpolation", style: "events",
			old:     `substr("[${alert.severity_label}]`,
			new:     `substr("[${alert.severity_label]`,
			marker:  `${alert.severity_label]`,
			want:    []string{"Error: ", "Expected a closing brace to end the interpolation expression"},
			cascade: true,
		},
		{
			name: "malformed JSON path in a result", style: "tickets",
			old:    `id              = "tickets[-1].id"`,
			new:    `id              = "tickets[-1]..id"`,
			marker: `"tickets[-1]..id"`,
			want:   []string{"Error: invalid JSON path", `"tickets[-1]..id": at offset 12: empty key.`},
		},
		{
			name: "JSON path with an open bracket", style: "alerts",
			old:    `id              = "data.alias"`,
			new:    `id              = "data.alias["`,
			marker: `"data.alias["`,
			want:   []string{"Error: invalid JSON path", "'[' without ']'"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, src := restExample(t, tc.style)
			text := string(src)
			if !strings.Contains(text, placeholder) || !strings.Contains(text, tc.old) {
				t.Fatalf("examples/rest/%s/connector.hcl no longer contains %q or %q", tc.style, placeholder, tc.old)
			}
			text = strings.Replace(text, placeholder, `sha256 = "`+hex.EncodeToString(sum[:])+`"`, 1)
			text = strings.Replace(text, tc.old, tc.new, 1)
			line := 0
			for i, l := range strings.Split(text, "\n") {
				if strings.Contains(l, tc.marker) {
					line = i + 1
					break
				}
			}
			dir := t.TempDir()
			cfg := filepath.Join(dir, "connector.hcl")
			if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bins.Host, "validate", "-dev", "-config", cfg, "-plugin-dir", bins.PluginDir)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), restEnv()...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("validate succeeded, want failure:\n%s", out)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			want := append([]string{fmt.Sprintf("on %s line %d", cfg, line), fmt.Sprintf("%d: ", line)}, tc.want...)
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if n := strings.Count(string(out), "Error: "); n != 1 && !tc.cascade {
				t.Errorf("%d errors, want just the one:\n%s", n, out)
			}
			if first := strings.SplitN(string(out), "Error: ", 3); len(first) < 2 || !strings.Contains(first[1], fmt.Sprintf("line %d,", line)) {
				t.Errorf("the first error is not at line %d:\n%s", line, out)
			}
			for _, secret := range restSecrets {
				if strings.Contains(string(out), secret) {
					t.Errorf("output shows a secret:\n%s", out)
				}
			}
		})
	}
}
