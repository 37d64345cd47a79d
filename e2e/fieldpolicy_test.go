//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

// workItemOf shows the one work item of backend with its audit trail.
func workItemOf(t *testing.T, c *harness.Connector, backend string) adminapi.WorkItem {
	t.Helper()
	var list adminapi.WorkItemList
	out := c.Command(t, "workitems", "list", "-backend", backend, "-json")
	if err := json.Unmarshal(out, &list); err != nil || len(list.WorkItems) != 1 {
		t.Fatalf("workitems list: %v, %d items:\n%s", err, len(list.WorkItems), out)
	}
	var wi adminapi.WorkItem
	out = c.Command(t, "workitems", "show", "-json", fmt.Sprint(list.WorkItems[0].ID))
	if err := json.Unmarshal(out, &wi); err != nil {
		t.Fatalf("workitems show: %v\n%s", err, out)
	}
	return wi
}

func auditHas(wi adminapi.WorkItem, part string) bool {
	for _, e := range wi.Events {
		if strings.Contains(e.Message, part) {
			return true
		}
	}
	return false
}

// TestServiceNowFieldPolicy: through the host, a route's field policy
// governs what each re-fire writes to the incident: short_description
// ("always") follows the alert, u_fired_at ("comment") goes into the work
// note, category ("never_after_human") is written until a person changes
// it in the instance between two re-fires, and is theirs from then on.
func TestServiceNowFieldPolicy(t *testing.T) {
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	snow.AddUser("beth", "Beth Service Desk")
	cfg := strings.Replace(snowLifecycleConfig(snow.URL), `  send_to       = [backend.servicenow.snow]`, `  send_to       = [backend.servicenow.snow]
  fields = {
    short_description = "Storage alert fired at ${alert.fired_at}"
    category          = "software"
    u_fired_at        = alert.fired_at
  }
  field_policy = {
    short_description = "always"
    category          = "never_after_human"
    u_fired_at        = "comment"
  }`, 1)
	c := harness.Start(t, harness.Options{Config: cfg, Plugins: []string{"servicenow"}})
	sender := c.Sender(t)
	n := newNotifier(t, 500)
	corr := snowCorrelationID(n.alert.ID)
	var sysID string
	harnessIncident := func(what string, ok func(inc map[string]string, notes []snowfake.JournalEntry) bool) map[string]string {
		t.Helper()
		var inc map[string]string
		harness.Eventually(t, lifecycleTimeout, what, func() (bool, string) {
			for _, r := range snow.Records("incident") {
				if r["correlation_id"] == corr {
					inc = r
				}
			}
			if inc == nil {
				return false, "no incident"
			}
			notes := snow.Journal("incident", inc["sys_id"], "work_notes")
			return ok(inc, notes), fmt.Sprintf("incident %s: short_description %q, category %q, %d work notes", inc["number"], inc["short_description"], inc["category"], len(notes))
		})
		return inc
	}
	at := func(d time.Duration) string { return n.alert.FiredAt.Add(d).UTC().Format(time.RFC3339Nano) }

	sender.Send(t, n.fired(n.alert.FiredAt))
	inc := harnessIncident("the incident", func(inc map[string]string, _ []snowfake.JournalEntry) bool { return inc["category"] == "software" })
	sysID = inc["sys_id"]

	// First re-fire: always written, comment noted, never_after_human
	// written (the instance still holds what the connector wrote).
	sender.Send(t, n.fired(n.alert.FiredAt.Add(time.Minute)))
	harnessIncident("the first re-fire", func(inc map[string]string, notes []snowfake.JournalEntry) bool {
		return inc["short_description"] == "Storage alert fired at "+at(time.Minute) && len(notes) > 0 &&
			strings.Contains(notes[len(notes)-1].Value, "u_fired_at: "+at(time.Minute))
	})
	if got := snow.Record("incident", sysID)["u_fired_at"]; got != at(0) {
		t.Errorf("u_fired_at = %q, want the value of create, %q (its policy is comment)", got, at(0))
	}

	// A person recategorizes the incident; the next re-fire leaves it.
	if err := snow.EditAs(sysID, "beth", map[string]string{"category": "hardware"}); err != nil {
		t.Fatal(err)
	}
	sender.Send(t, n.fired(n.alert.FiredAt.Add(2*time.Minute)))
	harnessIncident("the second re-fire", func(inc map[string]string, _ []snowfake.JournalEntry) bool {
		return inc["short_description"] == "Storage alert fired at "+at(2*time.Minute)
	})
	drainQueue(t, c)
	if got := snow.Record("incident", sysID)["category"]; got != "hardware" {
		t.Errorf("category = %q after the re-fire, want the person's hardware", got)
	}
	wi := workItemOf(t, c, "servicenow.snow")
	if st := wi.FieldState["category"]; !st.Human || st.Written != "software" {
		t.Errorf("category's field state = %+v, want written software, changed by a person", st)
	}
	if !auditHas(wi, `category (never_after_human: a person changed it to "hardware", the connector wrote "software"; left to them from now on)`) {
		t.Errorf("the audit trail does not say why category was left:\n%s", c.Command(t, "workitems", "show", fmt.Sprint(wi.ID)))
	}
}

