package jira

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// TestConformance runs the SDK's conformance suite against the fake, for
// both flavors, with a search index that lags behind every write.
func TestConformance(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		c := fakehttp.NewClock()
		fake := startFake(t, flavor, c, func(o *jirafake.Options) { o.IndexAfterSearches = 3 })
		invalid := baseConfig(flavor, fake.URL)
		invalid["auth"] = map[string]any{"type": "basic", "email": testEmail, "username": testUser}
		invalidPath := []string{"auth", "api_token"}
		if flavor == FlavorDataCenter {
			invalidPath = []string{"auth", "password"}
		}
		sdktest.Run(t, sdktest.Suite{
			New: func(*testing.T) sdk.Plugin {
				return New(Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})
			},
			Config:        sdktest.ConfigOf(t, baseConfig(flavor, fake.URL)),
			InvalidConfig: sdktest.ConfigOf(t, invalid),
			InvalidPath:   invalidPath,
			InjectFault: func(_ *testing.T, f sdktest.Fault) {
				switch f.Kind {
				case sdk.KindRetryable:
					fake.FailAll(http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, "")
				case sdk.KindPermanent:
					fake.FailAll(http.StatusBadRequest, nil, `{"errorMessages":[],"errors":{"summary":"bad"}}`)
				default:
					fake.Heal()
				}
			},
			Fields: map[string]any{"Team": "Web"},
			Delete: func(t *testing.T, wi *sdk.WorkItem) {
				if err := fake.DeleteAs(wi.ID, jirafake.User{Name: "fred"}); err != nil {
					t.Fatal(err)
				}
			},
		})
	})
}

