// Command itsm-connector-plugin-oldv1 is a plugin as a vendor wrote it
// against the first released SDK (../sdk, frozen): work items in memory,
// every lifecycle call. The host's compatibility test builds it in this
// module, with no access to the current SDK, and drives it through today's
// host. Frozen with the SDK: see ../README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/itsm-connector/itsm-connector/sdk"
)

type plugin struct {
	mu     sync.Mutex
	prefix string
	items  map[string]*sdk.WorkItem // by ID
	newest map[string]string        // correlation key → ID of the newest item
	next   int
}

var (
	_ sdk.Plugin   = (*plugin)(nil)
	_ sdk.Looker   = (*plugin)(nil)
	_ sdk.Updater  = (*plugin)(nil)
	_ sdk.Resolver = (*plugin)(nil)
	_ sdk.Reopener = (*plugin)(nil)
)

func (p *plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:         "oldv1",
		Version:      "1.0.0",
		Capabilities: sdk.Capabilities{Comment: true},
		Schema: sdk.Schema{
			Attributes: []sdk.Attribute{
				{Name: "prefix", Type: "string", Default: json.RawMessage(`"OLD"`), Doc: "Prefix of work item keys."},
				{Name: "title", Type: "string", PerAlert: true, Doc: "Title of each work item."},
			},
		},
	}, nil
}

func (p *plugin) Configure(_ context.Context, raw sdk.Config) error {
	var c struct {
		Prefix string `json:"prefix"`
	}
	if err := raw.Decode(&c); err != nil {
		return sdk.Permanent(err)
	}
	if c.Prefix == "" {
		return sdk.Diagnostics{sdk.AttributeError("Empty prefix", "Set prefix to a non-empty string.", "prefix")}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = c.Prefix
	return nil
}

func (p *plugin) Create(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	var v struct {
		Title string `json:"title"`
	}
	if err := req.Values.Decode(&v); err != nil {
		return nil, sdk.Permanent(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	id := fmt.Sprint(p.next)
	wi := &sdk.WorkItem{
		ID:             id,
		Key:            fmt.Sprintf("%s-%d", p.prefix, p.next),
		State:          sdk.StateOpen,
		CorrelationKey: req.CorrelationKey,
		Attributes:     map[string]string{"title": v.Title, "comments": "0"},
	}
	p.items[id] = wi
	p.newest[req.CorrelationKey] = id
	return copyOf(wi), nil
}

func (p *plugin) Lookup(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.newest[req.CorrelationKey]
	if !ok {
		return nil, nil
	}
	return copyOf(p.items[id]), nil
}

func (p *plugin) Update(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) {
		var n int
		fmt.Sscan(wi.Attributes["comments"], &n)
		wi.Attributes["comments"] = fmt.Sprint(n + 1)
	})
}

func (p *plugin) Resolve(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) { wi.State = sdk.StateResolved })
}

func (p *plugin) Reopen(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) { wi.State = sdk.StateOpen })
}

// change applies fn to the item req.Ref names.
func (p *plugin) change(req *sdk.Request, fn func(*sdk.WorkItem)) (*sdk.WorkItem, error) {
	if req.Ref == nil {
		return nil, sdk.Permanent(errors.New("no work item reference"))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	wi, ok := p.items[req.Ref.ID]
	if !ok {
		return nil, sdk.NotFound(fmt.Errorf("work item %s does not exist", req.Ref.ID))
	}
	fn(wi)
	return copyOf(wi), nil
}

func copyOf(wi *sdk.WorkItem) *sdk.WorkItem {
	c := *wi
	c.Attributes = make(map[string]string, len(wi.Attributes))
	for k, v := range wi.Attributes {
		c.Attributes[k] = v
	}
	return &c
}

func main() {
	sdk.Serve(&plugin{items: map[string]*sdk.WorkItem{}, newest: map[string]string{}})
}
