package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// humanEdit changes an incident as a person would, through the Table API
// with their own account.
func (e *env) humanEdit(sysID string, fields map[string]string) {
	e.t.Helper()
	body, _ := json.Marshal(fields)
	req, _ := http.NewRequest(http.MethodPatch, e.fake.URL+"/api/now/table/incident/"+sysID, bytes.NewReader(body))
	req.SetBasicAuth(testUser, testPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("human edit: status %d", resp.StatusCode)
	}
}

// TestFieldPolicy: on a re-fire, Update and Reopen write the route fields
// whose policy is "always", note the new values of "comment" ones in the
// work note and leave the others; a field a person changed between two
// re-fires (never_after_human, which the host then sends as "create") keeps
// the person's value.
func TestFieldPolicy(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": vmID})
	ctx := context.Background()
	key := "High CPU|vm-web-01"
	fired := alert()
	policy := map[string]sdk.FieldPolicy{
		"assignment_group": sdk.FieldCreate, "short_description": sdk.FieldAlways,
		"urgency": sdk.FieldComment, "u_owner": sdk.FieldAlways, // never_after_human, before a person edits it
	}
	req := e.request(key, fired, nil)
	req.Fields = map[string]any{"assignment_group": "network", "short_description": "CPU 91%", "urgency": float64(3), "u_owner": "alice"}
	req.FieldPolicy = policy
	item, err := e.p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	rec := e.fake.Record("incident", item.ID)
	for f, want := range map[string]string{"assignment_group": "network", "short_description": "CPU 91%", "urgency": "3", "u_owner": "alice"} {
		if rec[f] != want {
			t.Errorf("after create: %s = %q, want %q (create writes every field)", f, rec[f], want)
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
		patches := e.requests(http.MethodPatch, "/api/now/table/incident/")
		if len(patches) != 1 {
			t.Fatalf("%s: %d PATCHes, want 1", op, len(patches))
		}
		return patches[0].JSON(t)
	}

	// First re-fire: always fields written, the create field left, the
	// comment field's new value noted.
	sent := refire("update", map[string]any{"assignment_group": "database", "short_description": "CPU 97%", "urgency": float64(1), "u_owner": "alice"}, item)
	if _, ok := sent["assignment_group"]; ok {
		t.Errorf("update sent assignment_group (policy create): %v", sent)
	}
	if _, ok := sent["urgency"]; ok {
		t.Errorf("update sent urgency (policy comment): %v", sent)
	}
	if sent["short_description"] != "CPU 97%" || sent["u_owner"] != "alice" {
		t.Errorf("update sent short_description %v, u_owner %v; want the always fields", sent["short_description"], sent["u_owner"])
	}
	notes := e.fake.Journal("incident", item.ID, "work_notes")
	if len(notes) != 1 || !strings.Contains(notes[0].Value, "fired again") || !strings.Contains(notes[0].Value, "\nurgency: 1") {
		t.Errorf("work note = %+v; want the re-fire note with the new urgency", notes)
	}
	rec = e.fake.Record("incident", item.ID)
	if rec["assignment_group"] != "network" || rec["urgency"] != "3" || rec["short_description"] != "CPU 97%" {
		t.Errorf("after update: %v", rec)
	}

	// A person takes the incident over; the host sees it in the status
	// read and sends u_owner as "create" from now on.
	e.humanEdit(item.ID, map[string]string{"u_owner": "bob"})
	policy["u_owner"] = sdk.FieldCreate
	policy["urgency"] = sdk.FieldCreate // unchanged since the last note: nothing to say
	sent = refire("update", map[string]any{"assignment_group": "database", "short_description": "CPU 99%", "urgency": float64(1), "u_owner": "alice"}, item)
	if _, ok := sent["u_owner"]; ok {
		t.Errorf("update after the person's edit sent u_owner: %v", sent)
	}
	if rec = e.fake.Record("incident", item.ID); rec["u_owner"] != "bob" {
		t.Errorf("u_owner = %q, want the person's bob", rec["u_owner"])
	}
	if notes = e.fake.Journal("incident", item.ID, "work_notes"); strings.Contains(notes[len(notes)-1].Value, "Changed values") {
		t.Errorf("a note without changes lists changed values: %q", notes[len(notes)-1].Value)
	}

	// Reopen applies the same policy.
	e.humanEdit(item.ID, map[string]string{"state": StateResolved, "close_code": "Solution provided", "close_notes": "done"})
	policy["urgency"] = sdk.FieldComment
	sent = refire("reopen", map[string]any{"assignment_group": "database", "short_description": "CPU 92%", "urgency": float64(2), "u_owner": "alice"}, item)
	if sent["state"] != StateInProgress || sent["short_description"] != "CPU 92%" {
		t.Errorf("reopen sent %v", sent)
	}
	for _, f := range []string{"assignment_group", "urgency", "u_owner"} {
		if _, ok := sent[f]; ok {
			t.Errorf("reopen sent %s: %v", f, sent)
		}
	}
	notes = e.fake.Journal("incident", item.ID, "work_notes")
	if last := notes[len(notes)-1].Value; !strings.Contains(last, "Reopened") || !strings.Contains(last, "\nurgency: 2") {
		t.Errorf("reopen note = %q", last)
	}
}

// TestNoFieldPolicyWritesNoFields: without a policy, a re-fire adds its
// work note and writes no route field, as before policies existed.
func TestNoFieldPolicyWritesNoFields(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	req := e.request("k", alert(), nil)
	req.Fields = map[string]any{"assignment_group": "network"}
	item, err := e.p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.fake.ResetRequests()
	up := e.request("k", alert(), item)
	up.Fields = map[string]any{"assignment_group": "database"}
	if _, err := e.p.Update(ctx, up); err != nil {
		t.Fatal(err)
	}
	patches := e.requests(http.MethodPatch, "/api/now/table/incident/")
	if len(patches) != 1 {
		t.Fatalf("%d PATCHes", len(patches))
	}
	if sent := patches[0].JSON(t); len(sent) != 1 || sent["work_notes"] == nil {
		t.Errorf("update without a policy sent %v; want the work note alone", sent)
	}
}

// TestResolveKeepsAPersonsResolution: an incident a person already
// resolved (or closed) keeps their close code and notes when its alert
// resolves: resolving a resolved item changes nothing. A route's wont_fix
// reads that close code later.
func TestResolveKeepsAPersonsResolution(t *testing.T) {
	for _, state := range []string{StateResolved, StateClosed} {
		t.Run(state, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			ctx := context.Background()
			item := e.create("k", alert())
			act := e.fake.ResolveAs
			if state == StateClosed {
				act = e.fake.CloseAs
			}
			if err := act(item.ID, "beth", "Not Solved (Not Reproducible)", "cannot reproduce"); err != nil {
				t.Fatal(err)
			}
			e.fake.ResetRequests()
			got, err := e.p.Resolve(ctx, e.request("k", alert(), item))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			rec := e.fake.Record("incident", item.ID)
			if rec["close_code"] != "Not Solved (Not Reproducible)" || rec["close_notes"] != "cannot reproduce" || rec["state"] != state {
				t.Errorf("after Resolve: state %q, close_code %q, close_notes %q; want the person's", rec["state"], rec["close_code"], rec["close_notes"])
			}
			if got.State != sdk.StateResolved {
				t.Errorf("Resolve returned state %q", got.State)
			}
			if p := e.requests(http.MethodPatch, "/api/now/table/incident/"); len(p) != 0 {
				t.Errorf("Resolve of a resolved incident sent %d PATCHes", len(p))
			}
		})
	}
}
