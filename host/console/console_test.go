package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	styleTag    = regexp.MustCompile(`(?i)<style\b`)
	styleAttr   = regexp.MustCompile(`(?i)\sstyle\s*=`)
	handlerAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	jsURL       = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"\s*javascript:`)
)

// checkPage fails unless a is a console page with the strict CSP and no
// inline script, style, event handler or javascript: link.
func checkPage(t *testing.T, path string, a answer) {
	t.Helper()
	if got := a.header.Get("Content-Security-Policy"); got != CSP {
		t.Errorf("%s: Content-Security-Policy %q, want %q", path, got, CSP)
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %s", want)
		}
	}
	if strings.Contains(CSP, "unsafe-") {
		t.Errorf("CSP allows something unsafe: %s", CSP)
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: X-Content-Type-Options %q, Cache-Control %q", path, a.header.Get("X-Content-Type-Options"), a.header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: Content-Type %q", path, a.header.Get("Content-Type"))
	}
	for _, m := range scriptTag.FindAllStringSubmatch(a.body, -1) {
		if !strings.Contains(m[1], `src="/static/`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("%s: an inline or foreign script: %s", path, m[0])
		}
	}
	if n := strings.Count(strings.ToLower(a.body), "<script"); n != len(scriptTag.FindAllString(a.body, -1)) {
		t.Errorf("%s: %d <script tags, %d well-formed ones", path, n, len(scriptTag.FindAllString(a.body, -1)))
	}
	for what, re := range map[string]*regexp.Regexp{"a <style> element": styleTag, "a style attribute": styleAttr,
		"an event handler attribute": handlerAttr, "a javascript: link": jsURL} {
		if loc := re.FindStringIndex(a.body); loc != nil {
			t.Errorf("%s: the page has %s: …%s…", path, what, a.body[max(loc[0]-60, 0):min(loc[1]+60, len(a.body))])
		}
	}
}

// TestPagesCSPAndNoInlineCode: every page and answer of the console
// carries the strict CSP and holds no inline script or style, also with
// hostile values in the store, and the static files are served.
func TestPagesCSPAndNoInlineCode(t *testing.T) {
	f := newFixture(t)
	f.sampler.Sample(context.Background(), time.Now())
	f.set(func(f *fixture) {
		f.maintenance = []MaintenanceWindow{{Name: "<b>patch</b>", Scope: "jira.ops", Start: t0, End: t0.Add(time.Hour)}}
	})
	paths := map[string]int{
		"/":                                              200,
		"/overview/live":                                 200,
		"/workitems":                                     200,
		"/workitems?state=dead":                          200,
		"/workitems?state=bad":                           400,
		fmt.Sprintf("/workitems/%d", f.synced):           200,
		fmt.Sprintf("/workitems/%d", f.dead):             200,
		"/workitems/999":                                 404,
		"/workitems/x":                                   400,
		"/deadletters":                                   200,
		"/deadletters?unmatched=true":                    200,
		fmt.Sprintf("/deadletters/%d", f.deadID):         200,
		fmt.Sprintf("/deadletters/%d/drop", f.deadID):    200,
		"/deadletters/999":                               404,
		"/deadletters/bulk?action=replay":                200,
		"/deadletters/bulk?action=drop&backend=jira.ops": 200,
		"/deadletters/bulk?action=explode":               400,
		"/nowhere":                                       404,
	}
	for path, want := range paths {
		a := f.get(path)
		if a.status != want {
			t.Errorf("GET %s = %d, want %d:\n%s", path, a.status, want, a.body)
		}
		checkPage(t, path, a)
	}
	for path, ct := range map[string]string{"/static/console.js": "text/javascript", "/static/console.css": "text/css"} {
		a := f.get(path)
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), ct) || a.header.Get("Content-Security-Policy") != CSP {
			t.Errorf("GET %s = %d %q", path, a.status, a.header.Get("Content-Type"))
		}
	}
	// Actions answer pages under the same policy, failures included.
	f.set(func(f *fixture) { f.replayErr = errors.New("disk I/O error") })
	for _, path := range []string{fmt.Sprintf("/deadletters/%d/replay", f.deadID), fmt.Sprintf("/deadletters/%d/drop", f.deadID), "/deadletters/bulk"} {
		a := f.post(path, url.Values{})
		if a.status < 400 {
			t.Errorf("POST %s = %d; want a failure", path, a.status)
		}
		checkPage(t, "POST "+path, a)
	}
}

