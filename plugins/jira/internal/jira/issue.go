package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Status category keys.
const (
	CategoryNew           = "new"
	CategoryIndeterminate = "indeterminate"
	CategoryDone          = "done"
)

// stamp is the value of the itsm-connector issue property.
type stamp struct {
	CorrelationKey string `json:"correlation_key"`
	AlertID        string `json:"alert_id,omitempty"`
	CreatedBy      string `json:"created_by"`
}

// issueFields are the fields read back from Jira.
type issueFields struct {
	Summary string `json:"summary"`
	Status  struct {
		Name           string `json:"name"`
		StatusCategory struct {
			Key string `json:"key"`
		} `json:"statusCategory"`
	} `json:"status"`
	Resolution *struct {
		Name string `json:"name"`
	} `json:"resolution"`
	Labels []string `json:"labels"`
}

// issueRecord is GET /issue/{id} with fields and the stamp property.
type issueRecord struct {
	ID         string                     `json:"id"`
	Key        string                     `json:"key"`
	Fields     issueFields                `json:"fields"`
	Raw        map[string]json.RawMessage `json:"-"`
	Properties map[string]json.RawMessage `json:"properties"`
}

func (r *issueRecord) done() bool { return r.Fields.Status.StatusCategory.Key == CategoryDone }

func (r *issueRecord) resolution() string {
	if r.Fields.Resolution == nil {
		return ""
	}
	return r.Fields.Resolution.Name
}

// createdIssue is the answer to POST /issue.
type createdIssue struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Self string `json:"self"`
}

func (p *Plugin) createIssue(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	s := b.s
	fields, err := b.routeFields(ctx, req.Fields)
	if err != nil {
		return nil, err
	}
	if s.corrField != "" {
		id, err := b.correlationFieldID(ctx)
		if err != nil {
			return nil, err
		}
		fields[id] = correlationFieldValue(req.CorrelationKey)
	}
	project := map[string]any{"key": s.project}
	if numericRE.MatchString(s.project) {
		project = map[string]any{"id": s.project}
	}
	fields["project"] = project
	fields["issuetype"] = map[string]any{"name": s.issueType}
	fields["summary"] = summaryOf(&req.Alert, req.Fields)
	fields["description"] = descriptionOf(s.flavor, req)
	fields["labels"] = labelsFor(b, req)
	if comps := componentsFor(s, req.Fields); len(comps) > 0 {
		fields["components"] = comps
	}
	if _, set := fields["priority"]; !set {
		if name := s.priority[req.Alert.SeverityLabel]; name != "" {
			fields["priority"] = map[string]any{"name": name}
		}
	}
	body := map[string]any{
		"fields":     fields,
		"properties": []any{map[string]any{"key": PropertyKey, "value": newStamp(p, req)}},
	}
	var created createdIssue
	if err := b.client.do(ctx, sdkhttp.Call{Op: "create issue", Method: http.MethodPost, Path: s.api + "/issue", JSON: body}, &created); err != nil {
		return nil, err
	}
	if created.ID == "" || created.Key == "" {
		// Created, but unreadable: the host's Lookup recovers it.
		return nil, sdk.Retryable(errors.New("jira: create issue: Jira answered without an issue id and key"))
	}
	b.recent.add(req.CorrelationKey, created.ID)
	item := p.workItem(b, created.ID, created.Key, "", CategoryNew, req.CorrelationKey)
	p.opts.Log().Info("created issue", "issue", created.Key, "id", created.ID, "correlation_key", req.CorrelationKey)
	return item, nil
}

// descriptionOf is the route's description field, or the alert's details,
// rendered for flavor.
func descriptionOf(flavor string, req *sdk.Request) any {
	if d, ok := req.Fields["description"].(string); ok && strings.TrimSpace(d) != "" {
		return textDocument(d).render(flavor)
	}
	return describe(&req.Alert, req.CorrelationKey).render(flavor)
}

func newStamp(p *Plugin, req *sdk.Request) stamp {
	return stamp{CorrelationKey: req.CorrelationKey, AlertID: req.Alert.ID, CreatedBy: "itsm-connector-plugin-jira " + p.opts.Version}
}

