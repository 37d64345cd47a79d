// Package memplugin is a complete plugin whose backend is a map in memory.
// The SDK's own tests use it to exercise the protocol, the harness and the
// conformance suite; it is not shipped.
package memplugin

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Backend is the in-memory ticket store several plugin instances can share,
// with a switch to make it fail.
type Backend struct {
	mu         sync.Mutex
	items      map[string]*sdk.WorkItem
	byKey      map[string][]string // correlation key → ids, oldest first
	resolvedBy map[string]string   // id → who resolved it (ResolveAs)
	next       int
	fault      sdk.ErrorKind
	retryAfter time.Duration
}

// NewBackend returns an empty backend.
func NewBackend() *Backend {
	return &Backend{items: map[string]*sdk.WorkItem{}, byKey: map[string][]string{}, resolvedBy: map[string]string{}}
}

// SetFault makes every following request fail as kind says (retryable
// asking for retryAfter, or permanent); an empty kind clears it.
func (b *Backend) SetFault(kind sdk.ErrorKind, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fault, b.retryAfter = kind, retryAfter
}

// Len returns the number of work items stored.
func (b *Backend) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// failure returns the injected fault, if any; b.mu must be held.
func (b *Backend) failure() error {
	switch b.fault {
	case "":
		return nil
	case sdk.KindRetryable:
		return sdk.RetryableAfter(fmt.Errorf("memory backend: HTTP 503: service unavailable"), b.retryAfter)
	default:
		return &sdk.Error{Kind: b.fault, Err: fmt.Errorf("memory backend: HTTP 400: request rejected")}
	}
}

// Plugin adapts a Backend to the plugin contract.
type Plugin struct {
	b   *Backend
	cfg Config
}

// Config is the plugin's configuration.
type Config struct {
	Prefix string `json:"prefix"`
	Token  string `json:"token"`
	Limits *struct {
		MaxItems int `json:"max_items"`
	} `json:"limits"`
}

// New returns a plugin storing its work items in b.
func New(b *Backend) *Plugin { return &Plugin{b: b} }

var (
	_ sdk.Plugin       = (*Plugin)(nil)
	_ sdk.Looker       = (*Plugin)(nil)
	_ sdk.Updater      = (*Plugin)(nil)
	_ sdk.Resolver     = (*Plugin)(nil)
	_ sdk.Reopener     = (*Plugin)(nil)
	_ sdk.StatusReader = (*Plugin)(nil)
)

// StatusBatch is the plugin's Info.MaxStatusBatch: small, so that the
// conformance suite's full batch stays quick.
const StatusBatch = 8

var prefixRE = regexp.MustCompile(`^[A-Z]{2,5}$`)

// Info describes the plugin.
func (p *Plugin) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:           "memory",
		Version:        "0.1.0",
		Capabilities:   sdk.Capabilities{Comment: true},
		MaxStatusBatch: StatusBatch,
		Schema: sdk.Schema{
			Attributes: []sdk.Attribute{
				{Name: "prefix", Type: "string", Required: true, Doc: "Key prefix, 2 to 5 capital letters."},
				{Name: "token", Type: "string", Required: true, Sensitive: true, Doc: "API token."},
				{Name: "assignee", Type: "string", PerAlert: true, Doc: "Who gets the item."},
			},
			Blocks: []sdk.Block{{
				Name: "limits", Nesting: sdk.NestingSingle,
				Schema: sdk.Schema{Attributes: []sdk.Attribute{{Name: "max_items", Type: "number"}}},
			}},
		},
	}, nil
}

// Configure validates the configuration.
func (p *Plugin) Configure(_ context.Context, raw sdk.Config) error {
	var cfg Config
	if err := raw.Decode(&cfg); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Invalid configuration", err.Error())}
	}
	var diags sdk.Diagnostics
	if !prefixRE.MatchString(cfg.Prefix) {
		diags = append(diags, sdk.AttributeError("Invalid key prefix",
			fmt.Sprintf("%q is not 2 to 5 capital letters.", cfg.Prefix), "prefix"))
	}
	if cfg.Token == "" {
		diags = append(diags, sdk.AttributeError("Missing token", "The backend needs an API token.", "token"))
	}
	if cfg.Limits != nil && cfg.Limits.MaxItems <= 0 {
		diags = append(diags, sdk.AttributeError("Invalid limit", "max_items must be positive.", "limits", "max_items"))
	}
	if diags.HasErrors() {
		return diags
	}
	p.cfg = cfg
	slog.Info("configured memory backend", "prefix", cfg.Prefix)
	return nil
}

