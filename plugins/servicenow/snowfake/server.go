// Package snowfake is an in-memory ServiceNow instance for tests, served on
// a real loopback HTTP(S) server. It speaks the parts of the platform the
// connector uses, the way an instance does:
//
//   - the Table API (/api/now/table/{table}[/{sys_id}]): {"result": ...}
//     envelopes, 201 with Location on create, every value a string,
//     reference fields as {"link","value"} unless
//     sysparm_exclude_reference_link=true, sysparm_fields, sysparm_limit,
//     sysparm_offset and sysparm_query with ^, ^OR, ORDERBY, ORDERBYDESC,
//     =, !=, LIKE, NOTLIKE, STARTSWITH, ENDSWITH, IN, ISEMPTY, ISNOTEMPTY;
//   - journal fields (work_notes, comments) that append to a journal and
//     read back empty;
//   - the task_ci table (a task's Affected CIs), its task and ci_item
//     reference fields rendered like the incident's;
//   - table-level ACLs a test can deny (Deny), answered as an instance
//     answers a user who lacks the role: 403 with "ACL Exception … Failed
//     due to security constraints" on writes, "User Not Authorized" on
//     reads;
//   - the error envelope {"error":{"message","detail"},"status":"failure"};
//   - an optional data policy that rejects resolving an incident without
//     close_code and close_notes;
//   - a request budget per window answered with 429, Retry-After and
//     X-RateLimit-Reset once spent;
//   - the OAuth token endpoint /oauth_token.do (password, client_credentials
//     and refresh_token grants);
//   - Event Management's /api/global/em/jsonv2;
//   - server-side script in encoded queries: a condition value beginning
//     with "javascript:" (any case, after leading blanks) is script an
//     instance runs. The fake cannot run it; it records the query
//     (ScriptQueries) and matches the value as the empty result such a
//     script usually returns;
//   - a hibernating mode that answers every request with 200 and an HTML
//     page, like a sleeping developer instance;
//   - sysparm_display_value=true|all: choice labels, the display field of
//     referenced records, date-times in the instance's time zone
//     (display.go);
//   - people acting in the UI (ResolveAs, CloseAs, CancelAs, ReopenAs,
//     EditAs, DeleteAs, with users from AddUser): the incident's business
//     rules set resolved_by, closed_by and sys_updated_by to the person,
//     and a business rule's outbound REST message pushes each change when
//     PushTo is set (human.go). Table API writes act as the basic auth
//     user, else "admin".
//
// Every request is logged for assertions; faults injected with FailNext,
// FailAll and FailTable answer API requests, never the token endpoint, and
// a fault without a body answers with the error envelope. A Server is safe for
// concurrent use.
package snowfake

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Options configure a fake instance. The zero value is an open instance
// (no authentication) without rate limits or data policies.
type Options struct {
	// BasicUsers maps user names to the passwords accepted with basic auth.
	BasicUsers map[string]string
	// APIKeys are the tokens accepted in the x-sn-apikey header.
	APIKeys []string
	// OAuthClients maps OAuth client ids to their secrets. The password
	// grant checks user credentials against BasicUsers.
	OAuthClients map[string]string
	// TokenTTL is the lifetime of issued access tokens (expires_in);
	// default 1799s, an instance's default.
	TokenTTL time.Duration
	// NoRefreshTokens stops the password grant from offering a refresh
	// token. The client_credentials grant never offers one.
	NoRefreshTokens bool
	// RequireCloseCode enables a data policy: an incident moved to Resolved
	// (6) or Closed (7) must have close_code and close_notes.
	RequireCloseCode bool
	// RateLimit is the number of API requests allowed per RateWindow; zero
	// means unlimited. The token endpoint is not counted.
	RateLimit int
	// RateWindow is the rate-limit window; default one minute.
	RateWindow time.Duration
	// TLS serves HTTPS with a self-signed certificate (see CertPEM).
	TLS bool
	// ClientCAs, when set, serves HTTPS and requires a client certificate
	// signed by one of them; a verified certificate authenticates a request.
	ClientCAs *x509.CertPool
	// Now is the fake's clock (token expiry, rate windows, timestamps);
	// default time.Now.
	Now func() time.Time
}

// Request is one logged request.
type Request = fakehttp.Request

// JournalEntry is one value written to a journal field.
type JournalEntry struct {
	Table   string
	SysID   string
	Field   string
	Value   string
	Created time.Time
}

