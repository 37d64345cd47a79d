//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

// policyTimeout bounds each wait of the lifecycle policy tests.
const policyTimeout = 60 * time.Second

// policyItems lists the connector's work items with the store command, as an
// operator would.
func policyItems(t *testing.T, c *harness.Connector, args ...string) []adminapi.WorkItem {
	t.Helper()
	var l adminapi.WorkItemList
	out := c.Command(t, append([]string{"workitems", "list", "-json"}, args...)...)
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("workitems list -json: %v\n%s", err, out)
	}
	return l.WorkItems
}

// policyItem shows one work item with its audit trail.
func policyItem(t *testing.T, c *harness.Connector, id int64) adminapi.WorkItem {
	t.Helper()
	var wi adminapi.WorkItem
	out := c.Command(t, "workitems", "show", "-json", fmt.Sprint(id))
	if err := json.Unmarshal(out, &wi); err != nil {
		t.Fatalf("workitems show -json: %v\n%s", err, out)
	}
	return wi
}

// trailHas reports whether an event of wi's audit trail says want.
func trailHas(wi adminapi.WorkItem, want string) bool {
	for _, e := range wi.Events {
		if strings.Contains(e.Message, want) {
			return true
		}
	}
	return false
}

// TestFlappingEndToEnd: an alert that fires and resolves more than
// max_transitions times inside the window, through the real host and the
// ServiceNow plugin against its fake: one work note says it flaps instead
// of a reopen or a note per change; further changes are recorded in the
// audit trail, not sent; the incident is held open while the alert flaps,
// and resolved once the alert has stayed resolved for the quiet period.
func TestFlappingEndToEnd(t *testing.T) {
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	const quiet = 4 * time.Second
	// The lifecycle test's configuration, its route with a flap block.
	cfg := strings.Replace(snowLifecycleConfig(snow.URL), `route "everything" {`, fmt.Sprintf(`route "everything" {
  flap {
    window          = "1h"
    max_transitions = 4
    quiet_period    = %q
  }`, quiet), 1)
	c := harness.Start(t, harness.Options{Config: cfg, Plugins: []string{"servicenow"}})
	sender := c.Sender(t)
	n := newNotifier(t, 200)
	corr := snowCorrelationID(n.alert.ID)
	incident := func() map[string]string {
		for _, inc := range snow.Records("incident") {
			if inc["correlation_id"] == corr {
				return inc
			}
		}
		return nil
	}
	var id int64
	// applied waits until the connector has dealt with every notification
	// sent: applied, or held with the incident open.
	applied := func(what string) adminapi.WorkItem {
		t.Helper()
		var wi adminapi.WorkItem
		harness.Eventually(t, policyTimeout, what, func() (bool, string) {
			items := policyItems(t, c)
			if len(items) != 1 {
				return false, fmt.Sprintf("%d work items", len(items))
			}
			id = items[0].ID
			wi = items[0]
			return wi.AppliedSeq == wi.Seq && wi.LeaseOwner == "", fmt.Sprintf("seq %d applied %d remote %s", wi.Seq, wi.AppliedSeq, wi.Remote)
		})
		return wi
	}
	waitState := func(what, state string) {
		t.Helper()
		harness.Eventually(t, policyTimeout, what, func() (bool, string) {
			inc := incident()
			if inc == nil {
				return false, "no incident"
			}
			return inc["state"] == state, "incident in state " + inc["state"]
		})
	}

	// The first transitions are half a minute old; those while the alert
	// flaps happen now, so that a resolution among them is inside the
	// quiet period (measured from the alert's own time).
	base := time.Now().Add(-30 * time.Second).Truncate(time.Second)
	m := func(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }
	// Four transitions are delivered as usual.
	sender.Send(t, n.fired(m(0)))
	waitState("the incident created", snowStateNew)
	sender.Send(t, n.resolved(m(0), m(1)))
	waitState("the incident resolved", snowStateResolved)
	sender.Send(t, n.fired(m(2)))
	waitState("the incident reopened", snowStateInProgress)
	sender.Send(t, n.resolved(m(2), m(3)))
	waitState("the incident resolved again", snowStateResolved)
	// The fifth flaps: reopened, and one work note says so.
	sender.Send(t, n.fired(m(4)))
	applied("the fifth transition dealt with")
	waitState("the flapping incident reopened", snowStateInProgress)
	sysID := incident()["sys_id"]
	flapNotes := func() (flapping, refire int) {
		for _, note := range snow.Journal("incident", sysID, "work_notes") {
			switch {
			case strings.Contains(note.Value, "Alert is flapping"):
				flapping++
			case strings.Contains(note.Value, "fired again") && !strings.Contains(note.Value, "Reopened"):
				refire++
			}
		}
		return flapping, refire
	}
	if f, _ := flapNotes(); f != 1 {
		t.Fatalf("%d work notes say the alert flaps, want 1", f)
	}
	notesBefore := len(snow.Journal("incident", sysID, "work_notes"))
	// Further changes, re-fires among them: recorded, not sent. The
	// resolution and the fire after it go together, inside its quiet
	// period: whether the worker takes them one by one (holding the
	// resolution) or at once, nothing is sent.
	sender.Send(t, n.fired(m(4.5)))
	applied("a re-fire while flapping")
	now := time.Now()
	sender.Send(t, n.resolved(m(4.5), now))
	sender.Send(t, n.fired(now.Add(time.Millisecond)))
	applied("a resolution and a fire while flapping")
	sender.Send(t, n.fired(now.Add(2*time.Millisecond)))
	applied("another re-fire while flapping")
	if inc := incident(); inc["state"] != snowStateInProgress {
		t.Fatalf("incident in state %q while the alert flaps, want it held open (%s)", inc["state"], snowStateInProgress)
	}
	if notes := snow.Journal("incident", sysID, "work_notes"); len(notes) != notesBefore {
		t.Fatalf("%d work notes after the changes while flapping, want %d: they are recorded, not sent: %+v", len(notes), notesBefore, notes)
	}
	// The last resolution: held open for the quiet period, then resolved.
	resolvedAt := time.Now()
	sender.Send(t, n.resolved(now.Add(2*time.Millisecond), resolvedAt))
	waitState("the flapping incident resolved after the quiet period", snowStateResolved)
	if f, r := flapNotes(); f != 1 || r != 0 {
		t.Errorf("%d flapping notes and %d re-fire notes, want one and none", f, r)
	}
	wi := policyItem(t, c, id)
	var resolves []time.Time
	for _, e := range wi.Events {
		if e.Kind == "call" && e.Op == "resolve" && e.Outcome == "ok" {
			resolves = append(resolves, e.At)
		}
	}
	if len(resolves) != 3 || resolves[2].Before(resolvedAt.Add(quiet)) {
		t.Errorf("resolve calls at %v; want three, the last not before %v (the quiet period after the alert resolved)", resolves, resolvedAt.Add(quiet))
	}
	for _, want := range []string{"flapping: more than 4 fire/resolve transitions within 1h0m0s", "flapping: recorded, not sent",
		"fired again; recorded, not sent", "the work item stays open until the alert has stayed resolved for 4s", "has stayed resolved for 4s: resolving"} {
		if !trailHas(wi, want) {
			t.Errorf("the audit trail lacks %q", want)
		}
	}
	metrics := adminGet(t, c, "/metrics")
	if !strings.Contains(metrics, `itsm_policy_suppressed_total{backend="servicenow.snow",operation="update",policy="flapping"} 3`) {
		t.Errorf("/metrics lacks three suppressed updates:\n%s", grepLines(metrics, "itsm_policy_suppressed_total"))
	}
}