// labelsFor is the configured labels, the route's labels and the
// correlation label (unless a custom field carries the key), without
// duplicates. Spaces in route labels become dashes: Jira rejects them.
func labelsFor(b *backend, req *sdk.Request) []string {
	labels := slices.Clone(b.s.labels)
	for _, l := range stringList(req.Fields["labels"]) {
		labels = append(labels, strings.Join(strings.Fields(l), "-"))
	}
	labels = append(labels, CorrelationLabel(b.s.labelPrefix, req.CorrelationKey))
	out := labels[:0]
	for _, l := range labels {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, sdktext.Truncate(l, maxSummary))
		}
	}
	return out
}

// componentsFor is the configured and the route's components by name.
func componentsFor(s *settings, fields map[string]any) []any {
	names := slices.Clone(s.components)
	if v, ok := fields["components"]; ok && isStructured(v) {
		return v.([]any)
	}
	names = append(names, stringList(fields["components"])...)
	var out []any
	seen := map[string]bool{}
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, map[string]any{"name": n})
		}
	}
	return out
}

// getIssue reads an issue with its status, resolution, labels and stamp
// property; a deleted issue is NotFound.
func (b *backend) getIssue(ctx context.Context, op, id string) (*issueRecord, error) {
	fields := []string{"summary", "status", "resolution", "labels"}
	if b.s.corrField != "" {
		if fid, err := b.correlationFieldID(ctx); err == nil {
			fields = append(fields, fid)
		}
	}
	q := url.Values{"fields": {strings.Join(fields, ",")}, "properties": {PropertyKey}}
	var raw struct {
		issueRecord
		Fields json.RawMessage `json:"fields"`
	}
	err := b.client.doIssue(ctx, sdkhttp.Call{Op: op, Method: http.MethodGet, Path: b.s.api + "/issue/" + url.PathEscape(id), Query: q}, &raw)
	if err != nil {
		return nil, err
	}
	rec := raw.issueRecord
	if len(raw.Fields) > 0 {
		if err := json.Unmarshal(raw.Fields, &rec.Fields); err != nil {
			return nil, sdk.Retryable(fmt.Errorf("jira: %s: undecodable fields of %s: %w", op, id, err))
		}
		_ = json.Unmarshal(raw.Fields, &rec.Raw)
	}
	return &rec, nil
}

func refID(op string, req *sdk.Request) (string, error) {
	if req.Ref == nil || req.Ref.ID == "" {
		return "", sdk.Permanent(fmt.Errorf("jira: %s: the request carries no work item reference", op))
	}
	return req.Ref.ID, nil
}

func (p *Plugin) update(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	id, err := refID("comment on issue", req)
	if err != nil {
		return nil, err
	}
	if err := b.editFields(ctx, "edit issue", id, req); err != nil {
		return nil, err
	}
	changes := fieldChanges(req)
	var body map[string]any
	if req.Note != "" {
		// The connector's note (a flapping alert) is said once; it does
		// not wait for comments.min_interval.
		body = map[string]any{"body": append(policyComment(req.Note, &req.Alert), changes...).render(b.s.flavor)}
	} else {
		ok, sk := b.comments.admit(id, req.Alert.FiredAt)
		if !ok && changes == nil {
			p.opts.Log().Debug("re-fire comment skipped: inside comments.min_interval", "issue", req.Ref.Key, "correlation_key", req.CorrelationKey)
			return p.refItem(b, req, CategoryNew), nil
		}
		// Changed values are never held back: the host counts them as noted.
		body = map[string]any{"body": append(refireComment(&req.Alert, sk, b.s.commentInterval), changes...).render(b.s.flavor)}
	}
	err = b.client.doIssue(ctx, sdkhttp.Call{
		Op: "comment on issue", Method: http.MethodPost,
		Path: b.s.api + "/issue/" + url.PathEscape(id) + "/comment", JSON: body,
	}, nil)
	if err != nil {
		return nil, err
	}
	if req.Note == "" {
		b.comments.posted(id)
	}
	return p.refItem(b, req, CategoryNew), nil
}

