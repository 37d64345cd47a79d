package jirafake

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// do sends one request to s and decodes a JSON object answer.
func do(t *testing.T, s *Server, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, out := fakehttp.Call(t, method, s.URL+path, body)
	return resp.StatusCode, resp.Header, out
}

const adfDoc = `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hi"}]}]}`

func create(t *testing.T, s *Server, ver, extra string) string {
	t.Helper()
	desc := `"plain"`
	if ver == "3" {
		desc = adfDoc
	}
	status, _, out := do(t, s, "POST", "/rest/api/"+ver+"/issue",
		`{"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Task"},"summary":"s","description":`+desc+`,"labels":["itsm-x"]`+extra+`}}`)
	if status != 201 || out["key"] == "" || out["id"] == "" || !strings.HasSuffix(out["self"].(string), "/issue/"+out["id"].(string)) {
		t.Fatalf("create = %d %v", status, out)
	}
	return out["key"].(string)
}

func TestRichTextPerVersion(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tests := []struct {
		ver, desc string
		status    int
	}{
		{"3", adfDoc, 201},
		{"3", `"a string"`, 400},
		{"3", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}`, 400},
		{"2", `"a string"`, 201},
		{"2", adfDoc, 400},
	}
	for _, tt := range tests {
		status, _, out := do(t, s, "POST", "/rest/api/"+tt.ver+"/issue",
			`{"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Task"},"summary":"s","description":`+tt.desc+`}}`)
		if status != tt.status {
			t.Errorf("v%s description %s: %d %v, want %d", tt.ver, tt.desc, status, out, tt.status)
		}
		if status == 400 && out["errors"].(map[string]any)["description"] == nil {
			t.Errorf("400 without errors.description: %v", out)
		}
	}
	dc := New(Options{Flavor: DataCenter})
	defer dc.Close()
	if status, _, _ := do(t, dc, "POST", "/rest/api/3/issue", `{}`); status != 404 {
		t.Errorf("Data Center served /rest/api/3: %d", status)
	}
}

func TestValidationEnvelope(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	status, _, out := do(t, s, "POST", "/rest/api/2/issue",
		`{"fields":{"project":{"key":"NOPE"},"issuetype":{"name":"Task"},"summary":"s","labels":["has space"],"customfield_10010":{"value":"x"},"customfield_99":"y"}}`)
	errs, _ := out["errors"].(map[string]any)
	if status != 400 || out["errorMessages"] == nil || errs["project"] == nil || errs["customfield_10010"] == nil || errs["customfield_99"] == nil ||
		!strings.Contains(errs["labels"].(string), "contains spaces") {
		t.Errorf("create = %d %v", status, out)
	}
}

func TestWorkflow(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	key := create(t, s, "3", "")
	status, _, out := do(t, s, "GET", "/rest/api/3/issue/"+key+"/transitions?expand=transitions.fields", "")
	ts := out["transitions"].([]any)
	if status != 200 || len(ts) != 3 {
		t.Fatalf("transitions = %d %v", status, out)
	}
	done := ts[1].(map[string]any)
	if done["name"] != "Done" || done["to"].(map[string]any)["statusCategory"].(map[string]any)["key"] != "done" ||
		done["fields"].(map[string]any)["resolution"].(map[string]any)["required"] != true {
		t.Errorf("Done transition = %v", done)
	}
	if status, _, out := do(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", `{"transition":{"id":"31"}}`); status != 400 ||
		out["errors"].(map[string]any)["resolution"] != "Resolution is required." {
		t.Errorf("Done without resolution = %d %v", status, out)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions",
		`{"transition":{"id":"31"},"fields":{"resolution":{"name":"Won't Do"}},"update":{"comment":[{"add":{"body":`+adfDoc+`}}]}}`); status != 204 {
		t.Errorf("Done = %d", status)
	}
	is, _ := s.Issue(key)
	if is.Status != "Done" || is.StatusCategory != "done" || is.Resolution != "Won't Do" || len(is.Comments) != 1 || is.Comments[0].Body != "hi" {
		t.Errorf("after Done: %+v", is)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", `{"transition":{"id":"31"}}`); status != 400 {
		t.Errorf("Done from Done = %d, want 400", status)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/issue/"+key+"/transitions", `{"transition":{"id":"41"}}`); status != 204 {
		t.Errorf("Reopen = %d", status)
	}
	if is, _ := s.Issue(key); is.Status != "To Do" || is.Resolution != "" {
		t.Errorf("after Reopen: %+v", is)
	}
}

func TestPropertiesAndComments(t *testing.T) {
	s := New(Options{Flavor: DataCenter})
	defer s.Close()
	key := create(t, s, "2", `},"properties":[{"key":"itsm-connector","value":{"correlation_key":"k"}}],"x":{`)
	_, _, out := do(t, s, "GET", "/rest/api/2/issue/"+key+"/properties/itsm-connector", "")
	if out["value"].(map[string]any)["correlation_key"] != "k" {
		t.Errorf("property = %v", out)
	}
	if status, _, _ := do(t, s, "PUT", "/rest/api/2/issue/"+key+"/properties/other", `{"a":1}`); status != 201 {
		t.Errorf("PUT property = %d", status)
	}
	if status, _, _ := do(t, s, "GET", "/rest/api/2/issue/"+key+"/properties/missing", ""); status != 404 {
		t.Errorf("GET missing property = %d", status)
	}
	_, _, out = do(t, s, "GET", "/rest/api/2/issue/"+key+"?fields=status&properties=itsm-connector", "")
	if out["properties"].(map[string]any)["itsm-connector"] == nil || out["fields"].(map[string]any)["summary"] != nil {
		t.Errorf("GET issue with properties = %v", out)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/2/issue/"+key+"/comment", `{"body":`+adfDoc+`}`); status != 400 {
		t.Errorf("ADF comment on v2 = %d, want 400", status)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/2/issue/"+key+"/comment", `{"body":"text"}`); status != 201 {
		t.Errorf("comment = %d", status)
	}
	if status, _, _ := do(t, s, "PUT", "/rest/api/2/issue/"+key, `{"update":{"labels":[{"add":"more"}]}}`); status != 204 {
		t.Errorf("edit = %d", status)
	}
	if is, _ := s.Issue(key); len(is.Comments) != 1 || len(is.Labels) != 2 {
		t.Errorf("issue = %+v", is)
	}
}

func TestSearch(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	s := New(Options{IndexAfterSearches: 2, Now: func() time.Time { return now }})
	defer s.Close()
	for range 3 {
		create(t, s, "3", "")
	}
	if status, _, _ := do(t, s, "GET", "/rest/api/3/search?jql=labels%3Ditsm-x", ""); status != 410 {
		t.Errorf("old search on Cloud = %d, want 410", status)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/search/jql", `{"jql":"ORDER BY created DESC"}`); status != 400 {
		t.Errorf("unbounded JQL = %d, want 400", status)
	}
	q := `{"jql":"labels = \"itsm-x\" ORDER BY created DESC","maxResults":2,"fields":["created"]}`
	for i := range 2 {
		if _, _, out := do(t, s, "POST", "/rest/api/3/search/jql", q); len(out["issues"].([]any)) != 0 {
			t.Errorf("search %d found issues before the index caught up: %v", i, out)
		}
	}
	_, _, out := do(t, s, "POST", "/rest/api/3/search/jql", q)
	issues := out["issues"].([]any)
	token, _ := out["nextPageToken"].(string)
	if len(issues) != 2 || issues[0].(map[string]any)["key"] != "OPS-3" || token == "" || out["isLast"] != false {
		t.Fatalf("first page = %v", out)
	}
	_, _, out = do(t, s, "POST", "/rest/api/3/search/jql", `{"jql":"labels = itsm-x ORDER BY created DESC","maxResults":2,"nextPageToken":"`+token+`"}`)
	if issues := out["issues"].([]any); len(issues) != 1 || issues[0].(map[string]any)["key"] != "OPS-1" || out["isLast"] != true {
		t.Errorf("second page = %v", out)
	}
	// reconcileIssues makes a new issue visible at once.
	key := create(t, s, "3", "")
	is, _ := s.Issue(key)
	_, _, out = do(t, s, "POST", "/rest/api/3/search/jql", `{"jql":"key = `+key+`","reconcileIssues":[`+is.ID+`]}`)
	if len(out["issues"].([]any)) != 1 {
		t.Errorf("search with reconcileIssues = %v", out)
	}

	dc := New(Options{Flavor: DataCenter})
	defer dc.Close()
	for range 3 {
		create(t, dc, "2", "")
	}
	_, _, out = do(t, dc, "GET", "/rest/api/2/search?jql=project%3DOPS%20AND%20labels%20in%20(itsm-x)&startAt=2&maxResults=5", "")
	if out["total"] != float64(3) || len(out["issues"].([]any)) != 1 {
		t.Errorf("Data Center search = %v", out)
	}
}

func TestRateLimitAndAuth(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	s := New(Options{Flavor: DataCenter, RateLimit: 2, RateWindow: 30 * time.Second, BearerTokens: []string{"pat"},
		Now: func() time.Time { return now }})
	defer s.Close()
	req := func(auth string) (int, http.Header) {
		r, _ := http.NewRequest("GET", s.URL+"/rest/api/2/field", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if status, _ := req(""); status != 401 {
		t.Errorf("no credentials = %d", status)
	}
	if status, _ := req("Bearer pat"); status != 200 {
		t.Errorf("PAT = %d", status)
	}
	if status, h := req("Bearer pat"); status != 429 || h.Get("Retry-After") != "30" {
		t.Errorf("over budget = %d Retry-After %q", status, h.Get("Retry-After"))
	}
}

// TestLoseNext: the create takes effect, but the client sees a closed
// connection (status 0) or a gateway's 503, never the issue's key.
func TestLoseNext(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	body := `{"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Task"},"summary":"s"}}`

	s.LoseNext("POST", "/rest/api/2/issue", 0)
	resp, err := http.Post(s.URL+"/rest/api/2/issue", "application/json", strings.NewReader(body))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a lost answer reached the client: HTTP %d", resp.StatusCode)
	}
	s.LoseNext("POST", "/rest/api/2/issue", http.StatusServiceUnavailable)
	if status, _, out := do(t, s, "POST", "/rest/api/2/issue", body); status != http.StatusServiceUnavailable || out["key"] != nil {
		t.Fatalf("second create = %d %v; want a 503 without the key", status, out)
	}
	if status, _, out := do(t, s, "POST", "/rest/api/2/issue", body); status != http.StatusCreated || out["key"] != "OPS-3" {
		t.Fatalf("third create = %d %v; want OPS-3, answered", status, out)
	}
	if n := len(s.Issues()); n != 3 {
		t.Errorf("%d issues, want 3: the lost answers' creates took effect", n)
	}
}

// TestIssueLink: POST /issueLink links outwardIssue ("duplicates") to
// inwardIssue ("is duplicated by"), comments on the outward issue, adds a
// repeated link only once, and refuses unknown types and issues.
func TestIssueLink(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	a, b := create(t, s, "3", ""), create(t, s, "3", "")
	link := `{"type":{"name":"Duplicate"},"inwardIssue":{"key":"` + a + `"},"outwardIssue":{"key":"` + b + `"},"comment":{"body":` + adfDoc + `}}`
	for range 2 {
		if status, _, _ := do(t, s, "POST", "/rest/api/3/issueLink", link); status != http.StatusCreated {
			t.Fatalf("issueLink = %d, want 201", status)
		}
	}
	ia, _ := s.Issue(a)
	ib, _ := s.Issue(b)
	if len(ia.Links) != 1 || ia.Links[0] != (Link{Type: "Duplicate", Description: "is duplicated by", Issue: b}) {
		t.Errorf("links of %s = %+v", a, ia.Links)
	}
	if len(ib.Links) != 1 || ib.Links[0] != (Link{Type: "Duplicate", Description: "duplicates", Issue: a}) {
		t.Errorf("links of %s = %+v", b, ib.Links)
	}
	if len(ib.Comments) != 2 || len(ia.Comments) != 0 {
		t.Errorf("comments: %s has %d, %s has %d; want the outward issue to get each", b, len(ib.Comments), a, len(ia.Comments))
	}
	_, _, got := do(t, s, "GET", "/rest/api/3/issue/"+b+"?fields=issuelinks", "")
	links := got["fields"].(map[string]any)["issuelinks"].([]any)
	if in, _ := links[0].(map[string]any)["inwardIssue"].(map[string]any); len(links) != 1 || in["key"] != a {
		t.Errorf("issuelinks of %s = %v", b, links)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/issueLink", `{"type":{"name":"Nope"},"inwardIssue":{"key":"`+a+`"},"outwardIssue":{"key":"`+b+`"}}`); status != http.StatusNotFound {
		t.Errorf("unknown link type = %d, want 404", status)
	}
	if status, _, _ := do(t, s, "POST", "/rest/api/3/issueLink", `{"type":{"name":"Duplicate"},"inwardIssue":{"key":"OPS-99"},"outwardIssue":{"key":"`+b+`"}}`); status != http.StatusNotFound {
		t.Errorf("unknown issue = %d, want 404", status)
	}
}
