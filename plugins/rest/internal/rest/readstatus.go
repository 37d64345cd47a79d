package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// ActionReadStatus is the block that reads the state of work items for the
// host's ReadStatus. Unlike the other actions it is not rendered per alert
// (a status read has no alert): its url, query and body are texts in which
// the plugin fills in the items, like url_template.
const ActionReadStatus = "read_status"

// Status read references: a batch request names $${work_items.ids} (the
// ids joined with commas, each percent-encoded in url and query) or, in a
// body, $${work_items.ids_json} (a JSON array); a request per item names
// $${work_item.id} or $${work_item.key} (or $${work_item.id_json}, a JSON
// string, in a body).
const (
	refItemsIDs     = "work_items.ids"
	refItemsIDsJSON = "work_items.ids_json"
	refItemID       = "work_item.id"
	refItemKey      = "work_item.key"
	refItemIDJSON   = "work_item.id_json"
)

// Batch sizes of read_status: the default per request of a batch, and per
// call when each item is its own request; and the largest allowed.
const (
	defaultStatusBatch   = 50
	defaultStatusPerItem = 20
	maxStatusBatch       = 1000
)

// ReadStatusConfig is the `read_status {}` block.
type ReadStatusConfig struct {
	Method           string              `json:"method"`
	URL              string              `json:"url"`
	Query            map[string]string   `json:"query"`
	Headers          map[string]string   `json:"headers"`
	Body             string              `json:"body"`
	Batch            *float64            `json:"batch"`
	SuccessStatuses  StatusList          `json:"success_statuses"`
	NotFoundStatuses StatusList          `json:"not_found_statuses"`
	Result           *StatusResultConfig `json:"result"`
}

// StatusResultConfig is read_status's `result {}` block: JSON paths into
// each item (an element of items in a batch, the whole answer per item).
type StatusResultConfig struct {
	Items          string            `json:"items"`
	ID             string            `json:"id"`
	State          string            `json:"state"`
	ResolvedStates []string          `json:"resolved_states"`
	ResolvedBy     string            `json:"resolved_by"`
	ResolvedAt     string            `json:"resolved_at"`
	Resolution     string            `json:"resolution"`
	Fields         map[string]string `json:"fields"`
}

// statusRead is a validated read_status block.
type statusRead struct {
	action  *action // method and statuses, for the client
	batch   bool    // one request for the batch, else one per item
	size    int     // Info.MaxStatusBatch
	url     *later
	query   map[string]*later
	headers map[string]string
	body    *later
	// Paths into an item; items is the array in a batch answer.
	items, id, state, resolvedBy, resolvedAt, resolution *jsonpath.Path
	resolved                                             map[string]bool
	fields                                               map[string]jsonpath.Path
}

