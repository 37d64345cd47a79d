package snowfake

import (
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestPeopleAndPushes(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	s := New(Options{BasicUsers: map[string]string{"svc": "pw"}, RequireCloseCode: true, Now: func() time.Time { return now }})
	t.Cleanup(s.Close)
	hook := fakehttp.Receiver(t, http.StatusAccepted)
	s.PushTo(hook.URL+"/hook", "s3cret-for-hmac")
	beth := s.AddUser("beth.anglin", "Beth Anglin")
	id := s.Seed("incident", map[string]string{"short_description": "cpu"})

	if err := s.ResolveAs(id, "beth.anglin", "", ""); err == nil {
		t.Error("a person resolving without close code passed the data policy")
	}
	if err := s.ResolveAs(id, "beth.anglin", "Solved (Permanently)", "Fixed."); err != nil {
		t.Fatal(err)
	}
	rec := s.Record("incident", id)
	if rec["state"] != "6" || rec["resolved_by"] != beth || rec["resolved_at"] != "2025-03-14 09:30:00" || rec["sys_updated_by"] != "beth.anglin" {
		t.Errorf("after ResolveAs: %v", rec)
	}
	if err := s.ReopenAs(id, "beth.anglin"); err != nil {
		t.Fatal(err)
	}
	if rec := s.Record("incident", id); rec["state"] != "2" || rec["resolved_by"] != "" || rec["resolved_at"] != "" || rec["reopen_count"] != "1" {
		t.Errorf("after ReopenAs: %v", rec)
	}
	if err := s.DeleteAs(id, "beth.anglin"); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelAs(id, "beth.anglin"); err == nil {
		t.Error("CancelAs of a deleted incident succeeded")
	}

	pushes, got := s.Pushes(), hook.Requests()
	if len(pushes) != 3 || len(got) != 3 {
		t.Fatalf("%d pushes sent, %d received; want 3 (resolve, reopen, delete)", len(pushes), len(got))
	}
	for i, want := range []struct{ state, op string }{{"6", "update"}, {"2", "update"}, {"2", "delete"}} {
		var m PushMessage
		if err := json.Unmarshal(got[i].Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.SysID != id || m.Table != "incident" || m.State != want.state || m.Operation != want.op || m.SysUpdatedBy != "beth.anglin" || m.Number == "" {
			t.Errorf("push %d = %+v", i, m)
		}
		sig := got[i].Header.Get(SignatureHeader)
		if !hmac.Equal([]byte(sig), []byte(Sign("s3cret-for-hmac", got[i].Body))) || pushes[i].Status != http.StatusAccepted {
			t.Errorf("push %d: signature %q, status %d", i, sig, pushes[i].Status)
		}
		if got[i].Path != "/hook" || got[i].Header.Get("Content-Type") != "application/json" || string(pushes[i].Body) != string(got[i].Body) {
			t.Errorf("push %d went to %s as %s", i, got[i].Path, got[i].Header.Get("Content-Type"))
		}
	}

	s.PushWith(Push{URL: hook.URL, Secret: "shared-secret", SecretHeader: "X-ITSM-Secret"})
	id2 := s.Seed("incident", map[string]string{})
	if err := s.CancelAs(id2, "beth.anglin"); err != nil {
		t.Fatal(err)
	}
	if h := hook.Requests()[3].Header; h.Get("X-ITSM-Secret") != "shared-secret" || h.Get(SignatureHeader) != "" {
		t.Errorf("shared-secret push headers: %v", h)
	}
	if rec := s.Record("incident", id2); rec["state"] != "8" || rec["active"] != "false" {
		t.Errorf("after CancelAs: %v", rec)
	}
}

// TestAPIUpdatesActAsTheirUser: the business rules name the Table API's
// user as the resolver, and pushes are for people's changes only.
func TestAPIUpdatesActAsTheirUser(t *testing.T) {
	s := New(Options{BasicUsers: map[string]string{"svc": "pw"}})
	t.Cleanup(s.Close)
	hook := fakehttp.Receiver(t, http.StatusAccepted)
	s.PushTo(hook.URL, "x")
	id := s.Seed("incident", map[string]string{})
	req, _ := http.NewRequest(http.MethodPatch, s.URL+"/api/now/table/incident/"+id, strings.NewReader(`{"state":"6"}`))
	req.SetBasicAuth("svc", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rec := s.Record("incident", id)
	users := s.Records("sys_user")
	if len(users) != 1 || users[0]["user_name"] != "svc" || rec["resolved_by"] != users[0]["sys_id"] || rec["sys_updated_by"] != "svc" {
		t.Errorf("incident %v, users %v; want resolved by svc", rec, users)
	}
	if len(s.Pushes()) != 0 {
		t.Errorf("a Table API update was pushed: %+v", s.Pushes())
	}
}

func TestDisplayValues(t *testing.T) {
	s := New(Options{Now: func() time.Time { return time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC) }})
	t.Cleanup(s.Close)
	s.AddUser("beth.anglin", "Beth Anglin")
	id := s.Seed("incident", map[string]string{"close_code": "Solved (Permanently)"})
	if err := s.ResolveAs(id, "beth.anglin", "Solved (Permanently)", "x"); err != nil {
		t.Fatal(err)
	}
	get := func(q string) map[string]any {
		_, out := fakehttp.Call(t, http.MethodGet, s.URL+"/api/now/table/incident/"+id+"?sysparm_fields=state,resolved_by,resolved_at,close_code&"+q, "")
		return out["result"].(map[string]any)
	}
	all := get("sysparm_display_value=all&sysparm_exclude_reference_link=true")
	want := map[string]map[string]any{
		"state":       {"display_value": "Resolved", "value": "6"},
		"resolved_by": {"display_value": "Beth Anglin", "value": s.Record("incident", id)["resolved_by"]},
		"resolved_at": {"display_value": "2025-03-14 01:30:00", "value": "2025-03-14 09:30:00"},
		"close_code":  {"display_value": "Solved (Permanently)", "value": "Solved (Permanently)"},
	}
	for f, w := range want {
		got, _ := all[f].(map[string]any)
		if got["display_value"] != w["display_value"] || got["value"] != w["value"] || got["link"] != nil {
			t.Errorf("%s = %v, want %v", f, all[f], w)
		}
	}
	if ref, _ := get("sysparm_display_value=all")["resolved_by"].(map[string]any); ref["link"] == nil {
		t.Errorf("resolved_by without sysparm_exclude_reference_link = %v, want a link", ref)
	}
	if plain := get("sysparm_display_value=true&sysparm_exclude_reference_link=true"); plain["state"] != "Resolved" || plain["resolved_by"] != "Beth Anglin" {
		t.Errorf("sysparm_display_value=true: %v", plain)
	}
}