// Server is a running fake instance.
type Server struct {
	// Base holds the instance URL (e.g. http://127.0.0.1:41234), the
	// request log and the injected faults.
	fakehttp.Base
	// Budget is the API's request budget (Options.RateLimit).
	fakehttp.Budget

	opts Options

	mu          sync.Mutex
	records     map[string]map[string]*record // table → sys_id → record
	seq         int
	lastCreated time.Time
	numbers     map[string]int
	journal     []JournalEntry
	events      []map[string]string
	scripts     []string                   // encoded queries that carried server-side script
	tokens      map[string]time.Time       // access token → expiry
	refresh     map[string]string          // refresh token → client id
	denied      map[string]map[string]bool // table → denied ACL operations
	tableFaults []tableFault
	hibernating bool
	push        Push           // where people's changes are pushed (human.go)
	pushes      fakehttp.Hooks // pushes sent
}

// tableFault is a fault for one method on one table (FailTable).
type tableFault struct {
	method, table string
	fault         fakehttp.Fault
}

type record struct {
	table  string
	fields map[string]string
	seq    int
}

// referenceFields name, per table, the fields that reference another table.
var referenceFields = map[string]map[string]string{
	"incident": {
		"cmdb_ci":          "cmdb_ci",
		"caller_id":        "sys_user",
		"assignment_group": "sys_user_group",
		"assigned_to":      "sys_user",
		"opened_by":        "sys_user",
		"resolved_by":      "sys_user",
		"closed_by":        "sys_user",
	},
	"task_ci": {
		"task":    "task",
		"ci_item": "cmdb_ci",
	},
}

// ACL operations, as an instance names them, for [Server.Deny].
const (
	OpRead   = "read"
	OpCreate = "create"
	OpWrite  = "write"
	OpDelete = "delete"
)

// aclFailures are the instance's 403 error details per denied write
// operation.
var aclFailures = map[string]string{
	OpCreate: "ACL Exception Insert Failed due to security constraints",
	OpWrite:  "ACL Exception Update Failed due to security constraints",
	OpDelete: "ACL Exception Delete Failed due to security constraints",
}

// journalFields are write-only fields whose values go to the journal.
var journalFields = map[string]bool{"work_notes": true, "comments": true}

// New starts a fake instance; Close stops it.
func New(opts Options) *Server {
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 1799 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		Budget:  fakehttp.Budget{Limit: opts.RateLimit, Window: opts.RateWindow, Now: opts.Now},
		opts:    opts,
		records: map[string]map[string]*record{},
		numbers: map[string]int{},
		tokens:  map[string]time.Time{},
		refresh: map[string]string{},
		denied:  map[string]map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth_token.do", s.handleToken)
	mux.HandleFunc("GET /api/now/table/{table}", s.api(s.handleList))
	mux.HandleFunc("POST /api/now/table/{table}", s.api(s.handleInsert))
	mux.HandleFunc("GET /api/now/table/{table}/{sys_id}", s.api(s.handleGet))
	mux.HandleFunc("PATCH /api/now/table/{table}/{sys_id}", s.api(s.handleUpdate))
	mux.HandleFunc("PUT /api/now/table/{table}/{sys_id}", s.api(s.handleUpdate))
	mux.HandleFunc("DELETE /api/now/table/{table}/{sys_id}", s.api(s.handleDelete))
	mux.HandleFunc("POST /api/global/em/jsonv2", s.api(s.handleEvents))
	mux.HandleFunc("/", s.api(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeError(w, http.StatusBadRequest, "Requested URI does not represent any resource", "")
	}))

	s.Start(s.Logged(mux), fakehttp.ServeOptions{TLS: opts.TLS, ClientCAs: opts.ClientCAs, Now: opts.Now})
	return s
}

// SetHibernating makes every request answer 200 with an HTML page, as a
// hibernating instance does, until called with false.
func (s *Server) SetHibernating(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hibernating = on
}

// Deny makes every caller lack the table-level ACLs for ops (OpRead,
// OpCreate, OpWrite, OpDelete) on exactly table, as when the integration
// user misses a role; Deny(table) with no operations grants them again.
// Denials apply to the Table API only.
func (s *Server) Deny(table string, ops ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ops) == 0 {
		delete(s.denied, table)
		return
	}
	m := map[string]bool{}
	for _, op := range ops {
		m[op] = true
	}
	s.denied[table] = m
}