// readStatusBlock declares the read_status block.
func readStatusBlock() sdk.Block {
	return sdk.Block{Name: ActionReadStatus, Nesting: sdk.NestingSingle,
		Doc: "Request that reads the current state of work items, so the host learns what people did in the tool (resolved, reopened, deleted). Without it the plugin does not report read_status. Not rendered per alert: url, query and body name the items with $${work_items.ids} (one request per batch) or $${work_item.id} (one per item).",
		Schema: sdk.Schema{Attributes: []sdk.Attribute{
			{Name: "method", Type: "string", Default: sdkhttp.JSONOf("GET"), Doc: "HTTP method."},
			{Name: "url", Type: "string", Required: true,
				Doc: `The URL, appended to base_url (or absolute on its host): "/tickets/show_many?ids=$${work_items.ids}" (the ids joined with commas, each percent-encoded) or "/tickets/$${work_item.id}" ($${work_item.key} too).`},
			{Name: "query", Type: "map(string)", Doc: `Query parameters, with the same references, encoded by the plugin, e.g. { ids = "$${work_items.ids}" }.`},
			{Name: "headers", Type: "map(string)", Doc: "Headers of this request."},
			{Name: "body", Type: "string", Doc: `Request body, e.g. "{\"ids\": $${work_items.ids_json}}" ($${work_items.ids_json} is a JSON array of the ids, $${work_item.id_json} one id as a JSON string).`},
			{Name: "batch", Type: "number", Doc: "Most work items one read covers: the API's page size for a batch (default 50), the requests one call makes per item (default 20). At most 1000."},
			{Name: "success_statuses", Type: "list(string)", Default: sdkhttp.JSONOf(defaultSuccess), Doc: "Statuses that mean success."},
			{Name: "not_found_statuses", Type: "list(string)",
				Doc: "With a request per item: statuses that mean the item was deleted (default [\"404\"]). A batch answer leaves deleted items out instead."},
		}, Blocks: []sdk.Block{{Name: "result", Nesting: sdk.NestingSingle, Required: true,
			Doc: "How the answer is read: JSON paths into each item, which is an element of items in a batch answer, or the whole answer per item.",
			Schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "items", Type: "string", Doc: `Batch: where the array of items is, e.g. "tickets". An item asked for and not in it was deleted.`},
				{Name: "id", Type: "string", Doc: `Where an item's id is, e.g. "id"; required in a batch, whose items are matched to the work items by it.`},
				{Name: "state", Type: "string", Required: true, Doc: `Where an item's status is, e.g. "status".`},
				{Name: "resolved_states", Type: "list(string)", Required: true, Doc: `Status values that mean resolved or closed, e.g. ["solved", "closed"]; any other value is open.`},
				{Name: "resolved_by", Type: "string", Doc: `Where who resolved the item is, e.g. "solved_by.name".`},
				{Name: "resolved_at", Type: "string", Doc: `Where when it was resolved is: an RFC 3339 time, "2006-01-02 15:04:05" in UTC, or Unix seconds.`},
				{Name: "resolution", Type: "string", Doc: `Where the resolution or close code is, e.g. "resolution".`},
				{Name: "fields", Type: "map(string)", Doc: `Further values reported with the status, name to path, e.g. { priority = "priority" }.`},
			}}}},
		}}
}

