package route

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/alertvalue"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// FeedbackBackend is the reserved backend of the Azure side's work items
// (see azure.FeedbackBackend).
const FeedbackBackend = azure.FeedbackBackend

// WorkItemType is the type of `work_item` in a route's azure_feedback
// comments: the ITSM work item whose outcome changes the alert.
var WorkItemType = cty.Object(map[string]cty.Type{
	"id":          cty.String,
	"key":         cty.String,
	"url":         cty.String,
	"state":       cty.String,
	"resolved_by": cty.String,
	"resolved_at": cty.String,
	"resolution":  cty.String,
	"backend":     cty.String,
})

// WorkItemView is the `work_item` of a feedback comment.
type WorkItemView struct {
	ID, Key, URL, State string
	ResolvedBy          string
	ResolvedAt          time.Time
	Resolution          string
	Backend             string
}

func (w WorkItemView) value() cty.Value {
	at := ""
	if !w.ResolvedAt.IsZero() {
		at = w.ResolvedAt.UTC().Format(time.RFC3339)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal(w.ID), "key": cty.StringVal(w.Key), "url": cty.StringVal(w.URL), "state": cty.StringVal(w.State),
		"resolved_by": cty.StringVal(w.ResolvedBy), "resolved_at": cty.StringVal(at), "resolution": cty.StringVal(w.Resolution),
		"backend": cty.StringVal(w.Backend),
	})
}

// name is the work item's key, or its id.
func (w WorkItemView) name() string {
	if w.Key != "" {
		return w.Key
	}
	return w.ID
}

// Feedback is a route's compiled azure_feedback block.
type Feedback struct {
	// Acknowledge: a work item created or found moves the alert to
	// Acknowledged (on_created = "Acknowledged").
	Acknowledge bool
	// CloseOnHumanResolved: a work item a human resolved closes the alert
	// (on_human_resolved = "close_alert"); otherwise it is only recorded.
	CloseOnHumanResolved  bool
	comment, closeComment hcl.Expression
	funcs                 map[string]function.Function
}

// Comment renders the comment of an acknowledgement: the route's comment
// template, or the work item's key and URL.
func (f *Feedback) Comment(a *sdk.Alert, wi WorkItemView) (string, error) {
	if f.comment == nil {
		return strings.TrimSpace(wi.name() + " " + wi.URL), nil
	}
	return f.render("comment", f.comment, a, wi)
}

// CloseComment renders the comment of a close: the route's close_comment
// template, or a sentence naming the work item and who resolved it.
func (f *Feedback) CloseComment(a *sdk.Alert, wi WorkItemView) (string, error) {
	if f.closeComment == nil {
		by := ""
		if wi.ResolvedBy != "" {
			by = " by " + wi.ResolvedBy
		}
		return fmt.Sprintf("%s was resolved in the ITSM tool%s; closed by itsm-connector", strings.TrimSpace(wi.name()+" "+wi.URL), by), nil
	}
	return f.render("close_comment", f.closeComment, a, wi)
}

func (f *Feedback) render(attr string, expr hcl.Expression, a *sdk.Alert, wi WorkItemView) (string, error) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"alert": alertvalue.Value(a), "work_item": wi.value()}, Functions: f.funcs}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return "", evalError("azure_feedback."+attr, diags)
	}
	s, err := toString(v)
	if err != nil {
		return "", fmt.Errorf("azure_feedback.%s: %w", attr, err)
	}
	return s, nil
}

// compileFeedback checks a route's azure_feedback templates at load: every
// reference to alert and work_item, and a string result.
func compileFeedback(rt *config.Route, funcs map[string]function.Function) (*Feedback, hcl.Diagnostics) {
	fb := rt.AzureFeedback
	if fb == nil {
		return nil, nil
	}
	check := &hcl.EvalContext{
		Variables: map[string]cty.Value{"alert": alertvalue.Unknown(), "work_item": cty.UnknownVal(WorkItemType)},
		Functions: funcs,
	}
	var diags hcl.Diagnostics
	for attr, expr := range map[string]hcl.Expression{"azure_feedback.comment": fb.Comment, "azure_feedback.close_comment": fb.CloseComment} {
		diags = append(diags, typeCheck(rt.Name, attr, expr, check, func(t cty.Type) bool { return t.IsPrimitiveType() },
			"a comment must be a string, e.g. comment = \"${work_item.key} ${work_item.url}\"")...)
	}
	return &Feedback{Acknowledge: fb.OnCreated == config.FeedbackAcknowledged, CloseOnHumanResolved: fb.OnHumanResolved == config.FeedbackCloseAlert,
		comment: fb.Comment, closeComment: fb.CloseComment, funcs: funcs}, diags
}

// Feedback returns the compiled azure_feedback block of route name, nil
// when the route has none (or does not exist any more).
func (r *Router) Feedback(name string) *Feedback {
	if r == nil {
		return nil
	}
	for _, c := range r.routes {
		if c.name == name {
			return c.feedback
		}
	}
	return nil
}
