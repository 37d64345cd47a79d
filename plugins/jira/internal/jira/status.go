package jira

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// StatusBatch is the plugin's Info.MaxStatusBatch: issues per status read.
// Jira Cloud reconciles at most 50 issues with a search (reconcileIssues).
const StatusBatch = 50

// statusFields are the fields a status read asks for: the status and
// resolution, and the fields the plugin writes that a person may change.
var statusFields = []string{"status", "resolution", "resolutiondate", "summary", "priority"}

// issueIDRE is what an issue id looks like.
var issueIDRE = regexp.MustCompile(`^[0-9]{1,18}$`)

// missingIssueRE is Jira's message for an issue in `issue in (…)` that does
// not exist (or the account cannot see): the whole search fails with 400.
var missingIssueRE = regexp.MustCompile(`^An issue with key '([^']*)' does not exist for field '[^']*'\.?$`)

var _ sdk.StatusReader = (*Plugin)(nil)

// statusIssue is one issue of a status search, with its changelog.
type statusIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		issueFields
		ResolutionDate string `json:"resolutiondate"`
		Priority       *struct {
			Name string `json:"name"`
		} `json:"priority"`
	} `json:"fields"`
	Changelog struct {
		Histories []history `json:"histories"`
	} `json:"changelog"`
}

// history is one changelog entry.
type history struct {
	Author struct {
		DisplayName string `json:"displayName"`
		Name        string `json:"name"`
	} `json:"author"`
	Created string `json:"created"`
	Items   []struct {
		Field string `json:"field"`
		To    string `json:"to"`
	} `json:"items"`
}

// ReadStatus reads the issues of req with one JQL search, issue in (…),
// asking for the status, resolution and resolution date, the summary and
// priority, and the changelog: a done status category is resolved, and
// who resolved it is the author of the newest changelog entry that set a
// resolution. On Cloud every id goes to reconcileIssues, so the search sees
// changes at once. An issue Jira reports missing (deleted, or not visible
// to the account) fails the whole search; it is answered not found and the
// rest is searched once more. An issue the search neither returns nor
// reports missing (a lagging index, a deletion the old search only warns
// about) is read directly. An id that is no issue id is answered not found
// without a search.
func (p *Plugin) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	b, err := p.state.Configured(Name)
	if err != nil {
		return nil, err
	}
	batch := sdkhttp.StatusBatch{Op: "jira: read status", Max: StatusBatch, Valid: issueIDRE.MatchString, Log: p.opts.Log()}
	return batch.Read(ctx, req, func(ctx context.Context, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
		return p.readStatus(ctx, b, items)
	})
}

// readStatus reads the status of items, whose ids are issue ids.
func (p *Plugin) readStatus(ctx context.Context, b *backend, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
	ask := make([]string, 0, len(items))
	for _, wi := range items {
		ask = append(ask, wi.ID)
	}
	found := map[string]*statusIssue{}
	gone := map[string]bool{}
	for attempt := 1; len(ask) > 0; attempt++ {
		issues, err := b.searchStatus(ctx, ask)
		if err == nil {
			for i := range issues {
				found[issues[i].ID] = &issues[i]
			}
			break
		}
		missing := missingIssues(err, items)
		if attempt > 1 || len(missing) == 0 {
			return nil, err
		}
		p.opts.Log().Debug("status read: Jira reports issues missing; searching the others again", "missing", strings.Join(missing, ","))
		for _, id := range missing {
			gone[id] = true
		}
		var rest []string
		for _, id := range ask {
			if !slices.Contains(missing, id) {
				rest = append(rest, id)
			}
		}
		ask = rest
	}
	out := make(map[string]sdk.WorkItemStatus, len(items))
	for _, wi := range items {
		is, ok := found[wi.ID]
		if !ok && !gone[wi.ID] {
			// Not in the search's answer, and not reported missing: a
			// lagging index (Data Center) or an issue deleted or hidden
			// (which the old search only warns about). A direct read
			// tells.
			var err error
			is, err = b.readStatusOne(ctx, wi.ID)
			if sdk.KindOf(err) == sdk.KindNotFound {
				is, err = nil, nil
			}
			if err != nil {
				return nil, err
			}
			ok = is != nil
		}
		if ok {
			out[wi.ID] = issueStatus(wi.ID, is)
		}
	}
	return out, nil
}

// readStatusOne reads one issue's status fields and changelog directly;
// a deleted issue is sdk.NotFound.
func (b *backend) readStatusOne(ctx context.Context, id string) (*statusIssue, error) {
	q := url.Values{"fields": {strings.Join(statusFields, ",")}, "expand": {"changelog"}}
	var is statusIssue
	if err := b.client.doIssue(ctx, sdkhttp.Call{Op: "read issue status", Method: http.MethodGet,
		Path: b.s.api + "/issue/" + url.PathEscape(id), Query: q}, &is); err != nil {
		return nil, err
	}
	if is.ID != id {
		// Moved issues answer under their id; anything else is not ours.
		return nil, nil
	}
	return &is, nil
}

