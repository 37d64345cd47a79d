package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// fieldMeta is one field of GET /rest/api/{2|3}/field.
type fieldMeta struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Custom bool   `json:"custom"`
	Schema struct {
		Type   string `json:"type"`
		Items  string `json:"items"`
		System string `json:"system"`
		Custom string `json:"custom"`
	} `json:"schema"`
}

// textareaType is the custom field type whose values are rich text.
const textareaType = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"

// minFieldRefresh is how soon an unknown field name may trigger a new
// fetch of the metadata, so a typo in a route does not cost a request per
// alert.
const minFieldRefresh = time.Minute

// fieldCache resolves field names to ids through the field metadata,
// fetched once and kept for a TTL.
type fieldCache struct {
	client *client
	api    string
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	fetched time.Time
	byID    map[string]fieldMeta
	byName  map[string][]fieldMeta // lower-cased name
}

// names returns the cached id → name map, without fetching; error
// messages use it.
func (c *fieldCache) names() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.byID))
	for id, f := range c.byID {
		out[id] = f.Name
	}
	return out
}

// load fetches the metadata when it is older than maxAge.
func (c *fieldCache) load(ctx context.Context, maxAge time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID != nil && c.now().Sub(c.fetched) < maxAge {
		return nil
	}
	var fields []fieldMeta
	if err := c.client.do(ctx, sdkhttp.Call{Op: "read field metadata", Method: http.MethodGet, Path: c.api + "/field"}, &fields); err != nil {
		return err
	}
	c.byID = make(map[string]fieldMeta, len(fields))
	c.byName = make(map[string][]fieldMeta, len(fields))
	for _, f := range fields {
		c.byID[f.ID] = f
		n := strings.ToLower(strings.TrimSpace(f.Name))
		c.byName[n] = append(c.byName[n], f)
	}
	c.fetched = c.now()
	return nil
}

// errUnknownField and errAmbiguousField classify resolve failures.
var (
	errUnknownField   = errors.New("unknown field")
	errAmbiguousField = errors.New("ambiguous field")
)

// resolve finds a field by id (e.g. "customfield_10010", "priority") or by
// its display name, case-insensitively. Unknown names refresh the metadata
// once per minFieldRefresh before they are reported.
func (c *fieldCache) resolve(ctx context.Context, name string) (fieldMeta, error) {
	if err := c.load(ctx, c.ttl); err != nil {
		return fieldMeta{}, err
	}
	f, err := c.lookup(name)
	if errors.Is(err, errUnknownField) {
		if lerr := c.load(ctx, minFieldRefresh); lerr != nil {
			return fieldMeta{}, lerr
		}
		f, err = c.lookup(name)
	}
	return f, err
}

func (c *fieldCache) lookup(name string) (fieldMeta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.byID[name]; ok {
		return f, nil
	}
	matches := c.byName[strings.ToLower(strings.TrimSpace(name))]
	switch len(matches) {
	case 0:
		var custom []string
		for _, f := range c.byID {
			if f.Custom {
				custom = append(custom, fmt.Sprintf("%q", f.Name))
			}
		}
		slices.Sort(custom)
		if len(custom) > 20 {
			custom = append(custom[:20], "…")
		}
		return fieldMeta{}, fmt.Errorf("%w: no Jira field has the name or id %q (custom fields: %s)", errUnknownField, name, strings.Join(custom, ", "))
	case 1:
		return matches[0], nil
	}
	var ids []string
	for _, f := range matches {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	return fieldMeta{}, fmt.Errorf("%w: %d Jira fields are named %q (%s); use the id as the route field's name",
		errAmbiguousField, len(matches), name, strings.Join(ids, ", "))
}

// shapeValue converts a route field value (decoded JSON) into what Jira
// expects for the field's schema. Objects and lists of objects pass
// through as they are, so an operator can always send the exact shape.
func shapeValue(f fieldMeta, v any, flavor string) (any, error) {
	if isStructured(v) {
		return v, nil
	}
	one := func(kind string, x any) (any, error) {
		s := sdktext.Scalar(x)
		switch kind {
		case "option":
			return map[string]any{"value": s}, nil
		case "user":
			if flavor == FlavorCloud {
				return map[string]any{"accountId": s}, nil
			}
			return map[string]any{"name": s}, nil
		case "project":
			return map[string]any{"key": s}, nil
		case "priority", "version", "component", "resolution", "group", "securitylevel", "issuetype":
			return map[string]any{"name": s}, nil
		case "number":
			switch n := x.(type) {
			case float64:
				return n, nil
			case int:
				return float64(n), nil
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", s)
			}
			return n, nil
		default: // string, date, datetime, any
			return s, nil
		}
	}
	switch f.Schema.Type {
	case "array":
		var list []any
		if l, ok := v.([]any); ok {
			list = l
		} else {
			list = []any{v}
		}
		out := make([]any, 0, len(list))
		for _, x := range list {
			y, err := one(f.Schema.Items, x)
			if err != nil {
				return nil, err
			}
			out = append(out, y)
		}
		return out, nil
	case "string":
		if flavor == FlavorCloud && (f.Schema.Custom == textareaType || f.Schema.System == "description" || f.Schema.System == "environment") {
			return textDocument(sdktext.Scalar(v)).ADF(), nil
		}
		return sdktext.Scalar(v), nil
	default:
		return one(f.Schema.Type, v)
	}
}

// isStructured reports an object, or a list holding an object.
func isStructured(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); ok {
				return true
			}
		}
	}
	return false
}

// stringList reads a route value that is a string or a list of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s := sdktext.Scalar(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	if s := sdktext.Scalar(v); s != "" {
		return []string{s}
	}
	return nil
}

// routeFields resolves the route's fields (by id or name) into field ids
// and shaped values. summary, description, labels and components are
// handled by the caller and skipped here. A field Jira does not know is a
// permanent error that names it.
func (b *backend) routeFields(ctx context.Context, fields map[string]any) (map[string]any, error) {
	out := map[string]any{}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		switch name {
		case "summary", "description", "labels", "components":
			continue
		}
		v := fields[name]
		if v == nil {
			continue
		}
		f, err := b.fields.resolve(ctx, name)
		if errors.Is(err, errUnknownField) || errors.Is(err, errAmbiguousField) {
			return nil, sdk.Permanent(fmt.Errorf("jira: route field %q: %w", name, err))
		}
		if err != nil {
			return nil, err
		}
		shaped, err := shapeValue(f, v, b.s.flavor)
		if err != nil {
			return nil, sdk.Permanent(fmt.Errorf("jira: route field %q (%s): %w", name, f.ID, err))
		}
		out[f.ID] = shaped
	}
	return out, nil
}
