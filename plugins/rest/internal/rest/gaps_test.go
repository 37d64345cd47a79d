package rest

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// noSolved is a tracker whose workflow has no "solved" and which refuses a
// status change with 201 and ["Status 'solved' isn't a valid status"].
var noSolved = restfake.Quirks{Statuses: []string{"new", "open", "resolved", "closed"}, ErrorsIn2xx: true}

// TestResolveRefusedInA2xxBody: a tracker answered 201 with an error array
// and changed nothing; the plugin reported the item resolved (the state
// path was not in the answer, so the action's default applied). The state
// check now catches it, and result.error names the tracker's message.
func TestResolveRefusedInA2xxBody(t *testing.T) {
	t.Run("state check", func(t *testing.T) {
		e := newEnv(t, restfake.Options{}, nil)
		e.fake.SetQuirks(noSolved)
		wi := e.create("k")
		got, err := e.p.Resolve(context.Background(), e.request("k", wi))
		if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "no state at ticket.status") {
			t.Fatalf("Resolve refused in a 201 body = %+v, %v; want a permanent error, not a resolved item", got, err)
		}
	})
	t.Run("result.error", func(t *testing.T) {
		e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
			cfg["resolve"] = map[string]any{"method": "PUT", "result": map[string]any{"error": "[0]", "error_regex": "valid status"}}
		})
		e.fake.SetQuirks(noSolved)
		wi := e.create("k")
		_, err := e.p.Resolve(context.Background(), e.request("k", wi))
		want := "rest: resolve: PUT /api/v2/tickets/" + wi.ID + ": HTTP 201 reports a failure at result.error [0]: Status 'solved' isn't a valid status"
		if sdk.KindOf(err) != sdk.KindPermanent || err.Error() != want {
			t.Fatalf("Resolve = %v (%s); want permanent %q", err, sdk.KindOf(err), want)
		}
		if tk := e.fake.ByExternalID("k"); tk[0].Status != "new" {
			t.Errorf("status = %q; want unchanged", tk[0].Status)
		}
	})
	t.Run("an error_regex that does not match is no failure", func(t *testing.T) {
		e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
			cfg["update"] = map[string]any{"method": "PUT", "result": map[string]any{"error": "ticket.status", "error_regex": "^closed$"}}
		})
		wi := e.create("k")
		if _, err := e.p.Update(context.Background(), e.request("k", wi)); err != nil {
			t.Fatalf("Update = %v; want success (the status is not closed)", err)
		}
	})
}

// TestReopenStateCheck: a reopen whose answer still shows a resolved state
// did not reopen the item.
func TestReopenStateCheck(t *testing.T) {
	e := newEnv(t, restfake.Options{}, nil)
	wi := e.create("k")
	id := atoiT(t, wi.ID)
	e.fake.SetStatus(id, "solved")
	e.fake.SetQuirks(restfake.Quirks{Statuses: []string{"new", "solved", "closed"}, ErrorsIn2xx: true})
	_, err := e.p.Reopen(context.Background(), e.request("k", wi))
	if sdk.KindOf(err) != sdk.KindPermanent {
		t.Fatalf("Reopen refused in a 201 body = %v; want permanent", err)
	}
}

// TestResultsKeptAndLinkBuilt: result.attributes are kept on the work item
// (and earlier ones survive a later answer); url_template builds the link
// the API does not give; find_ci.body_value builds the value written into
// the create body.
func TestResultsKeptAndLinkBuilt(t *testing.T) {
	e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
		c := cfg["create"].(map[string]any)
		c["result"] = map[string]any{
			"id": "ticket.id", "key": "ticket.number",
			"attributes":   map[string]any{"asset": "ticket.asset_id", "first_status": "ticket.status"},
			"url_template": "https://tracker.example.com/t/${work_item.key}/${work_item.attributes.asset}",
		}
		cfg["update"].(map[string]any)["result"] = map[string]any{"attributes": map[string]any{"status": "ticket.status"}}
		cfg["find_ci"] = map[string]any{"body_path": "ticket.asset_id", "body_value": "asset:${find_ci.id}", "result": map[string]any{"id": "assets[0].id"}}
	})
	e.fake.SetQuirks(restfake.Quirks{NoURL: true})
	a := e.request("k", nil).Alert
	ast := e.fake.SeedAsset("vm", a.Resource.ID)
	req := e.request("k", nil)
	req.Values = withFindCI(t, req.Values, a.Resource.ID)
	wi, err := e.p.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if wi.Attributes["asset"] != "asset:"+ast || wi.Attributes["first_status"] != "new" {
		t.Errorf("attributes = %v", wi.Attributes)
	}
	if want := "https://tracker.example.com/t/TCK-1001/asset:" + ast; wi.URL != want {
		t.Errorf("URL = %q, want %q", wi.URL, want)
	}
	if len(wi.Bindings) != 1 || wi.Bindings[0].BoundID != ast {
		t.Errorf("bindings = %+v; want the raw id bound", wi.Bindings)
	}
	up, err := e.p.Update(context.Background(), e.request("k", wi))
	if err != nil {
		t.Fatal(err)
	}
	if up.Attributes["asset"] != "asset:"+ast || up.Attributes["status"] != "new" || up.URL != wi.URL {
		t.Errorf("after update: %+v; want earlier attributes and the link kept, the new one added", up)
	}
	if wi.Attributes["status"] != "" {
		t.Error("update changed the recorded item's attributes in place")
	}
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("id %q is not a number", s)
	}
	return n
}

// withFindCI adds rendered find_ci values searching for externalID.
func withFindCI(t *testing.T, v sdk.Values, externalID string) sdk.Values {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil {
		t.Fatal(err)
	}
	m["find_ci"] = map[string]any{"url": "/api/v2/assets", "query": map[string]string{"external_id": externalID}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
