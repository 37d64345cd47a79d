//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

// stormConfig is a file backend behind a route with a storm block: more
// than maxNew new work items of one alert rule within an hour join one
// parent work item.
func stormConfig(store string, maxNew int) string {
	return `auth "dev" {}
` + store + `
backend "file" "local" {
  config { directory = "data/workitems" }
}
route "everything" {
  send_to = [backend.file.local]
  storm {
    window   = "1h"
    max_new  = ` + fmt.Sprint(maxNew) + `
    group_by = "${alert.rule}"
  }
}
`
}

// stormAlerts are n alerts of one rule, each on a virtual machine of its
// own (vm-000, vm-001, …), derived from the metric sample.
func stormAlerts(t *testing.T, n int) []harness.Alert {
	t.Helper()
	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := harness.Alerts(sample, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range alerts {
		vm := stormVM(i)
		target := "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/" + vm
		for _, p := range []*[]byte{&alerts[i].Fired, &alerts[i].Resolved, &alerts[i].Refired} {
			var doc map[string]any
			d := json.NewDecoder(bytes.NewReader(*p))
			d.UseNumber()
			if err := d.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			ess := doc["data"].(map[string]any)["essentials"].(map[string]any)
			ess["alertTargetIDs"], ess["configurationItems"] = []string{target}, []string{vm}
			if *p, err = json.Marshal(doc); err != nil {
				t.Fatal(err)
			}
		}
	}
	return alerts
}

func stormVM(i int) string { return fmt.Sprintf("vm-%03d", i) }

// stormParents returns the file backend's storm parents and the other work
// items by correlation key.
func stormSplit(items []harness.FileWorkItem) (parents []harness.FileWorkItem, own map[string][]harness.FileWorkItem) {
	own = map[string][]harness.FileWorkItem{}
	for _, it := range items {
		if strings.HasPrefix(it.CorrelationKey, route.StormKeyPrefix) {
			parents = append(parents, it)
			continue
		}
		own[it.CorrelationKey] = append(own[it.CorrelationKey], it)
	}
	return parents, own
}

func historyCount(it harness.FileWorkItem, typ string) int {
	n := 0
	for _, h := range it.History {
		if h.Type == typ {
			n++
		}
	}
	return n
}

// TestStormEndToEnd: 30 alerts of one rule under max_new = 20, through the
// real host and the file plugin: 20 open their own work items, the other
// 10 are attached to one parent ("storm: 10 resources affected by …") that
// lists their 10 resources; once all 30 resolve, every work item is
// resolved, the parent once.
func TestStormEndToEnd(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: stormConfig("", 20)})
	sender := c.Sender(t)
	itemDir := filepath.Join(c.Dir(), "data", "workitems")
	alerts := stormAlerts(t, 30)
	for _, a := range alerts {
		sender.Send(t, a.Fired)
	}
	var items []harness.FileWorkItem
	harness.Eventually(t, policyTimeout, "20 work items and a parent listing 10 resources", func() (bool, string) {
		var err error
		if items, err = harness.FileWorkItems(itemDir); err != nil {
			return false, err.Error()
		}
		parents, own := stormSplit(items)
		n := 0
		for _, p := range parents {
			n += len(p.ConfigurationItems)
		}
		return len(own) == 20 && len(parents) == 1 && n == 10, fmt.Sprintf("%d own work items, %d parents listing %d resources", len(own), len(parents), n)
	})
	parents, own := stormSplit(items)
	for i, a := range alerts[:20] {
		if got := own[a.ID]; len(got) != 1 || len(got[0].ConfigurationItems) != 1 || got[0].ConfigurationItems[0].Name != stormVM(i) {
			t.Errorf("alert %d: work items %+v, want one for %s", i, got, stormVM(i))
		}
	}
	var listed []string
	for _, ci := range parents[0].ConfigurationItems {
		listed = append(listed, ci.Name)
	}
	sort.Strings(listed)
	var want []string
	for i := 20; i < 30; i++ {
		want = append(want, stormVM(i))
	}
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("the parent lists %v, want %v", listed, want)
	}
	drainQueue(t, c)
	if wi := policyItem(t, c, parentID(t, c)); !trailHas(wi, "storm: 10 resources affected by test-metricAlertRule") {
		t.Errorf("the parent's audit trail does not name the storm:\n%+v", wi.Events)
	}

	for _, a := range alerts {
		sender.Send(t, a.Resolved)
	}
	harness.Eventually(t, policyTimeout, "every work item resolved", func() (bool, string) {
		var err error
		if items, err = harness.FileWorkItems(itemDir); err != nil {
			return false, err.Error()
		}
		open := 0
		for _, it := range items {
			if it.State != harness.FileResolved {
				open++
			}
		}
		return open == 0 && len(items) == 21, fmt.Sprintf("%d of %d work items open", open, len(items))
	})
	drainQueue(t, c)
	parents, _ = stormSplit(items)
	if n := historyCount(parents[0], "resolved"); n != 1 {
		t.Errorf("the parent was resolved %d times, want once: %+v", n, parents[0].History)
	}
}

