package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// humanEdit edits an issue as a person would, through the REST API with
// the plugin's account (the fake does not tell users apart on edit).
func (e *env) humanEdit(keyOrID string, fields map[string]any) {
	e.t.Helper()
	api := "/rest/api/3"
	if e.flavor == FlavorDataCenter {
		api = "/rest/api/2"
	}
	body, _ := json.Marshal(map[string]any{"fields": fields})
	req, _ := http.NewRequest(http.MethodPut, e.fake.URL+api+"/issue/"+keyOrID, bytes.NewReader(body))
	if e.flavor == FlavorCloud {
		req.SetBasicAuth(testEmail, testAPIToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+testPAT)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		e.t.Fatalf("human edit: status %d", resp.StatusCode)
	}
}

// TestFieldPolicy: on a re-fire, Update and Reopen edit the issue's fields
// whose policy is "always" (one PUT), put the new values of "comment" ones
// into the comment (even inside comments.min_interval) and leave the
// others; a field a person changed between two re-fires (never_after_human,
// which the host then sends as "create") keeps the person's value.
func TestFieldPolicy(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		key := "High CPU on web tier|vm-web-01"
		fired := alert()
		api := "/rest/api/3"
		if flavor == FlavorDataCenter {
			api = "/rest/api/2"
		}
		policy := map[string]sdk.FieldPolicy{
			"summary": sdk.FieldAlways, "Team": sdk.FieldCreate, "priority": sdk.FieldComment,
			"Impact score": sdk.FieldAlways, // never_after_human before a person edits it
		}
		req := e.request(key, fired, nil)
		req.Fields = map[string]any{"summary": "CPU 91% on vm-web-01", "Team": "Web", "priority": "Low", "Impact score": float64(3)}
		req.FieldPolicy = policy
		item, err := e.p.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		field := func(id string) string {
			t.Helper()
			return string(e.issue(item.Key).Fields[id])
		}
		for id, want := range map[string]string{"summary": `"CPU 91% on vm-web-01"`, "customfield_10010": `{"value":"Web"}`,
			"priority": `{"name":"Low"}`, "customfield_10012": `3`} {
			if got := field(id); got != want {
				t.Errorf("after create: %s = %s, want %s (create writes every field)", id, got, want)
			}
		}

		refire := func(op string, fields map[string]any, ref *sdk.WorkItem) map[string]any {
			t.Helper()
			e.fake.ResetRequests()
			r := e.request(key, fired, ref)
			r.Fields, r.FieldPolicy = fields, policy
			call := e.p.Update
			if op == "reopen" {
				call = e.p.Reopen
			}
			if _, err := call(ctx, r); err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			puts := e.fake.RequestsTo(http.MethodPut, api+"/issue/"+item.ID)
			if len(puts) == 0 {
				return nil
			}
			if len(puts) != 1 {
				t.Fatalf("%s: %d edits, want 1", op, len(puts))
			}
			return puts[0].JSON(t)["fields"].(map[string]any)
		}

		sent := refire("update", map[string]any{"summary": "CPU 97% on vm-web-01", "Team": "Data", "priority": "Highest", "Impact score": float64(5)}, item)
		if sent["summary"] != "CPU 97% on vm-web-01" || sent["customfield_10012"] != float64(5) || len(sent) != 2 {
			t.Errorf("update edited %v; want summary and Impact score alone", sent)
		}
		if field("customfield_10010") != `{"value":"Web"}` || field("priority") != `{"name":"Low"}` {
			t.Errorf("Team %s, priority %s: create and comment fields were written", field("customfield_10010"), field("priority"))
		}
		comments := e.fake.Comments(item.Key)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "fired again") || !strings.Contains(comments[0].Body, "priority: Highest") {
			t.Fatalf("comments = %+v; want the re-fire comment with the new priority", comments)
		}

		// A person changes the impact score; the host sees it in the
		// status read and sends the field as "create" from now on. Inside
		// comments.min_interval, a change of a comment field still gets
		// its comment.
		e.humanEdit(item.Key, map[string]any{"customfield_10012": 8})
		policy["Impact score"] = sdk.FieldCreate
		e.clock.Advance(time.Minute)
		sent = refire("update", map[string]any{"summary": "CPU 99% on vm-web-01", "Team": "Data", "priority": "High", "Impact score": float64(5)}, item)
		if _, ok := sent["customfield_10012"]; ok || sent["summary"] != "CPU 99% on vm-web-01" {
			t.Errorf("update after the person's edit sent %v", sent)
		}
		if got := field("customfield_10012"); got != "8" {
			t.Errorf("Impact score = %s, want the person's 8", got)
		}
		if c := e.fake.Comments(item.Key); len(c) != 2 || !strings.Contains(c[1].Body, "priority: High") {
			t.Errorf("comments = %+v; the changed priority needs its comment inside min_interval", c)
		}
		// Nothing changed and inside min_interval: no comment, the
		// always field still written.
		policy["priority"] = sdk.FieldCreate
		e.clock.Advance(time.Minute)
		if sent = refire("update", map[string]any{"summary": "CPU 98% on vm-web-01", "priority": "High"}, item); sent["summary"] != "CPU 98% on vm-web-01" {
			t.Errorf("update sent %v", sent)
		}
		if c := e.fake.Comments(item.Key); len(c) != 2 {
			t.Errorf("%d comments; a re-fire without changes inside min_interval adds none", len(c))
		}

		// Reopen: the transition with its comment, then the edit.
		if err := e.fake.SetStatus(item.Key, "Done", "Done"); err != nil {
			t.Fatal(err)
		}
		policy["priority"] = sdk.FieldComment
		sent = refire("reopen", map[string]any{"summary": "CPU 92% on vm-web-01", "Team": "Data", "priority": "Medium", "Impact score": float64(5)}, item)
		if sent["summary"] != "CPU 92% on vm-web-01" || len(sent) != 1 {
			t.Errorf("reopen edited %v; want the summary alone", sent)
		}
		is := e.issue(item.Key)
		if is.StatusCategory == CategoryDone {
			t.Errorf("issue still done after Reopen")
		}
		c := e.fake.Comments(item.Key)
		if last := c[len(c)-1].Body; !strings.Contains(last, "Reopened") || !strings.Contains(last, "priority: Medium") {
			t.Errorf("reopen comment = %q", last)
		}
	})
}

// TestNoFieldPolicyEditsNothing: without a policy, a re-fire comments and
// edits no field, as before policies existed.
func TestNoFieldPolicyEditsNothing(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		req := e.request("k", alert(), nil)
		req.Fields = map[string]any{"summary": "one", "Team": "Web"}
		item, err := e.p.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		up := e.request("k", alert(), item)
		up.Fields = map[string]any{"summary": "two", "Team": "Data"}
		if _, err := e.p.Update(ctx, up); err != nil {
			t.Fatal(err)
		}
		for _, r := range e.fake.Requests() {
			if r.Method == http.MethodPut {
				t.Errorf("update without a policy sent %s %s", r.Method, r.Path)
			}
		}
		if got := string(e.issue(item.Key).Fields["summary"]); got != `"one"` {
			t.Errorf("summary = %s", got)
		}
	})
}