// deniedLocked answers a request that table's ACLs deny op, and reports
// whether it did.
func (s *Server) deniedLocked(w http.ResponseWriter, table, op string) bool {
	if !s.denied[table][op] {
		return false
	}
	if op == OpRead {
		writeError(w, http.StatusForbidden, "User Not Authorized", "Not authorized")
	} else {
		writeError(w, http.StatusForbidden, "Operation Failed", aclFailures[op])
	}
	return true
}

// FailTable makes the next n Table API requests with method on table
// answer with status, header and the error envelope, whatever else is
// going on: a fault on one table (say a 503 from a slow business rule on
// task_ci) while the others work. Faults set with FailNext and FailAll are
// answered first; Heal does not clear these.
func (s *Server) FailTable(method, table string, n, status int, header http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.tableFaults = append(s.tableFaults, tableFault{method: method, table: table, fault: fakehttp.Fault{Status: status, Header: header}})
	}
}

// nextTableFault uses up the first fault set for r's method and table.
func (s *Server) nextTableFault(r *http.Request) (fakehttp.Fault, bool) {
	table := r.PathValue("table")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.tableFaults {
		if table != "" && f.table == table && f.method == r.Method {
			s.tableFaults = append(s.tableFaults[:i:i], s.tableFaults[i+1:]...)
			return f.fault, true
		}
	}
	return fakehttp.Fault{}, false
}

// ExpireTokens invalidates every issued access token; refresh tokens stay
// valid.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// RevokeRefreshTokens invalidates every issued refresh token.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// Seed inserts a record into table as is (plus sys_id, sys_class_name and
// timestamps when missing) and returns its sys_id. Tests seed CMDB classes
// this way: a record seeded into cmdb_ci_vm_instance is also found by
// queries on cmdb_ci, as on an instance.
func (s *Server) Seed(table string, fields map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := map[string]string{}
	for k, v := range fields {
		f[k] = v
	}
	if f["sys_class_name"] == "" {
		f["sys_class_name"] = table
	}
	return s.insertLocked(table, f).fields["sys_id"]
}

// Records returns copies of the records stored in table (exactly that
// table, not its child classes), oldest first.
func (s *Server) Records(table string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.tableRecordsLocked(table, false)
	query{}.sortRecords(recs)
	out := make([]map[string]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, copyMap(r.fields))
	}
	return out
}

// Record returns a copy of one record, or nil.
func (s *Server) Record(table, sysID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[table][sysID]; r != nil {
		return copyMap(r.fields)
	}
	return nil
}

// Journal returns the journal entries written to one record's field
// (work_notes or comments), oldest first.
func (s *Server) Journal(table, sysID, field string) []JournalEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []JournalEntry
	for _, e := range s.journal {
		if e.Table == table && e.SysID == sysID && e.Field == field {
			out = append(out, e)
		}
	}
	return out
}

// ScriptQueries returns the encoded queries (sysparm_query) that carried
// a "javascript:" value, which an instance would have evaluated as
// server-side script, oldest first.
func (s *Server) ScriptQueries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scripts...)
}

// Events returns the events received on em/jsonv2, oldest first.
func (s *Server) Events() []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]string, 0, len(s.events))
	for _, e := range s.events {
		out = append(out, copyMap(e))
	}
	return out
}

type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// api wraps a Table/EM API handler with hibernation, injected faults, the
// rate limit and authentication, in that order.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.hibernating {
			s.mu.Unlock()
			writeHibernating(w)
			return
		}
		s.mu.Unlock()
		f, ok := s.NextFault()
		if !ok {
			f, ok = s.nextTableFault(r)
		}
		if ok {
			f.Write(w, "", func(w http.ResponseWriter, status int) {
				writeError(w, status, http.StatusText(status), "")
			})
			return
		}
		if reset, limited := s.Limited(w); limited {
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			writeError(w, http.StatusTooManyRequests, "Too many requests",
				"The rate limit for this user has been exceeded")
			return
		}
		s.mu.Lock()
		authed := s.authenticatedLocked(r)
		s.mu.Unlock()
		if !authed {
			writeError(w, http.StatusUnauthorized, "User Not Authenticated", "Required to provide Auth information")
			return
		}
		h(w, r, fakehttp.Body(r))
	}
}

