package servicenow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestConformance(t *testing.T) {
	c := fakehttp.NewClock()
	fake := startFake(t, c, nil)
	fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": vmID})
	invalid := baseConfig(fake.URL)
	invalid["auth"] = map[string]any{"type": "oauth", "client_id": "itsm-connector", "username": testUser, "password": testPassword}
	sdktest.Run(t, sdktest.Suite{
		New: func(*testing.T) sdk.Plugin {
			return New(Options{Version: "test", Logger: slog.New(slog.DiscardHandler)})
		},
		Config:        sdktest.ConfigOf(t, baseConfig(fake.URL)),
		InvalidConfig: sdktest.ConfigOf(t, invalid),
		InvalidPath:   []string{"auth", "client_secret"},
		InjectFault: func(_ *testing.T, f sdktest.Fault) {
			switch f.Kind {
			case sdk.KindRetryable:
				fake.FailAll(http.StatusServiceUnavailable,
					http.Header{"Retry-After": {"7"}}, "")
			case sdk.KindPermanent:
				fake.FailAll(http.StatusBadRequest, nil, "")
			default:
				fake.Heal()
			}
		},
		Fields: map[string]any{"category": "hardware"},
		Delete: func(t *testing.T, wi *sdk.WorkItem) {
			if err := fake.DeleteAs(wi.ID, "fred.luddy"); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t, nil, nil)
	ciID := e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": vmID})
	ctx := context.Background()
	key := "High CPU|vm-web-01"
	fired := alert()

	req := e.request(key, fired, nil)
	req.Fields = map[string]any{"category": "hardware", "u_team": "web", "priority": 1, "urgency": float64(1)}
	item, err := e.p.Create(ctx, req)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if item.ID == "" || !strings.HasPrefix(item.Key, "INC") || item.State != sdk.StateOpen || item.CorrelationKey != key {
		t.Fatalf("Create returned %+v", item)
	}
	if !strings.Contains(item.URL, "/nav_to.do?uri=incident.do%3Fsys_id%3D"+item.ID) {
		t.Errorf("URL = %q", item.URL)
	}
	if len(item.Bindings) != 1 || item.Bindings[0].BoundID != ciID || item.Bindings[0].BoundBy != "resource_id" {
		t.Errorf("Bindings = %+v; want bound by resource id to %s", item.Bindings, ciID)
	}

	posts := e.requests("POST", "/api/now/table/incident")
	if len(posts) != 1 {
		t.Fatalf("%d incident POSTs, want 1", len(posts))
	}
	if q := posts[0].Query; q.Get("sysparm_exclude_reference_link") != "true" || q.Get("sysparm_fields") == "" {
		t.Errorf("create query = %v", q)
	}
	sent := posts[0].JSON(t)
	if _, ok := sent["priority"]; ok {
		t.Error("priority was sent; the instance computes it")
	}
	for field, want := range map[string]string{
		"short_description":   "[Sev1] High CPU on web tier on vm-web-01",
		"correlation_id":      key,
		"correlation_display": "itsm-connector",
		"urgency":             "1", // the route field wins over the severity map
		"impact":              "1",
		"cmdb_ci":             ciID,
		"caller_id":           "monitoring.user",
		"assignment_group":    "cloud-ops",
		"category":            "hardware",
		"contact_type":        "monitoring",
		"u_team":              "web",
	} {
		if sent[field] != want {
			t.Errorf("sent %s = %v, want %q", field, sent[field], want)
		}
	}
	desc, _ := sent["description"].(string)
	for _, want := range []string{
		"Rule: High CPU on web tier", "Severity: Sev1", "Target: " + vmID, "Fired at: 2025-03-14T09:26:53Z",
		"Metric: Microsoft.Compute/virtualMachines/Percentage CPU Average GreaterThan 90, value 97.5",
		"https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/%2Fsubscriptions%2F00000000-0000-0000-0000-000000000000%2Fproviders%2FMicrosoft.AlertsManagement%2Falerts%2Fb9569717-bc32-442f-add5-83a997729330",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q:\n%s", want, desc)
		}
	}
	if _, ok := sent["work_notes"]; ok {
		t.Error("a work note was sent although every CI was bound")
	}

	// Lookup: newest first, limit 1, fields, no reference links.
	found, err := e.p.Lookup(ctx, e.request(key, fired, nil))
	if err != nil || found == nil || found.ID != item.ID {
		t.Fatalf("Lookup = %+v, %v; want %s", found, err, item.ID)
	}
	gets := e.requests("GET", "/api/now/table/incident")
	q := gets[len(gets)-1].Query
	if q.Get("sysparm_query") != "correlation_id="+key+"^ORDERBYDESCsys_created_on" || q.Get("sysparm_limit") != "1" ||
		q.Get("sysparm_exclude_reference_link") != "true" || q.Get("sysparm_fields") == "" {
		t.Errorf("lookup query = %v", q)
	}

	// Update: a work note, no new incident.
	if _, err := e.p.Update(ctx, e.request(key, fired, item)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	notes := e.fake.Journal("incident", item.ID, "work_notes")
	if len(notes) != 1 || !strings.Contains(notes[0].Value, "fired again") {
		t.Errorf("work notes after Update = %+v", notes)
	}
	if n := len(e.fake.Records("incident")); n != 1 {
		t.Errorf("%d incidents after Update, want 1", n)
	}

	// Resolve: a read (an incident a person resolved keeps their close
	// code), then one PATCH with state, close code and notes.
	e.fake.ResetRequests()
	resolvedAt := fired.FiredAt.Add(20 * time.Minute)
	resolved, err := e.p.Resolve(ctx, e.request(key, sdktest.Resolved(fired, resolvedAt), item))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if resolved.State != sdk.StateResolved {
		t.Errorf("Resolve state = %q", resolved.State)
	}
	if reqs := e.fake.Requests(); len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[1].Method != http.MethodPatch {
		t.Errorf("Resolve made %d requests, want a GET and a PATCH", len(reqs))
	}
	rec := e.fake.Record("incident", item.ID)
	if rec["state"] != "6" || rec["close_code"] != "Solution provided" ||
		!strings.Contains(rec["close_notes"], "resolved at 2025-03-14T09:46:53Z") {
		t.Errorf("after Resolve: state=%q close_code=%q close_notes=%q", rec["state"], rec["close_code"], rec["close_notes"])
	}

	// Reopen: In Progress with a work note.
	reopened, err := e.p.Reopen(ctx, e.request(key, fired, resolved))
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	if reopened.State != sdk.StateOpen || e.fake.Record("incident", item.ID)["state"] != "2" {
		t.Errorf("after Reopen: %+v, record state %q", reopened, e.fake.Record("incident", item.ID)["state"])
	}
	notes = e.fake.Journal("incident", item.ID, "work_notes")
	if len(notes) != 2 || !strings.Contains(notes[1].Value, "Reopened") {
		t.Errorf("work notes after Reopen = %+v", notes)
	}
}

func TestReopenClosedIsNotFound(t *testing.T) {
	e := newEnv(t, nil, nil)
	item := e.create("k", alert())
	e.fake.Seed("incident", nil) // unrelated noise
	if _, err := e.p.Resolve(context.Background(), e.request("k", alert(), item)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPatch, e.fake.URL+"/api/now/table/incident/"+item.ID,
		strings.NewReader(`{"state":"7","close_code":"Solution provided","close_notes":"closed"}`))
	req.SetBasicAuth(testUser, testPassword)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("closing: %v %v", resp, err)
	}
	_, err := e.p.Reopen(context.Background(), e.request("k", alert(), item))
	if sdk.KindOf(err) != sdk.KindNotFound || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Reopen of a closed incident = %v (%s); want not_found so the host opens a new one", err, sdk.KindOf(err))
	}
}

