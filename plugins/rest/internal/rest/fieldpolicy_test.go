package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// refireValues renders the ticket actions with update and reopen bodies
// that send the route's fields inside "ticket", as the template
// jsonencode({ ticket = merge(fields, { comment = { body = "…" } }) })
// renders them.
func refireValues(key, id string, fields map[string]any) sdk.Values {
	body := func(comment string, extra map[string]any) string {
		t := map[string]any{"comment": map[string]any{"body": comment}}
		for k, v := range fields {
			t[k] = v
		}
		for k, v := range extra {
			t[k] = v
		}
		b, _ := json.Marshal(map[string]any{"ticket": t})
		return string(b)
	}
	var v map[string]any
	_ = json.Unmarshal(ticketValues(key, id), &v)
	v["update"] = map[string]any{"url": "/api/v2/tickets", "path": []string{id}, "body": body("fired again", nil)}
	v["reopen"] = map[string]any{"url": "/api/v2/tickets", "path": []string{id}, "body": body("reopened", map[string]any{"status": "open"})}
	b, _ := json.Marshal(v)
	return b
}

// TestFieldPolicy: with fields_path, an update or reopen body keeps the
// route fields whose policy is "always", loses those whose policy is
// "create" or "comment", and the new values of "comment" fields are
// appended at comment_path; a field a person changed between two re-fires
// (never_after_human, which the host then sends as "create") keeps the
// person's value. Keys the policy does not name stay.
func TestFieldPolicy(t *testing.T) {
	e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
		for _, a := range []string{"update", "reopen"} {
			cfg[a].(map[string]any)["fields_path"] = "ticket"
			cfg[a].(map[string]any)["comment_path"] = "ticket.comment.body"
		}
	})
	ctx := context.Background()
	wi := e.create("k1")
	id, _ := strconv.Atoi(wi.ID)
	policy := map[string]sdk.FieldPolicy{"subject": sdk.FieldCreate, "priority": sdk.FieldAlways, "tags": sdk.FieldComment}

	refire := func(op string, fields map[string]any) map[string]any {
		t.Helper()
		e.fake.ResetRequests()
		r := e.request("k1", wi)
		r.Fields, r.FieldPolicy, r.Values = fields, policy, refireValues("k1", wi.ID, fields)
		call := e.p.Update
		if op == "reopen" {
			call = e.p.Reopen
		}
		if _, err := call(ctx, r); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		reqs := e.fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests", op, len(reqs))
		}
		return reqs[0].JSON(t)["ticket"].(map[string]any)
	}

	sent := refire("update", map[string]any{"subject": "CPU 97%", "priority": "urgent", "tags": []any{"cpu", "sev0"}})
	if _, ok := sent["subject"]; ok {
		t.Errorf("update sent subject (policy create): %v", sent)
	}
	if _, ok := sent["tags"]; ok {
		t.Errorf("update sent tags (policy comment): %v", sent)
	}
	if sent["priority"] != "urgent" {
		t.Errorf("update sent priority %v, want urgent (policy always)", sent["priority"])
	}
	comment, _ := sent["comment"].(map[string]any)["body"].(string)
	if !strings.HasPrefix(comment, "fired again\n\nChanged values") || !strings.Contains(comment, "\ntags: [\"cpu\",\"sev0\"]") {
		t.Errorf("comment = %q; want the template's text, then the new tags", comment)
	}
	tk := e.fake.ByExternalID("k1")[0]
	if tk.Priority != "urgent" || tk.Subject != "High CPU" || len(tk.Tags) != 0 {
		t.Errorf("ticket after update: %+v", tk)
	}

	// A person lowers the priority; the host sees it in the status read
	// and sends priority as "create" from now on.
	human, _ := json.Marshal(map[string]any{"ticket": map[string]any{"priority": "low"}})
	hreq, _ := http.NewRequest(http.MethodPut, e.fake.URL+"/api/v2/tickets/"+wi.ID, bytes.NewReader(human))
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	policy["priority"], policy["tags"] = sdk.FieldCreate, sdk.FieldCreate
	sent = refire("update", map[string]any{"subject": "CPU 99%", "priority": "urgent", "tags": []any{"cpu", "sev0"}})
	if len(sent) != 1 || sent["comment"] == nil {
		t.Errorf("update after the person's edit sent %v; want the comment alone", sent)
	}
	if got := sent["comment"].(map[string]any)["body"]; got != "fired again" {
		t.Errorf("comment without changes = %q", got)
	}
	if tk = e.fake.ByExternalID("k1")[0]; tk.Priority != "low" {
		t.Errorf("priority = %q, want the person's low", tk.Priority)
	}

	// Reopen: the same policy; keys it does not name (status) stay.
	e.fake.SetStatus(id, "solved")
	policy["tags"] = sdk.FieldComment
	sent = refire("reopen", map[string]any{"subject": "CPU 92%", "priority": "high", "tags": []any{"cpu"}})
	if sent["status"] != "open" || len(sent) != 2 {
		t.Errorf("reopen sent %v; want status and the comment", sent)
	}
	if c := sent["comment"].(map[string]any)["body"].(string); !strings.Contains(c, "reopened\n\nChanged values") || !strings.Contains(c, `tags: ["cpu"]`) {
		t.Errorf("reopen comment = %q", c)
	}
}

// TestFieldPolicyWithoutFieldsPath: an update block without fields_path
// sends its body as rendered, whatever the policy.
func TestFieldPolicyWithoutFieldsPath(t *testing.T) {
	e := newEnv(t, restfake.Options{}, nil)
	wi := e.create("k1")
	fields := map[string]any{"subject": "CPU 97%", "priority": "urgent"}
	r := e.request("k1", wi)
	r.Fields, r.Values = fields, refireValues("k1", wi.ID, fields)
	r.FieldPolicy = map[string]sdk.FieldPolicy{"subject": sdk.FieldCreate, "priority": sdk.FieldComment}
	e.fake.ResetRequests()
	if _, err := e.p.Update(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var rendered map[string]any
	_ = json.Unmarshal(r.Values, &rendered)
	if got, want := string(e.fake.Requests()[0].Body), rendered["update"].(map[string]any)["body"]; got != want {
		t.Errorf("body = %s, want it as rendered: %s", got, want)
	}
}

// TestFieldPolicyBodyErrors: a fields_path that is not an object, or a
// comment_path that is not text, fails permanently.
func TestFieldPolicyBodyErrors(t *testing.T) {
	for _, tt := range []struct {
		name, fieldsPath, commentPath, want string
	}{
		{"fields_path not an object", "ticket.comment.body", "", "fields_path ticket.comment.body is not a JSON object"},
		{"comment_path not text", "ticket", "ticket.comment", "comment_path ticket.comment is not text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, restfake.Options{}, func(cfg map[string]any) {
				cfg["update"].(map[string]any)["fields_path"] = tt.fieldsPath
				if tt.commentPath != "" {
					cfg["update"].(map[string]any)["comment_path"] = tt.commentPath
				}
			})
			wi := e.create("k1")
			fields := map[string]any{"priority": "urgent"}
			r := e.request("k1", wi)
			r.Fields, r.Values = fields, refireValues("k1", wi.ID, fields)
			r.FieldPolicy = map[string]sdk.FieldPolicy{"priority": sdk.FieldComment}
			_, err := e.p.Update(context.Background(), r)
			if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a permanent error containing %q", err, tt.want)
			}
		})
	}
}
