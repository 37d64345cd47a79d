package servicenow

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// eventPath is Event Management's bulk event endpoint.
const eventPath = "/api/global/em/jsonv2"

// maxMessageKey is the length of em_event.message_key.
const maxMessageKey = 1000

// severityClear is the event severity that clears an alert.
const severityClear = 0

// sendEvent sends the alert as one event. Event Management de-duplicates by
// message_key, so every lifecycle step is the same idempotent call with the
// alert's current severity, or clear when resolve is set.
func (p *Plugin) sendEvent(ctx context.Context, b *backend, req *sdk.Request, resolve bool) (*sdk.WorkItem, error) {
	a := &req.Alert
	ev := b.s.event
	sev, ok := ev.SeverityMap[a.SeverityLabel]
	if !ok {
		sev = 4 // warning when Azure sends no severity
	}
	if resolve || a.Condition == sdk.ConditionResolved {
		sev = severityClear
	}
	node, resourceID := a.ResourceName, a.Resource.ID
	if len(req.ConfigurationItems) > 0 {
		ci := req.ConfigurationItems[0]
		if ci.Name != "" {
			node = ci.Name
		}
		if ci.ResourceID != "" {
			resourceID = ci.ResourceID
		}
	}
	info := map[string]string{
		"alert_id":       a.ID,
		"rule":           a.Rule,
		"severity_label": a.SeverityLabel,
		"condition":      string(a.Condition),
		"fired_at":       sdktext.FormatTime(a.FiredAt),
		"resource_id":    resourceID,
		"subscription":   a.Subscription,
		"resource_group": a.ResourceGroup,
		"portal_link":    sdktext.PortalLink(a.ID),
	}
	if a.ResolvedAt != nil {
		info["resolved_at"] = sdktext.FormatTime(*a.ResolvedAt)
	}
	for k, v := range req.Fields {
		info[k] = sdktext.Scalar(v)
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return nil, sdk.Permanent(err)
	}
	metric := a.Rule
	if a.Metric != nil && a.Metric.Name != "" {
		metric = a.Metric.Name
	}
	eventTime := a.FiredAt
	if a.ResolvedAt != nil && sev == severityClear {
		eventTime = *a.ResolvedAt
	}
	key := CorrelationID(req.CorrelationKey, maxMessageKey)
	record := map[string]string{
		"source":          ev.Source,
		"event_class":     ev.EventClass,
		"node":            node,
		"resource":        resourceID,
		"type":            a.Rule,
		"metric_name":     metric,
		"severity":        strconv.Itoa(sev),
		"message_key":     key,
		"description":     description(a, req.CorrelationKey),
		"additional_info": string(infoJSON),
	}
	if !eventTime.IsZero() {
		record["time_of_event"] = eventTime.UTC().Format("2006-01-02 15:04:05")
	}
	err = b.client.do(ctx, sdkhttp.Call{
		Op: "send event", Method: http.MethodPost, Path: eventPath,
		JSON: map[string]any{"records": []map[string]string{record}},
	}, nil)
	if err != nil {
		return nil, err
	}
	state := sdk.StateOpen
	if sev == severityClear {
		state = sdk.StateResolved
	}
	p.opts.Log().Info("sent event", "message_key", key, "severity", sev)
	return &sdk.WorkItem{
		ID:             key,
		Key:            key,
		State:          state,
		CorrelationKey: req.CorrelationKey,
		Attributes:     map[string]string{"mode": ModeEvent, "severity": strconv.Itoa(sev)},
	}, nil
}
