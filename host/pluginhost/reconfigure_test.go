package pluginhost

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/config"
)

// TestReconfigure swaps a running backend's configuration: a secret read
// with file() again, a changed template, kept across a plugin restart; and
// leaves it alone when the new block does not decode or the plugin rejects
// it.
func TestReconfigure(t *testing.T) {
	dir, _ := testPluginDirs(t)
	secrets := t.TempDir()
	tokenFile := filepath.Join(secrets, "token")
	writeFile(t, tokenFile, "token-one-0123456789")
	src := func(url, subject string) string {
		return `backend "test" "prod" {
  config {
    url     = "` + url + `"
    token   = file("` + tokenFile + `")
    subject = "` + subject + `"
  }
}
`
	}
	h, diags, _ := startHost(t, dir, src("https://a.example.test", "${alert.rule}"), Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	plugins := []*config.Plugin{checksumBlock(t, dir)}
	reconfigure := func(src string) string {
		t.Helper()
		p := parseBackends(t, "connector.hcl", src)
		return p.render(t, h.Reconfigure(context.Background(), p.backends, plugins, loadContext(secrets)))
	}
	// created reports the plugin's configuration, its token redacted, and
	// the sha256 of its token.
	created := func(key string) (config, values string) {
		t.Helper()
		wi, err := b.Create(context.Background(), testRequest(key))
		if err != nil {
			t.Fatal(err)
		}
		return wi.Attributes["config"] + " token_sha256=" + wi.Attributes["token_sha256"], wi.Attributes["values"]
	}
	want := `{"url":"https://b.example.test","token":"[redacted]","retries":3,"echo":null,"auth":null} token_sha256=` + sha256Hex("token-two-0123456789")

	writeFile(t, tokenFile, "token-two-0123456789")
	if out := reconfigure(src("https://b.example.test", "[${alert.severity_label}] ${alert.rule}")); out != "" {
		t.Fatalf("reconfigure: %s", out)
	}
	cfg, vals := created("k1")
	sameConfig(t, cfg, want)
	sameJSON(t, []byte(vals), `{"subject":"[Sev1] cpu high"}`)

	t.Run("a restarted plugin gets the new configuration", func(t *testing.T) {
		wi, err := b.Create(context.Background(), testRequest("k2"))
		if err != nil {
			t.Fatal(err)
		}
		killAndWaitExit(t, b, pidOf(t, wi))
		cfg, _ := created("k3")
		sameConfig(t, cfg, want)
	})

	bad := []struct{ name, src, want string }{
		{"a block that does not decode", strings.Replace(src("https://c.example.test", "x"), "subject", "subjcet", 1), "Unsupported argument"},
		{"a configuration the plugin rejects", src("http://c.example.test", "x"), "Insecure URL"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if out := reconfigure(tt.src); !strings.Contains(out, tt.want) || !strings.Contains(out, "on connector.hcl line") {
				t.Errorf("diagnostics %q, want %q at a line", out, tt.want)
			}
			cfg, vals := created("k-" + tt.name)
			sameConfig(t, cfg, want)
			sameJSON(t, []byte(vals), `{"subject":"[Sev1] cpu high"}`)
		})
	}

	t.Run("added and removed backends need a restart", func(t *testing.T) {
		out := reconfigure(`backend "test" "other" {
  config {
    url = "https://o.example.test"
  }
}
`)
		for _, want := range []string{"New backend needs a restart", "test.other", "Removed backend keeps running until a restart", "test.prod"} {
			if !strings.Contains(out, want) {
				t.Errorf("diagnostics lack %q:\n%s", want, out)
			}
		}
		if _, ok := h.Backend("test.prod"); !ok {
			t.Error("the removed backend stopped; it should run until a restart")
		}
	})
}

// sameConfig compares created's report: JSON, then the token's hash.
func sameConfig(t *testing.T, got, want string) {
	t.Helper()
	gj, gh, _ := strings.Cut(got, " ")
	wj, wh, _ := strings.Cut(want, " ")
	sameJSON(t, []byte(gj), wj)
	if gh != wh {
		t.Errorf("plugin token: %s, want %s", gh, wh)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
