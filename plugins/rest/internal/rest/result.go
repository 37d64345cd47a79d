package rest

import (
	"fmt"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
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
	wi.State = sdk.StateOpen
	if a.name == ActionResolve {
		wi.State = sdk.StateResolved
	}
	if a.state != nil {
		st, ok, err := read(r, a.state)
		if err != nil {
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