// resolveReadStatus validates the read_status block; nil when absent or
// invalid (the diagnostics say why).
func resolveReadStatus(rc *ReadStatusConfig, diags *sdk.Diagnostics) *statusRead {
	if rc == nil {
		return nil
	}
	errf := func(summary, detail string, path ...string) {
		*diags = append(*diags, sdk.AttributeError(summary, detail, append([]string{ActionReadStatus}, path...)...))
	}
	before := len(*diags)
	sr := &statusRead{headers: rc.Headers, resolved: map[string]bool{}, query: map[string]*later{}}
	method := rc.Method
	if method == "" {
		method = "GET"
	}
	a := resolveAction(ActionReadStatus, ActionConfig{Method: method, SuccessStatuses: rc.SuccessStatuses,
		NotFoundStatuses: rc.NotFoundStatuses}, diags)
	sr.action = a

	var refs []string
	parse := func(text string, known func(string) bool, hint string, path ...string) *later {
		l, err := parseLater(text, known)
		if err != nil {
			errf("invalid reference", err.Error()+". "+hint, path...)
			return nil
		}
		refs = append(refs, l.refs...)
		return l
	}
	inURL := func(ref string) bool {
		return ref == refItemsIDs || ref == refItemID || ref == refItemKey
	}
	urlHint := `Name the items with "$${work_items.ids}" or "$${work_item.id}" ($${ is HCL's escape for a literal "${").`
	if strings.TrimSpace(rc.URL) == "" {
		errf("url is required", urlHint, "url")
	} else {
		sr.url = parse(rc.URL, inURL, urlHint, "url")
	}
	for k, v := range rc.Query {
		if l := parse(v, inURL, urlHint, "query"); l != nil {
			sr.query[k] = l
		}
	}
	for k, v := range rc.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			errf("invalid header", fmt.Sprintf("%q is not a header name, or its value has a line break.", k), "headers")
		}
	}
	if rc.Body != "" {
		sr.body = parse(rc.Body, func(ref string) bool { return ref == refItemsIDsJSON || ref == refItemIDJSON },
			`In a body, name the items with "$${work_items.ids_json}" or "$${work_item.id_json}" (JSON, so the body stays valid).`, "body")
	}
	var batch, perItem bool
	for _, r := range refs {
		batch = batch || strings.HasPrefix(r, "work_items.")
		perItem = perItem || strings.HasPrefix(r, "work_item.")
	}
	switch {
	case batch && perItem:
		errf("read_status mixes a batch and a request per item",
			"Use $${work_items.ids} (one request for the batch) or $${work_item.id} (one request per item), not both.", "url")
	case !batch && !perItem && strings.TrimSpace(rc.URL) != "":
		errf("read_status does not name the items", urlHint+" A request that names none would read the same thing for every item.", "url")
	}
	sr.batch = batch

	sr.size = defaultStatusPerItem
	if batch {
		sr.size = defaultStatusBatch
	}
	if rc.Batch != nil {
		n := *rc.Batch
		if n != float64(int(n)) || n < 1 || n > maxStatusBatch {
			errf("invalid batch", fmt.Sprintf("Got %v; use a whole number from 1 to %d.", n, maxStatusBatch), "batch")
		} else {
			sr.size = int(n)
		}
	}
	if batch && rc.NotFoundStatuses != nil {
		errf("not_found_statuses needs a request per item",
			"A batch answer leaves deleted items out; a status that says \"not found\" for the whole batch would mark every item deleted.", "not_found_statuses")
	}
	if batch {
		a.notFound = statusSet{}
	}

	var r StatusResultConfig
	if rc.Result != nil {
		r = *rc.Result
	} else {
		errf("result is required", `Add result { state = "status" resolved_states = ["solved", "closed"] }.`, "result")
	}
	path := func(src, field string) *jsonpath.Path {
		if src == "" {
			return nil
		}
		if strings.HasPrefix(src, headerSourcePrefix) {
			errf("read_status reads items from the body", "Headers describe the whole answer, not an item; give a JSON path.", "result", field)
			return nil
		}
		p, err := jsonpath.Parse(src)
		if err != nil {
			errf("invalid JSON path", fmt.Sprintf("%q: %v.", src, err), "result", field)
			return nil
		}
		return &p
	}
	sr.items, sr.id, sr.state = path(r.Items, "items"), path(r.ID, "id"), path(r.State, "state")
	sr.resolvedBy, sr.resolvedAt, sr.resolution = path(r.ResolvedBy, "resolved_by"), path(r.ResolvedAt, "resolved_at"), path(r.Resolution, "resolution")
	if rc.Result != nil {
		if r.State == "" {
			errf("state is required", `Where an item's status is, e.g. "status".`, "result", "state")
		}
		if len(r.ResolvedStates) == 0 {
			errf("resolved_states is required", `The status values that mean resolved or closed, e.g. ["solved", "closed"].`, "result", "resolved_states")
		}
		if batch && r.Items == "" {
			errf("items is required in a batch", `Where the answer's array of items is, e.g. "tickets".`, "result", "items")
		}
		if batch && r.ID == "" {
			errf("id is required in a batch", `Where each item's id is, e.g. "id": items are matched to the work items by it.`, "result", "id")
		}
		if !batch && r.Items != "" {
			errf("items needs a batch", "With a request per item the answer is the item; give paths into it.", "result", "items")
		}
	}
	for _, s := range r.ResolvedStates {
		sr.resolved[s] = true
	}
	if len(r.Fields) > 0 {
		sr.fields = map[string]jsonpath.Path{}
	}
	for k, src := range r.Fields {
		if p := path(src, "fields"); p != nil {
			sr.fields[k] = *p
		}
	}
	if len(*diags) > before {
		return nil
	}
	return sr
}

var (
	_ sdk.StatusReader = (*Plugin)(nil)
)

