package servicenow

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

const (
	ghostID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
		"/providers/Microsoft.Compute/virtualMachines/vm-ghost"
	web02ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
		"/providers/Microsoft.Compute/virtualMachines/vm-web-02"
	web03ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
		"/providers/Microsoft.Compute/virtualMachines/vm-web-03"
)

// multiCI is a fixture: an alert on three VMs, the first of which is not in
// the CMDB; vm-web-01 is found by object_id, vm-web-02 by name.
type multiCI struct {
	alert sdk.Alert
	web01 string // sys_id of vm-web-01
	web02 string // sys_id of vm-web-02
}

func seedMultiCI(e *env) multiCI {
	m := multiCI{
		web01: e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": vmID}),
		web02: e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-02"}),
	}
	m.alert = alert()
	m.alert.ConfigurationItems = []sdk.ConfigurationItem{
		{Name: "vm-ghost", ResourceID: ghostID},
		{Name: "vm-web-01", ResourceID: vmID},
		{Name: "vm-web-02", ResourceID: web02ID},
	}
	return m
}

// affected returns the ci_items listed in task_ci for task, sorted, and
// fails on a row that is there twice.
func (e *env) affected(task string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.fake.Records("task_ci") {
		if r["task"] != task {
			continue
		}
		if slices.Contains(out, r["ci_item"]) {
			e.t.Errorf("task_ci lists %s twice for task %s", r["ci_item"], task)
		}
		out = append(out, r["ci_item"])
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestAffectedCIs: every bound CI is an Affected CI, the first bound one is
// the incident's cmdb_ci too, and no step of the lifecycle adds one twice.
func TestAffectedCIs(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := seedMultiCI(e)
	ctx := context.Background()
	key := "High CPU|web tier"

	item := e.create(key, m.alert)
	if got := e.fake.Record("incident", item.ID)["cmdb_ci"]; got != m.web01 {
		t.Errorf("incident cmdb_ci = %q, want the first bound CI %s", got, m.web01)
	}
	want := sorted(m.web01, m.web02)
	if got := e.affected(item.ID); !slices.Equal(got, want) {
		t.Errorf("affected CIs after Create = %v, want %v", got, want)
	}
	if len(item.Bindings) != 3 || item.Bindings[0].BoundID != "" {
		t.Errorf("bindings = %+v; want three, the first unbound", item.Bindings)
	}
	posts := e.requests("POST", "/api/now/table/task_ci")
	for _, p := range posts {
		body := p.JSON(t)
		if body["task"] != item.ID || len(body) != 2 {
			t.Errorf("task_ci POST body = %v; want task and ci_item only", body)
		}
	}
	notes := e.fake.Journal("incident", item.ID, "work_notes")
	if len(notes) != 1 || !strings.Contains(notes[0].Value, "vm-ghost") || strings.Contains(notes[0].Value, "Affected CIs") {
		t.Errorf("work notes after Create = %+v; want only the unbound CI's", notes)
	}

	steps := []struct {
		name string
		do   func() (*sdk.WorkItem, error)
	}{
		{"Lookup", func() (*sdk.WorkItem, error) { return e.p.Lookup(ctx, e.request(key, m.alert, nil)) }},
		{"Update", func() (*sdk.WorkItem, error) { return e.p.Update(ctx, e.request(key, m.alert, item)) }},
		{"Resolve", func() (*sdk.WorkItem, error) {
			return e.p.Resolve(ctx, e.request(key, sdktest.Resolved(m.alert, m.alert.FiredAt.Add(time.Minute)), item))
		}},
		{"Reopen", func() (*sdk.WorkItem, error) { return e.p.Reopen(ctx, e.request(key, m.alert, item)) }},
		{"Update after Reopen", func() (*sdk.WorkItem, error) { return e.p.Update(ctx, e.request(key, m.alert, item)) }},
	}
	for _, st := range steps {
		if _, err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := e.affected(item.ID); !slices.Equal(got, want) {
			t.Errorf("affected CIs after %s = %v, want %v", st.name, got, want)
		}
		if n := len(e.requests("POST", "/api/now/table/task_ci")); n != len(posts) {
			t.Errorf("%s posted %d task_ci records; want none, all were there", st.name, n-len(posts))
		}
	}
	if n := len(e.fake.Records("incident")); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}

	// The alert now targets one more VM: the next re-fire adds it, and only
	// it; the primary stays.
	web03 := e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-03", "object_id": web03ID})
	more := m.alert
	more.ConfigurationItems = append(slices.Clone(m.alert.ConfigurationItems), sdk.ConfigurationItem{Name: "vm-web-03", ResourceID: web03ID})
	updated, err := e.p.Update(ctx, e.request(key, more, item))
	if err != nil {
		t.Fatalf("Update with a new CI: %v", err)
	}
	if got, want := e.affected(item.ID), sorted(m.web01, m.web02, web03); !slices.Equal(got, want) {
		t.Errorf("affected CIs after a re-fire on a new CI = %v, want %v", got, want)
	}
	if len(updated.Bindings) != 4 {
		t.Errorf("Update bindings = %+v; want the four CIs it bound", updated.Bindings)
	}
	if got := e.fake.Record("incident", item.ID)["cmdb_ci"]; got != m.web01 {
		t.Errorf("cmdb_ci changed to %q on Update", got)
	}
}

// TestAffectedCIsRetryable: rate limited half-way through the task_ci
// writes, Create reports a retryable error naming the incident; the host's
// retry (Lookup first) finds that incident, never makes a second, and adds
// only what is missing.
func TestAffectedCIsRetryable(t *testing.T) {
	// Create, cache cold: 5 CMDB lookups (vm-ghost by object_id and name,
	// vm-web-01 by object_id, vm-web-02 by object_id and name), the
	// incident, the task_ci read, then one task_ci POST per bound CI. A
	// budget of 8 lets the first POST through and stops the second.
	e := newEnv(t, func(o *snowfake.Options) {
		o.RateLimit = 8
		o.RateWindow = 10 * time.Second
	}, nil)
	m := seedMultiCI(e)
	ctx := context.Background()
	key := "High CPU|web tier"

	_, err := e.p.Create(ctx, e.request(key, m.alert, nil))
	if sdk.KindOf(err) != sdk.KindRetryable || !strings.Contains(err.Error(), "INC0010001 was created") {
		t.Fatalf("Create = %v (%s); want retryable, naming the created incident", err, sdk.KindOf(err))
	}
	var limited []snowfake.Request
	for _, r := range e.fake.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited = append(limited, r)
		}
	}
	if len(limited) != 1 || limited[0].Method != http.MethodPost || limited[0].Path != "/api/now/table/task_ci" {
		t.Fatalf("rate-limited requests = %+v; the test means to stop the second task_ci POST", limited)
	}
	incidents := e.fake.Records("incident")
	if len(incidents) != 1 || len(e.affected(incidents[0]["sys_id"])) != 1 {
		t.Fatalf("after the failed Create: %d incidents, affected CIs %v; want one incident with one CI", len(incidents), e.affected(incidents[0]["sys_id"]))
	}

	// Still inside the window: Lookup fails retryably rather than answering
	// "nothing", which would make the host create a second incident.
	if found, err := e.p.Lookup(ctx, e.request(key, m.alert, nil)); sdk.KindOf(err) != sdk.KindRetryable {
		t.Fatalf("Lookup while rate limited = %+v, %v; want retryable", found, err)
	}
	e.clock.Advance(sdk.RetryAfterOf(err))
	for range 2 { // the retry, then a crash-and-retry of the retry
		found, err := e.p.Lookup(ctx, e.request(key, m.alert, nil))
		if err != nil || found == nil || found.ID != incidents[0]["sys_id"] {
			t.Fatalf("Lookup after the wait = %+v, %v; want the incident", found, err)
		}
		if len(found.Bindings) != 3 {
			t.Errorf("Lookup bindings = %+v", found.Bindings)
		}
		if got, want := e.affected(found.ID), sorted(m.web01, m.web02); !slices.Equal(got, want) {
			t.Errorf("affected CIs after Lookup = %v, want %v", got, want)
		}
	}
	if n := len(e.fake.Records("incident")); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}
}

