package pluginhost

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/console"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// The echo plugin's secrets: long enough to be redacted in every form, and
// with characters that each encoding changes.
const (
	echoToken        = "Echo-T0ken/with<special>&chars+Zq:é"
	echoClientSecret = "client-S3cret-0123456789abcdef"
	rotatedToken     = "rotated-T0ken-after-a-reload-9876"
)

// secretForms are what of secret must appear nowhere, by name: the forms
// the echo plugin sends (see testdata/testplugin), each as much as depends
// on the secret alone.
func secretForms(secret string) map[string]string {
	b := []byte(secret)
	j, _ := json.Marshal(secret)
	var u strings.Builder
	for _, r := range secret {
		fmt.Fprintf(&u, `\u%04x`, r)
	}
	std := base64.StdEncoding.EncodeToString(b)
	rawURL := base64.RawURLEncoding.EncodeToString(b)
	basic := base64.StdEncoding.EncodeToString([]byte("svc-user:" + secret))
	longer := base64.StdEncoding.EncodeToString([]byte(`{"password":"` + secret + `"}`))
	return map[string]string{
		"as written":                   secret,
		"upper case":                   strings.ToUpper(secret),
		"lower case":                   strings.ToLower(secret),
		"query-escaped":                url.QueryEscape(secret),
		"path-escaped":                 url.PathEscape(secret),
		"JSON-escaped":                 string(j[1 : len(j)-1]),
		`\u-escaped`:                   u.String(),
		`\u-escaped, upper case`:       strings.ReplaceAll(strings.ToUpper(u.String()), `\U`, `\u`),
		"hex":                          hex.EncodeToString(b),
		"hex, upper case":              strings.ToUpper(hex.EncodeToString(b)),
		"base64":                       std[:len(std)-4],
		"base64 URL alphabet":          rawURL[:len(rawURL)-3],
		"base64 of user:secret":        basic[12 : len(basic)-4],
		"base64 inside a longer value": longer[19 : 19+20],
		"its first half":               secret[:len(secret)/2],
	}
}

// leaks lists the forms of secrets found in text.
func leaks(text string, secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		for name, f := range secretForms(s) {
			if strings.Contains(text, f) {
				out = append(out, fmt.Sprintf("%s %q", name, f))
			}
		}
	}
	return out
}

func assertNoLeak(t *testing.T, where, text string) {
	t.Helper()
	if l := leaks(text, echoToken, echoClientSecret, rotatedToken); len(l) > 0 {
		t.Errorf("%s leaks %s:\n%s", where, strings.Join(l, ", "), text)
	}
}

const echoConfig = `backend "test" "echo" {
  config {
    url   = "https://itsm.example.test"
    token = env("PLUGINHOST_ECHO_TOKEN")
    echo  = true
    auth {
      client_secret = env("PLUGINHOST_ECHO_CLIENT_SECRET")
    }
  }
}
`

