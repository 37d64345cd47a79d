// Package jirafake is an in-memory Jira for tests, served on a real
// loopback HTTP(S) server. It speaks the parts of Jira the connector uses,
// the way Jira Cloud or Jira Data Center does:
//
//   - the platform REST API: /rest/api/3 (Cloud only; rich text in
//     Atlassian Document Format) and /rest/api/2 (plain strings);
//   - issues: create (201 {id,key,self}, properties in the body), read with
//     fields and properties, edit (204; fields and update operations),
//     delete; comments (201); transitions with status categories and, on the
//     "Done" transition, a screen whose resolution field is required (400
//     when missing); issue properties;
//   - field metadata (/field) with custom fields of several types, values
//     checked against their schema;
//   - labels checked the way Jira does (no spaces, 255 characters at most);
//   - the error envelope {"errorMessages":[...],"errors":{...}};
//   - search: /rest/api/3/search/jql on Cloud (nextPageToken paging,
//     reconcileIssues, unbounded queries rejected; the old /search answers
//     410) and /rest/api/2/search on Data Center (startAt paging), over a
//     small JQL subset, with an eventually consistent index: a new issue is
//     not found until a number of searches or a delay has passed, while
//     reading it by key works at once;
//   - Jira Service Management's /rest/servicedeskapi/request;
//   - issue links (POST /issueLink, with the default link types Blocks,
//     Cloners, Duplicate and Relates; the optional comment goes to the
//     outward issue), shown in the issuelinks field;
//   - a request budget per window answered with 429 and Retry-After once
//     spent, injected faults, and lost answers: a request that takes effect
//     but whose answer never reaches the client (LoseNext);
//   - resolutiondate, the changelog (expand=changelog) with each change's
//     author, people acting in Jira (ResolveAs, CloseAs, ReopenAs, EditAs,
//     DeleteAs) and webhooks signed with X-Hub-Signature (PushTo): see
//     human.go;
//   - JQL's issue field (issue in (…), by id or key): an issue that does
//     not exist fails the search with 400, as in Jira, unless the old
//     search's validateQuery is "warn" or "none".
//
// Every request is logged for assertions; a fault injected without a body
// answers with the error envelope. A Server is safe for concurrent use,
// and is usable from any package's tests.
package jirafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// Flavor selects which Jira the fake plays.
type Flavor string

// Flavors.
const (
	// Cloud serves /rest/api/3 (ADF) and /rest/api/2, search through
	// /search/jql, and basic auth with an e-mail address and API token.
	Cloud Flavor = "cloud"
	// DataCenter serves /rest/api/2 only, search through /search, and basic
	// auth or personal access tokens (bearer).
	DataCenter Flavor = "datacenter"
)

// Options configure a fake Jira. The zero value is an open Jira Cloud (no
// authentication) with the default project, fields and workflow.
type Options struct {
	// Flavor is Cloud (default) or DataCenter.
	Flavor Flavor
	// BasicUsers maps users (e-mail addresses on Cloud) to the secrets
	// (API tokens or passwords) accepted with basic auth.
	BasicUsers map[string]string
	// BearerTokens are the personal access tokens accepted on Data Center.
	BearerTokens []string
	// Projects are the project keys issues may be created in; default
	// ["OPS"]. Service desk projects are added from ServiceDesks.
	Projects []string
	// IssueTypes are the valid issue type names; default Task, Bug,
	// Incident.
	IssueTypes []string
	// Components are the valid component names of every project; default
	// Compute, Network, Storage.
	Components []string
	// CustomFields are the custom fields of the instance; default
	// DefaultCustomFields().
	CustomFields []CustomField
	// NoResolutionScreen models a workflow whose Done transition has no
	// screen: it sets the resolution itself and rejects one sent with it.
	NoResolutionScreen bool
	// IndexAfterSearches makes a new issue invisible to the next n
	// searches that would find it.
	IndexAfterSearches int
	// IndexDelay makes a new issue invisible to searches for this long
	// (on the Now clock).
	IndexDelay time.Duration
	// RateLimit is the number of requests allowed per RateWindow; zero
	// means unlimited.
	RateLimit int
	// RateWindow is the rate-limit window; default one minute.
	RateWindow time.Duration
	// ServiceDesks are the Jira Service Management desks by id; default
	// {"1": {ProjectKey: "SD", RequestTypes: {"10": "Incident"}}}.
	ServiceDesks map[string]ServiceDesk
	// TLS serves HTTPS with a self-signed certificate (see CertPEM).
	TLS bool
	// Now is the fake's clock; default time.Now.
	Now func() time.Time
}

