package jirafake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// clause is one JQL condition: field op value(s).
type clause struct {
	field  string
	op     string // "=", "!=", "~", "in", "not in"
	values []string
}

// jql is a parsed query: clauses joined by AND, and an ORDER BY.
type jql struct {
	clauses []clause
	order   string
	desc    bool
}

// parseJQL parses the subset of JQL the fake understands:
//
//	clause (AND clause)* [ORDER BY field [ASC|DESC]]
//	clause := field ("=" | "!=" | "~" | "IN" | "NOT IN") value | "(" value, ... ")"
//
// Fields are names, "quoted names" or cf[12345]; values are bare words or
// quoted strings, read as Jira reads them (quotedString).
func parseJQL(q string) (*jql, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	out := &jql{}
	i := 0
	peekWord := func(w string) bool { return i < len(toks) && !toks[i].quoted && strings.EqualFold(toks[i].text, w) }
	for i < len(toks) {
		if peekWord("ORDER") {
			i++
			if !peekWord("BY") {
				return nil, fmt.Errorf("expected BY after ORDER")
			}
			i++
			if i >= len(toks) {
				return nil, fmt.Errorf("expected a field after ORDER BY")
			}
			out.order = strings.ToLower(toks[i].text)
			i++
			if peekWord("DESC") {
				out.desc = true
				i++
			} else if peekWord("ASC") {
				i++
			}
			if i != len(toks) {
				return nil, fmt.Errorf("unexpected %q after ORDER BY", toks[i].text)
			}
			break
		}
		if len(out.clauses) > 0 {
			if !peekWord("AND") {
				return nil, fmt.Errorf("expected AND or ORDER BY, got %q", toks[i].text)
			}
			i++
		}
		if i+2 > len(toks) {
			return nil, fmt.Errorf("incomplete clause at the end of the query")
		}
		c := clause{field: strings.ToLower(toks[i].text)}
		i++
		switch {
		case peekWord("NOT"):
			i++
			if !peekWord("IN") {
				return nil, fmt.Errorf("expected IN after NOT")
			}
			c.op = "not in"
			i++
		case peekWord("IN"):
			c.op = "in"
			i++
		case !toks[i].quoted && slices.Contains([]string{"=", "!=", "~"}, toks[i].text):
			c.op = toks[i].text
			i++
		default:
			return nil, fmt.Errorf("expected an operator after %q, got %q", c.field, toks[i].text)
		}
		if c.op == "in" || c.op == "not in" {
			if i >= len(toks) || toks[i].text != "(" || toks[i].quoted {
				return nil, fmt.Errorf("expected ( after %s", strings.ToUpper(c.op))
			}
			i++
			for i < len(toks) && (toks[i].quoted || toks[i].text != ")") {
				if !toks[i].quoted && toks[i].text == "," {
					i++
					continue
				}
				c.values = append(c.values, toks[i].text)
				i++
			}
			if i >= len(toks) {
				return nil, fmt.Errorf("missing )")
			}
			i++
		} else {
			if i >= len(toks) {
				return nil, fmt.Errorf("expected a value after %q %s", c.field, c.op)
			}
			c.values = []string{toks[i].text}
			i++
		}
		out.clauses = append(out.clauses, c)
	}
	return out, nil
}

type token struct {
	text   string
	quoted bool
}

func tokenize(q string) ([]token, error) {
	var toks []token
	r := []rune(q)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '"' || c == '\'':
			text, n, err := quotedString(r[i:])
			if err != nil {
				return nil, err
			}
			i += n
			toks = append(toks, token{text: text, quoted: true})
		case c == '(' || c == ')' || c == ',' || c == '=' || c == '~':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '!' && i+1 < len(r) && r[i+1] == '=':
			toks = append(toks, token{text: "!="})
			i += 2
		default:
			j := i
			for j < len(r) && !unicode.IsSpace(r[j]) && !strings.ContainsRune(`()=,~!"'`, r[j]) {
				if r[j] == '[' { // cf[10010]
					for j < len(r) && r[j] != ']' {
						j++
					}
				}
				j++
			}
			toks = append(toks, token{text: string(r[i:j])})
			i = j
		}
	}
	return toks, nil
}