func (s *Server) authenticatedLocked(r *http.Request) bool {
	o := s.opts
	if len(o.BasicUsers) == 0 && len(o.APIKeys) == 0 && len(o.OAuthClients) == 0 && o.ClientCAs == nil {
		return true
	}
	if o.ClientCAs != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if key := r.Header.Get("x-sn-apikey"); key != "" {
		for _, k := range o.APIKeys {
			if k == key {
				return true
			}
		}
		return false
	}
	if user, pass, ok := r.BasicAuth(); ok {
		want, known := o.BasicUsers[user]
		return known && want == pass
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		exp, known := s.tokens[tok]
		return known && o.Now().Before(exp)
	}
	return false
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "form-encoded body required")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hibernating {
		writeHibernating(w)
		return
	}
	client := r.PostForm.Get("client_id")
	secret, known := s.opts.OAuthClients[client]
	if !known || secret != r.PostForm.Get("client_secret") {
		writeOAuthError(w, http.StatusUnauthorized, "server_error", "access_denied")
		return
	}
	offerRefresh := false
	switch r.PostForm.Get("grant_type") {
	case "password":
		want, ok := s.opts.BasicUsers[r.PostForm.Get("username")]
		if !ok || want != r.PostForm.Get("password") {
			writeOAuthError(w, http.StatusUnauthorized, "server_error", "access_denied")
			return
		}
		offerRefresh = !s.opts.NoRefreshTokens
	case "client_credentials":
	case "refresh_token":
		owner, ok := s.refresh[r.PostForm.Get("refresh_token")]
		if !ok || owner != client {
			writeOAuthError(w, http.StatusUnauthorized, "server_error", "access_denied")
			return
		}
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant type")
		return
	}
	access := randomHex(32)
	s.tokens[access] = s.opts.Now().Add(s.opts.TokenTTL)
	resp := map[string]any{
		"access_token": access,
		"scope":        "useraccount",
		"token_type":   "Bearer",
		"expires_in":   int(s.opts.TokenTTL / time.Second),
	}
	if offerRefresh {
		ref := randomHex(32)
		s.refresh[ref] = client
		resp["refresh_token"] = ref
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, _ []byte) {
	table := r.PathValue("table")
	p := r.URL.Query()
	q, err := parseQuery(p.Get("sysparm_query"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid query", err.Error())
		return
	}
	limit, offset := 10000, 0
	if v := p.Get("sysparm_limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeError(w, http.StatusBadRequest, "Invalid sysparm_limit", v)
			return
		}
	}
	if v := p.Get("sysparm_offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeError(w, http.StatusBadRequest, "Invalid sysparm_offset", v)
			return
		}
	}
	s.mu.Lock()
	if q.script {
		s.scripts = append(s.scripts, p.Get("sysparm_query"))
	}
	if !s.knownTableLocked(table) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "Invalid table "+table, "")
		return
	}
	if s.deniedLocked(w, table, OpRead) {
		s.mu.Unlock()
		return
	}
	var hits []*record
	for _, rec := range s.tableRecordsLocked(table, true) {
		if q.matches(rec.fields) {
			hits = append(hits, rec)
		}
	}
	q.sortRecords(hits)
	total := len(hits)
	hits = hits[min(offset, len(hits)):]
	hits = hits[:min(limit, len(hits))]
	out := make([]map[string]any, 0, len(hits))
	for _, rec := range hits {
		out = append(out, s.renderLocked(rec, p))
	}
	s.mu.Unlock()
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, map[string]any{"result": out})
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deniedLocked(w, r.PathValue("table"), OpRead) {
		return
	}
	rec := s.findLocked(r.PathValue("table"), r.PathValue("sys_id"))
	if rec == nil {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": s.renderLocked(rec, r.URL.Query())})
}