// ReadStatus reads the state of req's work items with the read_status
// block: one request for the batch, or one per item.
func (p *Plugin) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	b, err := p.state.Configured(Name)
	if err != nil {
		return nil, err
	}
	sr := b.s.readStatus
	if sr == nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: no %s block is configured, so the plugin does not report read_status and sends nothing", ActionReadStatus, ActionReadStatus))
	}
	batch := sdkhttp.StatusBatch{Op: "rest: " + ActionReadStatus, Max: sr.size, Log: p.opts.Log()}
	return batch.Read(ctx, req, func(ctx context.Context, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
		if sr.batch {
			return b.readBatch(ctx, sr, items)
		}
		found := make(map[string]sdk.WorkItemStatus, len(items))
		for _, wi := range items {
			st, err := b.readOne(ctx, sr, wi)
			if err != nil {
				return nil, err
			}
			found[wi.ID] = st
		}
		return found, nil
	})
}

// statusRequest sends read_status with the references filled in: in the
// url from pathVars (percent-encoded), in query and body from vars (the
// query is encoded as a whole).
func (b *backend) statusRequest(ctx context.Context, sr *statusRead, pathVars, vars map[string]string) (*response, outcome, error) {
	fail := func(field string, err error) (*response, outcome, error) {
		return nil, 0, sdk.Permanent(fmt.Errorf("rest: %s: %s: %w", ActionReadStatus, field, err))
	}
	av := &ActionValues{Headers: sr.headers, Query: map[string]string{}}
	var err error
	if av.URL, err = sr.url.expand(pathVars, func(s string) string { return s }); err != nil {
		return fail("url", err)
	}
	for k, l := range sr.query {
		if av.Query[k], err = l.expand(vars, func(s string) string { return s }); err != nil {
			return fail("query", err)
		}
	}
	if sr.body != nil {
		s, err := sr.body.expand(vars, func(s string) string { return s })
		if err != nil {
			return fail("body", err)
		}
		av.Body = &s
	}
	body, err := b.client.finalBody(ActionReadStatus, av.Body, nil)
	if err != nil {
		return nil, 0, err
	}
	return b.client.do(ctx, sr.action, av, body)
}

// readBatch reads every item with one request; an item the answer leaves
// out is not found.
func (b *backend) readBatch(ctx context.Context, sr *statusRead, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
	ids := make([]string, len(items))
	escaped := make([]string, len(items))
	for i, wi := range items {
		ids[i], escaped[i] = wi.ID, url.PathEscape(wi.ID)
	}
	idsJSON, _ := json.Marshal(ids)
	r, _, err := b.statusRequest(ctx, sr,
		map[string]string{refItemsIDs: strings.Join(escaped, ",")},
		map[string]string{refItemsIDs: strings.Join(ids, ","), refItemsIDsJSON: string(idsJSON)})
	if err != nil {
		return nil, err
	}
	if r.docErr != nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: the response body is not JSON (%v): %s", ActionReadStatus, r.docErr, b.client.redact.apply(sdkhttp.Snippet(r.body, maxErrorBody))))
	}
	raw, ok := sr.items.Get(r.doc)
	list, isList := raw.([]any)
	if ok && raw != nil && !isList {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: result.items: the value at %s is not an array", ActionReadStatus, sr.items))
	}
	found := map[string]any{}
	for i, el := range list {
		v, ok := sr.id.Get(el)
		if !ok {
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: result.id: item %d of %s has no value at %s", ActionReadStatus, i, sr.items, sr.id))
		}
		id, err := jsonpath.Scalar(v)
		if err != nil {
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: result.id: item %d: %s %v", ActionReadStatus, i, sr.id, err))
		}
		found[id] = el
	}
	out := make(map[string]sdk.WorkItemStatus, len(items))
	for _, wi := range items {
		if el, ok := found[wi.ID]; ok {
			st, err := sr.status(wi.ID, el)
			if err != nil {
				return nil, err
			}
			out[wi.ID] = st
		}
	}
	return out, nil
}

