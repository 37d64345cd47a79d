package rest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
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
	// The path of url is checked as rendered, without base_url's scheme
	// and host, so that only what the template produced is judged.
	p := raw
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if hasDotSegment(strings.TrimPrefix(p, base.Scheme+"://"+base.Host)) {
		return nil, fmt.Errorf("%s.url %q contains a dot segment (\".\" or \"..\", also percent-encoded or after a backslash), "+
			"which would make the server address another resource; refused", action, raw)
	}
	if len(av.Path) > 0 {
		escaped := strings.TrimRight(u.EscapedPath(), "/")
		for i, seg := range av.Path {
			if seg == "" {
				return nil, fmt.Errorf("%s.path[%d] rendered empty (work_item.id is empty before create; "+
					"is the template reading a value this call does not have?)", action, i)
			}
			if hasDotSegment(seg) {
				return nil, fmt.Errorf("%s.path[%d] %q is or contains a dot segment (\".\" or \"..\", also percent-encoded or after a slash or backslash), "+
					"which would make the server address another resource; refused", action, i, seg)
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

// maxDecodes is how many rounds of percent-decoding hasDotSegment looks
// through: servers and proxies in front of them may each decode once.
const maxDecodes = 4

// hasDotSegment reports whether a server could read s, or a part of it, as
// a "." or ".." path segment: after any number of percent-decodings (up to
// maxDecodes, lenient: a malformed escape stays as it is), with "\" read
// as "/" (IIS and others do), a path parameter cut off ("..;x" is ".." to
// Tomcat), and overlong-UTF-8 or fullwidth dots read as ".". Such a
// segment makes the server address another resource than the one the
// template names, with the backend's credentials.
func hasDotSegment(s string) bool {
	for range maxDecodes + 1 {
		for _, seg := range strings.FieldsFunc(s, isPathSeparator) {
			seg, _, _ = strings.Cut(seg, ";")
			if seg = dotForms.Replace(seg); seg == "." || seg == ".." {
				return true
			}
		}
		d := percentDecode(s)
		if d == s {
			return false
		}
		s = d
	}
	return false
}

func isPathSeparator(r rune) bool { return r == '/' || r == '\\' }

// dotForms are spellings of "." that lenient decoders turn into one.
var dotForms = strings.NewReplacer("\xc0\xae", ".", "\uff0e", ".")

// percentDecode decodes every well-formed %XX in s and keeps anything else
// as it is, as lenient servers do.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			h, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(h))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
