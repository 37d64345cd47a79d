package jirafake

import (
	"crypto/hmac"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestPeopleChangelogAndWebhooks(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	hook := fakehttp.Receiver(t, http.StatusNoContent)
	s.PushTo(hook.URL, "webhook-secret")
	key := create(t, s, "2", "")
	beth := User{Name: "beth@contoso.example", DisplayName: "Beth Anglin"}

	if err := s.ResolveAs(key, beth, "Won't Do"); err != nil {
		t.Fatal(err)
	}
	is, _ := s.Issue(key)
	if is.Status != "Done" || is.Resolution != "Won't Do" {
		t.Fatalf("after ResolveAs: %+v", is)
	}
	ev := hook.Requests()[0].JSON(t)
	if ev["webhookEvent"] != "jira:issue_updated" || ev["issue_event_type_name"] != "issue_resolved" ||
		ev["user"].(map[string]any)["displayName"] != "Beth Anglin" {
		t.Errorf("webhook %v", ev)
	}
	fields := ev["issue"].(map[string]any)["fields"].(map[string]any)
	if fields["resolutiondate"] != "2025-03-14T09:30:00.000+0000" || fields["resolution"].(map[string]any)["name"] != "Won't Do" {
		t.Errorf("webhook issue fields %v", fields)
	}
	items := ev["changelog"].(map[string]any)["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["field"] != "status" || items[1].(map[string]any)["toString"] != "Won't Do" {
		t.Errorf("webhook changelog items %v", items)
	}
	got := hook.Requests()[0]
	sig := got.Header.Get(SignatureHeader)
	if !hmac.Equal([]byte(sig), []byte(Sign("webhook-secret", got.Body))) || got.Header.Get("X-Atlassian-Webhook-Identifier") == "" {
		t.Errorf("webhook headers %v", got.Header)
	}

	// A transition through the REST API is pushed too, after its answer.
	if err := s.ReopenAs(key, beth); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/rest/api/2/issue/"+key+"/transitions", strings.NewReader(`{"transition":{"id":"51"}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.WaitPushes()
	if ev := hook.Requests()[2].JSON(t); ev["user"].(map[string]any)["accountId"] == nil || ev["issue_event_type_name"] != "issue_resolved" {
		t.Errorf("REST transition webhook %v", ev)
	}

	// The changelog, oldest first on GET /issue.
	status, _, out := do(t, s, "GET", "/rest/api/2/issue/"+key+"?expand=changelog&fields=status", "")
	hs, _ := out["changelog"].(map[string]any)["histories"].([]any)
	if status != 200 || len(hs) != 3 || hs[0].(map[string]any)["author"].(map[string]any)["displayName"] != "Beth Anglin" {
		t.Errorf("GET with the changelog = %d %v", status, out)
	}

	if err := s.DeleteAs(key, beth); err != nil {
		t.Fatal(err)
	}
	if ev := hook.Requests()[3].JSON(t); ev["webhookEvent"] != "jira:issue_deleted" {
		t.Errorf("delete webhook %v", ev)
	}
	if n := len(s.Pushes()); n != 4 {
		t.Errorf("%d pushes recorded, want 4", n)
	}
}

// TestIssueClauseOfMissingIssues: Cloud's search fails on an issue that
// does not exist; the old search does unless told to warn.
func TestIssueClauseOfMissingIssues(t *testing.T) {
	cloud := New(Options{})
	defer cloud.Close()
	key := create(t, cloud, "3", "")
	body := `{"jql":"issue in (\"` + key + `\", \"OPS-99\")","fields":["status"]}`
	status, _, out := do(t, cloud, "POST", "/rest/api/3/search/jql", body)
	if status != 400 || out["errorMessages"].([]any)[0] != "An issue with key 'OPS-99' does not exist for field 'issue'." {
		t.Errorf("Cloud search = %d %v", status, out)
	}
	dc := New(Options{Flavor: DataCenter})
	defer dc.Close()
	key = create(t, dc, "2", "")
	id, _ := dc.Issue(key)
	body = `{"jql":"issue in (\"` + id.ID + `\", \"99999\")","validateQuery":"warn","expand":["changelog"]}`
	status, _, out = do(t, dc, "POST", "/rest/api/2/search", body)
	if status != 200 || len(out["issues"].([]any)) != 1 || len(out["warningMessages"].([]any)) != 1 {
		t.Errorf("Data Center search with validateQuery warn = %d %v", status, out)
	}
	if _, ok := out["issues"].([]any)[0].(map[string]any)["changelog"]; !ok {
		t.Errorf("expand changelog ignored: %v", out)
	}
	status, _, _ = do(t, dc, "POST", "/rest/api/2/search", `{"jql":"issue = 99999"}`)
	if status != 400 {
		t.Errorf("strict Data Center search of a missing issue = %d, want 400", status)
	}
}
