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
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

const (
	feedbackTimeout = 60 * time.Second
	azureApp        = "11111111-2222-3333-4444-555555555555"
	azureSecret     = "azure-client-secret-e2e"
	inboundSecret   = "inbound-secret-0123456789abcdef"
)

// feedbackConfig is a connector whose ServiceNow backend polls status every
// poll and takes pushed changes, and whose route moves the Azure alert:
// acknowledged with a comment naming the incident, closed when a person
// resolves it. The azure block points at azurefake (its own authority and
// ARM, the public cloud's audience, no instance discovery).
func feedbackConfig(instanceURL string, az *azurefake.Server, poll string) string {
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
backend "servicenow" "prod" {
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
}
route "everything" {
  send_to = [backend.servicenow.prod]
  azure_feedback {
    comment       = "${work_item.key} ${work_item.url}"
    close_comment = "${work_item.key} resolved by ${work_item.resolved_by} (${work_item.resolution})"
  }
}
`, az.Tenant(), azureApp, az.Authority(), az.URL, instanceURL, snowUser, snowPassword, poll)
}

// TestAzureFeedbackServiceNow runs the real host, the ServiceNow plugin,
// snowfake and the fake Entra ID and ARM: a fired alert gets an incident
// and its Azure alert is Acknowledged with a comment naming the incident;
// a person resolving the incident closes the alert within a poll interval;
// the stale Fired Azure retries does not reopen the incident; a kill and
// restart in between loses nothing; ARM's 429 and 503 are retried; with a
// long poll interval, the change ServiceNow pushes closes the alert at
// once; ARM's 403 becomes a dead letter that names the role to grant.
func TestAzureFeedbackServiceNow(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	snow.AddUser("beth.anglin", "Beth Anglin")
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
	c := harness.Start(t, harness.Options{Config: feedbackConfig(snow.URL, az, "1s"), Plugins: []string{"servicenow"}, Dir: dir, Env: env})
	sender := c.Sender(t)

	incident := func(alertID string) map[string]string {
		for _, inc := range snow.Records("incident") {
			if inc["correlation_id"] == snowCorrelationID(alertID) {
				return inc
			}
		}
		return nil
	}
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

	// Fired: an incident, and the alert Acknowledged naming it.
	a := alerts[0]
	sender.Send(t, a.Fired)
	ack := waitChange("the alert acknowledged", a.ID, "Acknowledged", 1)
	inc := incident(a.ID)
	if inc == nil || !strings.HasPrefix(ack.Comments, inc["number"]+" ") || !strings.Contains(ack.Comments, inc["sys_id"]) {
		t.Fatalf("acknowledgement comment %q, incident %v", ack.Comments, inc)
	}
	if ack.Principal != azureApp {
		t.Errorf("changed by %q", ack.Principal)
	}

	// A person resolves it: the poll (1s) notices, the alert is Closed with
	// a comment naming the incident and the person.
	if err := snow.ResolveAs(inc["sys_id"], "beth.anglin", "Solved (Permanently)", "Restarted the VM."); err != nil {
		t.Fatal(err)
	}
	closed := waitChange("the alert closed", a.ID, "Closed", 2)
	if want := inc["number"] + " resolved by Beth Anglin (Solved (Permanently))"; closed.Comments != want {
		t.Errorf("close comment %q, want %q", closed.Comments, want)
	}
	items := workItems(t, c, "servicenow.prod")
	if it := items[a.ID]; !it.HumanResolved || it.ResolvedBy != "Beth Anglin" || it.Remote != "resolved" {
		t.Errorf("the work item after the resolution: %+v", it)
	}
	if show := showItem(t, c, items[a.ID].ID, env); !strings.Contains(show, "resolved in the tool by Beth Anglin") ||
		!strings.Contains(show, "Azure alert to be closed") {
		t.Errorf("workitems show:\n%s", show)
	}

	// Azure retries the old Fired: the incident stays resolved, the alert
	// closed.
	sender.Send(t, a.Fired)
	drainQueue(t, c)
	if inc := incident(a.ID); inc["state"] != snowStateResolved {
		t.Errorf("a stale Fired reopened the incident: state %s", inc["state"])
	}
	if n := len(az.ChangesOf(a.ID)); n != 2 {
		t.Errorf("%d changes of the alert after the stale Fired, want 2", n)
	}

	// Killed right after an alert was acknowledged: after the restart it
	// gets its incident and its alert is Acknowledged; ARM's 429 and 503
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

	// A long poll interval: the change ServiceNow pushes closes the alert.
	c.Stop(t)
	if err := os.WriteFile(filepath.Join(dir, "connector.hcl"), []byte(feedbackConfig(snow.URL, az, "1h")), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Restart(t)
	base := strings.TrimSuffix(c.URL(), "/api/v1/alerts")
	snow.PushTo(base+"/api/v1/itsm/servicenow.prod/events", inboundSecret)
	binc := incident(b.ID)
	if err := snow.ResolveAs(binc["sys_id"], "beth.anglin", "Workaround provided", "Failed over."); err != nil {
		t.Fatal(err)
	}
	waitChange("the alert closed by a pushed change", b.ID, "Closed", 2)
	if ps := snow.Pushes(); len(ps) != 1 || ps[0].Status != http.StatusAccepted {
		t.Errorf("pushes %+v", ps)
	}
	// An unsigned push is refused and changes nothing.
	snow.PushWith(snowfake.Push{URL: base + "/api/v1/itsm/servicenow.prod/events", Secret: "not the secret", SecretHeader: "X-ITSM-Secret"})
	cinc := alerts[2]
	sender.Send(t, cinc.Fired)
	waitChange("the third alert acknowledged", cinc.ID, "Acknowledged", 1)
	if err := snow.ResolveAs(incident(cinc.ID)["sys_id"], "beth.anglin", "Solved (Permanently)", "x"); err != nil {
		t.Fatal(err)
	}
	if ps := snow.Pushes(); len(ps) != 2 || ps[1].Status != http.StatusUnauthorized {
		t.Errorf("the unsigned push: %+v", ps)
	}
	if ch := az.ChangesOf(cinc.ID); len(ch) != 1 {
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
	if incident(d.ID) == nil {
		t.Error("the ITSM side of the denied alert has no incident")
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