func TestLifecycle(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		key := "High CPU on web tier|vm-web-01"
		fired := alert()

		req := e.request(key, fired, nil)
		req.Fields = map[string]any{"Team": "Web", "labels": []any{"sev one"}}
		item, err := e.p.Create(ctx, req)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if item.ID == "" || item.Key != "OPS-1" || item.State != sdk.StateOpen || item.CorrelationKey != key ||
			item.URL != e.fake.URL+"/browse/OPS-1" {
			t.Fatalf("Create returned %+v", item)
		}

		api := "/rest/api/3"
		if flavor == FlavorDataCenter {
			api = "/rest/api/2"
		}
		posts := e.fake.RequestsTo("POST", api+"/issue")
		if len(posts) != 1 {
			t.Fatalf("%d POST %s/issue, want 1", len(posts), api)
		}
		sent := posts[0].JSON(t)
		fields := sent["fields"].(map[string]any)
		for name, want := range map[string]string{
			"project":           `{"key":"OPS"}`,
			"issuetype":         `{"name":"Incident"}`,
			"summary":           `"[Sev1] High CPU on web tier on vm-web-01"`,
			"priority":          `{"name":"High"}`,
			"components":        `[{"name":"Compute"}]`,
			"labels":            `["azure-monitor","sev-one","` + CorrelationLabel("itsm-", key) + `"]`,
			"customfield_10010": `{"value":"Web"}`,
		} {
			got, _ := json.Marshal(fields[name])
			if string(got) != want {
				t.Errorf("sent %s = %s, want %s", name, got, want)
			}
		}
		if _, isString := fields["description"].(string); isString != (flavor == FlavorDataCenter) {
			t.Errorf("description sent as %T on %s", fields["description"], flavor)
		}
		is := e.issue(item.Key)
		var st stamp
		if err := json.Unmarshal(is.Properties[PropertyKey], &st); err != nil || st.CorrelationKey != key || st.AlertID != fired.ID {
			t.Errorf("property %s = %s (%v); want the correlation key and alert id", PropertyKey, is.Properties[PropertyKey], err)
		}

		// Lookup from a fresh process, once the index has the issue.
		found, err := e.newPlugin(nil).Lookup(ctx, e.request(key, fired, nil))
		if err != nil || found == nil || found.ID != item.ID || found.State != sdk.StateOpen {
			t.Fatalf("Lookup = %+v, %v; want %s open", found, err, item.ID)
		}

		// Update: a comment, no new issue.
		if _, err := e.p.Update(ctx, e.request(key, fired, item)); err != nil {
			t.Fatalf("Update: %v", err)
		}
		comments := e.fake.Comments(item.Key)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "fired again") {
			t.Errorf("comments after Update = %+v", comments)
		}
		if n := len(e.fake.Issues()); n != 1 {
			t.Errorf("%d issues after Update, want 1", n)
		}

		// Resolve: the Done transition, with the resolution its screen requires.
		resolvedAt := fired.FiredAt.Add(20 * time.Minute)
		resolved, err := e.p.Resolve(ctx, e.request(key, sdktest.Resolved(fired, resolvedAt), item))
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		is = e.issue(item.Key)
		if resolved.State != sdk.StateResolved || is.Status != "Done" || is.Resolution != "Done" {
			t.Errorf("after Resolve: item %+v, issue status %q resolution %q", resolved, is.Status, is.Resolution)
		}
		if c := e.fake.Comments(item.Key); len(c) != 2 || !strings.Contains(c[1].Body, "resolved at 2025-03-14T09:46:53Z") {
			t.Errorf("comments after Resolve = %+v", c)
		}

		// Reopen: back to To Do with a comment.
		reopened, err := e.p.Reopen(ctx, e.request(key, fired, resolved))
		if err != nil {
			t.Fatalf("Reopen: %v", err)
		}
		is = e.issue(item.Key)
		if reopened.State != sdk.StateOpen || is.Status != "To Do" || is.Resolution != "" {
			t.Errorf("after Reopen: item %+v, issue status %q resolution %q", reopened, is.Status, is.Resolution)
		}
		if c := e.fake.Comments(item.Key); len(c) != 3 || !strings.Contains(c[2].Body, "Reopened") {
			t.Errorf("comments after Reopen = %+v", c)
		}
		e.noSecrets(nil)
	})
}

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name   string
		flavor string
		auth   map[string]any
	}{
		{"cloud email and API token", FlavorCloud, map[string]any{"type": "basic", "email": testEmail, "api_token": testAPIToken}},
		{"datacenter personal access token", FlavorDataCenter, map[string]any{"type": "bearer", "token": testPAT}},
		{"datacenter basic", FlavorDataCenter, map[string]any{"type": "basic", "username": testUser, "password": testPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.flavor, nil, func(cfg map[string]any) { cfg["auth"] = tt.auth })
			e.create("k", alert())
			wrong := baseConfig(tt.flavor, e.fake.URL)
			wrong["auth"] = map[string]any{"type": "basic", "email": testEmail, "api_token": "wrong-token"}
			if tt.flavor == FlavorDataCenter {
				wrong["auth"] = map[string]any{"type": "basic", "username": testUser, "password": "wrong-password"}
			}
			_, err := e.newPlugin(wrong).Create(context.Background(), e.request("k", alert(), nil))
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "check the credentials") {
				t.Errorf("Create with wrong credentials = %v (%s); want permanent 401 with a hint", err, sdk.KindOf(err))
			}
			e.noSecrets(err)
		})
	}
}

func TestCustomCA(t *testing.T) {
	c := fakehttp.NewClock()
	fake := startFake(t, FlavorDataCenter, c, func(o *jirafake.Options) { o.TLS = true })
	cfg := baseConfig(FlavorDataCenter, fake.URL)
	p := New(Options{Logger: slog.New(slog.DiscardHandler), Now: c.Now})
	if err := p.Configure(context.Background(), sdktest.ConfigOf(t, cfg)); err != nil {
		t.Fatal(err)
	}
	_, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Create against an unknown CA = %v; want a certificate error", err)
	}
	cfg["tls"] = map[string]any{"ca_cert": string(fake.CertPEM())}
	if err := p.Configure(context.Background(), sdktest.ConfigOf(t, cfg)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()}); err != nil {
		t.Fatalf("Create with the custom CA: %v", err)
	}
}