func TestDeletedIncidentIsNotFound(t *testing.T) {
	e := newEnv(t, nil, nil)
	ref := &sdk.WorkItem{ID: "0123456789abcdef0123456789abcdef"}
	for name, call := range map[string]func(context.Context, *sdk.Request) (*sdk.WorkItem, error){
		"Update": e.p.Update, "Resolve": e.p.Resolve, "Reopen": e.p.Reopen,
	} {
		_, err := call(context.Background(), e.request("k", alert(), ref))
		if sdk.KindOf(err) != sdk.KindNotFound {
			t.Errorf("%s of a missing incident: %v (%s), want not_found", name, err, sdk.KindOf(err))
		}
	}
}

func TestCorrelationHashing(t *testing.T) {
	e := newEnv(t, nil, nil)
	long := "rule|" + strings.Repeat("/subscriptions/x/resourceGroups/rg", 5)
	caret := "a^b"
	for _, key := range []string{long, caret} {
		item := e.create(key, alert())
		rec := e.fake.Record("incident", item.ID)
		if len(rec["correlation_id"]) != 64 {
			t.Errorf("key %q stored as correlation_id %q; want a 64-character SHA-256", key, rec["correlation_id"])
		}
		found, err := e.p.Lookup(context.Background(), e.request(key, alert(), nil))
		if err != nil || found == nil || found.ID != item.ID {
			t.Errorf("Lookup(%q) = %+v, %v; want %s", key, found, err, item.ID)
		}
	}
	if got := CorrelationID("short", 100); got != "short" {
		t.Errorf("CorrelationID(short) = %q", got)
	}
	sum := sha256.Sum256([]byte(long))
	if got := CorrelationID(long, 100); got != hex.EncodeToString(sum[:]) {
		t.Errorf("CorrelationID(long) = %q, want the key's SHA-256 in hex", got)
	}
}