// parentID is the store's id of the one storm parent.
func parentID(t *testing.T, c *harness.Connector) int64 {
	t.Helper()
	for _, it := range policyItems(t, c) {
		if strings.HasPrefix(it.CorrelationKey, route.StormKeyPrefix) {
			return it.ID
		}
	}
	t.Fatal("no storm parent in the store")
	return 0
}

// TestStormCrashRecovery: a storm (60 alerts of one rule, max_new = 20)
// arrives while the host is killed with SIGKILL and restarted; in the end
// every acknowledged alert is covered exactly once, by a work item of its
// own or as a resource listed by the storm's one parent, exactly 20 have
// their own, and once every alert has resolved every work item is
// resolved, the parent once. On SQLite, and on PostgreSQL when
// ITSM_TEST_POSTGRES_DSN is set.
func TestStormCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; skipped with -short")
	}
	t.Run("sqlite", func(t *testing.T) {
		stormCrashTest(t, "store {\n  driver = \"sqlite\"\n  path   = \"data/connector.db\"\n}")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := harness.PostgresDatabase(t)
		stormCrashTest(t, fmt.Sprintf("store {\n  driver = \"postgres\"\n  dsn    = %q\n}", dsn))
	})
}

func stormCrashTest(t *testing.T, store string) {
	const n, maxNew, kills = 60, 20, 4
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1^0x5eed))
	alerts := stormAlerts(t, n)
	c := harness.Start(t, harness.Options{Config: stormConfig(store, maxNew)})
	sender := c.Sender(t)
	itemDir := filepath.Join(c.Dir(), "data", "workitems")
	led := newLedger(n)

	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	defer func() { cancel(); workers.Wait() }()
	jobs := make(chan notice, 2*n)
	sending := startSenders(ctx, &workers, crashSenders, jobs, alerts, led, sender.Deliver)
	workers.Add(1)
	go func() {
		defer workers.Done()
		tick := time.NewTicker(crashPace)
		defer tick.Stop()
		for i := range n {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			jobs <- notice{alert: i}
		}
	}()
	// The kills while the storm arrives and the parent's Create and
	// Updates go out: at seeded random moments, half of them the instant
	// the backend wrote a work item, before the host recorded it.
	watch, err := harness.WatchDir(itemDir)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	gap := time.Duration(n) * crashPace / kills
	for k := 1; k <= kills; k++ {
		time.Sleep(gap/2 + time.Duration(rng.Int64N(int64(gap)))) // the fault schedule, not a wait for an event
		how := "at a random moment"
		if rng.IntN(2) == 0 {
			if w, err := watch.Next("WI-*.json", 2*time.Second); err == nil {
				how = "right after the backend wrote " + w.Name
			}
		}
		c.Kill(t)
		t.Logf("kill %d/%d %s", k, kills, how)
		c.Restart(t)
	}
	// Every fired notification is sent (or given up) before the
	// resolutions go.
	if err := harness.Poll(crashResolveFor, func() (bool, string) {
		done := 0
		for i := range n {
			if d, _ := led.fired(i); d {
				done++
			}
		}
		return done == n, fmt.Sprintf("%d of %d fired notifications done", done, n)
	}); err != nil {
		t.Fatal(err)
	}
	c.Kill(t)
	c.Restart(t)
	check := func(what string, resolved bool) []harness.FileWorkItem {
		t.Helper()
		var items []harness.FileWorkItem
		harness.Eventually(t, crashDrain, what, func() (bool, string) {
			var err error
			if items, err = harness.FileWorkItems(itemDir); err != nil {
				return false, err.Error()
			}
			p := stormProblems(alerts, led, items, maxNew, resolved)
			return len(p) == 0, strings.Join(p, "; ")
		})
		drainQueue(t, c)
		return items
	}
	check("every acknowledged alert covered once", false)

	for i := range n {
		if _, acked := led.fired(i); acked {
			jobs <- notice{alert: i, resolved: true}
		}
	}
	// One more crash while the resolutions arrive.
	time.Sleep(gap) // the fault schedule, not a wait for an event
	c.Kill(t)
	c.Restart(t)
	close(jobs)
	sending.Wait()
	items := check("every work item resolved", true)
	parents, _ := stormSplit(items)
	for _, p := range parents {
		if k := historyCount(p, "resolved"); k != 1 {
			t.Errorf("parent %s resolved %d times, want once", p.ID, k)
		}
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	for _, f := range led.failed {
		t.Logf("not acknowledged: %s", f)
	}
	t.Logf("seed %d: %d alerts, %d work items, %d host runs, %d notifications retried", seed, n, len(items), c.Runs(), led.retried)
}

