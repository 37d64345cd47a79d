package snowfake

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestParseQuery(t *testing.T) {
	rec := map[string]string{"a": "One", "b": "two", "c": ""}
	tests := []struct {
		q    string
		want bool
	}{
		{"a=one", true},
		{"a=one^b=three", false},
		{"a=one^b=three^ORb=two", true},
		{"a=x^ORa=one", true},
		{"aLIKEn", true},
		{"aSTARTSWITHon^bENDSWITHwo", true},
		{"a!=one", false},
		{"cISEMPTY^aISNOTEMPTY", true},
		{"bINone,two", true},
		{"a=one^ORDERBYDESCsys_created_on", true},
		{"", true},
	}
	for _, tt := range tests {
		q, err := parseQuery(tt.q)
		if err != nil {
			t.Fatalf("parseQuery(%q): %v", tt.q, err)
		}
		if got := q.matches(rec); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.q, got, tt.want)
		}
	}
	for _, bad := range []string{"a~b", "=x", "a=1^NQb=2"} {
		if _, err := parseQuery(bad); err == nil {
			t.Errorf("parseQuery(%q) succeeded; want an error", bad)
		}
	}
}

// TestScriptQueries: a "javascript:" value in an encoded query is script an
// instance evaluates; the fake records the query.
func TestScriptQueries(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.Seed("cmdb_ci", map[string]string{"name": "vm-1"})
	for _, v := range []string{"javascript:gs.sleep(20000)", " JavaScript:gs.sleep(1)", "\tJAVASCRIPT:x", "\u00a0javascript:x", "\u200bjavascript:x"} {
		q := url.Values{"sysparm_query": {"name=" + v}}
		resp, _ := fakehttp.Call(t, "GET", s.URL+"/api/now/table/cmdb_ci?"+q.Encode(), "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("query name=%q: HTTP %d", v, resp.StatusCode)
		}
	}
	for _, v := range []string{"vm-1", "my javascript:x", "javascript"} {
		q := url.Values{"sysparm_query": {"name=" + v}}
		fakehttp.Call(t, "GET", s.URL+"/api/now/table/cmdb_ci?"+q.Encode(), "")
	}
	if got := s.ScriptQueries(); len(got) != 5 || got[0] != "name=javascript:gs.sleep(20000)" {
		t.Errorf("ScriptQueries = %q; want the 5 script values", got)
	}
}