// ServiceDesk is one Jira Service Management desk.
type ServiceDesk struct {
	// ProjectKey is the desk's project.
	ProjectKey string
	// RequestTypes maps request type ids to the issue type they create.
	RequestTypes map[string]string
}

// CustomField is one custom field in the field metadata.
type CustomField struct {
	// ID is the field id, e.g. "customfield_10010".
	ID string
	// Name is the field's display name; names need not be unique.
	Name string
	// Type is the schema type: "string", "number", "option", "array",
	// "user", "date", "datetime".
	Type string
	// Items is the element type of an "array" field ("option", "string").
	Items string
	// Custom is the custom field type key, e.g.
	// "com.atlassian.jira.plugin.system.customfieldtypes:textarea". A
	// textarea takes ADF on /rest/api/3.
	Custom string
	// Options are the allowed values of option fields.
	Options []string
}

// Custom field type keys the fake knows.
const (
	TypeTextField   = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
	TypeTextArea    = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"
	TypeSelect      = "com.atlassian.jira.plugin.system.customfieldtypes:select"
	TypeMultiSelect = "com.atlassian.jira.plugin.system.customfieldtypes:multiselect"
	TypeFloat       = "com.atlassian.jira.plugin.system.customfieldtypes:float"
	TypeLabels      = "com.atlassian.jira.plugin.system.customfieldtypes:labels"
)

// DefaultCustomFields are the custom fields of a default fake.
func DefaultCustomFields() []CustomField {
	return []CustomField{
		{ID: "customfield_10010", Name: "Team", Type: "option", Custom: TypeSelect, Options: []string{"Web", "Data", "Platform"}},
		{ID: "customfield_10011", Name: "Alert correlation key", Type: "string", Custom: TypeTextField},
		{ID: "customfield_10012", Name: "Impact score", Type: "number", Custom: TypeFloat},
		{ID: "customfield_10013", Name: "Runbook", Type: "string", Custom: TypeTextArea},
		{ID: "customfield_10014", Name: "Affected services", Type: "array", Items: "option", Custom: TypeMultiSelect, Options: []string{"api", "web", "db"}},
		{ID: "customfield_10015", Name: "Alert tags", Type: "array", Items: "string", Custom: TypeLabels},
	}
}

// Request is one logged request.
type Request = fakehttp.Request

// Comment is one comment on an issue.
type Comment struct {
	ID string
	// Body is the comment as plain text (ADF flattened).
	Body string
	// Raw is the body as sent: a JSON string or an ADF document.
	Raw     json.RawMessage
	Created time.Time
}

// Issue is a snapshot of an issue for assertions.
type Issue struct {
	ID, Key, Project, IssueType string
	// Fields are the fields as sent on create and edit (raw JSON values).
	Fields map[string]json.RawMessage
	// Labels are the issue's labels.
	Labels []string
	// Status is the status name; StatusCategory its category key (new,
	// indeterminate, done).
	Status, StatusCategory string
	// Resolution is the resolution name, "" while unresolved.
	Resolution string
	// Properties are the issue's properties by key.
	Properties map[string]json.RawMessage
	Comments   []Comment
	Created    time.Time
	// ViaServiceDesk is set for issues created as service desk requests.
	ViaServiceDesk bool
	// Links are the issue's links, oldest first.
	Links []Link
}

// Link is one issue link as seen from one of its issues.
type Link struct {
	// Type is the link type's name, e.g. "Duplicate".
	Type string
	// Description is how the link reads from this issue: the type's
	// outward description ("duplicates") when this issue is the link's
	// outward issue, else its inward one ("is duplicated by").
	Description string
	// Issue is the key of the other issue.
	Issue string
}

// Server is a running fake Jira.
type Server struct {
	// Base holds the base URL (e.g. http://127.0.0.1:41234), the request
	// log and the injected faults.
	fakehttp.Base
	// Budget is the request budget (Options.RateLimit).
	fakehttp.Budget

	opts Options

	mu          sync.Mutex
	issues      []*issue // creation order
	nextID      int
	nextComment int
	nextLink    int
	numbers     map[string]int
	searches    int
	lost        []lostAnswer
	nextHistory int
	// pushState holds the webhook and what it sent (human.go).
	pushState
}

// lostAnswer is a request to be served but not answered (LoseNext).
type lostAnswer struct {
	method, path string
	status       int
}

