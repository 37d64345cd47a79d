package rest

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Values are the per-alert attributes the host rendered for one call, in
// the shape of the config: one object per action block, null for blocks
// the operator left out. Every action's templates are rendered on every
// call; the plugin uses the one it needs.
type Values struct {
	Create  *ActionValues `json:"create"`
	Lookup  *ActionValues `json:"lookup"`
	Update  *ActionValues `json:"update"`
	Resolve *ActionValues `json:"resolve"`
	Reopen  *ActionValues `json:"reopen"`
	FindCI  *ActionValues `json:"find_ci"`
}

// ActionValues are one action's rendered templates.
type ActionValues struct {
	URL     string            `json:"url"`
	Path    []string          `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
}

// of returns the rendered values of action name.
func (v *Values) of(name string) *ActionValues {
	switch name {
	case ActionCreate:
		return v.Create
	case ActionLookup:
		return v.Lookup
	case ActionUpdate:
		return v.Update
	case ActionResolve:
		return v.Resolve
	case ActionReopen:
		return v.Reopen
	case ActionFindCI:
		return v.FindCI
	}
	return nil
}

// decodeValues reads the rendered values of action name from req.
func decodeValues(req *sdk.Request, name string) (*ActionValues, error) {
	var v Values
	if err := req.Values.Decode(&v); err != nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: %w", name, err))
	}
	av := v.of(name)
	if av == nil || strings.TrimSpace(av.URL) == "" {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: the request carries no rendered %s.url "+
			"(the host renders the action's templates into Request.Values; is the %s block in the backend's config?)", name, name, name))
	}
	return av, nil
}

// target builds the request URL: url appended to base (or absolute on the
// same origin), then the escaped path segments, then the query parameters.
func target(base *url.URL, av *ActionValues, action string) (*url.URL, error) {
	raw := strings.TrimSpace(av.URL)
	var u *url.URL
	var err error
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		if u, err = url.Parse(raw); err != nil {
			return nil, fmt.Errorf("%s.url %q is not a valid URL: %w", action, raw, err)
		}
		if u.Scheme != base.Scheme || u.Host != base.Host {
			return nil, fmt.Errorf("%s.url %q is not on base_url's host %s://%s; credentials are only sent there",
				action, raw, base.Scheme, base.Host)
		}
	} else {
		if strings.Contains(raw, "://") {
			return nil, fmt.Errorf("%s.url %q must be a path below base_url or an http(s) URL on its host", action, raw)
		}
		joined := base.Scheme + "://" + base.Host + base.EscapedPath() + "/" + strings.TrimLeft(raw, "/")
		if u, err = url.Parse(joined); err != nil {
			return nil, fmt.Errorf("%s.url %q does not form a valid URL with base_url: %w", action, raw, err)
		}
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s.url must not carry credentials", action)
	}
	u.Fragment = ""
	if len(av.Path) > 0 {
		escaped := strings.TrimRight(u.EscapedPath(), "/")
		for i, seg := range av.Path {
			if seg == "" {
				return nil, fmt.Errorf("%s.path[%d] rendered empty (work_item.id is empty before create; "+
					"is the template reading a value this call does not have?)", action, i)
			}
			// A "/" inside a segment stays inside it, as %2F.
			escaped += "/" + url.PathEscape(seg)
		}
		plain, err := url.PathUnescape(escaped)
		if err != nil {
			return nil, fmt.Errorf("%s.path: %w", action, err)
		}
		u.Path, u.RawPath = plain, escaped
	}
	if len(av.Query) > 0 {
		q := u.Query()
		keys := make([]string, 0, len(av.Query))
		for k := range av.Query {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q.Set(k, av.Query[k])
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}
