package servicenow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// taskCITable is the many-to-many table behind a task's Affected CIs
// related list: one record per task (reference to task) and ci_item
// (reference to cmdb_ci).
const taskCITable = "task_ci"

// affectedPage is how many task_ci records one read asks for.
const affectedPage = 1000

// affectedIDs returns the CIs an incident lists as affected: the one in its
// cmdb_ci field (primary, may be empty) first, then every bound CI, each
// once, in binding order.
func affectedIDs(primary string, bindings []sdk.CIBinding) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		key := strings.ToLower(id)
		if id != "" && !seen[key] {
			seen[key] = true
			ids = append(ids, id)
		}
	}
	add(primary)
	for _, x := range bindings {
		add(x.BoundID)
	}
	return ids
}

// recordAffected makes every CI in ids an Affected CI of the task: it reads
// the task's task_ci records and creates only the missing ones, so repeating
// it (a retried Create, a re-fire, a reopen) never adds a CI twice. It stops
// at the first failed call, since the next try starts again from what the
// instance holds, and returns the CIs it added, those still missing (all of
// them when the read failed) and the classified error.
//
// Reading then creating is not atomic; the host never runs two calls for
// one work item at a time, so nothing else of ours races with it.
func recordAffected(ctx context.Context, c *client, taskID string, ids []string) (added, missing []string, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	have, err := affectedOf(ctx, c, taskID)
	if err != nil {
		return nil, ids, affectedHint(err)
	}
	for i, id := range ids {
		if have[strings.ToLower(id)] {
			continue
		}
		err := c.do(ctx, sdkhttp.Call{
			Op: "record affected CI", Method: http.MethodPost,
			Path: "/api/now/table/" + taskCITable,
			Query: url.Values{
				"sysparm_fields":                 {"sys_id"},
				"sysparm_exclude_reference_link": {"true"},
			},
			JSON: map[string]string{"task": taskID, "ci_item": id},
		}, nil)
		if err != nil {
			for _, rest := range ids[i:] {
				if !have[strings.ToLower(rest)] {
					missing = append(missing, rest)
				}
			}
			return added, missing, affectedHint(err)
		}
		have[strings.ToLower(id)] = true
		added = append(added, id)
	}
	return added, nil, nil
}

// affectedOf returns the CIs (lower-case sys_ids) the task already lists as
// affected, reading every page.
func affectedOf(ctx context.Context, c *client, taskID string) (map[string]bool, error) {
	if taskID == "" || strings.Contains(taskID, ",") || queryValueProblem(taskID) != "" {
		return nil, sdk.Permanent(fmt.Errorf("servicenow: read affected CIs: task sys_id %q cannot be expressed in an encoded query", taskID))
	}
	have := map[string]bool{}
	for offset := 0; ; offset += affectedPage {
		q := url.Values{
			"sysparm_query":                  {"task=" + taskID + "^ORDERBYsys_id"},
			"sysparm_fields":                 {"ci_item"},
			"sysparm_exclude_reference_link": {"true"},
			"sysparm_limit":                  {strconv.Itoa(affectedPage)},
		}
		if offset > 0 {
			q.Set("sysparm_offset", strconv.Itoa(offset))
		}
		var resp struct {
			Result []struct {
				CIItem string `json:"ci_item"`
			} `json:"result"`
		}
		if err := c.do(ctx, sdkhttp.Call{Op: "read affected CIs", Method: http.MethodGet, Path: "/api/now/table/" + taskCITable, Query: q}, &resp); err != nil {
			return nil, err
		}
		for _, r := range resp.Result {
			if r.CIItem != "" {
				have[strings.ToLower(r.CIItem)] = true
			}
		}
		if len(resp.Result) < affectedPage {
			return have, nil
		}
	}
}

// affectedHint explains a 403 on task_ci to the operator.
func affectedHint(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden && apiErr.Hint == "" {
		apiErr.Hint = "the integration user needs to read and create task_ci records, e.g. with the itil role, or set cmdb.affected_cis = false"
	}
	return err
}

