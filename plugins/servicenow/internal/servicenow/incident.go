package servicenow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Incident states (the incident table's state choices).
const (
	StateNew        = "1"
	StateInProgress = "2"
	StateOnHold     = "3"
	StateResolved   = "6"
	StateClosed     = "7"
	StateCanceled   = "8"
)

// incidentFields are the fields read back from the instance.
const incidentFields = "sys_id,number,state,correlation_id,cmdb_ci"

// incident is an incident record as read with sysparm_exclude_reference_link.
type incident struct {
	SysID         string `json:"sys_id"`
	Number        string `json:"number"`
	State         string `json:"state"`
	CorrelationID string `json:"correlation_id"`
	CMDBCI        string `json:"cmdb_ci"`
}

type oneIncident struct {
	Result incident `json:"result"`
}

// readParams are the query parameters of every incident write or read.
func readParams() url.Values {
	return url.Values{
		"sysparm_fields":                 {incidentFields},
		"sysparm_exclude_reference_link": {"true"},
	}
}

func (p *Plugin) createIncident(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	s := b.s
	inc := s.incident
	var bindings []sdk.CIBinding
	if s.cmdbEnabled && len(req.ConfigurationItems) > 0 {
		var err error
		if bindings, err = b.cmdb.bind(ctx, req.ConfigurationItems); err != nil {
			return nil, err
		}
	}

	body := map[string]string{
		"short_description":   sdktext.Summary(&req.Alert),
		"description":         description(&req.Alert, req.CorrelationKey),
		"correlation_id":      CorrelationID(req.CorrelationKey, inc.CorrelationIDMax),
		"correlation_display": inc.CorrelationDisplay,
	}
	if m, ok := s.severity[req.Alert.SeverityLabel]; ok {
		body["urgency"] = fmt.Sprint(m.Urgency)
		body["impact"] = fmt.Sprint(m.Impact)
	}
	for field, v := range map[string]string{
		"caller_id": inc.CallerID, "assignment_group": inc.AssignmentGroup,
		"category": inc.Category, "subcategory": inc.Subcategory, "contact_type": inc.ContactType,
	} {
		if v != "" {
			body[field] = v
		}
	}
	for _, x := range bindings {
		if x.BoundID != "" {
			// The first bound CI is the primary; with cmdb.affected_cis every
			// bound CI is also listed in task_ci after the incident exists.
			body["cmdb_ci"] = x.BoundID
			break
		}
	}
	note := unboundNote(s.cmdbTable, bindings)
	if note != "" {
		body["work_notes"] = note
	}
	for k, v := range req.Fields {
		if k == "priority" {
			p.opts.Log().Warn("ignoring route field priority: the instance computes it from urgency and impact", "correlation_key", req.CorrelationKey)
			continue
		}
		body[k] = sdktext.Scalar(v)
	}
	body["short_description"] = sdktext.Truncate(body["short_description"], inc.ShortDescriptionMax)

	var resp oneIncident
	err := b.client.do(ctx, sdkhttp.Call{
		Op: "create incident", Method: http.MethodPost,
		Path: "/api/now/table/" + inc.Table, Query: readParams(), JSON: body,
	}, &resp)
	if err != nil {
		return nil, err
	}
	if resp.Result.SysID == "" {
		// Created, but unreadable (field ACLs?): the host's Lookup by
		// correlation_id recovers it on the retry.
		return nil, sdk.Retryable(fmt.Errorf("servicenow: create incident: the instance answered without a sys_id"))
	}
	item := p.workItem(b, resp.Result, req.CorrelationKey)
	item.Bindings = bindings
	for _, x := range bindings {
		if x.BoundID == "" {
			p.opts.Log().Warn("configuration item not bound to the CMDB", "incident", item.Key,
				"configuration_item", ciLabel(x.ConfigurationItem), "reason", x.Reason)
		}
	}
	p.opts.Log().Info("created incident", "incident", item.Key, "sys_id", item.ID, "correlation_key", req.CorrelationKey)
	if s.affectedCIs {
		if err := p.affectedAfterCreate(ctx, b, item, bindings); err != nil {
			return nil, err
		}
	}
	return item, nil
}

func (p *Plugin) lookupIncident(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	cid := CorrelationID(req.CorrelationKey, b.s.incident.CorrelationIDMax)
	q := readParams()
	q.Set("sysparm_query", "correlation_id="+cid+"^ORDERBYDESCsys_created_on")
	q.Set("sysparm_limit", "1")
	var resp struct {
		Result []incident `json:"result"`
	}
	err := b.client.do(ctx, sdkhttp.Call{
		Op: "look up incident", Method: http.MethodGet,
		Path: "/api/now/table/" + b.s.incident.Table, Query: q,
	}, &resp)
	if err != nil {
		return nil, err
	}
	if len(resp.Result) == 0 {
		return nil, nil
	}
	item := p.workItem(b, resp.Result[0], req.CorrelationKey)
	if item.State == sdk.StateOpen {
		// Finish what a Create cut short after writing the incident: a
		// retryable failure is returned so the host tries again (it never
		// creates while Lookup fails); any other is logged only, as in Create.
		if missing, err := p.completeAffected(ctx, b, req, item); err != nil {
			p.warnAffected(item, missing, err)
			if sdk.KindOf(err) == sdk.KindRetryable {
				return nil, err
			}
		}
	}
	return item, nil
}

func (p *Plugin) updateIncident(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	// The PATCH comes first: it finds a deleted incident (NotFound) before
	// any task_ci record could point at it.
	note := refireNote(&req.Alert)
	if req.Note != "" {
		note = policyNote(req.Note, &req.Alert)
	}
	body := p.policyFields(b, req)
	body["work_notes"] = withFieldNote(note, req)
	item, err := p.patch(ctx, b, req, "add work note", body)
	if err != nil {
		return nil, err
	}
	p.refreshAffected(ctx, b, req, item)
	return item, nil
}

func (p *Plugin) resolveIncident(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	// An incident a person resolved, closed or canceled keeps what they
	// gave it (the close code a route's wont_fix reads): resolving a
	// resolved item changes nothing.
	cur, err := p.get(ctx, b, req)
	if err != nil {
		return nil, err
	}
	switch cur.State {
	case StateResolved, StateClosed, StateCanceled:
		return p.workItem(b, *cur, req.CorrelationKey), nil
	}
	item, err := p.patch(ctx, b, req, "resolve incident", map[string]string{
		"state":       StateResolved,
		"close_code":  b.s.incident.CloseCode,
		"close_notes": closeNotes(&req.Alert, p.opts.Now()),
	})
	if statusOf(err) == http.StatusForbidden {
		// A closed incident is read-only on most instances; if it is
		// already resolved or closed, resolving is done.
		if cur, getErr := p.get(ctx, b, req); getErr == nil && (cur.State == StateResolved || cur.State == StateClosed) {
			return p.workItem(b, *cur, req.CorrelationKey), nil
		}
	}
	if err == nil {
		p.opts.Log().Info("resolved incident", "incident", item.Key, "correlation_key", req.CorrelationKey)
	}
	return item, err
}

func (p *Plugin) reopenIncident(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	cur, err := p.get(ctx, b, req)
	if err != nil {
		return nil, err
	}
	if cur.State == StateClosed || cur.State == StateCanceled {
		// Closed and canceled incidents cannot be reopened; NotFound makes
		// the host open a new one.
		return nil, sdk.NotFound(fmt.Errorf("servicenow: reopen incident: %s is %s and cannot be reopened; a new incident is needed",
			cur.Number, map[string]string{StateClosed: "closed", StateCanceled: "canceled"}[cur.State]))
	}
	body := p.policyFields(b, req)
	body["state"], body["work_notes"] = StateInProgress, withFieldNote(reopenNote(&req.Alert), req)
	item, err := p.patch(ctx, b, req, "reopen incident", body)
	if err != nil {
		return nil, err
	}
	p.opts.Log().Info("reopened incident", "incident", item.Key, "correlation_key", req.CorrelationKey)
	p.refreshAffected(ctx, b, req, item)
	return item, nil
}

// policyFields are the route fields a re-fire (Update, Reopen) writes: those
// whose policy is "always" (sdk.Request.Writes); without a field policy,
// none, as before policies existed. priority is never written: the
// instance computes it from urgency and impact.
func (p *Plugin) policyFields(b *backend, req *sdk.Request) map[string]string {
	out := map[string]string{}
	for _, k := range sdktext.SortedKeys(req.Fields) {
		if k == "priority" || !req.Writes(k, false) {
			continue
		}
		out[k] = sdktext.Scalar(req.Fields[k])
		if k == "short_description" {
			out[k] = sdktext.Truncate(out[k], b.s.incident.ShortDescriptionMax)
		}
	}
	return out
}

// withFieldNote appends to a work note the new values of the route fields
// whose policy is "comment".
func withFieldNote(note string, req *sdk.Request) string {
	fn := sdktext.FieldNote(req.Commented(), func(k string) string { return sdktext.Scalar(req.Fields[k]) })
	if fn == "" {
		return note
	}
	return sdktext.Truncate(note+"\n\n"+fn, maxDescription)
}

// patch updates req.Ref with fields; a deleted incident is NotFound.
func (p *Plugin) patch(ctx context.Context, b *backend, req *sdk.Request, op string, fields map[string]string) (*sdk.WorkItem, error) {
	if req.Ref == nil || req.Ref.ID == "" {
		return nil, sdk.Permanent(fmt.Errorf("servicenow: %s: the request carries no work item reference", op))
	}
	var resp oneIncident
	err := b.client.do(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodPatch,
		Path: "/api/now/table/" + b.s.incident.Table + "/" + url.PathEscape(req.Ref.ID), Query: readParams(), JSON: fields,
	}, &resp)
	if err != nil {
		return nil, notFound(err)
	}
	return p.workItem(b, resp.Result, req.CorrelationKey), nil
}

