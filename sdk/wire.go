package sdk

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// This file converts between the public Go types and the itsm.v1 messages.
// Each to*/from* pair is the exact inverse of the other for every value the
// Go types document.

func infoToWire(i Info) *itsmv1.InfoResponse {
	versions := make([]int32, len(i.APIVersions))
	for n, v := range i.APIVersions {
		versions[n] = int32(v)
	}
	c := i.Capabilities
	return &itsmv1.InfoResponse{
		Name:        i.Name,
		Version:     i.Version,
		ApiVersions: versions,
		Capabilities: &itsmv1.Capabilities{
			Lookup: c.Lookup, Update: c.Update, Resolve: c.Resolve, Reopen: c.Reopen,
			Comment: c.Comment, Cmdb: c.CMDB, ReadStatus: c.ReadStatus, FieldPolicy: c.FieldPolicy,
		},
		Schema:              schemaToWire(i.Schema),
		ReadAfterWriteDelay: durationToWire(i.ReadAfterWriteDelay),
		MaxStatusBatch:      batchToWire(i.MaxStatusBatch),
	}
}

// durationToWire leaves a zero duration unset.
func durationToWire(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// batchToWire keeps a batch size in int32's range; a size that does not fit
// (or a negative one) is sent as the largest or as unset.
func batchToWire(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}

func infoFromWire(w *itsmv1.InfoResponse) Info {
	i := Info{Name: w.GetName(), Version: w.GetVersion(), Schema: schemaFromWire(w.GetSchema()),
		MaxStatusBatch: int(max(w.GetMaxStatusBatch(), 0))}
	if d := w.GetReadAfterWriteDelay(); d != nil {
		i.ReadAfterWriteDelay = d.AsDuration()
	}
	for _, v := range w.GetApiVersions() {
		i.APIVersions = append(i.APIVersions, int(v))
	}
	if c := w.GetCapabilities(); c != nil {
		i.Capabilities = Capabilities{
			Lookup: c.GetLookup(), Update: c.GetUpdate(), Resolve: c.GetResolve(), Reopen: c.GetReopen(),
			Comment: c.GetComment(), CMDB: c.GetCmdb(), ReadStatus: c.GetReadStatus(), FieldPolicy: c.GetFieldPolicy(),
		}
	}
	return i
}

func schemaToWire(s Schema) *itsmv1.Schema {
	w := &itsmv1.Schema{}
	for _, a := range s.Attributes {
		w.Attributes = append(w.Attributes, &itsmv1.Attribute{
			Name: a.Name, Type: a.Type, Required: a.Required, Sensitive: a.Sensitive,
			PerAlert: a.PerAlert, DefaultJson: a.Default, Doc: a.Doc,
		})
	}
	for _, b := range s.Blocks {
		w.Blocks = append(w.Blocks, &itsmv1.Block{
			Name: b.Name, Nesting: string(b.Nesting), Required: b.Required, Doc: b.Doc,
			Schema: schemaToWire(b.Schema),
		})
	}
	return w
}

func schemaFromWire(w *itsmv1.Schema) Schema {
	var s Schema
	for _, a := range w.GetAttributes() {
		s.Attributes = append(s.Attributes, Attribute{
			Name: a.GetName(), Type: a.GetType(), Required: a.GetRequired(), Sensitive: a.GetSensitive(),
			PerAlert: a.GetPerAlert(), Default: json.RawMessage(a.GetDefaultJson()), Doc: a.GetDoc(),
		})
	}
	for _, b := range w.GetBlocks() {
		s.Blocks = append(s.Blocks, Block{
			Name: b.GetName(), Nesting: Nesting(b.GetNesting()), Required: b.GetRequired(), Doc: b.GetDoc(),
			Schema: schemaFromWire(b.GetSchema()),
		})
	}
	return s
}

func callToWire(r *Request) (*itsmv1.Call, error) {
	alert, err := json.Marshal(&r.Alert)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	c := &itsmv1.Call{
		CorrelationKey: r.CorrelationKey,
		AlertJson:      alert,
		ValuesJson:     r.Values,
		Ref:            workItemToWire(r.Ref),
		Note:           r.Note,
	}
	for f, p := range r.FieldPolicy {
		if w, ok := fieldPolicyToWire[p]; ok {
			if c.FieldPolicy == nil {
				c.FieldPolicy = make(map[string]itsmv1.FieldPolicy, len(r.FieldPolicy))
			}
			c.FieldPolicy[f] = w
		}
	}
	if r.Fields != nil {
		if c.FieldsJson, err = json.Marshal(r.Fields); err != nil {
			return nil, fmt.Errorf("encode fields: %w", err)
		}
	}
	for _, ci := range r.ConfigurationItems {
		c.ConfigurationItems = append(c.ConfigurationItems, ciToWire(ci))
	}
	return c, nil
}

func callFromWire(c *itsmv1.Call) (*Request, error) {
	r := &Request{
		CorrelationKey: c.GetCorrelationKey(),
		Values:         Values(c.GetValuesJson()),
		Ref:            workItemFromWire(c.GetRef()),
		Note:           c.GetNote(),
	}
	for f, w := range c.GetFieldPolicy() {
		// An unknown value (a newer host's) leaves the field to the
		// plugin's own behaviour, as no policy does.
		if p, ok := fieldPolicyFromWire[w]; ok {
			if r.FieldPolicy == nil {
				r.FieldPolicy = make(map[string]FieldPolicy, len(c.GetFieldPolicy()))
			}
			r.FieldPolicy[f] = p
		}
	}
	if len(c.GetAlertJson()) > 0 {
		if err := json.Unmarshal(c.GetAlertJson(), &r.Alert); err != nil {
			return nil, fmt.Errorf("decode alert: %w", err)
		}
	}
	if len(c.GetFieldsJson()) > 0 {
		if err := json.Unmarshal(c.GetFieldsJson(), &r.Fields); err != nil {
			return nil, fmt.Errorf("decode fields: %w", err)
		}
	}
	for _, ci := range c.GetConfigurationItems() {
		r.ConfigurationItems = append(r.ConfigurationItems, ciFromWire(ci))
	}
	return r, nil
}

func ciToWire(ci ConfigurationItem) *itsmv1.ConfigurationItem {
	return &itsmv1.ConfigurationItem{Name: ci.Name, ResourceId: ci.ResourceID}
}

func ciFromWire(w *itsmv1.ConfigurationItem) ConfigurationItem {
	return ConfigurationItem{Name: w.GetName(), ResourceID: w.GetResourceId()}
}

var fieldPolicyToWire = map[FieldPolicy]itsmv1.FieldPolicy{
	FieldCreate:  itsmv1.FieldPolicy_FIELD_POLICY_CREATE,
	FieldAlways:  itsmv1.FieldPolicy_FIELD_POLICY_ALWAYS,
	FieldComment: itsmv1.FieldPolicy_FIELD_POLICY_COMMENT,
}

var fieldPolicyFromWire = map[itsmv1.FieldPolicy]FieldPolicy{
	itsmv1.FieldPolicy_FIELD_POLICY_CREATE:  FieldCreate,
	itsmv1.FieldPolicy_FIELD_POLICY_ALWAYS:  FieldAlways,
	itsmv1.FieldPolicy_FIELD_POLICY_COMMENT: FieldComment,
}

var stateToWire = map[WorkItemState]itsmv1.WorkItemState{
	StateOpen:     itsmv1.WorkItemState_WORK_ITEM_STATE_OPEN,
	StateResolved: itsmv1.WorkItemState_WORK_ITEM_STATE_RESOLVED,
}

var stateFromWire = map[itsmv1.WorkItemState]WorkItemState{
	itsmv1.WorkItemState_WORK_ITEM_STATE_OPEN:     StateOpen,
	itsmv1.WorkItemState_WORK_ITEM_STATE_RESOLVED: StateResolved,
}

func workItemToWire(wi *WorkItem) *itsmv1.WorkItem {
	if wi == nil {
		return nil
	}
	w := &itsmv1.WorkItem{
		Id:             wi.ID,
		Key:            wi.Key,
		Url:            wi.URL,
		State:          stateToWire[wi.State],
		CorrelationKey: wi.CorrelationKey,
		Attributes:     wi.Attributes,
		Note:           wi.Note,
	}
	for _, b := range wi.Bindings {
		w.Bindings = append(w.Bindings, &itsmv1.CIBinding{
			ConfigurationItem: ciToWire(b.ConfigurationItem),
			BoundId:           b.BoundID, BoundBy: b.BoundBy, Reason: b.Reason,
		})
	}
	return w
}

func workItemFromWire(w *itsmv1.WorkItem) *WorkItem {
	if w == nil {
		return nil
	}
	wi := &WorkItem{
		ID:             w.GetId(),
		Key:            w.GetKey(),
		URL:            w.GetUrl(),
		State:          stateFromWire[w.GetState()],
		CorrelationKey: w.GetCorrelationKey(),
		Note:           w.GetNote(),
	}
	if len(w.GetAttributes()) > 0 {
		wi.Attributes = w.GetAttributes()
	}
	for _, b := range w.GetBindings() {
		wi.Bindings = append(wi.Bindings, CIBinding{
			ConfigurationItem: ciFromWire(b.GetConfigurationItem()),
			BoundID:           b.GetBoundId(), BoundBy: b.GetBoundBy(), Reason: b.GetReason(),
		})
	}
	return wi
}

var kindToWire = map[ErrorKind]itsmv1.ErrorKind{
	KindRetryable: itsmv1.ErrorKind_ERROR_KIND_RETRYABLE,
	KindPermanent: itsmv1.ErrorKind_ERROR_KIND_PERMANENT,
	KindNotFound:  itsmv1.ErrorKind_ERROR_KIND_NOT_FOUND,
}

var kindFromWire = map[itsmv1.ErrorKind]ErrorKind{
	itsmv1.ErrorKind_ERROR_KIND_RETRYABLE: KindRetryable,
	itsmv1.ErrorKind_ERROR_KIND_PERMANENT: KindPermanent,
	itsmv1.ErrorKind_ERROR_KIND_NOT_FOUND: KindNotFound,
}

var severityToWire = map[Severity]itsmv1.Severity{
	"":              itsmv1.Severity_SEVERITY_UNSPECIFIED,
	SeverityError:   itsmv1.Severity_SEVERITY_ERROR,
	SeverityWarning: itsmv1.Severity_SEVERITY_WARNING,
}

var severityFromWire = map[itsmv1.Severity]Severity{
	itsmv1.Severity_SEVERITY_UNSPECIFIED: "",
	itsmv1.Severity_SEVERITY_ERROR:       SeverityError,
	itsmv1.Severity_SEVERITY_WARNING:     SeverityWarning,
}

func diagnosticsToWire(d Diagnostics) []*itsmv1.Diagnostic {
	out := make([]*itsmv1.Diagnostic, 0, len(d))
	for _, x := range d {
		sev, ok := severityToWire[x.Severity]
		if !ok {
			// An unknown severity counts as an error (see HasErrors).
			sev = itsmv1.Severity_SEVERITY_ERROR
		}
		out = append(out, &itsmv1.Diagnostic{Severity: sev, Summary: x.Summary, Detail: x.Detail, Path: x.Path})
	}
	return out
}

func diagnosticsFromWire(w []*itsmv1.Diagnostic) Diagnostics {
	out := make(Diagnostics, 0, len(w))
	for _, x := range w {
		sev, ok := severityFromWire[x.GetSeverity()]
		if !ok {
			sev = SeverityError
		}
		out = append(out, Diagnostic{Severity: sev, Summary: x.GetSummary(), Detail: x.GetDetail(), Path: x.GetPath()})
	}
	return out
}