// TestHostileValuesAreEscaped: alert, route and plugin text reaches every
// page as text: tags escaped, a javascript: ticket URL never a link.
func TestHostileValuesAreEscaped(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/workitems", fmt.Sprintf("/workitems/%d", f.synced), fmt.Sprintf("/workitems/%d", f.failing),
		"/deadletters", fmt.Sprintf("/deadletters/%d", f.unmatchedID), "/workitems?q=" + url.QueryEscape(hostileKey)} {
		a := f.get(path)
		if a.status != 200 {
			t.Fatalf("GET %s = %d", path, a.status)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload", "<iframe", "<b>INC-1</b>", "</pre><script>"} {
			if strings.Contains(a.body, raw) {
				t.Errorf("%s: the page holds %q unescaped", path, raw)
			}
		}
		if strings.Contains(a.body, `href="javascript:`) || strings.Contains(a.body, "ZgotmplZ") {
			t.Errorf("%s: the ticket's javascript: URL became a link", path)
		}
	}
	item := f.get(fmt.Sprintf("/workitems/%d", f.synced)).body
	for _, want := range []string{
		"cpu &lt;script&gt;alert(&#34;rule&#34;)&lt;/script&gt;",                                         // the rule
		"key-&lt;img src=x onerror=alert(1)&gt;",                                                         // the correlation key
		`<span class="ticket" title="javascript:alert(document.cookie)">&lt;b&gt;INC-1&lt;/b&gt;</span>`, // the ticket, as text
		"&lt;svg onload=alert(2)&gt;",                                                                    // the binding's reason
		"&lt;/pre&gt;&lt;script&gt;alert(&#34;field&#34;)&lt;/script&gt;",                                // a rendered field and the description
		`&lt;script&gt;alert(\&#34;prop\&#34;)&lt;/script&gt;`,                                           // a custom property in the alert's JSON
	} {
		if !strings.Contains(item, want) {
			t.Errorf("the work item page lacks %s", want)
		}
	}
	list := f.get("/workitems").body
	if !strings.Contains(list, `<a class="ticket" href="https://itsm.example/INC0002" rel="noreferrer noopener" target="_blank">INC0002</a>`) {
		t.Errorf("the https ticket is not a link:\n%s", list)
	}
}

func TestWorkItemsListAndFilters(t *testing.T) {
	f := newFixture(t)
	rows := func(a answer) []string {
		t.Helper()
		var ids []string
		for _, m := range regexp.MustCompile(`<tr class="item" data-id="(\d+)">`).FindAllStringSubmatch(a.body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	id := func(n int64) string { return fmt.Sprint(n) }
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{id(f.dead), id(f.failing), id(f.linked), id(f.synced)}},
		{"?backend=jira.ops", []string{id(f.dead), id(f.failing)}},
		{"?backend=&route=vms&state=&severity=&q=", []string{id(f.linked), id(f.synced)}},
		{"?state=failing", []string{id(f.failing)}},
		{"?state=dead", []string{id(f.dead)}},
		{"?state=in_sync", []string{id(f.linked), id(f.synced)}},
		{"?severity=Sev3", []string{id(f.failing), id(f.linked)}},
		{"?q=INC0002", []string{id(f.linked)}},
		{"?q=disk+full&backend=jira.ops", []string{id(f.failing)}},
		{"?q=" + url.QueryEscape(hostileKey), []string{id(f.synced)}},
		{"?q=k-dead", []string{id(f.dead)}},
		{"?q=nothing", nil},
	} {
		a := f.get("/workitems" + c.query)
		if got := rows(a); a.status != 200 || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("/workitems%s = %d %v, want %v", c.query, a.status, got, c.want)
		}
	}
	a := f.get("/workitems")
	for _, want := range []string{
		`<td class="warn" title="1 unbound">1/2 bound</td>`, // the CI bindings column
		`<td class="warn">failing (3 attempts)`,
		`<td class="bad">dead letter</td>`,
		"HTTP 500: &lt;iframe src=//evil.example&gt;", // last error
		`<span title="/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm-a3">vm-a3</span>`,
		"<td>fired / open</td>",
		`<option value="jira.ops">jira.ops</option>`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the list lacks %s", want)
		}
	}
	bad := f.get("/workitems?severity=high")
	if bad.status != 400 || !strings.Contains(bad.body, `severity=&#34;high&#34;: want one of Sev0`) {
		t.Errorf("a bad filter = %d:\n%s", bad.status, bad.body)
	}
	// A filter keeps its backend selected, also one not running.
	if a := f.get("/workitems?backend=gone.x"); !strings.Contains(a.body, `<option value="gone.x" selected>`) {
		t.Errorf("the filter's backend is not selected")
	}
}