// searchStatus runs the status search for ids: /rest/api/3/search/jql on
// Cloud, /rest/api/2/search on Data Center (validateQuery=warn, so that a
// missing issue is a warning there).
func (b *backend) searchStatus(ctx context.Context, ids []string) ([]statusIssue, error) {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = jqlString(id)
	}
	jql := "issue in (" + strings.Join(quoted, ", ") + ")"
	var page struct {
		Issues []statusIssue `json:"issues"`
	}
	var err error
	if b.s.flavor == FlavorCloud {
		reconcile := make([]int, 0, len(ids))
		for _, id := range ids {
			if n, convErr := strconv.Atoi(id); convErr == nil {
				reconcile = append(reconcile, n)
			}
		}
		body := map[string]any{"jql": jql, "maxResults": len(ids), "fields": statusFields, "expand": "changelog", "reconcileIssues": reconcile}
		err = b.client.do(ctx, sdkhttp.Call{Op: "read issue status", Method: http.MethodPost, Path: "/rest/api/3/search/jql", JSON: body}, &page)
	} else {
		body := map[string]any{"jql": jql, "startAt": 0, "maxResults": len(ids), "fields": statusFields, "expand": []string{"changelog"}, "validateQuery": "warn"}
		err = b.client.do(ctx, sdkhttp.Call{Op: "read issue status", Method: http.MethodPost, Path: "/rest/api/2/search", JSON: body}, &page)
	}
	if err != nil {
		return nil, err
	}
	asked := map[string]bool{}
	for _, id := range ids {
		asked[id] = true
	}
	out := page.Issues[:0]
	for _, is := range page.Issues {
		if asked[is.ID] {
			out = append(out, is)
		}
	}
	return out, nil
}

// missingIssues returns the ids of items that err (a 400 from the search)
// reports missing; nil when err is anything else or names something that
// is none of them.
func missingIssues(err error, items []sdk.WorkItem) []string {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || len(apiErr.Messages) == 0 {
		return nil
	}
	var out []string
	for _, m := range apiErr.Messages {
		match := missingIssueRE.FindStringSubmatch(strings.TrimSpace(m))
		if match == nil {
			return nil
		}
		id := ""
		for _, wi := range items {
			if wi.ID == match[1] || wi.Key != "" && strings.EqualFold(wi.Key, match[1]) {
				id = wi.ID
			}
		}
		if id == "" {
			return nil
		}
		out = append(out, id)
	}
	return out
}

// jiraTimeLayout is how Jira's REST API writes times.
const jiraTimeLayout = "2006-01-02T15:04:05.000-0700"

// issueStatus maps one issue to its status.
func issueStatus(id string, is *statusIssue) sdk.WorkItemStatus {
	f := &is.Fields
	st := sdk.WorkItemStatus{ID: id, Found: true, State: sdk.StateOpen, Fields: map[string]string{"status": f.Status.Name}}
	if f.Summary != "" {
		st.Fields["summary"] = f.Summary
	}
	if f.Priority != nil && f.Priority.Name != "" {
		st.Fields["priority"] = f.Priority.Name
	}
	if f.Status.StatusCategory.Key != CategoryDone {
		return st
	}
	st.State = sdk.StateResolved
	if f.Resolution != nil {
		st.Resolution = f.Resolution.Name
	}
	if t, err := time.Parse(jiraTimeLayout, f.ResolutionDate); err == nil {
		st.ResolvedAt = t.UTC()
	}
	st.ResolvedBy = resolver(is.Changelog.Histories)
	return st
}

// resolver is the author of the newest changelog entry that set a
// resolution, or, when none did (a workflow without resolutions), that
// moved the issue to its current status; "" when the changelog has neither.
func resolver(hs []history) string {
	var best, bestStatus *history
	var at, atStatus time.Time
	for i := range hs {
		h := &hs[i]
		t, err := time.Parse(jiraTimeLayout, h.Created)
		if err != nil {
			continue
		}
		for _, it := range h.Items {
			switch {
			case it.Field == "resolution" && it.To != "" && (best == nil || t.After(at)):
				best, at = h, t
			case it.Field == "status" && (bestStatus == nil || t.After(atStatus)):
				bestStatus, atStatus = h, t
			}
		}
	}
	if best == nil {
		best = bestStatus
	}
	if best == nil {
		return ""
	}
	if best.Author.DisplayName != "" {
		return best.Author.DisplayName
	}
	return best.Author.Name
}
