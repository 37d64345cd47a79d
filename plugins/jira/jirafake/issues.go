package jirafake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// issue is one stored issue.
type issue struct {
	id, key, project, issueType string
	fields                      map[string]json.RawMessage
	labels                      []string
	status, resolution          string
	properties                  map[string]json.RawMessage
	comments                    []Comment
	created                     time.Time
	serviceDesk                 bool
	deleted                     bool
	links                       []*issueLink
	resolutionDate              time.Time
	histories                   []*historyEntry
	// Search visibility: hidden from this many more matching searches,
	// and until visibleAt.
	hiddenSearches int
	visibleAt      time.Time
}

func (is *issue) snapshot() Issue {
	props := map[string]json.RawMessage{}
	maps.Copy(props, is.properties)
	return Issue{
		ID: is.id, Key: is.key, Project: is.project, IssueType: is.issueType,
		Fields: maps.Clone(is.fields), Labels: slices.Clone(is.labels),
		Status: is.status, StatusCategory: statuses[is.status].category, Resolution: is.resolution,
		Properties: props, Comments: slices.Clone(is.comments), Created: is.created,
		ViaServiceDesk: is.serviceDesk, Links: is.linkSnapshots(),
	}
}

// linkType is one issue link type.
type linkType struct {
	id, name, inward, outward string
}

// linkTypes are Jira's default issue link types.
var linkTypes = []linkType{
	{id: "10000", name: "Blocks", inward: "is blocked by", outward: "blocks"},
	{id: "10001", name: "Cloners", inward: "is cloned by", outward: "clones"},
	{id: "10002", name: "Duplicate", inward: "is duplicated by", outward: "duplicates"},
	{id: "10003", name: "Relates", inward: "relates to", outward: "relates to"},
}

// issueLink is one link: outward "<outward description>" inward.
type issueLink struct {
	id              string
	typ             linkType
	outward, inward *issue
}

// linkSnapshots are the issue's links as seen from it.
func (is *issue) linkSnapshots() []Link {
	var out []Link
	for _, l := range is.links {
		if l.outward == is {
			out = append(out, Link{Type: l.typ.name, Description: l.typ.outward, Issue: l.inward.key})
		} else {
			out = append(out, Link{Type: l.typ.name, Description: l.typ.inward, Issue: l.outward.key})
		}
	}
	return out
}

// status is one workflow status.
type status struct {
	id, category string
}

// statuses of the workflow, by name; categories are Jira's keys.
var statuses = map[string]status{
	"To Do":       {id: "10000", category: "new"},
	"In Progress": {id: "3", category: "indeterminate"},
	"Done":        {id: "10001", category: "done"},
	"Closed":      {id: "6", category: "done"},
}

// resolutions of the instance; the first has id 10000.
var resolutions = []string{"Done", "Won't Do", "Duplicate", "Cannot Reproduce"}

// transition is one workflow transition.
type transition struct {
	id, name, to string
	from         []string
	// resolutionScreen: the transition's screen has the resolution field.
	resolutionScreen bool
	// setsResolution: a post function sets this resolution when none is
	// sent ("" clears it).
	setsResolution string
}

// workflow returns the transitions, in the order Jira lists them.
func (s *Server) workflow() []transition {
	return []transition{
		{id: "11", name: "Start Progress", to: "In Progress", from: []string{"To Do"}},
		{id: "21", name: "Stop Progress", to: "To Do", from: []string{"In Progress"}},
		{id: "31", name: "Done", to: "Done", from: []string{"To Do", "In Progress"},
			resolutionScreen: !s.opts.NoResolutionScreen, setsResolution: "Done"},
		{id: "51", name: "Close", to: "Closed", from: []string{"To Do", "In Progress"}, setsResolution: "Done"},
		{id: "41", name: "Reopen", to: "To Do", from: []string{"Done", "Closed"}},
	}
}

func (s *Server) findLocked(keyOrID string) *issue {
	for _, is := range s.issues {
		if !is.deleted && (is.key == keyOrID || is.id == keyOrID) {
			return is
		}
	}
	return nil
}