// quotedString reads the quoted string at the start of r as Jira's JQL
// grammar does, and returns its value and length in runes. Escapes are
// \t \n \r \" \' \\ \<space> and \uXXXX; any other escape, and a control
// character (other than a line feed or carriage return) or a
// non-character inside the quotes, is a syntax error.
func quotedString(r []rune) (string, int, error) {
	quote := r[0]
	var b strings.Builder
	for i := 1; i < len(r); i++ {
		c := r[i]
		switch {
		case c == quote:
			return b.String(), i + 1, nil
		case c == '\\':
			if i+1 >= len(r) {
				return "", 0, fmt.Errorf("unterminated string")
			}
			i++
			switch e := r[i]; e {
			case 't':
				b.WriteRune('\t')
			case 'n':
				b.WriteRune('\n')
			case 'r':
				b.WriteRune('\r')
			case '"', '\'', '\\', ' ':
				b.WriteRune(e)
			case 'u':
				if i+4 >= len(r) {
					return "", 0, fmt.Errorf("the escape sequence '\\u' needs four hexadecimal digits")
				}
				n, err := strconv.ParseUint(string(r[i+1:i+5]), 16, 16)
				if err != nil {
					return "", 0, fmt.Errorf("the escape sequence '\\u%s' in the string is not valid", string(r[i+1:i+5]))
				}
				b.WriteRune(rune(n))
				i += 4
			default:
				return "", 0, fmt.Errorf("the escape sequence '\\%c' in the string is not valid", e)
			}
		case jqlIllegal(c):
			return "", 0, fmt.Errorf("the string contains the reserved character %U; use the escape '\\u%04x' instead", c, c)
		default:
			b.WriteRune(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// jqlIllegal reports whether c may not appear as it is inside a quoted JQL
// string: control characters but line feed and carriage return, and the
// non-characters U+FDD0..U+FDEF, U+FFFE and U+FFFF.
func jqlIllegal(c rune) bool {
	return c <= 0x1f && c != '\n' && c != '\r' || c >= 0x7f && c <= 0x9f ||
		c >= 0xfdd0 && c <= 0xfdef || c == 0xfffe || c == 0xffff
}

// matchLocked reports whether an issue satisfies every clause.
func (s *Server) matchLocked(is *issue, q *jql) (bool, error) {
	for _, c := range q.clauses {
		vals, err := s.valuesLocked(is, c.field)
		if err != nil {
			return false, err
		}
		if !clauseMatches(c, vals) {
			return false, nil
		}
	}
	return true, nil
}

func clauseMatches(c clause, vals []string) bool {
	anyEq := func(want string) bool {
		for _, v := range vals {
			if strings.EqualFold(v, want) {
				return true
			}
		}
		return false
	}
	switch c.op {
	case "=":
		return anyEq(c.values[0])
	case "!=":
		return !anyEq(c.values[0])
	case "in", "not in":
		found := false
		for _, w := range c.values {
			found = found || anyEq(w)
		}
		return found == (c.op == "in")
	case "~":
		// Text search: a "phrase" in the value is matched as a substring.
		phrase := c.values[0]
		if len(phrase) >= 2 && strings.HasPrefix(phrase, `"`) && strings.HasSuffix(phrase, `"`) {
			phrase = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(phrase[1 : len(phrase)-1])
		}
		phrase = strings.ToLower(phrase)
		for _, v := range vals {
			if strings.Contains(strings.ToLower(v), phrase) {
				return true
			}
		}
	}
	return false
}

// valuesLocked returns the searchable values of a field of an issue.
func (s *Server) valuesLocked(is *issue, field string) ([]string, error) {
	switch field {
	case "project":
		return []string{is.project}, nil
	case "key", "issuekey":
		return []string{is.key}, nil
	case "id":
		return []string{is.id}, nil
	case "issue":
		return []string{is.key, is.id}, nil
	case "labels":
		return is.labels, nil
	case "status":
		return []string{is.status}, nil
	case "statuscategory":
		cat := statuses[is.status].category
		return []string{cat, categoryName(cat)}, nil
	case "resolution":
		if is.resolution == "" {
			return []string{"Unresolved"}, nil
		}
		return []string{is.resolution}, nil
	case "issuetype", "type":
		return []string{is.issueType}, nil
	case "summary", "description", "text":
		return []string{plainText(is.fields["summary"]), plainText(is.fields["description"])}, nil
	}
	id := ""
	if n, ok := strings.CutPrefix(field, "cf["); ok {
		id = "customfield_" + strings.TrimSuffix(n, "]")
	}
	for _, f := range s.opts.CustomFields {
		if f.ID == id || f.ID == field || strings.EqualFold(f.Name, field) {
			return fieldStrings(is.fields[f.ID]), nil
		}
	}
	//lint:ignore ST1005 Jira's own message, answered verbatim
	return nil, fmt.Errorf("Field '%s' does not exist or you do not have permission to view it.", field)
}

// fieldStrings flattens a stored field value to strings.
func fieldStrings(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch y := x.(type) {
		case string:
			out = append(out, y)
		case float64:
			out = append(out, strconv.FormatFloat(y, 'f', -1, 64))
		case []any:
			for _, e := range y {
				walk(e)
			}
		case map[string]any:
			if y["type"] == "doc" {
				out = append(out, plainText(raw))
				return
			}
			for _, k := range []string{"value", "name", "key"} {
				if sv, ok := y[k].(string); ok {
					out = append(out, sv)
					return
				}
			}
		}
	}
	walk(v)
	return out
}

// searchLocked runs q over the index and returns the matching issues in
// order. An issue not yet indexed is skipped (and counts one more search
// towards its visibility) unless its id is in reconcile.
func (s *Server) searchLocked(q *jql, reconcile []string) ([]*issue, error) {
	s.searches++
	now := s.opts.Now()
	var out []*issue
	for _, is := range s.issues {
		if is.deleted {
			continue
		}
		ok, err := s.matchLocked(is, q)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if !slices.Contains(reconcile, is.id) {
			if is.hiddenSearches > 0 {
				is.hiddenSearches--
				continue
			}
			if now.Before(is.visibleAt) {
				continue
			}
		}
		out = append(out, is)
	}
	less := func(a, b *issue) int {
		var c int
		switch q.order {
		case "key", "issuekey", "id", "created", "":
			ai, _ := strconv.Atoi(a.id)
			bi, _ := strconv.Atoi(b.id)
			c = ai - bi
			if q.order == "created" && !a.created.Equal(b.created) {
				c = a.created.Compare(b.created)
			}
		default:
			c = strings.Compare(a.key, b.key)
		}
		if q.desc || q.order == "" {
			return -c
		}
		return c
	}
	slices.SortStableFunc(out, less)
	return out, nil
}

// searchParams are the parameters of both search APIs, from the query
// string (GET) or the body (POST).
type searchParams struct {
	JQL             string   `json:"jql"`
	StartAt         int      `json:"startAt"`
	MaxResults      *int     `json:"maxResults"`
	NextPageToken   string   `json:"nextPageToken"`
	Fields          []string `json:"fields"`
	Properties      []string `json:"properties"`
	ReconcileIssues []int    `json:"reconcileIssues"`
	// Expand is a comma-separated string (Cloud's /search/jql) or an
	// array of strings (/search).
	Expand json.RawMessage `json:"expand"`
	// ValidateQuery is the old search's "strict" (default), "warn" or
	// "none"; true and false read as strict and none.
	ValidateQuery json.RawMessage `json:"validateQuery"`
}

// validation is how the old search treats a JQL value naming nothing:
// "strict" fails, "warn" warns, "none" says nothing.
func (p searchParams) validation() string {
	var s string
	if json.Unmarshal(p.ValidateQuery, &s) == nil && (s == "warn" || s == "none") {
		return s
	}
	var b bool
	if json.Unmarshal(p.ValidateQuery, &b) == nil && !b {
		return "none"
	}
	return "strict"
}

// missingIssuesLocked returns Jira's message for each issue an issue, key
// or id clause of q names that does not exist (deleted ones included).
func (s *Server) missingIssuesLocked(q *jql) []string {
	var out []string
	for _, c := range q.clauses {
		switch c.field {
		case "issue", "key", "issuekey", "id":
		default:
			continue
		}
		for _, v := range c.values {
			if s.findLocked(v) == nil && s.findLocked(strings.ToUpper(v)) == nil {
				out = append(out, fmt.Sprintf("An issue with key '%s' does not exist for field '%s'.", v, c.field))
			}
		}
	}
	return out
}

func readSearchParams(r *http.Request, body []byte) (searchParams, error) {
	var p searchParams
	if r.Method == http.MethodPost {
		if err := json.Unmarshal(body, &p); err != nil {
			//lint:ignore ST1005 Jira's own message, answered verbatim
			return p, fmt.Errorf("Unexpected character in request body: %v", err)
		}
		return p, nil
	}
	q := r.URL.Query()
	p.JQL = q.Get("jql")
	p.StartAt, _ = strconv.Atoi(q.Get("startAt"))
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, fmt.Errorf("maxResults is not a number")
		}
		p.MaxResults = &n
	}
	p.NextPageToken = q.Get("nextPageToken")
	if v := q.Get("expand"); v != "" {
		p.Expand, _ = json.Marshal(v)
	}
	if v := q.Get("validateQuery"); v != "" {
		p.ValidateQuery, _ = json.Marshal(v)
	}
	p.Fields = splitList(q.Get("fields"))
	p.Properties = splitList(q.Get("properties"))
	for _, id := range splitList(q.Get("reconcileIssues")) {
		n, err := strconv.Atoi(id)
		if err != nil {
			return p, fmt.Errorf("reconcileIssues must be issue ids")
		}
		p.ReconcileIssues = append(p.ReconcileIssues, n)
	}
	return p, nil
}

// readSearch reads a search request's parameters and parses its JQL; when
// either is invalid it answers 400 and reports false.
func readSearch(w http.ResponseWriter, r *http.Request, body []byte) (searchParams, *jql, bool) {
	p, err := readSearchParams(r, body)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return p, nil, false
	}
	q, err := parseJQL(p.JQL)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Error in the JQL Query: " + err.Error()}, nil)
		return p, nil, false
	}
	return p, q, true
}