// TestShortDescriptionMax: the summary is cut on a character boundary to
// the configured length (sdktext.Truncate's own cases are in sdk/sdktext).
func TestShortDescriptionMax(t *testing.T) {
	e := newEnv(t, nil, func(cfg map[string]any) {
		cfg["incident"] = map[string]any{"short_description_max": 20}
	})
	req := e.request("k", alert(), nil)
	req.Fields = map[string]any{"short_description": strings.Repeat("é", 30)}
	item, err := e.p.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Record("incident", item.ID)["short_description"]; got != strings.Repeat("é", 19)+"…" {
		t.Errorf("short_description = %q", got)
	}
}

func TestCMDBBinding(t *testing.T) {
	tests := []struct {
		name    string
		seed    map[string]string
		order   []any
		ci      sdk.ConfigurationItem
		boundBy string
	}{
		{"by object_id, any case", map[string]string{"name": "other-name", "object_id": strings.ToLower(vmID)},
			nil, sdk.ConfigurationItem{Name: "vm-web-01", ResourceID: vmID}, "resource_id"},
		{"by name when object_id misses", map[string]string{"name": "VM-WEB-01"},
			nil, sdk.ConfigurationItem{Name: "vm-web-01", ResourceID: vmID}, "name"},
		{"name only", map[string]string{"name": "vm-web-01", "object_id": vmID},
			[]any{"name"}, sdk.ConfigurationItem{Name: "vm-web-01", ResourceID: vmID}, "name"},
		{"unbound", map[string]string{"name": "something-else"},
			nil, sdk.ConfigurationItem{Name: "vm-web-01", ResourceID: vmID}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, func(cfg map[string]any) {
				if tt.order != nil {
					cfg["cmdb"] = map[string]any{"match_order": tt.order}
				}
			})
			sysID := e.fake.Seed("cmdb_ci_vm_instance", tt.seed)
			a := alert()
			a.ConfigurationItems = []sdk.ConfigurationItem{tt.ci}
			item := e.create("k", a)
			rec := e.fake.Record("incident", item.ID)
			b := item.Bindings[0]
			if tt.boundBy == "" {
				if b.BoundID != "" || rec["cmdb_ci"] != "" || !strings.Contains(b.Reason, "no cmdb_ci record with object_id") {
					t.Errorf("binding = %+v, cmdb_ci = %q; want unbound with a reason", b, rec["cmdb_ci"])
				}
				notes := e.fake.Journal("incident", item.ID, "work_notes")
				if len(notes) != 1 || !strings.Contains(notes[0].Value, "vm-web-01") || !strings.Contains(notes[0].Value, "could not bind") {
					t.Errorf("unbound work note = %+v", notes)
				}
				if !strings.Contains(e.logs.String(), "configuration item not bound") {
					t.Error("an unbound CI was not logged")
				}
				return
			}
			if b.BoundID != sysID || b.BoundBy != tt.boundBy || rec["cmdb_ci"] != sysID {
				t.Errorf("binding = %+v, cmdb_ci = %q; want %s by %s", b, rec["cmdb_ci"], sysID, tt.boundBy)
			}
		})
	}
}

func TestCMDBCache(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Seed("cmdb_ci", map[string]string{"name": "vm-web-01", "object_id": vmID})
	missing := alert()
	missing.ConfigurationItems = []sdk.ConfigurationItem{{Name: "ghost", ResourceID: "/subscriptions/x/ghost"}}
	cmdbLookups := func() int { return len(e.requests("GET", "/api/now/table/cmdb_ci")) }

	e.create("a", alert())
	e.create("b", alert())
	if n := cmdbLookups(); n != 1 {
		t.Errorf("%d CMDB lookups for a CI bound twice, want 1 (cached hit)", n)
	}
	e.create("c", missing)
	e.create("d", missing)
	if n := cmdbLookups(); n != 3 {
		t.Errorf("%d CMDB lookups after a CI missed twice, want 3 (object_id + name once, then cached miss)", n)
	}
	e.clock.Advance(6 * time.Minute) // past miss_ttl, inside cache_ttl
	e.create("e", missing)
	e.create("f", alert())
	if n := cmdbLookups(); n != 5 {
		t.Errorf("%d CMDB lookups after the miss TTL, want 5 (miss looked up again, hit still cached)", n)
	}
}