// issueOr404 finds the path's issue or answers 404 the way Jira does.
func (s *Server) issueOr404(w http.ResponseWriter, r *http.Request) *issue {
	is := s.findLocked(r.PathValue("issue"))
	if is == nil {
		writeErrors(w, http.StatusNotFound, []string{"Issue does not exist or you do not have permission to see it."}, nil)
	}
	return is
}

func (s *Server) self(ver, id string) string { return s.URL + "/rest/api/" + ver + "/issue/" + id }

// systemFields are the system fields in the metadata.
var systemFields = []map[string]any{
	{"id": "summary", "key": "summary", "name": "Summary", "custom": false, "schema": map[string]any{"type": "string", "system": "summary"}},
	{"id": "description", "key": "description", "name": "Description", "custom": false, "schema": map[string]any{"type": "string", "system": "description"}},
	{"id": "labels", "key": "labels", "name": "Labels", "custom": false, "schema": map[string]any{"type": "array", "items": "string", "system": "labels"}},
	{"id": "priority", "key": "priority", "name": "Priority", "custom": false, "schema": map[string]any{"type": "priority", "system": "priority"}},
	{"id": "components", "key": "components", "name": "Components", "custom": false, "schema": map[string]any{"type": "array", "items": "component", "system": "components"}},
	{"id": "issuetype", "key": "issuetype", "name": "Issue Type", "custom": false, "schema": map[string]any{"type": "issuetype", "system": "issuetype"}},
	{"id": "project", "key": "project", "name": "Project", "custom": false, "schema": map[string]any{"type": "project", "system": "project"}},
	{"id": "status", "key": "status", "name": "Status", "custom": false, "schema": map[string]any{"type": "status", "system": "status"}},
	{"id": "resolution", "key": "resolution", "name": "Resolution", "custom": false, "schema": map[string]any{"type": "resolution", "system": "resolution"}},
	{"id": "environment", "key": "environment", "name": "Environment", "custom": false, "schema": map[string]any{"type": "string", "system": "environment"}},
	{"id": "duedate", "key": "duedate", "name": "Due date", "custom": false, "schema": map[string]any{"type": "date", "system": "duedate"}},
	{"id": "created", "key": "created", "name": "Created", "custom": false, "schema": map[string]any{"type": "datetime", "system": "created"}},
}