// handleOldSearch is /rest/api/{2,3}/search: removed on Cloud, the search
// API of Data Center.
func (s *Server) handleOldSearch(w http.ResponseWriter, r *http.Request, body []byte) {
	if s.opts.Flavor == Cloud {
		writeErrors(w, http.StatusGone, []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. " +
			"A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"}, nil)
		return
	}
	p, q, ok := readSearch(w, r, body)
	if !ok {
		return
	}
	limit := 50
	if p.MaxResults != nil {
		limit = min(max(*p.MaxResults, 0), 1000)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	missing := s.missingIssuesLocked(q)
	if len(missing) > 0 && p.validation() == "strict" {
		writeErrors(w, http.StatusBadRequest, missing, nil)
		return
	}
	found, err := s.searchLocked(q, nil)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	changelog := expandsChangelog(p.Expand)
	issues := []map[string]any{}
	for i := p.StartAt; i < len(found) && len(issues) < limit; i++ {
		m := s.renderLocked(r.PathValue("ver"), found[i], p.Fields, p.Properties, true)
		if changelog {
			m["changelog"] = s.changelogLocked(found[i], false)
		}
		issues = append(issues, m)
	}
	out := map[string]any{
		"expand": "schema,names", "startAt": p.StartAt, "maxResults": limit, "total": len(found), "issues": issues,
	}
	if len(missing) > 0 && p.validation() == "warn" {
		out["warningMessages"] = missing
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSearchJQL is Cloud's /rest/api/3/search/jql with token paging.
func (s *Server) handleSearchJQL(w http.ResponseWriter, r *http.Request, body []byte) {
	if s.opts.Flavor != Cloud {
		writeErrors(w, http.StatusNotFound, []string{"No resource at " + r.URL.Path}, nil)
		return
	}
	p, q, ok := readSearch(w, r, body)
	if !ok {
		return
	}
	if len(q.clauses) == 0 {
		writeErrors(w, http.StatusBadRequest, []string{"Unbounded JQL queries are not allowed here. Please add a search restriction to your query."}, nil)
		return
	}
	if len(p.ReconcileIssues) > 50 {
		writeErrors(w, http.StatusBadRequest, []string{"reconcileIssues accepts at most 50 issue ids."}, nil)
		return
	}
	start := 0
	if p.NextPageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(p.NextPageToken)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || convErr != nil || n < 0 {
			writeErrors(w, http.StatusBadRequest, []string{"The nextPageToken is invalid."}, nil)
			return
		}
		start = n
	}
	limit := 50
	if p.MaxResults != nil {
		limit = min(max(*p.MaxResults, 1), 5000)
	}
	var reconcile []string
	for _, id := range p.ReconcileIssues {
		reconcile = append(reconcile, strconv.Itoa(id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if missing := s.missingIssuesLocked(q); len(missing) > 0 {
		writeErrors(w, http.StatusBadRequest, missing, nil)
		return
	}
	found, err := s.searchLocked(q, reconcile)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	changelog := expandsChangelog(p.Expand)
	issues := []map[string]any{}
	i := start
	for ; i < len(found) && len(issues) < limit; i++ {
		// Cloud returns only ids unless fields are asked for.
		m := s.renderLocked(r.PathValue("ver"), found[i], p.Fields, p.Properties, false)
		if changelog {
			m["changelog"] = s.changelogLocked(found[i], true)
		}
		issues = append(issues, m)
	}
	out := map[string]any{"issues": issues, "isLast": i >= len(found)}
	if i < len(found) {
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
	}
	writeJSON(w, http.StatusOK, out)
}
