package servicenow

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// maxCacheEntries bounds the CMDB cache; expired entries are swept when it
// is exceeded.
const maxCacheEntries = 10000

// binder binds configuration items to CMDB records: by object_id equal to
// the ARM resource id, then by name, in the configured order. Hits and
// misses are cached with their own TTLs; lookup failures are not cached.
type binder struct {
	client  *client
	table   string
	order   []string
	ttl     time.Duration
	missTTL time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	sysID   string // empty: a cached miss
	expires time.Time
}

// bind returns one binding per configuration item. Only a retryable lookup
// failure is returned as an error (nothing has been written yet, so the
// host may simply retry); any other problem leaves the item unbound with a
// reason.
func (b *binder) bind(ctx context.Context, cis []sdk.ConfigurationItem) ([]sdk.CIBinding, error) {
	out := make([]sdk.CIBinding, 0, len(cis))
	for _, ci := range cis {
		binding := sdk.CIBinding{ConfigurationItem: ci}
		var tried, failures []string
		for _, method := range b.order {
			value := ci.ResourceID
			boundBy := "resource_id"
			if method == MatchName {
				value, boundBy = ci.Name, "name"
			}
			if value == "" {
				continue
			}
			tried = append(tried, fmt.Sprintf("%s = %q", method, value))
			sysID, err := b.lookup(ctx, method, value)
			if err != nil {
				if sdk.KindOf(err) == sdk.KindRetryable {
					return nil, err
				}
				failures = append(failures, err.Error())
				continue
			}
			if sysID != "" {
				binding.BoundID, binding.BoundBy = sysID, boundBy
				break
			}
		}
		if binding.BoundID == "" {
			switch {
			case len(failures) > 0:
				binding.Reason = "CMDB lookup failed: " + strings.Join(failures, "; ")
			case len(tried) == 0:
				binding.Reason = "the configuration item has neither a resource id nor a name to look up"
			default:
				binding.Reason = fmt.Sprintf("no %s record with %s", b.table, strings.Join(tried, " or "))
			}
		}
		out = append(out, binding)
	}
	return out, nil
}

// lookup finds one CI's sys_id by method, through the cache.
func (b *binder) lookup(ctx context.Context, method, value string) (string, error) {
	key := method + "\x00" + strings.ToLower(value)
	now := b.now()
	b.mu.Lock()
	if e, ok := b.cache[key]; ok && now.Before(e.expires) {
		b.mu.Unlock()
		return e.sysID, nil
	}
	b.mu.Unlock()

	if why := queryValueProblem(value); why != "" {
		return "", sdk.Permanent(fmt.Errorf("%s %q cannot be used in an encoded query: %s", method, value, why))
	}
	var resp struct {
		Result []struct {
			SysID string `json:"sys_id"`
		} `json:"result"`
	}
	err := b.client.do(ctx, sdkhttp.Call{
		Op:     "look up configuration item",
		Method: "GET",
		Path:   "/api/now/table/" + b.table,
		Query: url.Values{
			"sysparm_query":                  {method + "=" + value + "^ORDERBYDESCsys_updated_on"},
			"sysparm_limit":                  {"1"},
			"sysparm_fields":                 {"sys_id,name"},
			"sysparm_exclude_reference_link": {"true"},
		},
	}, &resp)
	if err != nil {
		return "", err
	}
	sysID, ttl := "", b.missTTL
	if len(resp.Result) > 0 && resp.Result[0].SysID != "" {
		sysID, ttl = resp.Result[0].SysID, b.ttl
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cache) >= maxCacheEntries {
		for k, e := range b.cache {
			if !now.Before(e.expires) {
				delete(b.cache, k)
			}
		}
		if len(b.cache) >= maxCacheEntries {
			clear(b.cache)
		}
	}
	b.cache[key] = cacheEntry{sysID: sysID, expires: now.Add(ttl)}
	return sysID, nil
}