func (s *Server) handleFields(w http.ResponseWriter, _ *http.Request, _ []byte) {
	out := slices.Clone(systemFields)
	for _, f := range s.opts.CustomFields {
		schema := map[string]any{"type": f.Type, "custom": f.Custom}
		if f.Items != "" {
			schema["items"] = f.Items
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(f.ID, "customfield_")); err == nil {
			schema["customId"] = n
		}
		out = append(out, map[string]any{
			"id": f.ID, "key": f.ID, "name": f.Name, "custom": true,
			"clauseNames": []string{"cf[" + strings.TrimPrefix(f.ID, "customfield_") + "]", f.Name},
			"schema":      schema,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// createRequest is the body of POST /issue.
type createRequest struct {
	Fields     map[string]json.RawMessage `json:"fields"`
	Update     map[string]json.RawMessage `json:"update"`
	Properties []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, body []byte) {
	ver := r.PathValue("ver")
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Unexpected character in request body: " + err.Error()}, nil)
		return
	}
	errs := map[string]string{}
	project := refName(req.Fields["project"], "key")
	if !slices.Contains(s.opts.Projects, project) {
		errs["project"] = "Specify a valid project ID or key"
	}
	issueType := refName(req.Fields["issuetype"], "name")
	if !slices.Contains(s.opts.IssueTypes, issueType) {
		errs["issuetype"] = "Specify a valid issue type"
	}
	if _, ok := req.Fields["summary"]; !ok {
		errs["summary"] = "You must specify a summary of the issue."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, raw := range req.Fields {
		if id == "project" || id == "issuetype" {
			continue
		}
		if msg := s.checkField(ver, id, raw); msg != "" {
			errs[id] = msg
		}
	}
	for _, p := range req.Properties {
		if p.Key == "" || len(p.Key) > 255 {
			errs["properties"] = "Property key must be between 1 and 255 characters."
		}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	is := s.newIssueLocked(project, issueType)
	for id, raw := range req.Fields {
		if id == "project" || id == "issuetype" {
			continue
		}
		s.setFieldLocked(is, id, raw)
	}
	for _, p := range req.Properties {
		is.properties[p.Key] = p.Value
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": is.id, "key": is.key, "self": s.self(ver, is.id)})
}

// newIssueLocked stores a new issue in the initial status, hidden from
// search as the options say.
func (s *Server) newIssueLocked(project, issueType string) *issue {
	s.nextID++
	s.numbers[project]++
	is := &issue{
		id: strconv.Itoa(s.nextID), key: fmt.Sprintf("%s-%d", project, s.numbers[project]),
		project: project, issueType: issueType, fields: map[string]json.RawMessage{},
		status: "To Do", properties: map[string]json.RawMessage{}, created: s.opts.Now(),
		hiddenSearches: s.opts.IndexAfterSearches,
	}
	if s.opts.IndexDelay > 0 {
		is.visibleAt = is.created.Add(s.opts.IndexDelay)
	}
	s.issues = append(s.issues, is)
	return is
}

func (s *Server) setFieldLocked(is *issue, id string, raw json.RawMessage) {
	if id == "labels" {
		var labels []string
		_ = json.Unmarshal(raw, &labels)
		is.labels = labels
		return
	}
	is.fields[id] = raw
}

// checkField validates one field value as Jira would on this API version;
// it returns Jira's message for the field, or "".
func (s *Server) checkField(ver, id string, raw json.RawMessage) string {
	switch id {
	case "summary":
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "Operation value must be a string"
		}
		if strings.TrimSpace(v) == "" {
			return "You must specify a summary of the issue."
		}
		if utf8.RuneCountInString(v) > 255 {
			return "Summary must be less than 255 characters."
		}
		if strings.ContainsAny(v, "\r\n") {
			return "The summary is invalid because it contains newline characters."
		}
		return ""
	case "description", "environment":
		return checkRichText(ver, raw)
	case "labels":
		return checkLabels(raw)
	case "priority":
		name := refName(raw, "name")
		if !slices.Contains([]string{"Highest", "High", "Medium", "Low", "Lowest"}, name) {
			return "Specify the Priority (name) in the string format"
		}
		return ""
	case "components":
		var comps []map[string]string
		if json.Unmarshal(raw, &comps) != nil {
			return "Operation value must be an array of component objects"
		}
		for _, c := range comps {
			if !slices.Contains(s.opts.Components, c["name"]) {
				return fmt.Sprintf("Component name '%s' is not valid", c["name"])
			}
		}
		return ""
	case "duedate":
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "Operation value must be a string"
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return "Error parsing date string: " + v
		}
		return ""
	}
	for _, f := range s.opts.CustomFields {
		if f.ID == id {
			return checkCustom(ver, f, raw)
		}
	}
	return fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id)
}

// checkRichText checks a description-like value: ADF on v3, a string on v2.
func checkRichText(ver string, raw json.RawMessage) string {
	if string(raw) == "null" {
		return ""
	}
	if ver == "3" {
		if err := ValidateADF(raw); err != nil {
			return "Operation value must be an Atlassian Document (see the Atlassian Document Format): " + err.Error()
		}
		return ""
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "Operation value must be a string"
	}
	if utf8.RuneCountInString(v) > 32767 {
		return "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
	}
	return ""
}

// checkLabel checks a label the way Jira does.
func checkLabel(l string) string {
	switch {
	case l == "":
		return "The label must not be empty."
	case strings.ContainsAny(l, " \t\r\n"):
		return fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)
	case utf8.RuneCountInString(l) > 255:
		return "The label must not exceed 255 characters."
	}
	return ""
}

func checkCustom(ver string, f CustomField, raw json.RawMessage) string {
	option := func(raw json.RawMessage) string {
		var o map[string]any
		if json.Unmarshal(raw, &o) != nil {
			return "Specify a valid 'id' or 'name' for " + f.Name
		}
		v, _ := o["value"].(string)
		if !slices.Contains(f.Options, v) {
			return fmt.Sprintf("Option value '%s' is not valid", v)
		}
		return ""
	}
	switch {
	case f.Custom == TypeTextArea:
		return checkRichText(ver, raw)
	case f.Type == "string":
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "Operation value must be a string"
		}
		if utf8.RuneCountInString(v) > 255 {
			return "The entered text is too long. It exceeds the allowed limit of 255 characters."
		}
	case f.Type == "number":
		var v float64
		if json.Unmarshal(raw, &v) != nil {
			return "Operation value must be a number"
		}
	case f.Type == "option":
		return option(raw)
	case f.Type == "array" && f.Items == "option":
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return "Operation value must be an array"
		}
		for _, it := range items {
			if msg := option(it); msg != "" {
				return msg
			}
		}
	case f.Type == "array":
		return checkLabels(raw)
	}
	return ""
}

