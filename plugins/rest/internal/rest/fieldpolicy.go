package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// applyFieldPolicy applies the route's field policy (req.FieldPolicy) to the
// rendered body of an update or reopen whose block sets fields_path: of the
// object there, the keys the policy names and does not let this re-fire
// write (sdk.Request.Writes) are removed; the new values of those whose
// policy is "comment" are appended to the text at comment_path. Keys the
// policy does not name stay. Without fields_path, or without a policy, the
// body is returned as rendered. A body that is not a JSON object, or whose
// fields_path is not an object, is a permanent error: no retry changes the
// template.
func applyFieldPolicy(a *action, rendered *string, req *sdk.Request) (*string, error) {
	if a.fieldsPath == nil || len(req.FieldPolicy) == 0 || rendered == nil || *rendered == "" {
		return rendered, nil
	}
	doc, err := jsonpath.Decode([]byte(*rendered))
	if err == nil {
		if _, isObj := doc.(map[string]any); !isObj {
			err = errors.New("it is not a JSON object")
		}
	}
	if err != nil {
		// Never quote the body: a secret could be in it.
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: fields_path needs a JSON object body: %v", a.name, err))
	}
	node, ok := a.fieldsPath.Get(doc)
	if !ok {
		return rendered, nil // the template sends no fields this time
	}
	fields, isObj := node.(map[string]any)
	if !isObj {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: fields_path %s is not a JSON object in the body", a.name, a.fieldsPath))
	}
	var commented []string
	values := map[string]string{}
	for name := range req.FieldPolicy {
		v, present := fields[name]
		if !present {
			if rv, ok := req.Fields[name]; ok && req.Comments(name) {
				commented, values[name] = append(commented, name), sdktext.Scalar(rv)
			}
			continue
		}
		if req.Comments(name) {
			commented, values[name] = append(commented, name), sdktext.Scalar(v)
		}
		if !req.Writes(name, false) {
			delete(fields, name)
		}
	}
	if a.commentPath != nil && len(commented) > 0 {
		slices.Sort(commented)
		note := sdktext.FieldNote(commented, func(n string) string { return values[n] })
		cur, has := a.commentPath.Get(doc)
		switch text, isText := cur.(string); {
		case !has || cur == nil:
		case isText && text != "":
			note = text + "\n\n" + note
		case !isText:
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: comment_path %s is not text in the body", a.name, a.commentPath))
		}
		if doc, err = a.commentPath.Set(doc, note); err != nil {
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: comment_path: %w", a.name, err))
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: encode body: %w", a.name, err))
	}
	s := string(out)
	return &s, nil
}