func TestTableAPI(t *testing.T) {
	s := New(Options{RequireCloseCode: true})
	defer s.Close()
	ci := s.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-1", "object_id": "/subscriptions/x/vm-1"})

	resp, body := fakehttp.Call(t, "POST", s.URL+"/api/now/table/incident",
		`{"short_description":"disk full","urgency":1,"impact":"2","cmdb_ci":"`+ci+`","work_notes":"first note","priority":"5"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: HTTP %d %v", resp.StatusCode, body)
	}
	res := body["result"].(map[string]any)
	sysID := res["sys_id"].(string)
	if loc := resp.Header.Get("Location"); loc != s.URL+"/api/now/table/incident/"+sysID {
		t.Errorf("Location = %q", loc)
	}
	if res["urgency"] != "1" || res["priority"] != "2" || res["number"] != "INC0010001" || res["state"] != "1" {
		t.Errorf("values not strings or rules not applied: urgency=%v priority=%v number=%v state=%v",
			res["urgency"], res["priority"], res["number"], res["state"])
	}
	if ref, ok := res["cmdb_ci"].(map[string]any); !ok || ref["value"] != ci || !strings.HasSuffix(ref["link"].(string), "/api/now/table/cmdb_ci/"+ci) {
		t.Errorf("cmdb_ci = %v; want a {link,value} reference", res["cmdb_ci"])
	}
	if res["work_notes"] != "" {
		t.Errorf("work_notes read back %q; journal fields read back empty", res["work_notes"])
	}
	if j := s.Journal("incident", sysID, "work_notes"); len(j) != 1 || j[0].Value != "first note" {
		t.Errorf("journal = %+v", j)
	}

	// Reference links excluded, fields selected.
	q := url.Values{"sysparm_query": {"short_descriptionLIKEDISK^ORDERBYDESCsys_created_on"},
		"sysparm_fields": {"sys_id,cmdb_ci"}, "sysparm_exclude_reference_link": {"true"}}
	_, body = fakehttp.Call(t, "GET", s.URL+"/api/now/table/incident?"+q.Encode(), "")
	list := body["result"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["cmdb_ci"] != ci || len(list[0].(map[string]any)) != 2 {
		t.Errorf("list = %v", list)
	}

	// The CMDB child class is found through cmdb_ci.
	q = url.Values{"sysparm_query": {"object_id=/SUBSCRIPTIONS/x/VM-1"}}
	_, body = fakehttp.Call(t, "GET", s.URL+"/api/now/table/cmdb_ci?"+q.Encode(), "")
	if list := body["result"].([]any); len(list) != 1 {
		t.Errorf("cmdb_ci query found %d records, want the child-class record", len(list))
	}

	// Data policy.
	resp, body = fakehttp.Call(t, "PATCH", s.URL+"/api/now/table/incident/"+sysID, `{"state":"6"}`)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body["error"].(map[string]any)["detail"].(string), "Resolution code") {
		t.Errorf("resolve without close_code: HTTP %d %v", resp.StatusCode, body)
	}
	resp, _ = fakehttp.Call(t, "PATCH", s.URL+"/api/now/table/incident/"+sysID, `{"state":"6","close_code":"Solution provided","close_notes":"ok"}`)
	if resp.StatusCode != http.StatusOK || s.Record("incident", sysID)["resolved_at"] == "" {
		t.Errorf("resolve: HTTP %d", resp.StatusCode)
	}

	// Errors.
	resp, body = fakehttp.Call(t, "GET", s.URL+"/api/now/table/incident/nope", "")
	if resp.StatusCode != http.StatusNotFound || body["status"] != "failure" || body["error"].(map[string]any)["message"] != "No Record found" {
		t.Errorf("not found: HTTP %d %v", resp.StatusCode, body)
	}
	resp, _ = fakehttp.Call(t, "GET", s.URL+"/api/now/table/nosuchtable", "")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown table: HTTP %d", resp.StatusCode)
	}
}

func TestAuthRateLimitHibernation(t *testing.T) {
	s := New(Options{BasicUsers: map[string]string{"u": "p"}, RateLimit: 2})
	defer s.Close()
	resp, _ := fakehttp.Call(t, "GET", s.URL+"/api/now/table/incident", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credentials: HTTP %d", resp.StatusCode)
	}
	authed := strings.Replace(s.URL, "://", "://u:p@", 1)
	if resp, _ = fakehttp.Call(t, "GET", authed+"/api/now/table/incident", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("with credentials: HTTP %d", resp.StatusCode)
	}
	resp, _ = fakehttp.Call(t, "GET", authed+"/api/now/table/incident", "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("over budget: HTTP %d headers %v", resp.StatusCode, resp.Header)
	}
	s.ResetRateLimit()
	s.SetHibernating(true)
	resp, _ = fakehttp.Call(t, "GET", authed+"/api/now/table/incident", "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("hibernating: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("logged %d requests, want 4", n)
	}
}

// TestTaskCI: a task's Affected CIs, with reference fields and queries by
// task and ci_item, and table-level ACL denials.
func TestTaskCI(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ci1 := s.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-1"})
	ci2 := s.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-2"})
	_, body := fakehttp.Call(t, "POST", s.URL+"/api/now/table/incident", `{"short_description":"x","cmdb_ci":"`+ci1+`"}`)
	task := body["result"].(map[string]any)["sys_id"].(string)

	for _, ci := range []string{ci1, ci2} {
		resp, body := fakehttp.Call(t, "POST", s.URL+"/api/now/table/task_ci", `{"task":"`+task+`","ci_item":"`+ci+`"}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create task_ci: HTTP %d %v", resp.StatusCode, body)
		}
		res := body["result"].(map[string]any)
		for field, table := range map[string]string{"task": "task", "ci_item": "cmdb_ci"} {
			ref, ok := res[field].(map[string]any)
			if !ok || !strings.HasSuffix(ref["link"].(string), "/api/now/table/"+table+"/"+ref["value"].(string)) {
				t.Errorf("%s = %v; want a {link,value} reference to %s", field, res[field], table)
			}
		}
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"task=" + task, []string{ci1, ci2}},
		{"task=" + task + "^ci_item=" + ci2, []string{ci2}},
		{"task=" + task + "^ci_itemIN" + ci2 + "," + ci1 + "^ORDERBYci_item", sortedPair(ci1, ci2)},
		{"task=nope", nil},
	}
	for _, tt := range tests {
		q := url.Values{"sysparm_query": {tt.query}, "sysparm_fields": {"ci_item"}, "sysparm_exclude_reference_link": {"true"}}
		resp, body := fakehttp.Call(t, "GET", s.URL+"/api/now/table/task_ci?"+q.Encode(), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d", tt.query, resp.StatusCode)
		}
		var got []string
		for _, r := range body["result"].([]any) {
			got = append(got, r.(map[string]any)["ci_item"].(string))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: ci_items %v, want %v", tt.query, got, tt.want)
		}
	}
	if n := len(s.Records("task_ci")); n != 2 {
		t.Errorf("%d task_ci records, want 2", n)
	}

	// ACLs: a denied create and read answer 403 with the instance's envelope.
	s.Deny("task_ci", OpCreate, OpRead)
	resp, body := fakehttp.Call(t, "POST", s.URL+"/api/now/table/task_ci", `{"task":"`+task+`","ci_item":"`+ci1+`"}`)
	if resp.StatusCode != http.StatusForbidden || body["error"].(map[string]any)["detail"] != "ACL Exception Insert Failed due to security constraints" {
		t.Errorf("denied create: HTTP %d %v", resp.StatusCode, body)
	}
	resp, body = fakehttp.Call(t, "GET", s.URL+"/api/now/table/task_ci", "")
	if resp.StatusCode != http.StatusForbidden || body["error"].(map[string]any)["message"] != "User Not Authorized" {
		t.Errorf("denied read: HTTP %d %v", resp.StatusCode, body)
	}
	if resp, _ := fakehttp.Call(t, "GET", s.URL+"/api/now/table/incident", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("another table was denied too: HTTP %d", resp.StatusCode)
	}
	s.Deny("incident", OpWrite)
	resp, body = fakehttp.Call(t, "PATCH", s.URL+"/api/now/table/incident/"+task, `{"urgency":"1"}`)
	if resp.StatusCode != http.StatusForbidden || body["error"].(map[string]any)["detail"] != "ACL Exception Update Failed due to security constraints" {
		t.Errorf("denied write: HTTP %d %v", resp.StatusCode, body)
	}
	s.Deny("incident")
	s.Deny("task_ci")
	if resp, _ := fakehttp.Call(t, "POST", s.URL+"/api/now/table/task_ci", `{"task":"`+task+`","ci_item":"`+ci1+`"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("create after granting: HTTP %d", resp.StatusCode)
	}

	// A fault on one method of one table leaves the rest working.
	s.FailTable("POST", "task_ci", 1, http.StatusServiceUnavailable, nil)
	if resp, _ := fakehttp.Call(t, "GET", s.URL+"/api/now/table/task_ci", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET task_ci with a POST fault pending: HTTP %d", resp.StatusCode)
	}
	resp, body = fakehttp.Call(t, "POST", s.URL+"/api/now/table/task_ci", `{"task":"`+task+`","ci_item":"`+ci2+`"}`)
	if resp.StatusCode != http.StatusServiceUnavailable || body["status"] != "failure" {
		t.Errorf("POST task_ci with a fault: HTTP %d %v", resp.StatusCode, body)
	}
	if resp, _ := fakehttp.Call(t, "POST", s.URL+"/api/now/table/task_ci", `{"task":"`+task+`","ci_item":"`+ci2+`"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("POST task_ci after the fault: HTTP %d", resp.StatusCode)
	}
}

func sortedPair(a, b string) []string {
	if a > b {
		a, b = b, a
	}
	return []string{a, b}
}