func (s *Server) handleInsert(w http.ResponseWriter, r *http.Request, body []byte) {
	table := r.PathValue("table")
	fields, err := decodeFields(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Exception while reading request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownTableLocked(table) {
		writeError(w, http.StatusBadRequest, "Invalid table "+table, "")
		return
	}
	if s.deniedLocked(w, table, OpCreate) {
		return
	}
	stored := map[string]string{}
	var notes []JournalEntry
	for k, v := range fields {
		if journalFields[k] {
			if v != "" {
				notes = append(notes, JournalEntry{Table: table, Field: k, Value: v})
			}
			continue
		}
		if k == "sys_id" && v == "" {
			continue
		}
		stored[k] = v
	}
	if table == "incident" {
		if msg := s.dataPolicy(stored); msg != "" {
			writeError(w, http.StatusForbidden, "Operation Failed", msg)
			return
		}
	}
	rec := s.insertLocked(table, stored)
	for _, n := range notes {
		n.SysID, n.Created = rec.fields["sys_id"], s.opts.Now()
		s.journal = append(s.journal, n)
	}
	w.Header().Set("Location", s.URL+"/api/now/table/"+table+"/"+rec.fields["sys_id"])
	writeJSON(w, http.StatusCreated, map[string]any{"result": s.renderLocked(rec, r.URL.Query())})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, body []byte) {
	table := r.PathValue("table")
	fields, err := decodeFields(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Exception while reading request", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(table, r.PathValue("sys_id"))
	if rec == nil {
		writeNotFound(w)
		return
	}
	if s.deniedLocked(w, table, OpWrite) {
		return
	}
	next := copyMap(rec.fields)
	var notes []JournalEntry
	for k, v := range fields {
		switch {
		case journalFields[k]:
			if v != "" {
				notes = append(notes, JournalEntry{Table: rec.table, SysID: rec.fields["sys_id"], Field: k, Value: v})
			}
		case strings.HasPrefix(k, "sys_"), k == "number":
			// System fields are read-only.
		default:
			next[k] = v
		}
	}
	if rec.table == "incident" {
		if msg := s.dataPolicy(next); msg != "" {
			writeError(w, http.StatusForbidden, "Operation Failed", msg)
			return
		}
		s.incidentRulesLocked(rec.fields, next, apiUser(r))
	}
	now := s.opts.Now()
	next["sys_updated_on"] = formatTime(now)
	next["sys_updated_by"] = apiUser(r)
	next["sys_mod_count"] = strconv.Itoa(atoi(next["sys_mod_count"]) + 1)
	rec.fields = next
	for _, n := range notes {
		n.Created = now
		s.journal = append(s.journal, n)
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": s.renderLocked(rec, r.URL.Query())})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(r.PathValue("table"), r.PathValue("sys_id"))
	if rec == nil {
		writeNotFound(w)
		return
	}
	if s.deniedLocked(w, r.PathValue("table"), OpDelete) {
		return
	}
	delete(s.records[rec.table], rec.fields["sys_id"])
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleEvents(w http.ResponseWriter, _ *http.Request, body []byte) {
	var payload struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Records == nil {
		writeError(w, http.StatusBadRequest, "Invalid request body", `expected {"records":[...]}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range payload.Records {
		ev := map[string]string{}
		for k, v := range r {
			ev[k] = sdktext.Scalar(v)
		}
		if ev["source"] == "" {
			writeError(w, http.StatusBadRequest, "Invalid event", fmt.Sprintf("record %d has no source", i))
			return
		}
		if sev := ev["severity"]; sev < "0" || sev > "5" || len(sev) != 1 {
			writeError(w, http.StatusBadRequest, "Invalid event", fmt.Sprintf("record %d has severity %q, want 0-5", i, sev))
			return
		}
		s.events = append(s.events, ev)
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]string{
		"Default Bulk Endpoint": fmt.Sprintf("%d events were inserted", len(payload.Records)),
	}})
}

// dataPolicy returns the violation message for an incident, or "".
func (s *Server) dataPolicy(f map[string]string) string {
	if !s.opts.RequireCloseCode || (f["state"] != "6" && f["state"] != "7") {
		return ""
	}
	var missing []string
	if f["close_code"] == "" {
		missing = append(missing, "Resolution code")
	}
	if f["close_notes"] == "" {
		missing = append(missing, "Resolution notes")
	}
	if len(missing) == 0 {
		return ""
	}
	return "Data Policy Exception: \n The following fields are mandatory: " + strings.Join(missing, ", ") + "\n"
}

// incidentRulesLocked mimics the business rules an update by the user
// named actor (a sys_user's user_name) triggers: who resolved or closed
// the incident and when.
func (s *Server) incidentRulesLocked(prev, next map[string]string, actor string) {
	now := formatTime(s.opts.Now())
	next["priority"] = priority(next["impact"], next["urgency"])
	if prev["state"] == next["state"] {
		return
	}
	switch next["state"] {
	case "6":
		next["resolved_at"] = now
		next["resolved_by"] = s.userIDLocked(actor)
	case "7":
		next["closed_at"] = now
		next["closed_by"] = s.userIDLocked(actor)
		next["active"] = "false"
	case "8":
		next["active"] = "false"
	default:
		if prev["state"] == "6" || prev["state"] == "7" {
			next["reopen_count"] = strconv.Itoa(atoi(next["reopen_count"]) + 1)
			next["reopened_time"] = now
			next["resolved_at"] = ""
			next["resolved_by"] = ""
			next["active"] = "true"
		}
	}
}

func (s *Server) insertLocked(table string, f map[string]string) *record {
	s.seq++
	now := s.opts.Now().UTC().Truncate(time.Second)
	if !now.After(s.lastCreated) {
		now = s.lastCreated.Add(time.Second) // keep sys_created_on strictly increasing
	}
	s.lastCreated = now
	if f["sys_id"] == "" {
		f["sys_id"] = randomHex(16)
	}
	set := func(k, v string) {
		if f[k] == "" {
			f[k] = v
		}
	}
	set("sys_created_on", formatTime(now))
	set("sys_updated_on", formatTime(now))
	set("sys_created_by", "admin")
	set("sys_mod_count", "0")
	if table == "incident" {
		s.numbers[table]++
		f["number"] = fmt.Sprintf("INC%07d", 10000+s.numbers[table])
		set("state", "1")
		set("impact", "3")
		set("urgency", "3")
		set("active", "true")
		set("opened_at", formatTime(now))
		set("reopen_count", "0")
		f["priority"] = priority(f["impact"], f["urgency"])
	}
	if s.records[table] == nil {
		s.records[table] = map[string]*record{}
	}
	rec := &record{table: table, fields: f, seq: s.seq}
	s.records[table][f["sys_id"]] = rec
	return rec
}

// builtinTables exist on every instance, with or without records.
var builtinTables = map[string]bool{"incident": true, "cmdb_ci": true, "task_ci": true}

// knownTableLocked: the built-in tables and any seeded table exist.
func (s *Server) knownTableLocked(table string) bool {
	return builtinTables[table] || s.records[table] != nil
}

// tableRecordsLocked returns table's records, with withChildren also those
// of child classes (cmdb_ci_* under cmdb_ci).
func (s *Server) tableRecordsLocked(table string, withChildren bool) []*record {
	var out []*record
	for name, recs := range s.records {
		if name != table && !(withChildren && table == "cmdb_ci" && strings.HasPrefix(name, "cmdb_ci_")) {
			continue
		}
		for _, r := range recs {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) findLocked(table, sysID string) *record {
	for _, r := range s.tableRecordsLocked(table, true) {
		if r.fields["sys_id"] == sysID {
			return r
		}
	}
	return nil
}

// renderLocked shapes a record for a response: sysparm_fields, reference
// links, sysparm_display_value (display.go), journal fields empty.
func (s *Server) renderLocked(rec *record, p url.Values) map[string]any {
	excludeLinks := p.Get("sysparm_exclude_reference_link") == "true"
	var names []string
	if f := p.Get("sysparm_fields"); f != "" {
		names = strings.Split(f, ",")
	} else {
		for k := range rec.fields {
			names = append(names, k)
		}
		if rec.table == "incident" {
			names = append(names, "work_notes", "comments")
		}
	}
	display := p.Get("sysparm_display_value")
	out := map[string]any{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		v := rec.fields[name]
		if display == "true" || display == "all" {
			out[name] = s.renderDisplayLocked(rec, name, v, display, excludeLinks)
			continue
		}
		if ref, ok := referenceFields[rec.table][name]; ok && v != "" && !excludeLinks {
			out[name] = map[string]string{"link": s.URL + "/api/now/table/" + ref + "/" + v, "value": v}
			continue
		}
		out[name] = v
	}
	return out
}

func decodeFields(body []byte) (map[string]string, error) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("request body is not a JSON object: %w", err)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = sdktext.Scalar(v)
	}
	return out, nil
}

// priority is the default incident priority lookup: impact × urgency.
func priority(impact, urgency string) string {
	i, u := atoi(impact), atoi(urgency)
	if i < 1 || i > 3 || u < 1 || u > 3 {
		return "5"
	}
	return strconv.Itoa([3][3]int{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}[i-1][u-1])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, message, detail string) {
	var d any
	if detail != "" {
		d = detail
	}
	writeJSON(w, status, map[string]any{
		"error":  map[string]any{"message": message, "detail": d},
		"status": "failure",
	})
}

func writeNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// HibernatingPage is the body a hibernating instance answers with.
const HibernatingPage = `<!DOCTYPE html><html><head><title>Instance Hibernating page</title></head>` +
	`<body><h1>Your instance is hibernating</h1><p>Sign in to wake it up.</p></body></html>`

func writeHibernating(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, HibernatingPage)
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
