package servicenow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// StatusBatch is the plugin's Info.MaxStatusBatch: sys_ids per status read.
// 100 sys_ids keep the request's URL near 4 KB, well within what instances
// and proxies take.
const StatusBatch = 100

// statusFields are the fields a status read asks for: the state and who
// resolved, closed or last updated the incident and when, its close code,
// and the fields the plugin writes.
var statusFields = []string{
	"sys_id", "state", "resolved_by", "resolved_at", "closed_by", "closed_at", "close_code",
	"sys_updated_by",
	"short_description", "urgency", "impact", "priority", "assignment_group", "category", "subcategory", "cmdb_ci",
}

// statusWritten are the fields of statusFields reported in
// WorkItemStatus.Fields, by their ServiceNow names.
var statusWritten = []string{"short_description", "urgency", "impact", "priority", "assignment_group", "category", "subcategory", "cmdb_ci"}

// sysIDRE is what a sys_id looks like; an id of any other shape cannot be a
// record of the table, and would change the meaning of the encoded query.
var sysIDRE = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)

var (
	_ sdk.StatusReader       = (*Plugin)(nil)
	_ sdk.CapabilityReporter = (*Plugin)(nil)
)

// Capabilities reports every lifecycle step, and ReadStatus unless the
// configuration sends events (there are no incidents to read then).
func (p *Plugin) Capabilities() sdk.Capabilities {
	c := sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, ReadStatus: true}
	if b := p.state.Load(); b != nil && b.s.mode == ModeEvent {
		c.ReadStatus = false
	}
	return c
}

// ReadStatus reads the incidents of req with one Table API query,
// sys_idIN<id>,<id>…: their state (Resolved, Closed and Canceled are
// resolved), who resolved them and when, the close code, and the fields
// the plugin writes. An incident the query does not return was deleted or
// is hidden from the integration user by an ACL: Found is false.
func (p *Plugin) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	b, err := p.state.Configured(Name)
	if err != nil {
		return nil, err
	}
	if b.s.mode == ModeEvent {
		return nil, sdk.Permanent(fmt.Errorf("servicenow: read status: mode %q sends events; there are no incidents to read", ModeEvent))
	}
	batch := sdkhttp.StatusBatch{Op: "servicenow: read status", Max: StatusBatch, Valid: sysIDRE.MatchString, Log: p.opts.Log()}
	return batch.Read(ctx, req, b.readStatus)
}

// readStatus reads the incidents of items, whose ids are sys_ids, with one
// query.
func (b *backend) readStatus(ctx context.Context, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
	ids := make([]string, 0, len(items))
	for _, wi := range items {
		ids = append(ids, wi.ID)
	}
	q := readParams()
	q.Set("sysparm_fields", strings.Join(statusFields, ","))
	q.Set("sysparm_query", "sys_idIN"+strings.Join(ids, ","))
	q.Set("sysparm_display_value", "all")
	q.Set("sysparm_limit", strconv.Itoa(len(ids)))
	var resp struct {
		Result []map[string]displayValue `json:"result"`
	}
	if err := b.client.do(ctx, sdkhttp.Call{
		Op: "read incident status", Method: http.MethodGet,
		Path: "/api/now/table/" + b.s.incident.Table, Query: q,
	}, &resp); err != nil {
		return nil, err
	}
	found := make(map[string]sdk.WorkItemStatus, len(resp.Result))
	for _, rec := range resp.Result {
		// An instance that drops a query it cannot parse answers every
		// record: only the ids asked for count (StatusBatch.Read).
		id := rec["sys_id"].Value
		found[id] = incidentStatus(id, rec)
	}
	return found, nil
}

// displayValue is one field read with sysparm_display_value=all.
type displayValue struct {
	DisplayValue string `json:"display_value"`
	Value        string `json:"value"`
}

// UnmarshalJSON also takes a bare string (an instance answers some fields,
// and a proxy or older release may answer all, without display values).
func (d *displayValue) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		d.DisplayValue, d.Value = s, s
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	type plain displayValue
	return json.Unmarshal(b, (*plain)(d))
}

// incidentStatus maps one incident record to its status. Resolved (6),
// Closed (7) and Canceled (8) are resolved. Who: resolved_by, else
// closed_by, else (a canceled incident, which the instance records no
// resolver for) sys_updated_by; their display values (a person's name),
// sys_updated_by being a user name. When: resolved_at, else closed_at, in
// UTC as the instance stores them.
func incidentStatus(id string, rec map[string]displayValue) sdk.WorkItemStatus {
	st := sdk.WorkItemStatus{ID: id, Found: true, State: sdk.StateOpen}
	switch rec["state"].Value {
	case StateResolved, StateClosed, StateCanceled:
		st.State = sdk.StateResolved
		for _, f := range []string{"resolved_by", "closed_by", "sys_updated_by"} {
			if v := rec[f]; v.Value != "" {
				st.ResolvedBy = v.DisplayValue
				if st.ResolvedBy == "" {
					st.ResolvedBy = v.Value
				}
				break
			}
		}
		for _, f := range []string{"resolved_at", "closed_at"} {
			if t, err := time.ParseInLocation("2006-01-02 15:04:05", rec[f].Value, time.UTC); err == nil {
				st.ResolvedAt = t
				break
			}
		}
		st.Resolution = rec["close_code"].DisplayValue
		if st.Resolution == "" {
			st.Resolution = rec["close_code"].Value
		}
	}
	for _, f := range statusWritten {
		if v := rec[f].Value; v != "" {
			if st.Fields == nil {
				st.Fields = map[string]string{}
			}
			st.Fields[f] = v
		}
	}
	st.Fields = withState(st.Fields, rec["state"])
	return st
}

// withState adds the incident's state value to fields, so that a reader
// sees "7" (Closed) apart from "6" (Resolved).
func withState(fields map[string]string, state displayValue) map[string]string {
	if state.Value == "" {
		return fields
	}
	if fields == nil {
		fields = map[string]string{}
	}
	fields["state"] = state.Value
	return fields
}
