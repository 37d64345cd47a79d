package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// trackerStatuses are the fake tracker's statuses: no "solved".
var trackerStatuses = []string{"new", "open", "resolved", "closed"}

// TestTrackerExample runs examples/rest/tracker against the fake ticket API
// answering as a real tracker: errors in a 2xx body, no link, a comment
// endpoint that answers 400 for a deleted ticket. It covers a value built
// from find_ci's result, a result kept for later templates, url_template,
// result.error, the state check and per-action not-found statuses.
func TestTrackerExample(t *testing.T) {
	fake := restfake.NewTickets(restfake.Options{Auth: restfake.Auth{Header: "Authorization", Value: "Bearer " + exampleSecrets["TRACKER_TOKEN"]}})
	t.Cleanup(fake.Close)
	fake.SetQuirks(restfake.Quirks{Statuses: trackerStatuses, ErrorsIn2xx: true, NoURL: true})
	assetID := fake.SeedAsset("vm-web-01", alertOf("x", 1).Resource.ID)
	e := loadExample(t, "tracker", "tracker", fake.URL)
	if want := (sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, Comment: true, CMDB: true}); e.caps != want {
		t.Errorf("capabilities = %+v, want %+v", e.caps, want)
	}
	fired := alertOf("High CPU on web tier", 1)
	key := e.delivery(fired).CorrelationKey

	r := &record{}
	e.reconcile(r, fired)
	wi := r.ref
	if wi.ID != "1001" || wi.URL != "https://tracker.example.com/agent/tickets/1001" || wi.Attributes["asset"] != "asset:"+assetID {
		t.Fatalf("created %+v; want the URL from url_template and the asset kept", wi)
	}
	if tk := fake.ByExternalID(key); len(tk) != 1 || tk[0].AssetID != "asset:"+assetID || tk[0].URL != "" {
		t.Fatalf("tickets = %+v; want asset_id built by body_value, no url from the API", tk)
	}

	e.reconcile(r, fired) // a comment
	e.reconcile(r, resolved(fired))
	tk := fake.ByExternalID(key)
	if r.ref.State != sdk.StateResolved || tk[0].Status != "resolved" || len(tk[0].Comments) != 2 ||
		tk[0].Comments[1].Body != "Azure Monitor reports High CPU on web tier resolved on asset:"+assetID+"." {
		t.Fatalf("after comment and resolve: ref %+v, tickets %+v; want the kept asset in the resolve comment", r.ref, tk)
	}
	e.reconcile(r, fired) // reopen
	if tk := fake.ByExternalID(key); tk[0].Status != "open" || r.ref.State != sdk.StateOpen || r.ref.URL != wi.URL {
		t.Fatalf("after reopen: ref %+v, tickets %+v", r.ref, tk)
	}

	t.Run("error in a 2xx body", func(t *testing.T) {
		// The tracker's workflow no longer has "resolved": it answers 201
		// with ["Status 'resolved' isn't a valid status"] and changes
		// nothing. That is a permanent failure, not a resolved ticket.
		fake.SetQuirks(restfake.Quirks{Statuses: []string{"new", "open", "closed"}, ErrorsIn2xx: true, NoURL: true})
		t.Cleanup(func() { fake.SetQuirks(restfake.Quirks{Statuses: trackerStatuses, ErrorsIn2xx: true, NoURL: true}) })
		_, err := e.call("resolve", resolved(fired), r.ref)
		if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "HTTP 201 reports a failure at result.error [0]: Status 'resolved' isn't a valid status") {
			t.Fatalf("resolve refused in a 201 body = %v (%s); want a permanent error with the tracker's message", err, sdk.KindOf(err))
		}
		if tk := fake.ByExternalID(key); tk[0].Status != "open" {
			t.Errorf("ticket status = %q; want it unchanged", tk[0].Status)
		}
	})

	t.Run("deleted", func(t *testing.T) {
		a := alertOf("Deleted ticket", 2)
		r := &record{}
		e.reconcile(r, a)
		fake.Delete(atoi(t, r.ref.ID))
		// The comment endpoint answers 400, the ticket's URL 404: both are
		// in their action's not_found_statuses.
		if _, err := e.call("update", a, r.ref); sdk.KindOf(err) != sdk.KindNotFound {
			t.Errorf("update (comment) of a deleted ticket = %v (%s); want not found", err, sdk.KindOf(err))
		}
		if _, err := e.call("resolve", resolved(a), r.ref); sdk.KindOf(err) != sdk.KindNotFound {
			t.Errorf("resolve of a deleted ticket = %v (%s); want not found", err, sdk.KindOf(err))
		}
		var statuses []int
		for _, req := range fake.Requests() {
			if strings.HasPrefix(req.Path, "/api/v2/tickets/"+r.ref.ID) {
				statuses = append(statuses, req.Status)
			}
		}
		if !slices.Contains(statuses, http.StatusBadRequest) || !slices.Contains(statuses, http.StatusNotFound) {
			t.Errorf("statuses = %v; want the fake's 400 on the comment and 404 on the ticket", statuses)
		}
	})
}