// TestJiraWontFix: through the host, an issue a person resolved as "Won't
// Do" (the route's wont_fix) gets a comment when its alert fires again
// inside the reopen window, and stays resolved; no new issue is opened.
func TestJiraWontFix(t *testing.T) {
	jira := jirafake.New(jirafake.Options{Flavor: jirafake.Cloud, BasicUsers: map[string]string{jiraEmail: jiraToken}})
	t.Cleanup(jira.Close)
	cfg := strings.Replace(jiraLifecycleConfig(jira.URL), `  send_to       = [backend.jira.ops]`, `  send_to       = [backend.jira.ops]
  wont_fix { resolutions = ["Won't Do"] }`, 1)
	c := harness.Start(t, harness.Options{Config: cfg, Plugins: []string{"jira"}})
	sender := c.Sender(t)
	n := newNotifier(t, 600)
	issue := func(what string, ok func(jirafake.Issue) bool) jirafake.Issue {
		t.Helper()
		var is jirafake.Issue
		harness.Eventually(t, lifecycleTimeout, what, func() (bool, string) {
			iss := jiraIssues(t, jira, n.alert.ID)
			if len(iss) != 1 {
				return false, fmt.Sprintf("%d issues", len(iss))
			}
			is = iss[0]
			return ok(is), fmt.Sprintf("issue %s %q resolution %q, %d comments", is.Key, is.Status, is.Resolution, len(is.Comments))
		})
		return is
	}
	fired := n.alert.FiredAt
	sender.Send(t, n.fired(fired))
	is := issue("one issue", func(is jirafake.Issue) bool { return is.StatusCategory == "new" })
	if err := jira.ResolveAs(is.Key, jirafake.User{Name: "beth", DisplayName: "Beth"}, "Won't Do"); err != nil {
		t.Fatal(err)
	}
	resolvedAt := fired.Add(harness.ResolveAfter)
	sender.Send(t, n.resolved(fired, resolvedAt))
	drainQueue(t, c)
	comments := len(jira.Comments(is.Key))

	sender.Send(t, n.fired(resolvedAt.Add(reopenAfter)))
	is = issue("a comment on the won't-do issue", func(is jirafake.Issue) bool { return len(is.Comments) > comments })
	drainQueue(t, c)
	if is.StatusCategory != "done" || is.Resolution != "Won't Do" {
		t.Errorf("issue %s is %q with resolution %q, want it left done as Won't Do", is.Key, is.Status, is.Resolution)
	}
	if iss := jiraIssues(t, jira, n.alert.ID); len(iss) != 1 {
		t.Errorf("%d issues, want the one", len(iss))
	}
	wi := workItemOf(t, c, "jira.ops")
	if wi.Remote != "resolved" || !auditHas(wi, `resolved as "Won't Do" by Beth, which the route's wont_fix lists: not reopened`) {
		t.Errorf("work item remote %q; audit trail:\n%s", wi.Remote, c.Command(t, "workitems", "show", fmt.Sprint(wi.ID)))
	}
}

// TestServiceNowWontFix: likewise for an incident a person resolved with a
// close code the route's wont_fix names: the re-fire adds a work note, the
// incident stays resolved with the person's close code.
func TestServiceNowWontFix(t *testing.T) {
	const closeCode = "Not Solved (Not Reproducible)"
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	snow.AddUser("beth", "Beth Service Desk")
	cfg := strings.Replace(snowLifecycleConfig(snow.URL), `  send_to       = [backend.servicenow.snow]`, `  send_to       = [backend.servicenow.snow]
  wont_fix { resolutions = ["`+closeCode+`"] }`, 1)
	c := harness.Start(t, harness.Options{Config: cfg, Plugins: []string{"servicenow"}})
	sender := c.Sender(t)
	n := newNotifier(t, 700)
	corr := snowCorrelationID(n.alert.ID)
	incidents := func() []map[string]string {
		var out []map[string]string
		for _, r := range snow.Records("incident") {
			if r["correlation_id"] == corr {
				out = append(out, r)
			}
		}
		return out
	}
	fired := n.alert.FiredAt
	sender.Send(t, n.fired(fired))
	harness.Eventually(t, lifecycleTimeout, "one incident", func() (bool, string) {
		return len(incidents()) == 1, fmt.Sprintf("%d incidents", len(incidents()))
	})
	sysID := incidents()[0]["sys_id"]
	if err := snow.ResolveAs(sysID, "beth", closeCode, "could not reproduce"); err != nil {
		t.Fatal(err)
	}
	resolvedAt := fired.Add(harness.ResolveAfter)
	sender.Send(t, n.resolved(fired, resolvedAt))
	drainQueue(t, c)
	notes := len(snow.Journal("incident", sysID, "work_notes"))

	sender.Send(t, n.fired(resolvedAt.Add(reopenAfter)))
	harness.Eventually(t, lifecycleTimeout, "a work note on the resolved incident", func() (bool, string) {
		got := len(snow.Journal("incident", sysID, "work_notes"))
		return got > notes, fmt.Sprintf("%d work notes, had %d", got, notes)
	})
	drainQueue(t, c)
	if incs := incidents(); len(incs) != 1 || incs[0]["state"] != snowStateResolved || incs[0]["close_code"] != closeCode {
		t.Errorf("incidents %v; want the one, resolved with the person's close code", incs)
	}
	wi := workItemOf(t, c, "servicenow.snow")
	if !auditHas(wi, `resolved as "`+closeCode+`" by Beth Service Desk, which the route's wont_fix lists: not reopened`) {
		t.Errorf("audit trail:\n%s", c.Command(t, "workitems", "show", fmt.Sprint(wi.ID)))
	}
}