func TestWorkItemsPaging(t *testing.T) {
	f := newFixture(t)
	var ns []store.Notification
	for i := range pageSize + 5 {
		ns = append(ns, store.Notification{Alert: &sdk.Alert{ID: fmt.Sprint("p", i), Rule: "paged", Condition: sdk.ConditionFired, FiredAt: t0},
			Deliveries: []route.Delivery{{Route: "p", Backend: "file.local", CorrelationKey: fmt.Sprint("p", i)}}, ReceivedAt: t0})
	}
	if _, err := f.st.Ingest(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	first := f.get("/workitems?q=paged")
	m := regexp.MustCompile(`<a href="(/workitems\?[^"]+)" id="older">`).FindStringSubmatch(first.body)
	if m == nil || strings.Count(first.body, `<tr class="item"`) != pageSize {
		t.Fatalf("first page: %d rows, older link %v", strings.Count(first.body, `<tr class="item"`), m)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "q=paged") || !strings.Contains(next, "before_id=") {
		t.Errorf("the older link %q drops the filter or the page", next)
	}
	second := f.get(next)
	if n := strings.Count(second.body, `<tr class="item"`); n != 5 || strings.Contains(second.body, `id="older"`) {
		t.Errorf("second page: %d rows, older link %v; want 5 and none", n, strings.Contains(second.body, `id="older"`))
	}
}

func TestWorkItemPage(t *testing.T) {
	f := newFixture(t)
	a := f.get(fmt.Sprintf("/workitems/%d", f.synced))
	for _, want := range []string{
		`<section id="bindings">`, "<td>ci-1</td><td>name</td>", // a bound CI
		`<tr class="warn"><td>db</td>`, // the unbound one
		`<th>urgency</th><td><pre>2</pre></td>`,
		`<td class="outcome-ok">ok</td><td class="num">1.5 ms</td>`,   // the call with its duration
		`<code class="trace">4bf92f3577b34da6a3ce929d0e0e4736</code>`, // and its trace
		`<td>notification</td><td>fired</td><td class="outcome-new">new</td>`,
		`<pre class="json" id="alert-json">{`, `&#34;rule&#34;: &#34;cpu &lt;script&gt;`, // the alert, pretty and escaped
		"Configuration items of the alert: 2.",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the work item page lacks %s", want)
		}
	}
	dead := f.get(fmt.Sprintf("/workitems/%d", f.dead)).body
	for _, want := range []string{`<section id="deadletter">`, fmt.Sprintf(`action="/deadletters/%d/replay"`, f.deadID),
		fmt.Sprintf(`<input type="hidden" name="item" value="%d">`, f.dead), fmt.Sprintf(`href="/deadletters/%d/drop"`, f.deadID),
		`<td class="outcome-permanent">permanent</td><td class="num">42.0 ms</td>`} {
		if !strings.Contains(dead, want) {
			t.Errorf("the dead item's page lacks %s", want)
		}
	}
	if a := f.get(fmt.Sprintf("/workitems/%d", f.linked)); !strings.Contains(a.body, "The plugin reported no bindings for this ticket.") {
		t.Errorf("an item without bindings does not say so")
	}
	if a := f.get(fmt.Sprintf("/workitems/%d?events_before=x", f.linked)); a.status != 400 {
		t.Errorf("a bad audit trail page = %d, want 400", a.status)
	}
}

