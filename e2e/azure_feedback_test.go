//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/azure/azurefake"
	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

const (
	feedbackTimeout = 60 * time.Second
	azureApp        = "11111111-2222-3333-4444-555555555555"
	azureSecret     = "azure-client-secret-e2e"
	inboundSecret   = "inbound-secret-0123456789abcdef"
)

// feedbackTool is one ITSM tool of the Azure feedback test: its backend
// block and what its fake lets a test do as a person.
type feedbackTool struct {
	plugin, ref string
	// backend is the backend block, polling every poll.
	backend func(poll string) string
	// find returns the work item of an alert: its id and human key.
	find func(alertID string) (id, key string, ok bool)
	// resolve resolves the work item as a person named "Beth Anglin".
	resolve func(id string) error
	// resolved reports whether the tool has the alert's work item resolved.
	resolved func(alertID string) bool
	// resolution is the resolution resolve leaves.
	resolution string
	// pushTo makes the tool push people's changes to url, signed with
	// secret; pushStatuses are the receiver's answers so far.
	pushTo       func(url, secret string)
	pushStatuses func() []int
}

// feedbackConfig is a connector whose backend polls status every poll and
// takes pushed changes, and whose route moves the Azure alert:
// acknowledged with a comment naming the work item, closed when a person
// resolves it. The azure block points at azurefake (its own authority and
// ARM, the public cloud's audience, no instance discovery).
func feedbackConfig(tool feedbackTool, az *azurefake.Server, poll string) string {
	return fmt.Sprintf(`auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
azure {
  credential "client_secret" {
    tenant_id = %q
    client_id = %q
    secret    = env("AZURE_E2E_SECRET")
  }
  authority          = %q
  arm_endpoint       = %q
  arm_audience       = "https://management.azure.com"
  instance_discovery = false
  max_attempts       = 5
}
%s
route "everything" {
  send_to = [backend.%s]
  azure_feedback {
    comment       = "${work_item.key} ${work_item.url}"
    close_comment = "${work_item.key} resolved by ${work_item.resolved_by} (${work_item.resolution})"
  }
}
`, az.Tenant(), azureApp, az.Authority(), az.URL, tool.backend(poll), tool.ref)
}

func serviceNowTool(t *testing.T) feedbackTool {
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	snow.AddUser("beth.anglin", "Beth Anglin")
	incident := func(alertID string) map[string]string {
		for _, inc := range snow.Records("incident") {
			if inc["correlation_id"] == snowCorrelationID(alertID) {
				return inc
			}
		}
		return nil
	}
	return feedbackTool{
		plugin: "servicenow", ref: "servicenow.prod", resolution: "Solved (Permanently)",
		backend: func(poll string) string {
			return fmt.Sprintf(`backend "servicenow" "prod" {
  config {
    instance_url = %q
    auth {
      type     = "basic"
      username = %q
      password = %q
    }
  }
  status_poll_interval = %q
  inbound {
    scheme = "servicenow_hmac"
    secret = env("INBOUND_E2E_SECRET")
  }
}`, snow.URL, snowUser, snowPassword, poll)
		},
		find: func(alertID string) (string, string, bool) {
			inc := incident(alertID)
			return inc["sys_id"], inc["number"], inc != nil
		},
		resolve: func(id string) error {
			return snow.ResolveAs(id, "beth.anglin", "Solved (Permanently)", "Restarted the VM.")
		},
		resolved: func(alertID string) bool { return incident(alertID)["state"] == snowStateResolved },
		pushTo:   snow.PushTo,
		pushStatuses: func() []int {
			var out []int
			for _, p := range snow.Pushes() {
				out = append(out, p.Status)
			}
			return out
		},
	}
}

func jiraTool(t *testing.T) feedbackTool {
	jira := jirafake.New(jirafake.Options{Flavor: jirafake.Cloud, BasicUsers: map[string]string{jiraEmail: jiraToken}})
	t.Cleanup(jira.Close)
	issue := func(alertID string) (jirafake.Issue, bool) {
		iss := jiraIssues(t, jira, alertID)
		if len(iss) == 0 {
			return jirafake.Issue{}, false
		}
		return iss[len(iss)-1], true
	}
	return feedbackTool{
		plugin: "jira", ref: "jira.ops", resolution: "Done",
		backend: func(poll string) string {
			return fmt.Sprintf(`backend "jira" "ops" {
  config {
    url     = %q
    flavor  = "cloud"
    project = "OPS"
    auth {
      type      = "basic"
      email     = %q
      api_token = %q
    }
  }
  status_poll_interval = %q
  inbound {
    scheme = "jira_hmac"
    secret = env("INBOUND_E2E_SECRET")
  }
}`, jira.URL, jiraEmail, jiraToken, poll)
		},
		find: func(alertID string) (string, string, bool) {
			is, ok := issue(alertID)
			return is.ID, is.Key, ok
		},
		resolve: func(id string) error {
			return jira.ResolveAs(id, jirafake.User{Name: "beth@contoso.example", DisplayName: "Beth Anglin"}, "Done")
		},
		resolved: func(alertID string) bool {
			is, ok := issue(alertID)
			return ok && is.StatusCategory == "done"
		},
		pushTo: jira.PushTo,
		pushStatuses: func() []int {
			jira.WaitPushes()
			var out []int
			for _, p := range jira.Pushes() {
				out = append(out, p.Status)
			}
			return out
		},
	}
}