// addAffected records the CIs of bindings, and the incident's own cmdb_ci,
// as Affected CIs of item, logging what it added. It returns the CIs still
// missing and the classified error of a failure, which the caller handles.
func (p *Plugin) addAffected(ctx context.Context, b *backend, item *sdk.WorkItem, bindings []sdk.CIBinding) ([]string, error) {
	added, missing, err := recordAffected(ctx, b.client, item.ID, affectedIDs(item.Attributes["cmdb_ci"], bindings))
	if len(added) > 0 {
		p.opts.Log().Info("recorded affected CIs", "incident", item.Key, "sys_id", item.ID, "added", len(added), "cmdb_ci", added)
	}
	return missing, err
}

// affectedAfterCreate records a new incident's Affected CIs.
//
// The incident already exists when this runs, so a failure here must
// neither fail the incident nor make a second one:
//   - a retryable failure (429, 5xx, network) is returned, naming the
//     incident. The host retries the delivery with Lookup first, which
//     finds the incident by correlation key instead of creating another,
//     and Lookup adds the CIs still missing (see [Plugin.completeAffected]).
//   - any other failure (403 for want of a role, 400 from a data policy)
//     would fail the same way on every retry, so the delivery succeeds: the
//     failure is logged and written to the incident as a work note, and the
//     missing CIs are added by a later re-fire or reopen once the cause is
//     fixed.
func (p *Plugin) affectedAfterCreate(ctx context.Context, b *backend, item *sdk.WorkItem, bindings []sdk.CIBinding) error {
	missing, err := p.addAffected(ctx, b, item, bindings)
	if err == nil {
		return nil
	}
	p.warnAffected(item, missing, err)
	if sdk.KindOf(err) == sdk.KindRetryable {
		return fmt.Errorf("servicenow: incident %s was created but not all its affected CIs are recorded; the retry finds the incident and adds them: %w", item.Key, err)
	}
	note := affectedFailureNote(missing, bindings, err)
	if nerr := b.client.do(ctx, sdkhttp.Call{
		Op: "add work note", Method: http.MethodPatch,
		Path: "/api/now/table/" + b.s.incident.Table + "/" + url.PathEscape(item.ID), Query: readParams(),
		JSON: map[string]string{"work_notes": note},
	}, nil); nerr != nil {
		p.opts.Log().Warn("could not add the affected CIs failure to the incident's work notes", "incident", item.Key, "error", nerr)
	}
	return nil
}

// completeAffected binds req's configuration items and adds the Affected
// CIs item is missing. Lookup, Update and Reopen call it on an open
// incident: Lookup to finish a Create that was interrupted, or failed
// retryably, after the incident was written; Update and Reopen to add CIs
// the alert now targets or that an earlier call could not record. It sets
// item.Bindings when it bound anything and returns the CIs still missing
// and the classified error of a failed lookup or write, for the caller to
// log and decide on.
func (p *Plugin) completeAffected(ctx context.Context, b *backend, req *sdk.Request, item *sdk.WorkItem) ([]string, error) {
	if !b.s.affectedCIs || (len(req.ConfigurationItems) == 0 && item.Attributes["cmdb_ci"] == "") {
		return nil, nil
	}
	var bindings []sdk.CIBinding
	if len(req.ConfigurationItems) > 0 {
		var err error
		if bindings, err = b.cmdb.bind(ctx, req.ConfigurationItems); err != nil {
			return nil, err
		}
		item.Bindings = bindings
	}
	return p.addAffected(ctx, b, item, bindings)
}

// refreshAffected runs completeAffected after Update or Reopen changed the
// incident. A failure is only logged, whatever its kind: failing the call
// would make the host repeat the work note it already wrote, and the next
// re-fire or reopen tries again.
func (p *Plugin) refreshAffected(ctx context.Context, b *backend, req *sdk.Request, item *sdk.WorkItem) {
	if missing, err := p.completeAffected(ctx, b, req, item); err != nil {
		p.warnAffected(item, missing, err)
	}
}

// warnAffected logs a failure to record Affected CIs.
func (p *Plugin) warnAffected(item *sdk.WorkItem, missing []string, err error) {
	p.opts.Log().Warn("could not record the incident's affected CIs", "incident", item.Key, "sys_id", item.ID,
		"missing", missing, "kind", string(sdk.KindOf(err)), "error", err)
}