// TestReplay: a replay that works redirects to a green banner; one that
// fails answers its status with a red banner and never a green one.
func TestReplay(t *testing.T) {
	f := newFixture(t)
	path := func(id int64) string { return fmt.Sprintf("/deadletters/%d/replay", id) }

	// Still unmatched: 409, the letter kept.
	a := f.post(path(f.unmatchedID), url.Values{})
	if a.status != 409 || !strings.Contains(a.body, `class="notice bad"`) || strings.Contains(a.body, `class="notice ok"`) ||
		!strings.Contains(a.body, "its alert still matches no route") || !strings.Contains(a.body, "no route matched severity 4") {
		t.Errorf("replay of a still unmatched letter = %d:\n%s", a.status, a.body)
	}
	if !f.letterExists(f.unmatchedID) {
		t.Error("the unmatched letter was not kept")
	}
	// The store fails: 500.
	f.set(func(f *fixture) { f.replayErr = errors.New("disk I/O error") })
	if a := f.post(path(f.deadID), url.Values{}); a.status != 500 || !strings.Contains(a.body, "the store failed") || strings.Contains(a.body, `class="notice ok"`) {
		t.Errorf("replay with a failing store = %d:\n%s", a.status, a.body)
	}
	f.set(func(f *fixture) { f.replayErr, f.routable = nil, true })
	// From the work item's page: back to it, green.
	a = f.post(path(f.deadID), url.Values{"item": {fmt.Sprint(f.dead)}})
	if loc := a.header.Get("Location"); a.status != 303 || loc != fmt.Sprintf("/workitems/%d?id=%d&result=replayed", f.dead, f.deadID) {
		t.Errorf("replay = %d, Location %q", a.status, loc)
	}
	page := f.follow(a)
	if !strings.Contains(page.body, fmt.Sprintf(`<div class="notice ok" role="status" id="notice"><p>Dead letter %d replayed: its work is queued again.</p>`, f.deadID)) ||
		!strings.Contains(page.body, `<dd class="warn" id="item-state">pending`) {
		t.Errorf("the item after its replay:\n%s", page.body)
	}
	// Again: gone, 404.
	if a := f.post(path(f.deadID), url.Values{}); a.status != 404 || !strings.Contains(a.body, "there is no such dead letter") {
		t.Errorf("a second replay = %d:\n%s", a.status, a.body)
	}
	// Now routable: replayed, to the list.
	a = f.post(path(f.unmatchedID), url.Values{})
	if loc := a.header.Get("Location"); a.status != 303 || loc != fmt.Sprintf("/deadletters?id=%d&result=replayed", f.unmatchedID) {
		t.Errorf("replay of a now routable letter = %d, Location %q", a.status, loc)
	}
	if strings.Contains(f.get("/deadletters").body, `name="item"`) {
		t.Error("the list's replay buttons lead to the work item instead of back to the list")
	}
	if a := f.post("/deadletters/0/replay", url.Values{}); a.status != 400 {
		t.Errorf("replay of id 0 = %d, want 400", a.status)
	}
}

// TestDropNeedsConfirmation: the drop button opens a confirmation; a post
// without it changes nothing.
func TestDropNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/deadletters/%d/drop", f.deadID)
	c := f.get(path)
	if c.status != 200 || !strings.Contains(c.body, fmt.Sprintf(`<form method="post" action="%s" id="confirm-form">`, path)) ||
		!strings.Contains(c.body, `<input type="hidden" name="confirm" value="yes">`) || !strings.Contains(c.body, fmt.Sprintf("Its work item %d stays dead", f.dead)) {
		t.Errorf("the confirmation = %d:\n%s", c.status, c.body)
	}
	if a := f.post(path, url.Values{}); a.status != 400 || !f.letterExists(f.deadID) {
		t.Errorf("an unconfirmed drop = %d, letter kept %v; want 400, kept", a.status, f.letterExists(f.deadID))
	}
	a := f.post(path, url.Values{"confirm": {"yes"}})
	if page := f.follow(a); !strings.Contains(page.body, fmt.Sprintf("Dead letter %d dropped.", f.deadID)) || f.letterExists(f.deadID) {
		t.Errorf("the confirmed drop: letter exists %v, page:\n%s", f.letterExists(f.deadID), page.body)
	}
	if a := f.post(path, url.Values{"confirm": {"yes"}}); a.status != 404 || !strings.Contains(a.body, `class="notice bad"`) {
		t.Errorf("a second drop = %d", a.status)
	}
	if a := f.get(path); a.status != 404 {
		t.Errorf("the confirmation of a dropped letter = %d, want 404", a.status)
	}
}