func TestInsecureSkipVerifyIsLoud(t *testing.T) {
	c := fakehttp.NewClock()
	fake := startFake(t, FlavorDataCenter, c, func(o *jirafake.Options) { o.TLS = true })
	cfg := baseConfig(FlavorDataCenter, fake.URL)
	cfg["tls"] = map[string]any{"insecure_skip_verify": true}
	logs := &fakehttp.LogBuffer{}
	p := New(Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Now: c.Now})
	// The warning reaches the host with its path, so validate shows its line.
	sdktest.ConfigureWarnings(t, p, sdktest.ConfigOf(t, cfg), []string{"tls", "insecure_skip_verify"})
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "VERIFICATION IS DISABLED") {
		t.Errorf("no error line logged:\n%s", logs)
	}
	if _, err := p.Create(context.Background(), &sdk.Request{CorrelationKey: "k", Alert: alert()}); err != nil {
		t.Fatalf("Create without verification: %v", err)
	}
}

func TestDeletedIssueIsNotFound(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		item := e.create("k", alert())
		e.fake.DeleteIssue(item.Key)
		for name, call := range map[string]func(context.Context, *sdk.Request) (*sdk.WorkItem, error){
			"Update": e.p.Update, "Resolve": e.p.Resolve, "Reopen": e.p.Reopen,
		} {
			_, err := call(context.Background(), e.request("k", alert(), item))
			if sdk.KindOf(err) != sdk.KindNotFound || !strings.Contains(err.Error(), "HTTP 404") {
				t.Errorf("%s of a deleted issue: %v (%s), want not_found", name, err, sdk.KindOf(err))
			}
		}
		if found, err := e.p.Lookup(context.Background(), e.request("k", alert(), nil)); found != nil || err != nil {
			t.Errorf("Lookup after the issue was deleted = %+v, %v; want nothing", found, err)
		}
	})
}

func TestNotConfigured(t *testing.T) {
	p := New(Options{})
	if _, err := p.Create(context.Background(), &sdk.Request{}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Create before Configure = %v", err)
	}
}

func TestSummaryCut(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		req := e.request("k", alert(), nil)
		req.Fields = map[string]any{"summary": "line one\nline two " + strings.Repeat("日本", 200)}
		item, err := e.p.Create(context.Background(), req)
		if err != nil {
			t.Fatalf("Create with a long summary: %v", err)
		}
		var got string
		_ = json.Unmarshal(e.issue(item.Key).Fields["summary"], &got)
		if n := len([]rune(got)); n != 255 || !strings.HasPrefix(got, "line one line two 日本") || !strings.HasSuffix(got, "…") {
			t.Errorf("summary has %d characters: %q", n, got)
		}
	})
}

// TestUpdateWithNote: an Update carrying the connector's note (a flapping
// alert) comments that note, instead of the re-fire text, also inside
// comments.min_interval, which holds back re-fire comments only.
func TestUpdateWithNote(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, func(cfg map[string]any) { cfg["comments"] = map[string]any{"min_interval": "1h"} })
		ctx := context.Background()
		key := "High CPU on web tier|vm-web-01"
		fired := alert()
		item, err := e.p.Create(ctx, e.request(key, fired, nil))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := e.p.Update(ctx, e.request(key, fired, item)); err != nil {
			t.Fatalf("Update: %v", err)
		}
		req := e.request(key, fired, item)
		req.Note = "Alert is flapping: more than 4 fire/resolve transitions within 30m0s."
		if _, err := e.p.Update(ctx, req); err != nil {
			t.Fatalf("Update with a note: %v", err)
		}
		c := e.fake.Comments(item.Key)
		if len(c) != 2 || !strings.Contains(c[0].Body, "fired again") || !strings.Contains(c[1].Body, req.Note) || strings.Contains(c[1].Body, "fired again") {
			t.Errorf("comments = %+v; want the re-fire's, then the note inside min_interval", c)
		}
	})
}
