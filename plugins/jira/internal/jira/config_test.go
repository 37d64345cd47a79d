package jira

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

func TestConfigDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cfg map[string]any)
		path   []string
	}{
		{"no url", func(c map[string]any) { delete(c, "url") }, []string{"url"}},
		{"API url", func(c map[string]any) { c["url"] = "https://contoso.atlassian.net/rest/api/3" }, []string{"url"}},
		{"credentials in url", func(c map[string]any) { c["url"] = "https://u:p@contoso.atlassian.net" }, []string{"url"}},
		{"no flavor", func(c map[string]any) { delete(c, "flavor") }, []string{"flavor"}},
		{"bad flavor", func(c map[string]any) { c["flavor"] = "server" }, []string{"flavor"}},
		{"no project", func(c map[string]any) { delete(c, "project") }, []string{"project"}},
		{"lower-case project", func(c map[string]any) { c["project"] = "ops" }, []string{"project"}},
		{"label with space", func(c map[string]any) { c["labels"] = []any{"azure monitor"} }, []string{"labels"}},
		{"unknown severity", func(c map[string]any) { c["priority_map"] = map[string]any{"Sev9": "High"} }, []string{"priority_map", "Sev9"}},
		{"no auth", func(c map[string]any) { delete(c, "auth") }, []string{"auth"}},
		{"cloud without token", func(c map[string]any) { c["auth"] = map[string]any{"type": "basic", "email": testEmail} }, []string{"auth", "api_token"}},
		{"cloud bearer", func(c map[string]any) { c["auth"] = map[string]any{"type": "bearer", "token": testPAT} }, []string{"auth", "type"}},
		{"cloud password", func(c map[string]any) {
			c["auth"] = map[string]any{"type": "basic", "email": testEmail, "api_token": testAPIToken, "password": testPassword}
		}, []string{"auth", "password"}},
		{"datacenter bearer without token", func(c map[string]any) {
			c["flavor"] = FlavorDataCenter
			c["auth"] = map[string]any{"type": "bearer"}
		}, []string{"auth", "token"}},
		{"bad label prefix", func(c map[string]any) { c["correlation"] = map[string]any{"label_prefix": "itsm key"} }, []string{"correlation", "label_prefix"}},
		{"bad min_interval", func(c map[string]any) { c["comments"] = map[string]any{"min_interval": "often"} }, []string{"comments", "min_interval"}},
		{"bad timeout", func(c map[string]any) { c["timeout"] = "-1s" }, []string{"timeout"}},
		{"negative search delay", func(c map[string]any) { c["search_consistency_delay"] = "-1s" }, []string{"search_consistency_delay"}},
		{"bad search delay", func(c map[string]any) { c["search_consistency_delay"] = "soon" }, []string{"search_consistency_delay"}},
		{"service desk without block", func(c map[string]any) { c["mode"] = ModeServiceDesk }, []string{"service_desk"}},
		{"service desk bad request type", func(c map[string]any) {
			c["mode"] = ModeServiceDesk
			c["service_desk"] = map[string]any{"service_desk_id": "1", "request_type_id": "Incident"}
		}, []string{"service_desk", "request_type_id"}},
		{"bad ca", func(c map[string]any) { c["tls"] = map[string]any{"ca_cert": "not pem"} }, []string{"tls", "ca_cert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(FlavorCloud, "https://contoso.atlassian.net")
			tt.mutate(cfg)
			err := New(Options{}).Configure(context.Background(), sdktest.ConfigOf(t, cfg))
			d := sdk.AsDiagnostics(err)
			if !slices.ContainsFunc(d, func(x sdk.Diagnostic) bool {
				return x.Severity == sdk.SeverityError && slices.Equal(x.Path, tt.path) && x.Summary != ""
			}) {
				t.Errorf("Configure = %v; want an error diagnostic at %v", err, tt.path)
			}
			for _, secret := range []string{testAPIToken, testPassword, testPAT} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Error("a diagnostic repeats a secret")
				}
			}
		})
	}
}