// TestBulk: replay and drop by filter, each after a confirmation that
// says how many letters match and bounds the operation to them.
func TestBulk(t *testing.T) {
	f := newFixture(t)
	c := f.get("/deadletters/bulk?action=replay&unmatched=true")
	m := regexp.MustCompile(`name="before_id" value="(\d+)"`).FindStringSubmatch(c.body)
	if c.status != 200 || m == nil || !strings.Contains(c.body, "Replay the 1 dead letters of alerts no route took?") {
		t.Fatalf("the bulk confirmation = %d:\n%s", c.status, c.body)
	}
	form := url.Values{"action": {"replay"}, "unmatched": {"true"}, "before_id": {m[1]}}
	if a := f.post("/deadletters/bulk", form); a.status != 400 || !f.letterExists(f.unmatchedID) {
		t.Errorf("an unconfirmed bulk replay = %d", a.status)
	}
	form.Set("confirm", "yes")
	// The routes still take none: 409, red, the letter kept.
	a := f.post("/deadletters/bulk", form)
	if a.status != 409 || !strings.Contains(a.body, "Not every dead letter was replayed: 0 replayed, 1 failed.") || strings.Contains(a.body, `class="notice ok"`) {
		t.Errorf("a bulk replay that fails = %d:\n%s", a.status, a.body)
	}
	// A letter that arrives after the confirmation is left alone.
	res, err := f.st.Ingest(context.Background(), []store.Notification{{Alert: &sdk.Alert{ID: "late", Condition: sdk.ConditionFired, FiredAt: t0}, Unmatched: "no route", ReceivedAt: t0}})
	if err != nil {
		t.Fatal(err)
	}
	f.set(func(f *fixture) { f.routable = true })
	a = f.post("/deadletters/bulk", form)
	if page := f.follow(a); !strings.Contains(page.body, "1 dead letters replayed.") {
		t.Errorf("the bulk replay's page:\n%s", page.body)
	}
	if f.letterExists(f.unmatchedID) || !f.letterExists(res[0].DeadLetterID) {
		t.Errorf("after the bulk replay: the confirmed letter exists %v, the late one %v; want gone, kept",
			f.letterExists(f.unmatchedID), f.letterExists(res[0].DeadLetterID))
	}
	// Drop of one backend's letters.
	c = f.get("/deadletters/bulk?action=drop&backend=jira.ops")
	m = regexp.MustCompile(`name="before_id" value="(\d+)"`).FindStringSubmatch(c.body)
	if m == nil || !strings.Contains(c.body, "Drop the 1 dead letters of backend jira.ops?") || !strings.Contains(c.body, `<input type="hidden" name="backend" value="jira.ops">`) {
		t.Fatalf("the bulk drop confirmation:\n%s", c.body)
	}
	a = f.post("/deadletters/bulk", url.Values{"action": {"drop"}, "backend": {"jira.ops"}, "before_id": {m[1]}, "confirm": {"yes"}})
	if page := f.follow(a); !strings.Contains(page.body, "1 dead letters dropped.") || f.letterExists(f.deadID) || !f.letterExists(res[0].DeadLetterID) {
		t.Errorf("the bulk drop: jira letter exists %v, late one %v; page:\n%s", f.letterExists(f.deadID), f.letterExists(res[0].DeadLetterID), page.body)
	}
	// Nothing left of a backend: the confirmation says so, with no form.
	if c := f.get("/deadletters/bulk?action=drop&backend=jira.ops"); !strings.Contains(c.body, "There are none.") || strings.Contains(c.body, "<form method=\"post\"") {
		t.Errorf("the confirmation with nothing to do:\n%s", c.body)
	}
	if a := f.post("/deadletters/bulk", url.Values{"action": {"drop"}, "backend": {"x"}, "unmatched": {"true"}, "before_id": {"9"}, "confirm": {"yes"}}); a.status != 400 {
		t.Errorf("a bulk drop with a contradictory filter = %d, want 400", a.status)
	}
}