// TestAffectedCIsUpdateFailure: Update and Reopen have already written
// their work note when task_ci fails, so they succeed, log, and leave the
// missing CIs to the next call.
func TestAffectedCIsUpdateFailure(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := seedMultiCI(e)
	ctx := context.Background()
	item := e.create("k", m.alert)
	web03 := e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-03", "object_id": web03ID})
	more := m.alert
	more.ConfigurationItems = append(slices.Clone(m.alert.ConfigurationItems), sdk.ConfigurationItem{Name: "vm-web-03", ResourceID: web03ID})

	e.fake.FailTable(http.MethodPost, "task_ci", 1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"5"}})
	if _, err := e.p.Update(ctx, e.request("k", more, item)); err != nil {
		t.Fatalf("Update with task_ci failing: %v; want success, the work note is written", err)
	}
	if notes := e.fake.Journal("incident", item.ID, "work_notes"); len(notes) != 2 {
		t.Errorf("%d work notes, want 2 (unbound CI, fired again)", len(notes))
	}
	if got := e.affected(item.ID); slices.Contains(got, web03) {
		t.Errorf("affected CIs = %v; the POST failed", got)
	}
	if !strings.Contains(e.logs.String(), "could not record the incident's affected CIs") {
		t.Error("the failure was not logged")
	}
	if _, err := e.p.Update(ctx, e.request("k", more, item)); err != nil {
		t.Fatalf("second Update: %v", err)
	}
	if got, want := e.affected(item.ID), sorted(m.web01, m.web02, web03); !slices.Equal(got, want) {
		t.Errorf("affected CIs after the next Update = %v, want %v", got, want)
	}
}