// checkLabels checks a list of labels (the labels field, a labels custom
// field); "" when it is valid.
func checkLabels(raw json.RawMessage) string {
	var labels []string
	if json.Unmarshal(raw, &labels) != nil {
		return "Operation value must be an array of strings"
	}
	for _, l := range labels {
		if msg := checkLabel(l); msg != "" {
			return msg
		}
	}
	return ""
}

// refName reads {"<attr>": "..."} (or {"name"|"key"|"id": ...}) from a
// reference value.
func refName(raw json.RawMessage, attr string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	if v, ok := m[attr].(string); ok {
		return v
	}
	for _, k := range []string{"name", "key", "value"} {
		if v, ok := m[k].(string); ok {
			return v
		}
	}
	return ""
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	out := s.renderLocked(r.PathValue("ver"), is, splitList(r.URL.Query().Get("fields")), splitList(r.URL.Query().Get("properties")), true)
	if slices.Contains(splitList(r.URL.Query().Get("expand")), "changelog") {
		out["changelog"] = s.changelogLocked(is, false)
	}
	writeJSON(w, http.StatusOK, out)
}

// renderLocked renders an issue as GET /issue does; fields nil means all.
func (s *Server) renderLocked(ver string, is *issue, fields, props []string, all bool) map[string]any {
	f := map[string]any{}
	want := func(name string) bool {
		if len(fields) == 0 {
			return all
		}
		return slices.Contains(fields, name) || slices.Contains(fields, "*all") || slices.Contains(fields, "*navigable")
	}
	for id, raw := range is.fields {
		if want(id) {
			f[id] = raw
		}
	}
	st := statuses[is.status]
	if want("status") {
		f["status"] = map[string]any{"name": is.status, "id": st.id,
			"statusCategory": map[string]any{"key": st.category, "name": categoryName(st.category)}}
	}
	if want("resolution") {
		if is.resolution == "" {
			f["resolution"] = nil
		} else {
			f["resolution"] = map[string]any{"name": is.resolution, "id": strconv.Itoa(10000 + slices.Index(resolutions, is.resolution))}
		}
	}
	if want("resolutiondate") {
		if is.resolutionDate.IsZero() {
			f["resolutiondate"] = nil
		} else {
			f["resolutiondate"] = jiraTime(is.resolutionDate)
		}
	}
	if want("labels") {
		f["labels"] = append([]string{}, is.labels...)
	}
	if want("created") {
		f["created"] = jiraTime(is.created)
	}
	if want("project") {
		f["project"] = map[string]any{"key": is.project}
	}
	if want("issuetype") {
		f["issuetype"] = map[string]any{"name": is.issueType}
	}
	if want("issuelinks") {
		links := []map[string]any{}
		for _, l := range is.links {
			m := map[string]any{"id": l.id, "type": map[string]any{
				"id": l.typ.id, "name": l.typ.name, "inward": l.typ.inward, "outward": l.typ.outward}}
			// Seen from the outward issue, the other one is the inward issue.
			if l.outward == is {
				m["inwardIssue"] = map[string]any{"id": l.inward.id, "key": l.inward.key}
			} else {
				m["outwardIssue"] = map[string]any{"id": l.outward.id, "key": l.outward.key}
			}
			links = append(links, m)
		}
		f["issuelinks"] = links
	}
	out := map[string]any{"id": is.id, "key": is.key, "self": s.self(ver, is.id)}
	if len(f) > 0 {
		out["fields"] = f
	}
	if len(props) > 0 {
		p := map[string]any{}
		for _, k := range props {
			if v, ok := is.properties[k]; ok {
				p[k] = v
			}
		}
		out["properties"] = p
	}
	return out
}