// New starts a fake Jira; Close stops it.
func New(opts Options) *Server {
	if opts.Flavor == "" {
		opts.Flavor = Cloud
	}
	if opts.Projects == nil {
		opts.Projects = []string{"OPS"}
	}
	if opts.IssueTypes == nil {
		opts.IssueTypes = []string{"Task", "Bug", "Incident"}
	}
	if opts.Components == nil {
		opts.Components = []string{"Compute", "Network", "Storage"}
	}
	if opts.CustomFields == nil {
		opts.CustomFields = DefaultCustomFields()
	}
	if opts.ServiceDesks == nil {
		opts.ServiceDesks = map[string]ServiceDesk{"1": {ProjectKey: "SD", RequestTypes: map[string]string{"10": "Incident"}}}
	}
	for _, d := range opts.ServiceDesks {
		if !slices.Contains(opts.Projects, d.ProjectKey) {
			opts.Projects = append(opts.Projects, d.ProjectKey)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		Budget: fakehttp.Budget{Limit: opts.RateLimit, Window: opts.RateWindow, Now: opts.Now},
		opts:   opts, nextID: 10000, nextComment: 20000, nextLink: 30000, numbers: map[string]int{},
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /rest/api/{ver}/field", s.api(s.handleFields))
	mux.HandleFunc("POST /rest/api/{ver}/issue", s.api(s.handleCreate))
	mux.HandleFunc("GET /rest/api/{ver}/issue/{issue}", s.api(s.handleGet))
	mux.HandleFunc("PUT /rest/api/{ver}/issue/{issue}", s.api(s.handleEdit))
	mux.HandleFunc("DELETE /rest/api/{ver}/issue/{issue}", s.api(s.handleDelete))
	mux.HandleFunc("GET /rest/api/{ver}/issue/{issue}/comment", s.api(s.handleListComments))
	mux.HandleFunc("POST /rest/api/{ver}/issue/{issue}/comment", s.api(s.handleAddComment))
	mux.HandleFunc("GET /rest/api/{ver}/issue/{issue}/transitions", s.api(s.handleTransitions))
	mux.HandleFunc("POST /rest/api/{ver}/issue/{issue}/transitions", s.api(s.handleTransition))
	mux.HandleFunc("GET /rest/api/{ver}/issue/{issue}/properties/{prop}", s.api(s.handleGetProperty))
	mux.HandleFunc("PUT /rest/api/{ver}/issue/{issue}/properties/{prop}", s.api(s.handlePutProperty))
	mux.HandleFunc("DELETE /rest/api/{ver}/issue/{issue}/properties/{prop}", s.api(s.handleDeleteProperty))
	mux.HandleFunc("GET /rest/api/{ver}/search", s.api(s.handleOldSearch))
	mux.HandleFunc("POST /rest/api/{ver}/search", s.api(s.handleOldSearch))
	mux.HandleFunc("GET /rest/api/{ver}/search/jql", s.api(s.handleSearchJQL))
	mux.HandleFunc("POST /rest/api/{ver}/search/jql", s.api(s.handleSearchJQL))
	mux.HandleFunc("POST /rest/api/{ver}/issueLink", s.api(s.handleIssueLink))
	mux.HandleFunc("POST /rest/servicedeskapi/request", s.api(s.handleServiceDeskRequest))
	mux.HandleFunc("/", s.api(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeErrors(w, http.StatusNotFound, []string{"No resource at " + r.URL.Path}, nil)
	}))

	s.Start(s.Logged(mux), fakehttp.ServeOptions{TLS: opts.TLS, Now: opts.Now})
	return s
}

// Flavor is the flavor the fake plays.
func (s *Server) Flavor() Flavor { return s.opts.Flavor }

// LoseNext makes the next request to method and path (e.g. "POST",
// "/rest/api/3/issue") take effect as usual while its answer is lost: with
// status 0 the connection is closed without an answer (a reset, or a
// timeout as the client sees it); otherwise status is answered with Jira's
// error envelope (a proxy or gateway that failed after Jira committed).
// Calls queue up, each losing one answer.
func (s *Server) LoseNext(method, path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = append(s.lost, lostAnswer{method: method, path: path, status: status})
}

// takeLost returns the lost answer queued for this request, if any.
func (s *Server) takeLost(r *http.Request) (lostAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.lost {
		if l.method == r.Method && l.path == r.URL.Path {
			s.lost = slices.Delete(s.lost, i, i+1)
			return l, true
		}
	}
	return lostAnswer{}, false
}

// serveLost runs h for its effect and answers with the lost answer instead.
func serveLost(w http.ResponseWriter, r *http.Request, body []byte, h apiHandler, l lostAnswer) {
	h(httptest.NewRecorder(), r, body)
	if l.status != 0 {
		writeErrors(w, l.status, []string{http.StatusText(l.status)}, nil)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // drops the answer where hijacking is not possible
	}
	_ = conn.Close()
}

// IndexAll makes every issue visible to search at once, as if the index
// had caught up.
func (s *Server) IndexAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range s.issues {
		is.hiddenSearches, is.visibleAt = 0, time.Time{}
	}
}

