package rest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// read returns the value src names in r, and false when the response does
// not carry it (absent key, empty header, no regexp match). An error means
// the response cannot be read at all (not JSON) or the value is not a
// single value.
func read(r *response, src *source) (string, bool, error) {
	var v string
	if src.header != "" {
		v = r.header.Get(src.header)
	} else {
		if r.docErr != nil {
			return "", false, fmt.Errorf("the response body is not JSON (%v), so %s cannot be read: %s", r.docErr, src, sdkhttp.Snippet(r.body, maxErrorBody))
		}
		raw, ok := src.path.Get(r.doc)
		if !ok {
			return "", false, nil
		}
		s, err := jsonpath.Scalar(raw)
		if err != nil {
			return "", false, fmt.Errorf("%s %v", src, err)
		}
		v = s
	}
	if v == "" {
		return "", false, nil
	}
	if src.re != nil {
		m := src.re.FindStringSubmatch(v)
		switch {
		case m == nil:
			return "", false, nil
		case len(m) > 1:
			v = m[1]
		default:
			v = m[0]
		}
	}
	return v, v != "", nil
}

// workItem reads a work item from an action's response. prev is the item
// the host recorded (nil for create and lookup): what the response does not
// say is kept from it. key is the request's correlation key.
func workItem(a *action, r *response, prev *sdk.WorkItem, key string) (*sdk.WorkItem, bool, error) {
	wi := &sdk.WorkItem{}
	if prev != nil {
		cp := *prev
		cp.Bindings = nil
		wi = &cp
	}
	wi.CorrelationKey = key
	fail := func(field string, err error) (*sdk.WorkItem, bool, error) {
		return nil, false, fmt.Errorf("rest: %s: result.%s: %w", a.name, field, err)
	}
	found := true
	if a.id != nil {
		id, ok, err := read(r, a.id)
		if err != nil {
			return fail("id", err)
		}
		if ok {
			wi.ID = id
		} else {
			found = false
		}
	}
	if wi.ID == "" && a.id == nil {
		// The API deduplicates by a key the client chose: the
		// correlation key is the item's identity.
		wi.ID = key
	}
	for _, f := range []struct {
		name string
		src  *source
		dst  *string
	}{{"key", a.key, &wi.Key}, {"url", a.url, &wi.URL}} {
		if f.src == nil {
			continue
		}
		v, ok, err := read(r, f.src)
		if err != nil {
			return fail(f.name, err)
		}
		if ok {
			*f.dst = v
		}
	}
	if len(a.attrs) > 0 {
		wi.Attributes = maps.Clone(wi.Attributes)
		if wi.Attributes == nil {
			wi.Attributes = map[string]string{}
		}
		for _, k := range sdktext.SortedKeys(a.attrs) {
			v, ok, err := read(r, a.attrs[k])
			if err != nil {
				return fail("attributes."+k, err)
			}
			if ok {
				wi.Attributes[k] = v
			}
		}
	}
	if a.urlTemplate != nil && wi.URL == "" && wi.ID != "" {
		vars := map[string]string{"work_item.id": wi.ID, "work_item.key": wi.Key}
		for k, v := range wi.Attributes {
			vars[attributesRefPrefix+k] = v
		}
		// A link is for people; a value this answer lacks leaves the item
		// without one rather than fail a call that has done its work.
		if u, err := a.urlTemplate.expand(vars, url.PathEscape); err == nil {
			wi.URL = u
		}
	}
	wi.State = sdk.StateOpen
	if a.name == ActionResolve {
		wi.State = sdk.StateResolved
	}
	if a.state != nil {
		st, ok, err := read(r, a.state)
		if err != nil {
			return fail("state", err)
		}
		if err := checkState(a, st, ok); err != nil {
			return fail("state", err)
		}
		if ok {
			wi.State = sdk.StateOpen
			if a.resolved[st] {
				wi.State = sdk.StateResolved
			}
		}
	}
	return wi, found, nil
}

// checkState is the state check after resolve and reopen, when their
// result names a state: the answer must carry it, and it must be resolved
// after resolve and open after reopen. An API that answers 2xx without
// making the change (a status its workflow does not allow) is caught here
// rather than recorded as done.
func checkState(a *action, st string, ok bool) error {
	switch {
	case a.name != ActionResolve && a.name != ActionReopen:
		return nil
	case !ok:
		return fmt.Errorf("the answer carries no state at %s, so the %s cannot be confirmed", a.state, a.name)
	case a.name == ActionResolve && !a.resolved[st]:
		return fmt.Errorf("the item is %q after resolve, which is not one of resolved_states: the API did not resolve it", st)
	case a.name == ActionReopen && a.resolved[st]:
		return fmt.Errorf("the item is %q after reopen, which is one of resolved_states: the API did not reopen it", st)
	}
	return nil
}

// failure returns the error a successful answer reports at src (its
// result.error), and false when it reports none: the value is absent,
// empty, null or false, or does not match the source's regexp. An array
// or object there is the failure as compact JSON.
func failure(r *response, src *source) (string, bool) {
	var v string
	if src.header != "" {
		v = r.header.Get(src.header)
	} else {
		if r.docErr != nil {
			return "", false
		}
		raw, ok := src.path.Get(r.doc)
		if !ok {
			return "", false
		}
		switch x := raw.(type) {
		case nil:
		case bool:
			if x {
				v = "true"
			}
		case []any:
			if len(x) > 0 {
				v = compactJSON(x)
			}
		case map[string]any:
			if len(x) > 0 {
				v = compactJSON(x)
			}
		default:
			v, _ = jsonpath.Scalar(raw)
		}
	}
	if v == "" || src.re != nil && !src.re.MatchString(v) {
		return "", false
	}
	return v, true
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