func categoryName(key string) string {
	return map[string]string{"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[key]
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request, body []byte) {
	ver := r.PathValue("ver")
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Unexpected character in request body: " + err.Error()}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	errs := map[string]string{}
	for id, raw := range req.Fields {
		if id == "project" || id == "issuetype" {
			errs[id] = "Field '" + id + "' cannot be set with edit."
			continue
		}
		if msg := s.checkField(ver, id, raw); msg != "" {
			errs[id] = msg
		}
	}
	var addLabels, removeLabels []string
	for id, raw := range req.Update {
		if id != "labels" {
			errs[id] = "Field '" + id + "' cannot be updated with operations here."
			continue
		}
		var ops []map[string]string
		if json.Unmarshal(raw, &ops) != nil {
			errs[id] = "Operation value must be an array of operations"
			continue
		}
		for _, op := range ops {
			if l, ok := op["add"]; ok {
				if msg := checkLabel(l); msg != "" {
					errs["labels"] = msg
				}
				addLabels = append(addLabels, l)
			}
			if l, ok := op["remove"]; ok {
				removeLabels = append(removeLabels, l)
			}
		}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	for id, raw := range req.Fields {
		s.setFieldLocked(is, id, raw)
	}
	for _, l := range addLabels {
		if !slices.Contains(is.labels, l) {
			is.labels = append(is.labels, l)
		}
	}
	is.labels = slices.DeleteFunc(is.labels, func(l string) bool { return slices.Contains(removeLabels, l) })
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issueOr404(w, r); is != nil {
		defer s.pushLater(s.eventLocked(is, "jira:issue_deleted", "issue_deleted", apiUser(r), nil))
		is.deleted = true
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleListComments(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	var out []map[string]any
	for _, c := range is.comments {
		out = append(out, map[string]any{"id": c.ID, "body": c.Raw, "created": jiraTime(c.Created)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"startAt": 0, "maxResults": len(out), "total": len(out), "comments": out})
}

func (s *Server) handleAddComment(w http.ResponseWriter, r *http.Request, body []byte) {
	ver := r.PathValue("ver")
	var req struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Body) == 0 {
		writeErrors(w, http.StatusBadRequest, nil, map[string]string{"comment": "Comment body can not be empty!"})
		return
	}
	if msg := checkRichText(ver, req.Body); msg != "" {
		writeErrors(w, http.StatusBadRequest, []string{"Comment body is not valid: " + msg}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	c := s.addCommentLocked(is, req.Body)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": c.ID, "self": s.self(ver, is.id) + "/comment/" + c.ID, "body": c.Raw, "created": jiraTime(c.Created),
	})
}

func (s *Server) addCommentLocked(is *issue, raw json.RawMessage) Comment {
	s.nextComment++
	c := Comment{ID: strconv.Itoa(s.nextComment), Body: plainText(raw), Raw: raw, Created: s.opts.Now()}
	is.comments = append(is.comments, c)
	return c
}

// available returns the transitions available from the issue's status.
func (s *Server) available(is *issue) []transition {
	var out []transition
	for _, t := range s.workflow() {
		if slices.Contains(t.from, is.status) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) handleTransitions(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	expand := strings.Contains(r.URL.Query().Get("expand"), "transitions.fields")
	var out []map[string]any
	for _, t := range s.available(is) {
		st := statuses[t.to]
		m := map[string]any{
			"id": t.id, "name": t.name, "hasScreen": t.resolutionScreen, "isGlobal": false,
			"isInitial": false, "isConditional": false,
			"to": map[string]any{
				"self": s.URL + "/rest/api/2/status/" + st.id, "name": t.to, "id": st.id,
				"statusCategory": map[string]any{"key": st.category, "name": categoryName(st.category)},
			},
		}
		if expand {
			fields := map[string]any{}
			if t.resolutionScreen {
				var allowed []map[string]string
				for i, res := range resolutions {
					allowed = append(allowed, map[string]string{"id": strconv.Itoa(10000 + i), "name": res})
				}
				fields["resolution"] = map[string]any{
					"required": true, "name": "Resolution", "key": "resolution", "operations": []string{"set"},
					"schema":        map[string]any{"type": "resolution", "system": "resolution"},
					"allowedValues": allowed,
				}
			}
			m["fields"] = fields
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

func (s *Server) handleTransition(w http.ResponseWriter, r *http.Request, body []byte) {
	ver := r.PathValue("ver")
	var req struct {
		Transition struct {
			ID string `json:"id"`
		} `json:"transition"`
		Fields map[string]json.RawMessage `json:"fields"`
		Update struct {
			Comment []struct {
				Add struct {
					Body json.RawMessage `json:"body"`
				} `json:"add"`
			} `json:"comment"`
		} `json:"update"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Unexpected character in request body: " + err.Error()}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	var t *transition
	for _, x := range s.available(is) {
		if x.id == req.Transition.ID {
			t = &x
			break
		}
	}
	if t == nil {
		writeErrors(w, http.StatusBadRequest, []string{fmt.Sprintf("Transition id '%s' is not valid for this issue.", req.Transition.ID)}, nil)
		return
	}
	errs := map[string]string{}
	resolution := t.setsResolution
	for id, raw := range req.Fields {
		switch {
		case id == "resolution" && t.resolutionScreen:
			name := refName(raw, "name")
			if id := refName(raw, "id"); name == "" || slices.Index(resolutions, name) < 0 {
				if n, err := strconv.Atoi(id); err == nil && n >= 10000 && n-10000 < len(resolutions) {
					name = resolutions[n-10000]
				}
			}
			if !slices.Contains(resolutions, name) {
				errs["resolution"] = "Could not find valid 'id' or 'name' in resolution object."
			}
			resolution = name
		default:
			errs[id] = fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", id)
		}
	}
	if _, sent := req.Fields["resolution"]; t.resolutionScreen && !sent {
		errs["resolution"] = "Resolution is required."
	}
	for _, c := range req.Update.Comment {
		if msg := checkRichText(ver, c.Add.Body); msg != "" {
			errs["comment"] = msg
		}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	by := apiUser(r)
	h := s.moveLocked(is, t.to, resolution, by)
	defer s.pushLater(s.eventLocked(is, "jira:issue_updated", eventType(h), by, h))
	for _, c := range req.Update.Comment {
		s.addCommentLocked(is, c.Add.Body)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleIssueLink is POST /issueLink: it links outwardIssue to inwardIssue
// ("<outward> duplicates <inward>") and adds the optional comment to the
// outward issue. It answers 201 without a body; a link that exists already
// is not added again, but the comment is.
func (s *Server) handleIssueLink(w http.ResponseWriter, r *http.Request, body []byte) {
	ver := r.PathValue("ver")
	var req struct {
		Type         map[string]string `json:"type"`
		InwardIssue  map[string]string `json:"inwardIssue"`
		OutwardIssue map[string]string `json:"outwardIssue"`
		Comment      *struct {
			Body json.RawMessage `json:"body"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Unexpected character in request body: " + err.Error()}, nil)
		return
	}
	var typ *linkType
	for i, lt := range linkTypes {
		if (req.Type["name"] != "" && strings.EqualFold(lt.name, req.Type["name"])) || (req.Type["id"] != "" && lt.id == req.Type["id"]) {
			typ = &linkTypes[i]
		}
	}
	if typ == nil {
		writeErrors(w, http.StatusNotFound, []string{fmt.Sprintf("No issue link type with name '%s' found.", req.Type["name"])}, nil)
		return
	}
	if req.Comment != nil {
		if msg := checkRichText(ver, req.Comment.Body); msg != "" {
			writeErrors(w, http.StatusBadRequest, []string{"Comment body is not valid: " + msg}, nil)
			return
		}
	}
	ref := func(m map[string]string) string {
		if m["key"] != "" {
			return m["key"]
		}
		return m["id"]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, out := s.findLocked(ref(req.InwardIssue)), s.findLocked(ref(req.OutwardIssue))
	if in == nil || out == nil {
		writeErrors(w, http.StatusNotFound, []string{"Issue Does Not Exist"}, nil)
		return
	}
	if in == out {
		writeErrors(w, http.StatusBadRequest, []string{"You cannot link an issue to itself."}, nil)
		return
	}
	exists := slices.ContainsFunc(out.links, func(l *issueLink) bool { return l.typ.id == typ.id && l.outward == out && l.inward == in })
	if !exists {
		s.nextLink++
		l := &issueLink{id: strconv.Itoa(s.nextLink), typ: *typ, outward: out, inward: in}
		out.links = append(out.links, l)
		in.links = append(in.links, l)
	}
	if req.Comment != nil {
		s.addCommentLocked(out, req.Comment.Body)
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) handleGetProperty(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	key := r.PathValue("prop")
	v, ok := is.properties[key]
	if !ok {
		writeErrors(w, http.StatusNotFound, []string{fmt.Sprintf("The property with key '%s' does not exist.", key)}, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": key, "value": v})
}

func (s *Server) handlePutProperty(w http.ResponseWriter, r *http.Request, body []byte) {
	if !json.Valid(body) {
		writeErrors(w, http.StatusBadRequest, []string{"The property value must be valid JSON."}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	key := r.PathValue("prop")
	_, existed := is.properties[key]
	is.properties[key] = json.RawMessage(body)
	if existed {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) handleDeleteProperty(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueOr404(w, r)
	if is == nil {
		return
	}
	delete(is.properties, r.PathValue("prop"))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleServiceDeskRequest(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		ServiceDeskID      string                     `json:"serviceDeskId"`
		RequestTypeID      string                     `json:"requestTypeId"`
		RequestFieldValues map[string]json.RawMessage `json:"requestFieldValues"`
		RaiseOnBehalfOf    string                     `json:"raiseOnBehalfOf"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErrors(w, http.StatusBadRequest, []string{"Unexpected character in request body: " + err.Error()}, nil)
		return
	}
	desk, ok := s.opts.ServiceDesks[req.ServiceDeskID]
	if !ok {
		writeErrors(w, http.StatusNotFound, []string{fmt.Sprintf("The service desk with ID '%s' does not exist.", req.ServiceDeskID)}, nil)
		return
	}
	issueType, ok := desk.RequestTypes[req.RequestTypeID]
	if !ok {
		writeErrors(w, http.StatusBadRequest, []string{fmt.Sprintf("The request type with ID '%s' does not exist in service desk '%s'.", req.RequestTypeID, req.ServiceDeskID)}, nil)
		return
	}
	errs := map[string]string{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, raw := range req.RequestFieldValues {
		switch id {
		case "labels", "components":
			errs[id] = fmt.Sprintf("The field '%s' is not on the request type's form.", id)
		case "description":
			// The request API takes plain text on both flavors.
			var v string
			if json.Unmarshal(raw, &v) != nil {
				errs[id] = "Operation value must be a string"
			}
		default:
			if msg := s.checkField("2", id, raw); msg != "" {
				errs[id] = msg
			}
		}
	}
	if _, ok := req.RequestFieldValues["summary"]; !ok {
		errs["summary"] = "You must specify a summary of the issue."
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	is := s.newIssueLocked(desk.ProjectKey, issueType)
	is.serviceDesk = true
	for id, raw := range req.RequestFieldValues {
		s.setFieldLocked(is, id, raw)
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"issueId": is.id, "issueKey": is.key, "requestTypeId": req.RequestTypeID, "serviceDeskId": req.ServiceDeskID,
		"createdDate":   map[string]any{"iso8601": jiraTime(is.created)},
		"currentStatus": map[string]any{"status": is.status, "statusCategory": "NEW"},
		"_links": map[string]string{
			"web":  s.URL + "/servicedesk/customer/portal/" + req.ServiceDeskID + "/" + is.key,
			"self": s.URL + "/rest/servicedeskapi/request/" + is.id,
		},
	})
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