// readOne reads one item with its own request.
func (b *backend) readOne(ctx context.Context, sr *statusRead, wi sdk.WorkItem) (sdk.WorkItemStatus, error) {
	idJSON, _ := json.Marshal(wi.ID)
	r, out, err := b.statusRequest(ctx, sr,
		map[string]string{refItemID: url.PathEscape(wi.ID), refItemKey: url.PathEscape(wi.Key)},
		map[string]string{refItemID: wi.ID, refItemKey: wi.Key, refItemIDJSON: string(idJSON)})
	if err != nil {
		return sdk.WorkItemStatus{}, err
	}
	if out == outcomeNotFound {
		return sdk.WorkItemStatus{ID: wi.ID}, nil
	}
	if r.docErr != nil {
		return sdk.WorkItemStatus{}, sdk.Permanent(fmt.Errorf("rest: %s: the response body is not JSON (%v): %s", ActionReadStatus, r.docErr, b.client.redact.apply(sdkhttp.Snippet(r.body, maxErrorBody))))
	}
	if sr.id != nil {
		if v, ok := sr.id.Get(r.doc); ok {
			if id, err := jsonpath.Scalar(v); err == nil && id != wi.ID {
				return sdk.WorkItemStatus{}, sdk.Permanent(fmt.Errorf("rest: %s: result.id: asked for %q, the answer is about %q", ActionReadStatus, wi.ID, id))
			}
		}
	}
	return sr.status(wi.ID, r.doc)
}

// status reads one item's status from its JSON.
func (sr *statusRead) status(id string, item any) (sdk.WorkItemStatus, error) {
	fail := func(field string, err error) (sdk.WorkItemStatus, error) {
		return sdk.WorkItemStatus{}, sdk.Permanent(fmt.Errorf("rest: %s: result.%s: work item %s: %w", ActionReadStatus, field, id, err))
	}
	get := func(p *jsonpath.Path) (string, error) {
		if p == nil {
			return "", nil
		}
		v, ok := p.Get(item)
		if !ok || v == nil {
			return "", nil
		}
		s, err := jsonpath.Scalar(v)
		if err != nil {
			return "", fmt.Errorf("%s %v", p, err)
		}
		return s, nil
	}
	st := sdk.WorkItemStatus{ID: id, Found: true, State: sdk.StateOpen}
	state, err := get(sr.state)
	if err != nil {
		return fail("state", err)
	}
	if state == "" {
		return fail("state", fmt.Errorf("the item has no status at %s", sr.state))
	}
	for _, k := range sdktext.SortedKeys(sr.fields) {
		p := sr.fields[k]
		v, err := get(&p)
		if err != nil {
			return fail("fields."+k, err)
		}
		if v != "" {
			if st.Fields == nil {
				st.Fields = map[string]string{}
			}
			st.Fields[k] = v
		}
	}
	if !sr.resolved[state] {
		return st, nil
	}
	st.State = sdk.StateResolved
	if st.ResolvedBy, err = get(sr.resolvedBy); err != nil {
		return fail("resolved_by", err)
	}
	if st.Resolution, err = get(sr.resolution); err != nil {
		return fail("resolution", err)
	}
	at, err := get(sr.resolvedAt)
	if err != nil {
		return fail("resolved_at", err)
	}
	if at != "" {
		t, err := parseStatusTime(at)
		if err != nil {
			return fail("resolved_at", fmt.Errorf("%q at %s: %w", at, sr.resolvedAt, err))
		}
		st.ResolvedAt = t
	}
	return st, nil
}

// parseStatusTime reads a time as APIs write them: RFC 3339, "2006-01-02
// 15:04:05" in UTC, or Unix seconds.
func parseStatusTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, time.UTC); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 && n < 1e11 {
		sec := int64(n)
		return time.Unix(sec, int64((n-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: use RFC 3339, \"2006-01-02 15:04:05\" (UTC) or Unix seconds")
}