// Issues returns snapshots of the issues that exist, oldest first.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, is := range s.issues {
		if !is.deleted {
			out = append(out, is.snapshot())
		}
	}
	return out
}

// Issue returns a snapshot of the issue with this key or id.
func (s *Server) Issue(keyOrID string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findLocked(keyOrID)
	if is == nil {
		return Issue{}, false
	}
	return is.snapshot(), true
}

// Comments returns the comments of an issue, oldest first.
func (s *Server) Comments(keyOrID string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.findLocked(keyOrID); is != nil {
		return slices.Clone(is.comments)
	}
	return nil
}

// SetStatus moves an issue to a status of the workflow ("To Do", "In
// Progress", "Done", "Closed") with a resolution ("" clears it), as a
// person in Jira would.
func (s *Server) SetStatus(keyOrID, status, resolution string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findLocked(keyOrID)
	if is == nil {
		return fmt.Errorf("jirafake: no issue %q", keyOrID)
	}
	if _, ok := statuses[status]; !ok {
		return fmt.Errorf("jirafake: unknown status %q", status)
	}
	if resolution != "" && !slices.Contains(resolutions, resolution) {
		return fmt.Errorf("jirafake: unknown resolution %q", resolution)
	}
	s.moveLocked(is, status, resolution, User{Name: "admin", DisplayName: "Administrator"})
	return nil
}

// AddLabel adds a label to an issue behind the plugin's back (a person
// cloning an issue or editing its labels).
func (s *Server) AddLabel(keyOrID, label string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findLocked(keyOrID)
	if is == nil {
		return fmt.Errorf("jirafake: no issue %q", keyOrID)
	}
	is.labels = append(is.labels, label)
	return nil
}

// DeleteIssue deletes an issue, as a person in Jira would.
func (s *Server) DeleteIssue(keyOrID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findLocked(keyOrID)
	if is == nil {
		return false
	}
	is.deleted = true
	return true
}

type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// api wraps a handler with injected faults, the rate limit, authentication
// and the flavor's API versions, in that order.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Answer(w, "application/json", writeStatus) {
			return
		}
		if reset, limited := s.Limited(w); limited {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04Z"))
			writeErrors(w, http.StatusTooManyRequests, []string{"Rate limit exceeded."}, nil)
			return
		}
		if !s.authenticated(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
			writeErrors(w, http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
			return
		}
		if ver := r.PathValue("ver"); ver != "" {
			if ver != "2" && (ver != "3" || s.opts.Flavor != Cloud) {
				writeErrors(w, http.StatusNotFound, []string{"No REST API version " + ver + " here"}, nil)
				return
			}
		}
		body := fakehttp.Body(r)
		if l, ok := s.takeLost(r); ok {
			serveLost(w, r, body, h, l)
			return
		}
		h(w, r, body)
	}
}

func (s *Server) authenticated(r *http.Request) bool {
	o := s.opts
	if len(o.BasicUsers) == 0 && len(o.BearerTokens) == 0 {
		return true
	}
	if user, pass, ok := r.BasicAuth(); ok {
		want, known := o.BasicUsers[user]
		return known && want == pass
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return o.Flavor == DataCenter && slices.Contains(o.BearerTokens, tok)
	}
	return false
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus answers status with Jira's error envelope and the status's
// text: the answer to an injected fault without a body.
func writeStatus(w http.ResponseWriter, status int) {
	writeErrors(w, status, []string{http.StatusText(status)}, nil)
}

// writeErrors answers with Jira's error envelope.
func writeErrors(w http.ResponseWriter, status int, messages []string, errs map[string]string) {
	if messages == nil {
		messages = []string{}
	}
	if errs == nil {
		errs = map[string]string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": messages, "errors": errs})
}

// jiraTime formats a time the way Jira's REST API does.
func jiraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
