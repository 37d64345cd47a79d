package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Search bounds: Lookup reads at most maxSearchPages pages of
// searchPageSize candidates. A correlation label or field names a handful
// of issues at most (one per reopen window).
const (
	searchPageSize = 50
	maxSearchPages = 4
)

// correlationFieldID resolves correlation.field to a field id.
func (b *backend) correlationFieldID(ctx context.Context) (string, error) {
	f, err := b.fields.resolve(ctx, b.s.corrField)
	if errors.Is(err, errUnknownField) || errors.Is(err, errAmbiguousField) {
		return "", sdk.Permanent(fmt.Errorf("jira: correlation.field: %w", err))
	}
	if err != nil {
		return "", err
	}
	// The id goes into the search's JQL as cf[<number>]: only a custom
	// field's id is accepted there.
	if n, ok := strings.CutPrefix(f.ID, "customfield_"); !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return "", sdk.Permanent(fmt.Errorf("jira: correlation.field: %q (%s) is not a custom field; it must be a single-line text custom field",
			f.Name, f.ID))
	}
	if f.Schema.Type != "string" || f.Schema.Custom == textareaType {
		return "", sdk.Permanent(fmt.Errorf("jira: correlation.field: %q (%s) is a %s field; it must be a single-line text field",
			f.Name, f.ID, f.Schema.Type))
	}
	return f.ID, nil
}

// correlationJQL is the search for candidates stamped with key, newest
// first.
func (b *backend) correlationJQL(ctx context.Context, key string) (string, error) {
	if b.s.corrField == "" {
		return "labels = " + jqlString(CorrelationLabel(b.s.labelPrefix, key)) + " ORDER BY created DESC", nil
	}
	id, err := b.correlationFieldID(ctx)
	if err != nil {
		return "", err
	}
	// Text fields are searched with ~; a quoted phrase inside the string
	// (its own quotes and backslashes escaped for the text search) asks for
	// the words in order. Candidates are then confirmed exactly.
	phrase := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(correlationFieldValue(key))
	return "cf[" + strings.TrimPrefix(id, "customfield_") + "] ~ " +
		jqlString(`"`+phrase+`"`) + " ORDER BY created DESC", nil
}

// lookup finds the issue stamped with the correlation key: the oldest open
// one, else the newest. Newer open issues of the same key are duplicates
// (a create whose answer was lost, then a second create before the search
// index caught up): they are closed as duplicates of the oldest, and the
// work item's note says so.
//
// Candidates are the issues this process created for the key recently
// (read directly: the search index may not have them yet) and the issues
// the search finds by label or field. Each is confirmed by reading it with
// the itsm-connector property: an issue is ours only when the property
// holds exactly this key, so a cloned issue (which copies labels but not
// properties) or a label collision is never mistaken for it.
func (p *Plugin) lookup(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	key := req.CorrelationKey
	recent := b.recent.ids(key)
	found, err := b.search(ctx, key, recent)
	if err != nil {
		return nil, err
	}
	candidates := slices.Clone(recent)
	for _, id := range found {
		if !slices.Contains(candidates, id) {
			candidates = append(candidates, id)
		}
	}
	// Issue ids grow with creation: newest first.
	slices.SortStableFunc(candidates, func(a, b string) int { return idNumber(b) - idNumber(a) })
	var newest *issueRecord
	var open []*issueRecord // newest first
	for _, id := range candidates {
		rec, err := b.getIssue(ctx, "look up issue", id)
		if sdk.KindOf(err) == sdk.KindNotFound {
			b.recent.forget(key, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		if !b.confirms(rec, key) {
			p.opts.Log().Debug("lookup candidate not confirmed by its itsm-connector property", "issue", rec.Key, "correlation_key", key)
			continue
		}
		if newest == nil {
			newest = rec
		}
		if !rec.done() {
			open = append(open, rec)
		}
	}
	pick := newest
	if len(open) > 0 {
		pick = open[len(open)-1]
	}
	if pick == nil {
		return nil, nil
	}
	item := p.workItem(b, pick.ID, pick.Key, pick.Fields.Status.Name, pick.Fields.Status.StatusCategory.Key, key)
	if len(open) > 1 {
		item.Note = p.closeDuplicates(ctx, b, req, pick, open[:len(open)-1])
	}
	return item, nil
}

// confirms reports whether rec is stamped with key: its property holds the
// key, or, with a correlation field, the field holds the key's value.
func (b *backend) confirms(rec *issueRecord, key string) bool {
	if raw, ok := rec.Properties[PropertyKey]; ok {
		var st stamp
		if json.Unmarshal(raw, &st) == nil && st.CorrelationKey == key {
			return true
		}
	}
	if b.s.corrField != "" {
		for id, raw := range rec.Raw {
			if strings.HasPrefix(id, "customfield_") && id == b.fieldIDCached() {
				var v string
				if json.Unmarshal(raw, &v) == nil && v == correlationFieldValue(key) {
					return true
				}
			}
		}
	}
	return false
}

// fieldIDCached is the correlation field's id if the metadata is cached.
func (b *backend) fieldIDCached() string {
	f, err := b.fields.lookup(b.s.corrField)
	if err != nil {
		return ""
	}
	return f.ID
}

// search returns the ids of the issues the search finds for key, newest
// first: /rest/api/3/search/jql with nextPageToken on Cloud (passing the
// recently created ids as reconcileIssues, Jira's read-after-write aid),
// /rest/api/2/search with startAt on Data Center.
func (b *backend) search(ctx context.Context, key string, recent []string) ([]string, error) {
	jql, err := b.correlationJQL(ctx, key)
	if err != nil {
		return nil, err
	}
	var ids []string
	type page struct {
		Issues []struct {
			ID string `json:"id"`
		} `json:"issues"`
		NextPageToken string `json:"nextPageToken"`
		IsLast        *bool  `json:"isLast"`
		StartAt       int    `json:"startAt"`
		Total         int    `json:"total"`
	}
	token := ""
	for n := 0; n < maxSearchPages; n++ {
		var pg page
		if b.s.flavor == FlavorCloud {
			body := map[string]any{"jql": jql, "maxResults": searchPageSize, "fields": []string{"created"}}
			if token != "" {
				body["nextPageToken"] = token
			}
			var reconcile []int
			for _, id := range recent {
				if n, err := strconv.Atoi(id); err == nil {
					reconcile = append(reconcile, n)
				}
			}
			if len(reconcile) > 0 {
				body["reconcileIssues"] = reconcile
			}
			err = b.client.do(ctx, sdkhttp.Call{Op: "search issues", Method: http.MethodPost, Path: "/rest/api/3/search/jql", JSON: body}, &pg)
		} else {
			body := map[string]any{"jql": jql, "startAt": len(ids), "maxResults": searchPageSize, "fields": []string{"created"}}
			err = b.client.do(ctx, sdkhttp.Call{Op: "search issues", Method: http.MethodPost, Path: "/rest/api/2/search", JSON: body}, &pg)
		}
		if err != nil {
			return nil, err
		}
		for _, is := range pg.Issues {
			ids = append(ids, is.ID)
		}
		if b.s.flavor == FlavorCloud {
			if pg.NextPageToken == "" || (pg.IsLast != nil && *pg.IsLast) {
				break
			}
			token = pg.NextPageToken
		} else if len(pg.Issues) == 0 || len(ids) >= pg.Total {
			break
		}
	}
	return ids, nil
}

func idNumber(id string) int {
	n, _ := strconv.Atoi(id)
	return n
}