// TestAffectedCIsDenied: an integration user without access to task_ci
// gets its incident, with cmdb_ci, and a work note saying why the Affected
// CIs are missing; granting the access heals the incident on the next
// re-fire.
func TestAffectedCIsDenied(t *testing.T) {
	tests := []struct {
		name   string
		ops    []string
		detail string
	}{
		{"create denied", []string{snowfake.OpCreate}, "ACL Exception Insert Failed due to security constraints"},
		{"read denied", []string{snowfake.OpRead}, "User Not Authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			m := seedMultiCI(e)
			ctx := context.Background()
			e.fake.Deny("task_ci", tt.ops...)

			item, err := e.p.Create(ctx, e.request("k", m.alert, nil))
			if err != nil {
				t.Fatalf("Create with task_ci denied: %v; want the incident created", err)
			}
			if got := e.fake.Record("incident", item.ID)["cmdb_ci"]; got != m.web01 {
				t.Errorf("cmdb_ci = %q, want %s", got, m.web01)
			}
			if got := e.affected(item.ID); len(got) != 0 {
				t.Errorf("affected CIs = %v with task_ci denied", got)
			}
			notes := e.fake.Journal("incident", item.ID, "work_notes")
			if len(notes) != 2 {
				t.Fatalf("%d work notes, want 2 (unbound CI, affected CIs failure)", len(notes))
			}
			for _, want := range []string{"Affected CIs (task_ci)", "vm-web-01", m.web01, "vm-web-02", m.web02, "HTTP 403", tt.detail, "itil", "fires again"} {
				if !strings.Contains(notes[1].Value, want) {
					t.Errorf("failure note lacks %q:\n%s", want, notes[1].Value)
				}
			}
			logs := e.logs.String()
			if !strings.Contains(logs, "could not record the incident's affected CIs") || !strings.Contains(logs, "kind=permanent") {
				t.Errorf("the failure was not logged as permanent:\n%s", logs)
			}

			// Still denied: Update succeeds and adds no second note.
			if _, err := e.p.Update(ctx, e.request("k", m.alert, item)); err != nil {
				t.Fatalf("Update with task_ci denied: %v", err)
			}
			if n := len(e.fake.Journal("incident", item.ID, "work_notes")); n != 3 {
				t.Errorf("%d work notes after Update, want 3 (no second failure note)", n)
			}
			// Granted: the next re-fire adds them.
			e.fake.Deny("task_ci")
			if _, err := e.p.Update(ctx, e.request("k", m.alert, item)); err != nil {
				t.Fatalf("Update after granting: %v", err)
			}
			if got, want := e.affected(item.ID), sorted(m.web01, m.web02); !slices.Equal(got, want) {
				t.Errorf("affected CIs after granting = %v, want %v", got, want)
			}
		})
	}
}

// TestAffectedCIsOff: cmdb.affected_cis = false (or no CMDB at all) never
// touches task_ci; cmdb_ci is still set when the CMDB is on.
func TestAffectedCIsOff(t *testing.T) {
	tests := []struct {
		name   string
		cmdb   map[string]any
		cmdbCI bool
	}{
		{"affected_cis off", map[string]any{"affected_cis": false}, true},
		{"cmdb off", map[string]any{"enabled": false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, func(cfg map[string]any) { cfg["cmdb"] = tt.cmdb })
			m := seedMultiCI(e)
			ctx := context.Background()
			item := e.create("k", m.alert)
			if _, err := e.p.Lookup(ctx, e.request("k", m.alert, nil)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.p.Update(ctx, e.request("k", m.alert, item)); err != nil {
				t.Fatal(err)
			}
			if n := len(e.requests("GET", "/api/now/table/task_ci")) + len(e.requests("POST", "/api/now/table/task_ci")); n != 0 {
				t.Errorf("%d task_ci requests", n)
			}
			if got := e.fake.Record("incident", item.ID)["cmdb_ci"]; (got == m.web01) != tt.cmdbCI {
				t.Errorf("cmdb_ci = %q", got)
			}
		})
	}
}

func TestAffectedIDs(t *testing.T) {
	b := func(ids ...string) []sdk.CIBinding {
		var out []sdk.CIBinding
		for _, id := range ids {
			out = append(out, sdk.CIBinding{BoundID: id})
		}
		return out
	}
	tests := []struct {
		name     string
		primary  string
		bindings []sdk.CIBinding
		want     []string
	}{
		{"none", "", nil, nil},
		{"primary only (a route's cmdb_ci)", "p", nil, []string{"p"}},
		{"primary is the first bound", "a", b("", "a", "b"), []string{"a", "b"}},
		{"two CIs bound to one record", "", b("a", "A", "b", "a"), []string{"a", "b"}},
		{"route's primary and bound CIs", "p", b("a"), []string{"p", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := affectedIDs(tt.primary, tt.bindings); !slices.Equal(got, tt.want) {
				t.Errorf("affectedIDs = %v, want %v", got, tt.want)
			}
		})
	}
}
