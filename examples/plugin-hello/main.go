// Command itsm-connector-plugin-hello is the smallest complete itsm-connector
// plugin: it keeps work items in memory and logs every call. Copy it to start
// a plugin for your own ITSM tool; replace the map with calls to its API.
//
// It imports only the SDK (github.com/itsm-connector/itsm-connector/sdk) and
// go-hclog, which is how every plugin is built: the host is never imported.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// version is set at build time: go build -ldflags "-X main.version=0.1.0".
var version = "dev"

func main() {
	// Serve speaks the host's protocol until the host disconnects. Logs go
	// to stderr through hclog's default logger; never print to stdout.
	sdk.Serve(&hello{})
}

// hello implements sdk.Plugin plus the optional lifecycle interfaces. The
// SDK reports what is implemented to the host as capabilities.
type hello struct {
	mu       sync.Mutex
	greeting string
	items    map[string]*sdk.WorkItem // by id
	next     int
}

var (
	_ sdk.Plugin   = (*hello)(nil)
	_ sdk.Looker   = (*hello)(nil)
	_ sdk.Updater  = (*hello)(nil)
	_ sdk.Resolver = (*hello)(nil)
	_ sdk.Reopener = (*hello)(nil)
)

// Info tells the host who the plugin is and what its `config {}` block
// looks like. The host checks the operator's block against this schema.
func (h *hello) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:    "hello",
		Version: version,
		Schema: sdk.Schema{Attributes: []sdk.Attribute{
			{
				Name:    "greeting",
				Type:    "string",
				Default: json.RawMessage(`"hello"`),
				Doc:     "Word logged in front of every call.",
			},
			{
				// A per-alert attribute: a template the host renders for
				// every call and sends in Request.Values. (A Default would
				// be a literal, not a template, so there is none.)
				Name:     "note",
				Type:     "string",
				PerAlert: true,
				Doc:      "Text logged with each call, a template rendered per alert, e.g. \"${alert.rule} is ${alert.condition}\".",
			},
		}},
	}, nil
}

// Configure checks the configuration. Problems are diagnostics that name
// the attribute, so the host can point at the operator's line.
func (h *hello) Configure(_ context.Context, cfg sdk.Config) error {
	var c struct {
		Greeting *string `json:"greeting"`
	}
	if err := cfg.Decode(&c); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Invalid configuration", err.Error())}
	}
	greeting := "hello"
	if c.Greeting != nil {
		greeting = *c.Greeting
	}
	if greeting == "" {
		return sdk.Diagnostics{sdk.AttributeError("Empty greeting", "Set greeting to a word, or leave it out.", "greeting")}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.greeting = greeting
	if h.items == nil {
		h.items = map[string]*sdk.WorkItem{}
	}
	return nil
}

// Create opens a new work item stamped with the correlation key.
func (h *hello) Create(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if req.CorrelationKey == "" {
		return nil, sdk.Permanent(errors.New("create: no correlation key"))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.items == nil {
		return nil, sdk.Permanent(errors.New("create: not configured"))
	}
	h.next++
	id := fmt.Sprintf("HELLO-%d", h.next)
	h.items[id] = &sdk.WorkItem{ID: id, Key: id, State: sdk.StateOpen, CorrelationKey: req.CorrelationKey}
	h.logCall("create", req, id)
	return h.copyOf(id), nil
}

// Lookup finds the newest work item stamped with the correlation key.
func (h *hello) Lookup(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	newest, newestN := "", 0
	for id, wi := range h.items {
		var n int
		_, _ = fmt.Sscanf(id, "HELLO-%d", &n)
		if wi.CorrelationKey == req.CorrelationKey && n > newestN {
			newest, newestN = id, n
		}
	}
	h.logCall("lookup", req, newest)
	if newest == "" {
		return nil, nil // nothing stamped with this key: not an error
	}
	return h.copyOf(newest), nil
}

// Update records new information on an open item.
func (h *hello) Update(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return h.change("update", req, sdk.StateOpen, false)
}

// Resolve closes the item; resolving a resolved item succeeds unchanged.
func (h *hello) Resolve(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return h.change("resolve", req, sdk.StateResolved, true)
}

// Reopen opens a resolved item again; reopening an open item succeeds.
func (h *hello) Reopen(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return h.change("reopen", req, sdk.StateOpen, true)
}

func (h *hello) change(op string, req *sdk.Request, state sdk.WorkItemState, setState bool) (*sdk.WorkItem, error) {
	if req.Ref == nil {
		return nil, sdk.Permanent(fmt.Errorf("%s: no work item reference", op))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	wi, ok := h.items[req.Ref.ID]
	if !ok {
		// Gone from the backend: the host forgets it and creates a new one.
		return nil, sdk.NotFound(fmt.Errorf("%s: work item %s does not exist", op, req.Ref.ID))
	}
	if setState {
		wi.State = state
	}
	h.logCall(op, req, wi.ID)
	return h.copyOf(wi.ID), nil
}

// logCall logs one call through hclog's default logger, which sdk.Serve
// points at stderr; the host shows the line under the backend's name.
func (h *hello) logCall(op string, req *sdk.Request, id string) {
	var v struct {
		Note string `json:"note"`
	}
	_ = req.Values.Decode(&v) // the note is informative only
	hclog.Default().Info(h.greeting+" "+op, "id", id, "correlation_key", req.CorrelationKey,
		"alert", req.Alert.ID, "note", v.Note)
}

func (h *hello) copyOf(id string) *sdk.WorkItem {
	wi := *h.items[id]
	return &wi
}
