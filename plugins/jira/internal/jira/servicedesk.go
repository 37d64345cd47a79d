package jira

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// createdRequest is the answer to POST /rest/servicedeskapi/request.
type createdRequest struct {
	IssueID  string `json:"issueId"`
	IssueKey string `json:"issueKey"`
	Links    struct {
		Web string `json:"web"`
	} `json:"_links"`
}

// createRequest raises a Jira Service Management request, then stamps the
// issue with the correlation property and label. The request API accepts
// only the fields on the request type's form, so the stamp cannot travel
// with the create: a crash between the two leaves an issue that Lookup
// cannot find (see docs/plugins/jira.md). A stamp that fails is logged, not
// returned: the host records the issue from this answer either way.
func (p *Plugin) createRequest(ctx context.Context, b *backend, req *sdk.Request) (*sdk.WorkItem, error) {
	s := b.s
	values, err := b.routeFields(ctx, req.Fields)
	if err != nil {
		return nil, err
	}
	// The request API takes plain text on both flavors.
	for id, v := range values {
		if m, ok := v.(map[string]any); ok && m["type"] == "doc" {
			values[id] = sdktext.Scalar(req.Fields[id])
		}
	}
	if s.corrField != "" {
		id, err := b.correlationFieldID(ctx)
		if err != nil {
			return nil, err
		}
		values[id] = correlationFieldValue(req.CorrelationKey)
	}
	values["summary"] = summaryOf(&req.Alert, req.Fields)
	values["description"] = descriptionOf(FlavorDataCenter, req) // plain text on both flavors
	body := map[string]any{
		"serviceDeskId":      s.desk.ServiceDeskID,
		"requestTypeId":      s.desk.RequestTypeID,
		"requestFieldValues": values,
	}
	if s.desk.RaiseOnBehalfOf != "" {
		body["raiseOnBehalfOf"] = s.desk.RaiseOnBehalfOf
	}
	var created createdRequest
	if err := b.client.do(ctx, sdkhttp.Call{Op: "create service desk request", Method: http.MethodPost, Path: "/rest/servicedeskapi/request", JSON: body}, &created); err != nil {
		return nil, err
	}
	if created.IssueID == "" || created.IssueKey == "" {
		return nil, sdk.Retryable(errors.New("jira: create service desk request: Jira answered without an issue id and key"))
	}
	b.recent.add(req.CorrelationKey, created.IssueID)
	log := p.opts.Log().With("issue", created.IssueKey, "correlation_key", req.CorrelationKey)
	path := s.api + "/issue/" + url.PathEscape(created.IssueID)
	if err := b.client.doIssue(ctx, sdkhttp.Call{Op: "stamp request with its correlation property", Method: http.MethodPut,
		Path: path + "/properties/" + PropertyKey, JSON: newStamp(p, req)}, nil); err != nil {
		log.Warn("could not set the correlation property; Lookup will not find this request after a restart", "error", err.Error())
	}
	var ops []any
	for _, l := range labelsFor(b, req) {
		ops = append(ops, map[string]any{"add": l})
	}
	if err := b.client.doIssue(ctx, sdkhttp.Call{Op: "label request", Method: http.MethodPut,
		Path: path, JSON: map[string]any{"update": map[string]any{"labels": ops}}}, nil); err != nil {
		log.Warn("could not add the correlation label; Lookup will not find this request after a restart", "error", err.Error())
	}
	item := p.workItem(b, created.IssueID, created.IssueKey, "", CategoryNew, req.CorrelationKey)
	if created.Links.Web != "" {
		item.Attributes = map[string]string{"portal_url": created.Links.Web}
	}
	log.Info("created service desk request", "id", created.IssueID)
	return item, nil
}
