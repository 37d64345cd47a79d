package jira

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestCustomFieldsByName(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		req := e.request("k", alert(), nil)
		req.Fields = map[string]any{
			"team":              "Platform",                                // option, name in any case
			"Impact score":      "7.5",                                     // number from a string
			"Runbook":           "Restart the VM.\n\nThen check the disk.", // textarea
			"Affected services": []any{"api", "web"},                       // multi-select
			"customfield_10015": "tag1",                                    // by id, labels-type: wrapped in a list
			"Priority":          "Highest",                                 // system field by name overrides the map
			"duedate":           "2025-03-20",
		}
		item, err := e.p.Create(context.Background(), req)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		f := e.issue(item.Key).Fields
		for id, want := range map[string]string{
			"customfield_10010": `{"value":"Platform"}`,
			"customfield_10012": `7.5`,
			"customfield_10014": `[{"value":"api"},{"value":"web"}]`,
			"customfield_10015": `["tag1"]`,
			"priority":          `{"name":"Highest"}`,
			"duedate":           `"2025-03-20"`,
		} {
			if got := compact(t, f[id]); got != want {
				t.Errorf("%s = %s, want %s", id, got, want)
			}
		}
		runbook := compact(t, f["customfield_10013"])
		if flavor == FlavorCloud {
			if err := jirafake.ValidateADF(f["customfield_10013"]); err != nil || !strings.Contains(runbook, `"text":"Then check the disk."`) {
				t.Errorf("Runbook on Cloud = %s (%v); want ADF with one paragraph per part", runbook, err)
			}
		} else if runbook != `"Restart the VM.\n\nThen check the disk."` {
			t.Errorf("Runbook on Data Center = %s; want the plain string", runbook)
		}
	})
}

func TestCustomFieldErrors(t *testing.T) {
	tests := []struct {
		name   string
		fields []jirafake.CustomField
		route  map[string]any
		want   []string
	}{
		{name: "unknown name", route: map[string]any{"Teem": "Web"},
			want: []string{`route field "Teem"`, `no Jira field has the name or id "Teem"`, `"Team"`}},
		{name: "ambiguous name",
			fields: append(jirafake.DefaultCustomFields(), jirafake.CustomField{ID: "customfield_10099", Name: "Team", Type: "string", Custom: jirafake.TypeTextField}),
			route:  map[string]any{"Team": "Web"},
			want:   []string{`2 Jira fields are named "Team"`, "customfield_10010, customfield_10099", "use the id"}},
		{name: "not a number", route: map[string]any{"Impact score": "high"},
			want: []string{`route field "Impact score" (customfield_10012)`, `"high" is not a number`}},
		{name: "invalid option, rejected by Jira", route: map[string]any{"Team": "Ops"},
			want: []string{"HTTP 400", "field customfield_10010 (Team): Option value 'Ops' is not valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, FlavorCloud, func(o *jirafake.Options) { o.CustomFields = tt.fields }, nil)
			req := e.request("k", alert(), nil)
			req.Fields = tt.route
			_, err := e.p.Create(context.Background(), req)
			if sdk.KindOf(err) != sdk.KindPermanent {
				t.Fatalf("Create = %v (%s), want permanent", err, sdk.KindOf(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFieldMetadataCached(t *testing.T) {
	e := newEnv(t, FlavorDataCenter, nil, func(cfg map[string]any) { cfg["field_cache_ttl"] = "1h" })
	create := func(fields map[string]any) error {
		req := e.request("k", alert(), nil)
		req.Fields = fields
		_, err := e.p.Create(context.Background(), req)
		return err
	}
	metadataReads := func() int { return len(e.fake.RequestsTo("GET", "/rest/api/2/field")) }
	for range 3 {
		if err := create(map[string]any{"Team": "Web"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := metadataReads(); n != 1 {
		t.Errorf("%d metadata reads for three creates, want 1 (cached)", n)
	}
	// An unknown name refreshes once, then not again within a minute.
	_ = create(map[string]any{"Nope": "x"})
	_ = create(map[string]any{"Nope": "x"})
	if n := metadataReads(); n != 1 {
		t.Errorf("%d metadata reads after unknown names inside a minute, want 1", n)
	}
	e.clock.Advance(2 * time.Minute)
	_ = create(map[string]any{"Nope": "x"})
	if n := metadataReads(); n != 2 {
		t.Errorf("%d metadata reads after an unknown name past a minute, want 2 (one refresh)", n)
	}
	e.clock.Advance(time.Hour)
	_ = create(map[string]any{"Team": "Web"})
	if n := metadataReads(); n != 3 {
		t.Errorf("%d metadata reads past the TTL, want 3", n)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