// editFields writes the route fields a re-fire writes (those whose policy
// is "always", sdk.Request.Writes) with one edit of the issue; without such
// fields, as without a field policy, nothing is sent. summary, description,
// labels and components are built as on create (labels keep the
// configured ones and the correlation label).
func (b *backend) editFields(ctx context.Context, op, id string, req *sdk.Request) error {
	allowed := map[string]any{}
	for k, v := range req.Fields {
		if req.Writes(k, false) {
			allowed[k] = v
		}
	}
	if len(allowed) == 0 {
		return nil
	}
	fields, err := b.routeFields(ctx, allowed)
	if err != nil {
		return err
	}
	if _, ok := allowed["summary"]; ok {
		fields["summary"] = summaryOf(&req.Alert, req.Fields)
	}
	if _, ok := allowed["description"]; ok {
		fields["description"] = descriptionOf(b.s.flavor, req)
	}
	if _, ok := allowed["labels"]; ok {
		fields["labels"] = labelsFor(b, req)
	}
	if _, ok := allowed["components"]; ok {
		comps := componentsFor(b.s, req.Fields)
		if comps == nil {
			comps = []any{}
		}
		fields["components"] = comps
	}
	return b.client.doIssue(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodPut, Path: b.s.api + "/issue/" + url.PathEscape(id), JSON: map[string]any{"fields": fields},
	}, nil)
}

// transitionInfo is one entry of GET /issue/{id}/transitions.
type transitionInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	To   struct {
		Name           string `json:"name"`
		StatusCategory struct {
			Key string `json:"key"`
		} `json:"statusCategory"`
	} `json:"to"`
	Fields map[string]transitionField `json:"fields"`
}