func TestSchema(t *testing.T) {
	s := Schema()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var sensitive []string
	var walk func(prefix string, s sdk.Schema)
	walk = func(prefix string, s sdk.Schema) {
		for _, a := range s.Attributes {
			if a.Doc == "" {
				t.Errorf("attribute %s%s has no doc", prefix, a.Name)
			}
			if a.Sensitive {
				sensitive = append(sensitive, prefix+a.Name)
			}
			if len(a.Default) > 0 && !json.Valid(a.Default) {
				t.Errorf("attribute %s%s has an invalid default", prefix, a.Name)
			}
		}
		for _, b := range s.Blocks {
			if b.Doc == "" {
				t.Errorf("block %s%s has no doc", prefix, b.Name)
			}
			walk(prefix+b.Name+".", b.Schema)
		}
	}
	walk("", s)
	if want := []string{"auth.api_token", "auth.password", "auth.token"}; !slices.Equal(sensitive, want) {
		t.Errorf("sensitive attributes = %v, want %v", sensitive, want)
	}
}

func TestServiceDeskMode(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, func(cfg map[string]any) {
			cfg["mode"] = ModeServiceDesk
			delete(cfg, "project")
			cfg["service_desk"] = map[string]any{"service_desk_id": "1", "request_type_id": "10"}
		})
		ctx := context.Background()
		req := e.request("k", alert(), nil)
		req.Fields = map[string]any{"Team": "Data"}
		item, err := e.p.Create(ctx, req)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if item.Key != "SD-1" || item.Attributes["portal_url"] != e.fake.URL+"/servicedesk/customer/portal/1/SD-1" {
			t.Errorf("Create = %+v", item)
		}
		posts := e.fake.RequestsTo("POST", "/rest/servicedeskapi/request")
		if len(posts) != 1 {
			t.Fatalf("%d service desk requests, want 1", len(posts))
		}
		sent := posts[0].JSON(t)
		values := sent["requestFieldValues"].(map[string]any)
		if sent["serviceDeskId"] != "1" || sent["requestTypeId"] != "10" {
			t.Errorf("sent %v", sent)
		}
		if _, ok := values["description"].(string); !ok {
			t.Errorf("description sent as %T; the request API takes plain text", values["description"])
		}
		if team, _ := json.Marshal(values["customfield_10010"]); string(team) != `{"value":"Data"}` {
			t.Errorf("Team sent as %s", team)
		}
		is := e.issue(item.Key)
		if !is.ViaServiceDesk || !slices.Contains(is.Labels, CorrelationLabel("itsm-", "k")) || len(is.Properties[PropertyKey]) == 0 {
			t.Errorf("request not stamped: labels %v, properties %v", is.Labels, is.Properties)
		}
		found, err := e.newPlugin(nil).Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found == nil || found.ID != item.ID {
			t.Errorf("Lookup of the request = %+v, %v", found, err)
		}
		if _, err := e.p.Resolve(ctx, e.request("k", alert(), item)); err != nil {
			t.Errorf("Resolve of the request: %v", err)
		}
	})
}

// TestInfoSearchConsistencyDelay: Info declares the default read-after-write
// delay before Configure and search_consistency_delay after it; "0s" means
// no wait.
func TestInfoSearchConsistencyDelay(t *testing.T) {
	p := New(Options{})
	delay := func() time.Duration {
		t.Helper()
		info, err := p.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.ReadAfterWriteDelay
	}
	if d := delay(); d != DefaultSearchConsistencyDelay {
		t.Errorf("before Configure: %v, want the default %v", d, DefaultSearchConsistencyDelay)
	}
	for _, tt := range []struct {
		set  any
		want time.Duration
	}{{nil, DefaultSearchConsistencyDelay}, {"25s", 25 * time.Second}, {"0s", 0}} {
		cfg := baseConfig(FlavorCloud, "https://contoso.atlassian.net")
		if tt.set != nil {
			cfg["search_consistency_delay"] = tt.set
		}
		if err := sdktest.Rejected(p.Configure(context.Background(), sdktest.ConfigOf(t, cfg))); err != nil {
			t.Fatal(err)
		}
		if d := delay(); d != tt.want {
			t.Errorf("search_consistency_delay %v: Info declares %v, want %v", tt.set, d, tt.want)
		}
	}
}