// stormProblems checks the file backend after a storm: exactly maxNew work
// items of their own and one parent; every acknowledged alert covered
// exactly once (its own work item, or its resource on the parent), no
// resource listed twice; with resolved, every work item resolved (each
// acknowledged resolution sent), else every one open.
func stormProblems(alerts []harness.Alert, led *ledger, items []harness.FileWorkItem, maxNew int, resolved bool) []string {
	led.mu.Lock()
	defer led.mu.Unlock()
	parents, own := stormSplit(items)
	var problems []string
	if len(parents) != 1 {
		problems = append(problems, fmt.Sprintf("%d storm parents, want 1", len(parents)))
	}
	if len(own) != maxNew {
		problems = append(problems, fmt.Sprintf("%d alerts with a work item of their own, want %d", len(own), maxNew))
	}
	listed := map[string]int{}
	for _, p := range parents {
		for _, ci := range p.ConfigurationItems {
			listed[ci.Name]++
		}
	}
	for i, a := range alerts {
		covered := len(own[a.ID]) + listed[stormVM(i)]
		switch {
		case led.firedAck[i] && covered != 1:
			problems = append(problems, fmt.Sprintf("alert %d (%s): covered %d times (%d own work items, listed %d times), want once",
				i, stormVM(i), covered, len(own[a.ID]), listed[stormVM(i)]))
		case !led.firedAck[i] && covered > 1:
			problems = append(problems, fmt.Sprintf("alert %d (never acknowledged): covered %d times", i, covered))
		}
	}
	want := harness.FileOpen
	if resolved {
		want = harness.FileResolved
	}
	for _, it := range items {
		if it.State != want {
			problems = append(problems, fmt.Sprintf("work item %s (%s) is %s, want %s", it.ID, it.CorrelationKey, it.State, want))
		}
	}
	sort.Strings(problems)
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return problems
}

// TestStormServiceNow: a storm through the ServiceNow plugin against its
// fake: under max_new = 2 the first two alerts get incidents of their own,
// the rest one parent incident whose Affected CIs (task_ci) list their
// virtual machines, bound to the CMDB by ARM id; a member joining later
// is added by an Update; when all have resolved, the parent is resolved.
func TestStormServiceNow(t *testing.T) {
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	alerts := stormAlerts(t, 5)
	ciIDs := map[string]string{} // sys_id → vm
	for i := range alerts {
		target := "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/" + stormVM(i)
		ciIDs[snow.Seed("cmdb_ci_vm_instance", map[string]string{"name": stormVM(i), "object_id": target})] = stormVM(i)
	}
	cfg := strings.Replace(snowLifecycleConfig(snow.URL), `route "everything" {`, `route "everything" {
  storm {
    window   = "1h"
    max_new  = 2
    group_by = "${alert.rule}"
  }`, 1)
	c := harness.Start(t, harness.Options{Config: cfg, Plugins: []string{"servicenow"}})
	sender := c.Sender(t)
	// parentCIs reads the parent incident (by the correlation id of the
	// store's storm parent) and the virtual machines it lists as affected.
	parentCIs := func() (sysID string, vms []string) {
		corr := ""
		for _, it := range policyItems(t, c) {
			if strings.HasPrefix(it.CorrelationKey, route.StormKeyPrefix) {
				corr = snowCorrelationID(it.CorrelationKey)
			}
		}
		for _, inc := range snow.Records("incident") {
			if corr != "" && inc["correlation_id"] == corr {
				sysID = inc["sys_id"]
			}
		}
		if sysID == "" {
			return "", nil
		}
		for _, rec := range snow.Records("task_ci") {
			if rec["task"] == sysID {
				vms = append(vms, ciIDs[rec["ci_item"]])
			}
		}
		sort.Strings(vms)
		return sysID, vms
	}
	for _, a := range alerts[:4] {
		sender.Send(t, a.Fired)
	}
	harness.Eventually(t, policyTimeout, "two incidents and a parent listing vm-002 and vm-003", func() (bool, string) {
		_, vms := parentCIs()
		n := len(snow.Records("incident"))
		return n == 3 && strings.Join(vms, ",") == "vm-002,vm-003", fmt.Sprintf("%d incidents, the parent lists %v", n, vms)
	})
	sender.Send(t, alerts[4].Fired)
	harness.Eventually(t, policyTimeout, "the parent lists vm-004 too", func() (bool, string) {
		_, vms := parentCIs()
		return strings.Join(vms, ",") == "vm-002,vm-003,vm-004" && len(snow.Records("incident")) == 3, fmt.Sprintf("the parent lists %v", vms)
	})
	for _, a := range alerts {
		sender.Send(t, a.Resolved)
	}
	harness.Eventually(t, policyTimeout, "every incident resolved", func() (bool, string) {
		open := 0
		for _, inc := range snow.Records("incident") {
			if inc["state"] != snowStateResolved {
				open++
			}
		}
		return open == 0, fmt.Sprintf("%d incidents not resolved", open)
	})
	drainQueue(t, c)
}