// transitionField is one field of a transition's screen.
type transitionField struct {
	Required      bool `json:"required"`
	AllowedValues []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"allowedValues"`
}

func (t transitionInfo) String() string { return fmt.Sprintf("%q → %s", t.Name, t.To.Name) }

// resolutionValue is the resolution to send with a transition whose screen
// has the resolution field f: the first of names the screen offers, by id,
// or the first name when the screen lists no values. ok is false when the
// screen offers none of names.
func resolutionValue(f transitionField, names ...string) (value map[string]any, ok bool) {
	if len(f.AllowedValues) == 0 {
		return map[string]any{"name": names[0]}, true
	}
	for _, n := range names {
		for _, v := range f.AllowedValues {
			if strings.EqualFold(v.Name, n) {
				return map[string]any{"id": v.ID}, true
			}
		}
	}
	return nil, false
}

// offered lists the values of a screen field, quoted, for messages.
func (f transitionField) offered() string {
	var names []string
	for _, v := range f.AllowedValues {
		names = append(names, fmt.Sprintf("%q", v.Name))
	}
	return strings.Join(names, ", ")
}

func (b *backend) transitions(ctx context.Context, op, id string) ([]transitionInfo, error) {
	var resp struct {
		Transitions []transitionInfo `json:"transitions"`
	}
	err := b.client.doIssue(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodGet, Path: b.s.api + "/issue/" + url.PathEscape(id) + "/transitions",
		Query: url.Values{"expand": {"transitions.fields"}},
	}, &resp)
	return resp.Transitions, err
}

// chooseTransition picks the transition named name (case-insensitive), or
// else the first one whose target status is in one of categories, in the
// order of categories.
func chooseTransition(ts []transitionInfo, name string, categories ...string) (transitionInfo, bool) {
	if name != "" {
		for _, t := range ts {
			if strings.EqualFold(t.Name, name) {
				return t, true
			}
		}
		return transitionInfo{}, false
	}
	for _, cat := range categories {
		for _, t := range ts {
			if t.To.StatusCategory.Key == cat {
				return t, true
			}
		}
	}
	return transitionInfo{}, false
}

func describeTransitions(ts []transitionInfo) string {
	if len(ts) == 0 {
		return "none"
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.String())
	}
	return strings.Join(out, ", ")
}

func (p *Plugin) resolve(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	const op = "resolve issue"
	id, err := refID(op, req)
	if err != nil {
		return nil, err
	}
	cur, err := b.getIssue(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if cur.done() {
		return p.workItem(b, cur.ID, cur.Key, cur.Fields.Status.Name, CategoryDone, req.CorrelationKey), nil
	}
	ts, err := b.transitions(ctx, op, id)
	if err != nil {
		return nil, err
	}
	t, ok := chooseTransition(ts, b.s.resolveName, CategoryDone)
	if !ok {
		what := "no transition to a status in the Done category"
		if b.s.resolveName != "" {
			what = fmt.Sprintf("no transition named %q (resolve.transition)", b.s.resolveName)
		}
		return nil, sdk.Permanent(fmt.Errorf("jira: %s %s: %s is available from status %q; available: %s",
			op, cur.Key, what, cur.Fields.Status.Name, describeTransitions(ts)))
	}
	body := map[string]any{
		"transition": map[string]any{"id": t.ID},
		"update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{
			"body": resolveComment(&req.Alert, p.opts.Now(), b.comments.pending(id), b.s.commentInterval).render(b.s.flavor),
		}}}},
	}
	if f, onScreen := t.Fields["resolution"]; onScreen {
		value, ok := resolutionValue(f, b.s.resolution)
		if !ok {
			return nil, sdk.Permanent(fmt.Errorf("jira: %s %s: transition %s needs a resolution, and %q (resolve.resolution) is not one of its values: %s",
				op, cur.Key, t, b.s.resolution, f.offered()))
		}
		body["fields"] = map[string]any{"resolution": value}
	}
	if err := b.client.doIssue(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodPost, Path: b.s.api + "/issue/" + url.PathEscape(id) + "/transitions", JSON: body,
	}, nil); err != nil {
		return nil, err
	}
	p.opts.Log().Info("resolved issue", "issue", cur.Key, "transition", t.Name, "correlation_key", req.CorrelationKey)
	return p.workItem(b, cur.ID, cur.Key, t.To.Name, CategoryDone, req.CorrelationKey), nil
}

func (p *Plugin) reopen(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	const op = "reopen issue"
	id, err := refID(op, req)
	if err != nil {
		return nil, err
	}
	cur, err := b.getIssue(ctx, op, id)
	if err != nil {
		return nil, err
	}
	if !cur.done() {
		return p.workItem(b, cur.ID, cur.Key, cur.Fields.Status.Name, cur.Fields.Status.StatusCategory.Key, req.CorrelationKey), nil
	}
	if res := cur.resolution(); res != "" && slices.ContainsFunc(b.s.wontFix, func(w string) bool { return strings.EqualFold(w, res) }) {
		// A person decided not to act on this issue: leave it alone. Not
		// found makes the host open a new issue for the new occurrence.
		return nil, sdk.NotFound(fmt.Errorf("jira: %s %s: it was resolved as %q, which blocks reopening (reopen.wont_fix_resolutions); a new issue is needed",
			op, cur.Key, res))
	}
	ts, err := b.transitions(ctx, op, id)
	if err != nil {
		return nil, err
	}
	t, ok := chooseTransition(ts, b.s.reopenName, CategoryNew, CategoryIndeterminate)
	if !ok {
		what := "no transition to a status in the To Do or In Progress category"
		if b.s.reopenName != "" {
			what = fmt.Sprintf("no transition named %q (reopen.transition)", b.s.reopenName)
		}
		return nil, sdk.Permanent(fmt.Errorf("jira: %s %s: %s is available from status %q; available: %s",
			op, cur.Key, what, cur.Fields.Status.Name, describeTransitions(ts)))
	}
	body := map[string]any{
		"transition": map[string]any{"id": t.ID},
		"update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{
			"body": append(reopenComment(&req.Alert), fieldChanges(req)...).render(b.s.flavor),
		}}}},
	}
	if err := b.client.doIssue(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodPost, Path: b.s.api + "/issue/" + url.PathEscape(id) + "/transitions", JSON: body,
	}, nil); err != nil {
		return nil, err
	}
	b.comments.posted(id)
	// The fields after the transition: its screen may not offer them.
	if err := b.editFields(ctx, op, id, req); err != nil {
		return nil, err
	}
	p.opts.Log().Info("reopened issue", "issue", cur.Key, "transition", t.Name, "correlation_key", req.CorrelationKey)
	return p.workItem(b, cur.ID, cur.Key, t.To.Name, t.To.StatusCategory.Key, req.CorrelationKey), nil
}

// workItem builds the host's reference to an issue.
func (p *Plugin) workItem(b *backend, id, key, status, category, corrKey string) *sdk.WorkItem {
	state := sdk.StateOpen
	if category == CategoryDone {
		state = sdk.StateResolved
	}
	var attrs map[string]string
	if status != "" {
		attrs = map[string]string{"status": status}
	}
	return &sdk.WorkItem{
		ID:             id,
		Key:            key,
		URL:            b.s.base.String() + "/browse/" + url.PathEscape(key),
		State:          state,
		CorrelationKey: corrKey,
		Attributes:     attrs,
	}
}

// refItem echoes the request's reference in the given category, for calls
// that did not read the issue back.
func (p *Plugin) refItem(b *backend, req *sdk.Request, category string) *sdk.WorkItem {
	return p.workItem(b, req.Ref.ID, req.Ref.Key, "", category, req.CorrelationKey)
}