func TestSuccessNotice(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"result=replayed&id=12", "Dead letter 12 replayed: its work is queued again."},
		{"result=dropped&id=3", "Dead letter 3 dropped."},
		{"result=replayed&done=4&gone=0", "4 dead letters replayed."},
		{"result=dropped&done=1000&gone=2&more=1", "1000 dead letters dropped. 2 were replayed or dropped by someone else meanwhile. More letters match than one run handles (1000): run it again."},
		// Failures are never taken from a URL, nor any text.
		{"result=unroutable&id=3", ""},
		{"result=failed&id=3", ""},
		{"result=replayed", ""},
		{"result=replayed&id=-1", ""},
		{"result=replayed&id=1x", ""},
		{"result=replayed&done=x&gone=0", ""},
		{"result=replayed&done=1&gone=0&id=2", ""},
		{"result=%3Cb%3Eowned%3C%2Fb%3E&id=1", ""},
		{"msg=Dead+letter+9+replayed", ""},
		{"", ""},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		n := successNotice(q)
		switch {
		case tt.want == "" && n != nil:
			t.Errorf("successNotice(%q) = %+v, want none", tt.query, *n)
		case tt.want != "" && (n == nil || n.Text != tt.want || !n.OK):
			t.Errorf("successNotice(%q) = %+v, want %q", tt.query, n, tt.want)
		}
	}
	f := newFixture(t)
	if a := f.get("/deadletters?result=failed&id=1"); strings.Contains(a.body, `class="notice`) {
		t.Errorf("the page shows a failure banner taken from its URL:\n%s", a.body)
	}
	if a := f.get("/deadletters?result=replayed&id=1&msg=call+555-0100"); strings.Contains(a.body, "555-0100") || strings.Contains(a.body, `class="notice ok"`) {
		t.Errorf("the page shows text taken from its URL:\n%s", a.body)
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	a := f.get("/")
	for _, want := range []string{"version v1.2.3-test", "<code>itsm-1:8443</code>", "<dd>1h30m (since",
		`<tr class="backend" data-backend="jira.ops">`, "jira 2.1", "lookup resolve",
		`<a class="bad" href="/deadletters?backend=jira.ops">1</a>`, `<a class="bad" href="/deadletters?unmatched=true">1</a>`,
		"<td>expired</td><td class=\"num\">3</td>", "<td>wrong_audience</td>",
		`<div id="live" data-src="/overview/live" data-refresh-ms="200"`, "no samples yet"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	if strings.Contains(a.body, "maintenance") {
		t.Errorf("the overview shows a maintenance section with no windows")
	}
	// With samples, charts; with windows, their section.
	now := time.Now()
	f.sampler.Sample(context.Background(), now.Add(-time.Minute))
	f.m.Deliveries.WithLabelValues("jira.ops", "create", "ok").Add(30)
	f.m.Deliveries.WithLabelValues("jira.ops", "create", "retryable").Add(6)
	f.sampler.Sample(context.Background(), now)
	f.set(func(f *fixture) {
		f.maintenance = []MaintenanceWindow{{Name: "<b>patch night</b>", Scope: "jira.ops", Start: t0, End: t0.Add(time.Hour)}}
	})
	live := f.get("/overview/live")
	for _, want := range []string{`<section id="maintenance">`, "&lt;b&gt;patch night&lt;/b&gt;", "<polyline points=",
		`aria-label="deliveries/s, last hour"`, `<span class="now">0.6</span>`, // 36 calls in 60 s
		`<td class="failures"><span class="chart">`, `<span class="now">0.1</span>`} { // 6 failures in 60 s
		if !strings.Contains(live.body, want) {
			t.Errorf("the live overview lacks %s", want)
		}
	}
	if strings.Contains(live.body, "<html") || strings.Contains(live.body, "<h1>") {
		t.Errorf("the live part is a whole page")
	}
	f.set(func(f *fixture) { f.statsErr = errors.New("database is locked") })
	if a := f.get("/"); a.status != 500 || !strings.Contains(a.body, "Some of the overview could not be read: database is locked") {
		t.Errorf("the overview with a failing store = %d", a.status)
	}
}