// Create stores a new open work item.
func (p *Plugin) Create(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failure(); err != nil {
		return nil, err
	}
	if l := p.cfg.Limits; l != nil && len(b.items) >= l.MaxItems {
		return nil, sdk.Permanent(fmt.Errorf("memory backend: limit of %d work items reached", l.MaxItems))
	}
	b.next++
	id := fmt.Sprintf("mem-%d", b.next)
	wi := &sdk.WorkItem{
		ID:             id,
		Key:            fmt.Sprintf("%s%07d", p.cfg.Prefix, b.next),
		URL:            "mem://items/" + id,
		State:          sdk.StateOpen,
		CorrelationKey: req.CorrelationKey,
		Attributes:     map[string]string{"updates": "0"},
	}
	for _, ci := range req.ConfigurationItems {
		wi.Bindings = append(wi.Bindings, sdk.CIBinding{ConfigurationItem: ci, BoundID: "ci-" + ci.Name, BoundBy: "resource_id"})
	}
	if echo, ok := req.Fields["echo"].(string); ok {
		wi.Attributes["echo"] = echo
	}
	var values struct {
		Assignee string `json:"assignee"`
	}
	if err := req.Values.Decode(&values); err != nil {
		return nil, sdk.Permanent(err)
	}
	if values.Assignee != "" {
		wi.Attributes["assignee"] = values.Assignee
	}
	b.items[id] = wi
	b.byKey[req.CorrelationKey] = append(b.byKey[req.CorrelationKey], id)
	slog.Debug("created work item", "id", id)
	return clone(wi), nil
}

// Lookup returns the newest item stamped with the key.
func (p *Plugin) Lookup(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failure(); err != nil {
		return nil, err
	}
	ids := b.byKey[req.CorrelationKey]
	if len(ids) == 0 {
		return nil, nil
	}
	return clone(b.items[ids[len(ids)-1]]), nil
}

// Update counts a re-fire on the item.
func (p *Plugin) Update(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) {
		n, _ := strconv.Atoi(wi.Attributes["updates"])
		wi.Attributes["updates"] = strconv.Itoa(n + 1)
	})
}

// ReadStatus answers the state of each item asked for, and Found false for
// the items the backend does not hold.
func (p *Plugin) ReadStatus(_ context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failure(); err != nil {
		return nil, err
	}
	out := make([]sdk.WorkItemStatus, 0, len(req.Items))
	for _, ref := range req.Items {
		st := sdk.WorkItemStatus{ID: ref.ID}
		if wi, ok := b.items[ref.ID]; ok {
			st.Found, st.State = true, wi.State
			if wi.State == sdk.StateResolved {
				st.ResolvedBy = b.resolvedBy[ref.ID]
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// ResolveAs resolves the item id as the person by would in the tool; it
// reports whether the item exists.
func (b *Backend) ResolveAs(id, by string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	wi, ok := b.items[id]
	if ok {
		wi.State = sdk.StateResolved
		b.resolvedBy[id] = by
	}
	return ok
}

// Delete removes the item id, as a person deleting it in the tool would.
func (b *Backend) Delete(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.items, id)
}

// Resolve marks the item resolved.
func (p *Plugin) Resolve(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) {
		wi.State = sdk.StateResolved
		p.b.resolvedBy[wi.ID] = "itsm-connector"
	})
}

// Reopen marks the item open again.
func (p *Plugin) Reopen(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return p.change(req, func(wi *sdk.WorkItem) {
		wi.State = sdk.StateOpen
		delete(p.b.resolvedBy, wi.ID)
	})
}

func (p *Plugin) change(req *sdk.Request, f func(*sdk.WorkItem)) (*sdk.WorkItem, error) {
	b := p.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failure(); err != nil {
		return nil, err
	}
	if req.Ref == nil {
		return nil, sdk.Permanent(fmt.Errorf("memory backend: no work item reference in request"))
	}
	wi, ok := b.items[req.Ref.ID]
	if !ok {
		return nil, sdk.NotFound(fmt.Errorf("memory backend: work item %q does not exist", req.Ref.ID))
	}
	f(wi)
	return clone(wi), nil
}

func clone(wi *sdk.WorkItem) *sdk.WorkItem {
	c := *wi
	c.Attributes = maps.Clone(wi.Attributes)
	c.Bindings = slices.Clone(wi.Bindings)
	return &c
}