// fileItems reads the file backend's work items.
func fileItems(t *testing.T, c *harness.Connector) []harness.FileWorkItem {
	t.Helper()
	items, err := harness.FileWorkItems(filepath.Join(c.Dir(), "data", "workitems"))
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// adminGet reads path from the connector's admin listener.
func adminGet(t *testing.T, c *harness.Connector, path string) string {
	t.Helper()
	resp, err := http.Get(c.AdminURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
	}
	return string(b)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMaintenanceAdHocEndToEnd: ad-hoc maintenance windows started through
// the admin API and the command line hold the alerts they match: each is
// acknowledged and recorded, and creates nothing; the windows and the
// holds survive a crash and restart of the host; ending the windows
// settles the holds at once: the alert still firing under on_end =
// "create" gets its work item, the one under "drop" none, and the one
// that resolved inside its window none.
func TestMaintenanceAdHocEndToEnd(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: fileConfig})
	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := harness.Alerts(sample, 300, 3)
	if err != nil {
		t.Fatal(err)
	}
	keep, drop, brief := alerts[0], alerts[1], alerts[2]

	// One window through the API, one through the command line.
	body, err := json.Marshal(adminapi.MaintenanceStart{Name: "keep", When: fmt.Sprintf("alert.id == %q || alert.id == %q", keep.ID, brief.ID),
		Duration: "1h", Reason: "CHG0001"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(c.AdminURL()+"/api/v1/maintenance", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/maintenance: %d %s", resp.StatusCode, b)
	}
	c.Command(t, "maintenance", "start", "-admin", c.AdminURL(), "-name", "drop", "-when", fmt.Sprintf("alert.id == %q", drop.ID),
		"-for", "1h", "-on-end", "drop")
	// The console's overview lists both as active.
	overview := adminGet(t, c, "/")
	if !strings.Contains(overview, `id="maintenance"`) || !strings.Contains(overview, "<td>keep</td>") || !strings.Contains(overview, "<td>drop</td>") {
		t.Errorf("the console's overview does not list the active windows keep and drop:\n%s", overview)
	}

	sender := c.Sender(t)
	sender.Send(t, keep.Fired)
	sender.Send(t, drop.Fired)
	sender.Send(t, brief.Fired)
	sender.Send(t, brief.Resolved)
	held := func(when string) {
		t.Helper()
		items := policyItems(t, c)
		if len(items) != 3 {
			t.Fatalf("%s: %d work items, want 3", when, len(items))
		}
		for _, it := range items {
			if it.Maintenance == nil || !it.Pending || it.Remote != "none" {
				t.Errorf("%s: work item %d (%s): maintenance %+v, pending %v, remote %s; want held, pending, no remote item",
					when, it.ID, it.CorrelationKey, it.Maintenance, it.Pending, it.Remote)
			}
		}
		if files := fileItems(t, c); len(files) != 0 {
			t.Errorf("%s: %d file work items, want none", when, len(files))
		}
	}
	held("during the windows")
	for _, it := range policyItems(t, c) {
		if wi := policyItem(t, c, it.ID); !trailHas(wi, "in maintenance window") {
			t.Errorf("work item %d: the audit trail does not say a window holds it", it.ID)
		}
	}

	// A crash and restart: the windows and holds are in the store.
	c.Kill(t)
	c.Restart(t)
	var l adminapi.MaintenanceList
	if err := json.Unmarshal([]byte(adminGet(t, c, "/api/v1/maintenance")), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Windows) != 2 || !l.Windows[0].Active || !l.Windows[1].Active || l.Windows[0].Name != "drop" || l.Windows[1].Name != "keep" {
		t.Fatalf("windows after the restart: %+v; want drop and keep, active", l.Windows)
	}
	held("after the restart")

	// Ending the windows settles the holds at once.
	req, _ := http.NewRequest(http.MethodDelete, c.AdminURL()+"/api/v1/maintenance/keep", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"released":2`) {
		t.Fatalf("DELETE /api/v1/maintenance/keep: %d %s; want 200, two work items released", resp.StatusCode, b)
	}
	c.Command(t, "maintenance", "end", "-admin", c.AdminURL(), "drop")
	harness.Eventually(t, policyTimeout, "every hold settled", func() (bool, string) {
		pending := policyItems(t, c, "-pending")
		return len(pending) == 0, fmt.Sprintf("%d work items pending", len(pending))
	})
	files := fileItems(t, c)
	if len(files) != 1 || files[0].CorrelationKey != keep.ID || files[0].State != harness.FileOpen {
		t.Fatalf("file work items %+v; want one, open, for %s (on_end create)", files, keep.ID)
	}
	for _, it := range policyItems(t, c) {
		wi := policyItem(t, c, it.ID)
		var want string
		switch it.CorrelationKey {
		case keep.ID:
			want = `ended with the alert still firing: delivering it (on_end = "create")`
		case drop.ID:
			want = `ended with the alert still firing: dropped (on_end = "drop")`
		case brief.ID:
			want = `the alert resolved inside maintenance window "keep"`
		}
		if !trailHas(wi, want) {
			t.Errorf("work item %s: the audit trail lacks %q", it.CorrelationKey, want)
		}
	}
}

// TestMaintenanceScheduledEndToEnd: a maintenance block of the
// configuration holds a firing alert until the window's end, then its
// work item is created (on_end = "create"); the route dry run says which
// window applies.
func TestMaintenanceScheduledEndToEnd(t *testing.T) {
	end := time.Now().Add(6 * time.Second).Truncate(time.Second)
	cfg := fileConfig + fmt.Sprintf(`
maintenance "now" {
  start  = %q
  end    = %q
  on_end = "create"
}
`, end.Add(-time.Hour).UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	c := harness.Start(t, harness.Options{Config: cfg})
	sample, err := filepath.Abs("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	out := string(c.Command(t, "route", "-at", end.Add(-time.Second).UTC().Format(time.RFC3339), "-alert", sample))
	if want := `policy: in maintenance window now until ` + end.UTC().Format(time.RFC3339); !strings.Contains(out, want) {
		t.Errorf("route dry run lacks %q:\n%s", want, out)
	}
	c.SendFile(t, "testdata/metric-fired.json")
	items := policyItems(t, c)
	if len(items) != 1 || items[0].Maintenance == nil || !items[0].Maintenance.Until.Equal(end) {
		t.Fatalf("work items %+v; want one held until %v", items, end)
	}
	if time.Now().Before(end) && len(fileItems(t, c)) != 0 {
		t.Fatalf("a file work item exists before the window ended")
	}
	files := waitFileItems(t, c, "the work item created once the window ended", func(items []harness.FileWorkItem) bool {
		return len(items) == 1 && items[0].State == harness.FileOpen
	})
	if wi := policyItem(t, c, items[0].ID); !trailHas(wi, `maintenance window "now" ended with the alert still firing: delivering it`) {
		t.Errorf("the audit trail of %s does not say the window's end delivered it", files[0].ID)
	}
	var created time.Time
	for _, e := range policyItem(t, c, items[0].ID).Events {
		if e.Op == "create" && e.Outcome == "ok" {
			created = e.At
		}
	}
	if created.Before(end) {
		t.Errorf("created at %v, before the window ended at %v", created, end)
	}
}