// get reads req.Ref; a deleted incident is NotFound.
func (p *Plugin) get(ctx context.Context, b *backend, req *sdk.Request) (*incident, error) {
	if req.Ref == nil || req.Ref.ID == "" {
		return nil, sdk.Permanent(errors.New("servicenow: read incident: the request carries no work item reference"))
	}
	var resp oneIncident
	err := b.client.do(ctx, sdkhttp.Call{
		Op: "read incident", Method: http.MethodGet,
		Path: "/api/now/table/" + b.s.incident.Table + "/" + url.PathEscape(req.Ref.ID), Query: readParams(),
	}, &resp)
	if err != nil {
		return nil, notFound(err)
	}
	return &resp.Result, nil
}

// notFound turns a 404 on a referenced record into sdk.NotFound.
func notFound(err error) error {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return sdk.NotFound(apiErr)
	}
	return err
}

// workItem converts a record to the host's reference.
func (p *Plugin) workItem(b *backend, inc incident, key string) *sdk.WorkItem {
	state := sdk.StateOpen
	switch inc.State {
	case StateResolved, StateClosed, StateCanceled:
		state = sdk.StateResolved
	}
	attrs := map[string]string{"state": inc.State}
	if inc.CMDBCI != "" {
		attrs["cmdb_ci"] = inc.CMDBCI
	}
	return &sdk.WorkItem{
		ID:             inc.SysID,
		Key:            inc.Number,
		URL:            b.s.base.String() + "/nav_to.do?uri=" + url.QueryEscape(b.s.incident.Table+".do?sys_id="+inc.SysID),
		State:          state,
		CorrelationKey: key,
		Attributes:     attrs,
	}
}