func TestCMDBDisabled(t *testing.T) {
	e := newEnv(t, nil, func(cfg map[string]any) { cfg["cmdb"] = map[string]any{"enabled": false} })
	item := e.create("k", alert())
	if len(item.Bindings) != 0 || len(e.requests("GET", "/api/now/table/cmdb_ci")) != 0 {
		t.Errorf("CMDB disabled but bindings %+v", item.Bindings)
	}
}

func TestEventMode(t *testing.T) {
	e := newEnv(t, nil, func(cfg map[string]any) {
		cfg["mode"] = "event"
		cfg["event"] = map[string]any{"source": "Azure"}
	})
	ctx := context.Background()
	key := "rule|" + vmID
	item := e.create(key, alert())
	if item.ID != key || item.State != sdk.StateOpen {
		t.Errorf("Create in event mode = %+v", item)
	}
	if found, err := e.p.Lookup(ctx, e.request(key, alert(), nil)); found != nil || err != nil {
		t.Errorf("Lookup in event mode = %+v, %v; want nothing", found, err)
	}
	resolved, err := e.p.Resolve(ctx, e.request(key, sdktest.Resolved(alert(), alert().FiredAt.Add(time.Hour)), item))
	if err != nil || resolved.State != sdk.StateResolved {
		t.Fatalf("Resolve in event mode = %+v, %v", resolved, err)
	}
	events := e.fake.Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	first, last := events[0], events[1]
	for field, want := range map[string]string{
		"source": "Azure", "event_class": "itsm-connector", "node": "vm-web-01", "resource": vmID,
		"message_key": key, "severity": "2", "type": "High CPU on web tier", "metric_name": "Percentage CPU",
	} {
		if first[field] != want {
			t.Errorf("fired event %s = %q, want %q", field, first[field], want)
		}
	}
	if last["severity"] != "0" || last["message_key"] != key {
		t.Errorf("resolved event: severity %q key %q; want 0 (clear) with the same key", last["severity"], last["message_key"])
	}
	if !strings.Contains(first["additional_info"], `"portal_link":"https://portal.azure.com/`) {
		t.Errorf("additional_info = %s", first["additional_info"])
	}
	if n := len(e.fake.Records("incident")); n != 0 {
		t.Errorf("event mode wrote %d incidents", n)
	}
	if n := len(e.requests("GET", "/api/now/table/")) + len(e.requests("POST", "/api/now/table/")); n != 0 {
		t.Errorf("event mode made %d Table API requests (CMDB, task_ci); it has no Affected CIs", n)
	}
}

// TestRateLimitNothingLost plays the host: on a retryable error it waits
// what the error asks (the instance's Retry-After, on the shared clock)
// and calls again; every alert gets its incident, once.
func TestRateLimitNothingLost(t *testing.T) {
	e := newEnv(t, func(o *snowfake.Options) {
		o.RateLimit = 3
		o.RateWindow = 10 * time.Second
	}, func(cfg map[string]any) { cfg["cmdb"] = map[string]any{"enabled": false} })
	incidents := sdktest.RateLimited(t, 10*time.Second, e.clock.Advance, e.p.Create, sdktest.Requests(7, alert())...)
	if n := len(e.fake.Records("incident")); n != len(incidents) {
		t.Errorf("%d incidents for %d alerts", n, len(incidents))
	}
}

// TestUpdateWithNote: an Update carrying the connector's note (a flapping
// alert) adds that note as the work note, instead of the re-fire text.
func TestUpdateWithNote(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": vmID})
	ctx := context.Background()
	key := "High CPU|vm-web-01"
	fired := alert()
	item, err := e.p.Create(ctx, e.request(key, fired, nil))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	req := e.request(key, fired, item)
	req.Note = "Alert is flapping: more than 4 fire/resolve transitions within 30m0s."
	if _, err := e.p.Update(ctx, req); err != nil {
		t.Fatalf("Update: %v", err)
	}
	notes := e.fake.Journal("incident", item.ID, "work_notes")
	if len(notes) != 1 || !strings.HasPrefix(notes[0].Value, "itsm-connector: "+req.Note) || strings.Contains(notes[0].Value, "fired again") ||
		!strings.Contains(notes[0].Value, "High CPU on web tier") {
		t.Errorf("work notes after an Update with a note = %+v; want the note, then the alert", notes)
	}
}