// TestAzureFeedback runs the real host, a plugin (ServiceNow, Jira) and its
// fake, and the fake Entra ID and ARM: a fired alert gets a work item and
// its Azure alert is Acknowledged with a comment naming it; a person
// resolving the work item closes the alert within a poll interval; the
// stale Fired Azure retries does not reopen the work item; a kill and
// restart in between loses nothing; ARM's 429 and 503 are retried; with a
// long poll interval, the change the tool pushes closes the alert at once,
// and an unauthenticated push changes nothing; ARM's 403 becomes a dead
// letter that names the role to grant.
func TestAzureFeedback(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	for name, mk := range map[string]func(*testing.T) feedbackTool{"servicenow": serviceNowTool, "jira": jiraTool} {
		t.Run(name, func(t *testing.T) { testAzureFeedback(t, mk(t)) })
	}
}

func testAzureFeedback(t *testing.T, tool feedbackTool) {
	az := azurefake.New(azurefake.Options{Secrets: map[string]string{azureApp: azureSecret}, AutoCreate: true})
	t.Cleanup(az.Close)
	dir := t.TempDir()
	// The host trusts the fake's certificate as it would a proxy's.
	certFile := filepath.Join(dir, "azurefake.pem")
	if err := os.WriteFile(certFile, az.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := harness.Alerts(sample, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SSL_CERT_FILE=" + certFile, "AZURE_E2E_SECRET=" + azureSecret, "INBOUND_E2E_SECRET=" + inboundSecret}
	c := harness.Start(t, harness.Options{Config: feedbackConfig(tool, az, "1s"), Plugins: []string{tool.plugin}, Dir: dir, Env: env})
	sender := c.Sender(t)

	waitChange := func(what, alertID, state string, n int) azurefake.Change {
		t.Helper()
		var last azurefake.Change
		harness.Eventually(t, feedbackTimeout, what, func() (bool, string) {
			ch := az.ChangesOf(alertID)
			if len(ch) < n {
				return false, fmt.Sprintf("%d changes %+v", len(ch), ch)
			}
			last = ch[n-1]
			return last.State == state, fmt.Sprintf("changes %+v", ch)
		})
		return last
	}

	// Fired: a work item, and the alert Acknowledged naming it.
	a := alerts[0]
	sender.Send(t, a.Fired)
	ack := waitChange("the alert acknowledged", a.ID, "Acknowledged", 1)
	id, key, ok := tool.find(a.ID)
	if !ok || !strings.HasPrefix(ack.Comments, key+" ") {
		t.Fatalf("acknowledgement comment %q, work item %s %s", ack.Comments, id, key)
	}
	if ack.Principal != azureApp {
		t.Errorf("changed by %q", ack.Principal)
	}

	// A person resolves it: the poll (1s) notices, the alert is Closed with
	// a comment naming the work item and the person.
	if err := tool.resolve(id); err != nil {
		t.Fatal(err)
	}
	closed := waitChange("the alert closed", a.ID, "Closed", 2)
	if want := key + " resolved by Beth Anglin (" + tool.resolution + ")"; closed.Comments != want {
		t.Errorf("close comment %q, want %q", closed.Comments, want)
	}
	items := workItems(t, c, tool.ref)
	if it := items[a.ID]; !it.HumanResolved || it.ResolvedBy != "Beth Anglin" || it.Remote != "resolved" {
		t.Errorf("the work item after the resolution: %+v", it)
	}
	if show := showItem(t, c, items[a.ID].ID, env); !strings.Contains(show, "resolved in the tool by Beth Anglin") ||
		!strings.Contains(show, "Azure alert to be closed") {
		t.Errorf("workitems show:\n%s", show)
	}

	// Azure retries the old Fired: the work item stays resolved, the alert
	// closed.
	sender.Send(t, a.Fired)
	drainQueue(t, c)
	if !tool.resolved(a.ID) {
		t.Error("a stale Fired reopened the work item")
	}
	if n := len(az.ChangesOf(a.ID)); n != 2 {
		t.Errorf("%d changes of the alert after the stale Fired, want 2", n)
	}

	// Killed right after an alert was acknowledged: after the restart it
	// gets its work item and its alert is Acknowledged; ARM's 429 and 503
	// on the way are retried.
	b := alerts[1]
	az.FailNext(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, "")
	az.FailNext(1, http.StatusServiceUnavailable, nil, "")
	sender.Send(t, b.Fired)
	c.Kill(t)
	c.Restart(t)
	waitChange("the second alert acknowledged after the restart and the faults", b.ID, "Acknowledged", 1)
	answered := map[int]int{}
	for _, r := range az.RequestsTo(http.MethodPost, "/changestate") {
		answered[r.Status]++
	}
	if answered[http.StatusTooManyRequests] != 1 || answered[http.StatusServiceUnavailable] != 1 {
		t.Errorf("ARM answered %v", answered)
	}

	// A long poll interval: the change the tool pushes closes the alert.
	c.Stop(t)
	if err := os.WriteFile(filepath.Join(dir, "connector.hcl"), []byte(feedbackConfig(tool, az, "1h")), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Restart(t)
	events := strings.TrimSuffix(c.URL(), "/api/v1/alerts") + "/api/v1/itsm/" + tool.ref + "/events"
	tool.pushTo(events, inboundSecret)
	bid, _, _ := tool.find(b.ID)
	if err := tool.resolve(bid); err != nil {
		t.Fatal(err)
	}
	waitChange("the alert closed by a pushed change", b.ID, "Closed", 2)
	if ps := tool.pushStatuses(); len(ps) == 0 || ps[len(ps)-1] != http.StatusAccepted {
		t.Errorf("the push was answered %v", ps)
	}
	// A push signed with another secret is refused and changes nothing.
	tool.pushTo(events, "not the inbound secret at all")
	third := alerts[2]
	sender.Send(t, third.Fired)
	waitChange("the third alert acknowledged", third.ID, "Acknowledged", 1)
	tid, _, _ := tool.find(third.ID)
	if err := tool.resolve(tid); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, feedbackTimeout, "the push with the wrong secret answered", func() (bool, string) {
		ps := tool.pushStatuses()
		return len(ps) > 0 && ps[len(ps)-1] == http.StatusUnauthorized, fmt.Sprint(ps)
	})
	if ch := az.ChangesOf(third.ID); len(ch) != 1 {
		t.Errorf("an unauthenticated push closed the alert: %+v", ch)
	}

	// ARM answers 403: a dead letter of the Azure side naming the role.
	az.Deny(azureApp)
	d := alerts[3]
	sender.Send(t, d.Fired)
	harness.Eventually(t, feedbackTimeout, "the Azure side's dead letter", func() (bool, string) {
		var dls adminapi.List
		out := c.Command(t, "deadletter", "list", "-json")
		if err := json.Unmarshal(out, &dls); err != nil {
			return false, string(out)
		}
		for _, dl := range dls.DeadLetters {
			if dl.Backend == azure.FeedbackBackend && dl.Alert.ID == d.ID {
				ok := strings.Contains(dl.Reason, "Microsoft.AlertsManagement/alerts/changestate/action") && strings.Contains(dl.Reason, "Monitoring Contributor")
				return ok, dl.Reason
			}
		}
		return false, string(out)
	})
	if _, _, ok := tool.find(d.ID); !ok {
		t.Error("the ITSM side of the denied alert has no work item")
	}
}

// showItem is `workitems show <id>`: the id comes after the flags that
// Command appends.
func showItem(t *testing.T, c *harness.Connector, id int64, env []string) string {
	t.Helper()
	cmd := exec.Command(c.Binaries().Host, "workitems", "show", "-dev", "-config", filepath.Join(c.Dir(), "connector.hcl"),
		"-data-dir", c.DataDir(), fmt.Sprint(id))
	cmd.Dir, cmd.Env = c.Dir(), append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("workitems show %d: %v\n%s", id, err, out)
	}
	return string(out)
}

// workItems lists backend's work items by alert id.
func workItems(t *testing.T, c *harness.Connector, backend string) map[string]adminapi.WorkItem {
	t.Helper()
	var list adminapi.WorkItemList
	out := c.Command(t, "workitems", "list", "-backend", backend, "-json")
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("workitems list: %v\n%s", err, out)
	}
	m := map[string]adminapi.WorkItem{}
	for _, it := range list.WorkItems {
		m[it.AlertID] = it
	}
	return m
}