// TestSecretsNeverLeaveTheHost runs a plugin that echoes its sensitive
// values in every form through the host, the delivery engine with a real
// SQLite store and the console, and looks for them in everything the
// host logs, returns, stores and shows.
func TestSecretsNeverLeaveTheHost(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_ECHO_TOKEN", echoToken)
	t.Setenv("PLUGINHOST_ECHO_CLIENT_SECRET", echoClientSecret)
	logs := &fakehttp.LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "itsm-connector", Output: logs, Level: hclog.Debug, JSONFormat: true})
	h, diags, p := startHost(t, dir, echoConfig, Options{Logger: logger})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	b := mustBackend(t, h, "test.echo")

	t.Run("Configure diagnostics, as validate prints them", func(t *testing.T) {
		out := p.render(t, diags)
		if !strings.Contains(out, "Echoed [redacted]") {
			t.Errorf("the plugin's warnings are missing or not redacted:\n%s", out)
		}
		assertNoLeak(t, "validate output", out)
	})

	t.Run("returned errors keep their class", func(t *testing.T) {
		req := testRequest("direct")
		req.Fields = map[string]any{"echo": "error"}
		_, err := b.Create(context.Background(), req)
		if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "HTTP 401 from the ITSM tool: ") {
			t.Fatalf("err = %v (kind %s), want the plugin's permanent error", err, sdk.KindOf(err))
		}
		assertNoLeak(t, "the error", err.Error())
	})

	t.Run("returned work items", func(t *testing.T) {
		req := testRequest("direct")
		req.Fields = map[string]any{"echo": "item"}
		wi, err := b.Create(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(wi)
		if wi.Key != "KEY-[redacted]" || wi.ID != "wi-direct" {
			t.Errorf("work item key %q id %q, want KEY-[redacted] and wi-direct", wi.Key, wi.ID)
		}
		assertNoLeak(t, "the work item", string(raw))
	})

	t.Run("stored dead letters, audit trail and the console", func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connector.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		eng, err := delivery.New(st, delivery.StaticBackends{"test.echo": {Client: b, Capabilities: b.Capabilities()}},
			delivery.Options{PollInterval: 20 * time.Millisecond}, logger)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = eng.Stop(ctx)
		})
		for _, echo := range []string{"error", "item"} {
			a := &sdk.Alert{ID: "alert-" + echo, Rule: "cpu", Condition: sdk.ConditionFired, FiredAt: time.Now()}
			d := route.Decision{Deliveries: []route.Delivery{{Route: "r", Backend: "test.echo", CorrelationKey: "key-" + echo,
				Fields: map[string]any{"echo": echo}}}}
			if err := eng.Ingest(ctx, a, d); err != nil {
				t.Fatal(err)
			}
		}
		var letters []*store.DeadLetter
		var items []*store.Item
		waitFor(t, func() bool {
			letters, _ = st.ListDeadLetters(ctx, store.DeadLetterFilter{})
			items, _ = st.ListItems(ctx, store.ItemFilter{})
			synced := 0
			for _, it := range items {
				if it.Ref != nil && !it.Dirty {
					synced++
				}
			}
			return len(letters) == 1 && synced == 1
		})
		var stored strings.Builder
		for _, l := range letters {
			fmt.Fprintf(&stored, "dead letter: %s | %s\n", l.Reason, l.LastError)
		}
		for _, it := range items {
			raw, _ := json.Marshal(it)
			fmt.Fprintf(&stored, "item: %s\n", raw)
			events, err := st.Events(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				fmt.Fprintf(&stored, "event: %s %s %s\n", e.Op, e.Outcome, e.Message)
			}
		}
		if !strings.Contains(stored.String(), "HTTP 401 from the ITSM tool") || !strings.Contains(stored.String(), "healed with") {
			t.Fatalf("the store lacks the echoing error or note:\n%s", stored.String())
		}
		assertNoLeak(t, "the store", stored.String())

		srv := httptest.NewServer(console.Handler(console.Sources{
			Backends: func() []console.Backend { return []console.Backend{{Ref: "test.echo", Plugin: "test"}} },
			Stats:    eng.Stats,
			Store:    st,
			Logger:   logger,
		}))
		defer srv.Close()
		var pages strings.Builder
		paths := []string{"/", "/workitems", "/deadletters"}
		for _, it := range items {
			paths = append(paths, fmt.Sprintf("/workitems/%d", it.ID))
		}
		for _, l := range letters {
			paths = append(paths, fmt.Sprintf("/deadletters/%d", l.ID))
		}
		for _, path := range paths {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pages.Write(body)
		}
		page := html.UnescapeString(pages.String())
		if !strings.Contains(page, "KEY-[redacted]") || !strings.Contains(page, "HTTP 401 from the ITSM tool") {
			t.Fatalf("the console lacks the work item or the dead letter:\n%s", page)
		}
		assertNoLeak(t, "the console", page)
	})

	t.Run("after a reload, old and new values", func(t *testing.T) {
		t.Setenv("PLUGINHOST_ECHO_TOKEN", rotatedToken)
		plugins := []*config.Plugin{checksumBlock(t, dir)}
		p := parseBackends(t, "connector.hcl", echoConfig)
		out := p.render(t, h.Reconfigure(context.Background(), p.backends, plugins, loadContext(t.TempDir())))
		if !strings.Contains(out, "Echoed [redacted]") {
			t.Errorf("reload diagnostics lack the plugin's redacted warnings:\n%s", out)
		}
		assertNoLeak(t, "reload diagnostics", out)
		rejected := parseBackends(t, "connector.hcl", strings.Replace(echoConfig, "https://itsm.example.test", "https://reject.example.test", 1))
		out = rejected.render(t, h.Reconfigure(context.Background(), rejected.backends, plugins, loadContext(t.TempDir())))
		if !strings.Contains(out, "Rejected [redacted]") {
			t.Errorf("reload diagnostics lack the plugin's redacted errors:\n%s", out)
		}
		assertNoLeak(t, "rejected reload diagnostics", out)
		req := testRequest("rotated")
		req.Fields = map[string]any{"echo": "error"}
		_, err := b.Create(context.Background(), req)
		assertNoLeak(t, "the error after a reload", err.Error())
	})

	t.Run("host log", func(t *testing.T) {
		waitFor(t, func() bool { return strings.Count(logs.String(), "create echoes ") >= 4 })
		if !strings.Contains(logs.String(), "configure echoes ") || !strings.Contains(logs.String(), "[redacted]") {
			t.Errorf("the plugin's Configure log lines are missing or not redacted")
		}
		assertNoLeak(t, "the host log", logs.String())
	})
}

// TestShortSecretsWarn: a sensitive value too short to redact in every
// form is a warning at its attribute, in validate and at start.
func TestShortSecretsWarn(t *testing.T) {
	dir, _ := testPluginDirs(t)
	src := `backend "test" "prod" {
  config {
    url   = "https://itsm.example.test"
    token = "tok-123"
    auth {
      client_secret = "abc"
    }
  }
}
`
	_, diags, p := startHost(t, dir, src, Options{})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	golden(t, "short_secrets.golden", p.render(t, diags))
}
