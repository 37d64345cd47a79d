// Command itsm-connector-plugin-slow is a backend for load tests: every
// lifecycle call waits a configured delay before it succeeds, standing in for
// a slow or stalled ITSM API. Work items live in memory only.
//
// Build it next to the other plugins (loadgen -spawn does this itself):
//
//	go build -o PLUGIN_DIR/itsm-connector-plugin-slow ./cmd/loadgen/slowplugin
//
// and configure it with
//
//	backend "slow" "api" { config { delay = "2s" } }
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func main() { sdk.Serve(&slow{}) }

// createdAttr is the work item attribute where Create stamps the time it
// returned (Unix nanoseconds); loadgen reads it back from the store.
const createdAttr = "created_unix_nano"

// slow implements every lifecycle call; each one sleeps for delay (or until
// the host cancels the call) and then does the obvious thing in memory.
type slow struct {
	mu    sync.Mutex
	delay time.Duration
	items map[string]*sdk.WorkItem // by id
	byKey map[string]string        // correlation key → newest id
	next  int
}

var (
	_ sdk.Plugin   = (*slow)(nil)
	_ sdk.Looker   = (*slow)(nil)
	_ sdk.Updater  = (*slow)(nil)
	_ sdk.Resolver = (*slow)(nil)
	_ sdk.Reopener = (*slow)(nil)
)

// Info declares the single `delay` attribute.
func (s *slow) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:    "slow",
		Version: "dev",
		Schema: sdk.Schema{Attributes: []sdk.Attribute{{
			Name:    "delay",
			Type:    "string",
			Default: json.RawMessage(`"2s"`),
			Doc:     "How long every call takes, a Go duration such as \"2s\" or \"1h\" (a stalled backend).",
		}}},
	}, nil
}

// Configure parses delay.
func (s *slow) Configure(_ context.Context, cfg sdk.Config) error {
	var c struct {
		Delay *string `json:"delay"`
	}
	if err := cfg.Decode(&c); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("Invalid configuration", err.Error())}
	}
	d := 2 * time.Second
	if c.Delay != nil {
		var err error
		if d, err = time.ParseDuration(*c.Delay); err != nil || d < 0 {
			return sdk.Diagnostics{sdk.AttributeError("Invalid delay",
				fmt.Sprintf("delay %q is not a non-negative Go duration such as \"2s\".", *c.Delay), "delay")}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
	if s.items == nil {
		s.items, s.byKey = map[string]*sdk.WorkItem{}, map[string]string{}
	}
	return nil
}

// wait sleeps for the configured delay; a cancelled call is retryable.
func (s *slow) wait(ctx context.Context) error {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return sdk.Retryable(fmt.Errorf("call cancelled while waiting: %w", ctx.Err()))
	}
}

// Lookup returns the newest item stamped with the correlation key.
func (s *slow) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byKey[req.CorrelationKey]
	if !ok {
		return nil, nil
	}
	wi := *s.items[id]
	return &wi, nil
}

// Create opens a new item.
func (s *slow) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	if req.CorrelationKey == "" {
		return nil, sdk.Permanent(errors.New("create: no correlation key"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	id := "SLOW-" + strconv.Itoa(s.next)
	// When Create returns, for loadgen's time to ticket (the host keeps
	// the returned item's attributes in the work item's ref).
	created := strconv.FormatInt(time.Now().UnixNano(), 10)
	s.items[id] = &sdk.WorkItem{ID: id, Key: id, State: sdk.StateOpen, CorrelationKey: req.CorrelationKey,
		Attributes: map[string]string{createdAttr: created}}
	s.byKey[req.CorrelationKey] = id
	wi := *s.items[id]
	return &wi, nil
}

// Update leaves the item as it is.
func (s *slow) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return s.change(ctx, req, "")
}

// Resolve marks the item resolved.
func (s *slow) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return s.change(ctx, req, sdk.StateResolved)
}

// Reopen marks the item open.
func (s *slow) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return s.change(ctx, req, sdk.StateOpen)
}

func (s *slow) change(ctx context.Context, req *sdk.Request, state sdk.WorkItemState) (*sdk.WorkItem, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	if req.Ref == nil {
		return nil, sdk.Permanent(errors.New("no work item reference"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wi, ok := s.items[req.Ref.ID]
	if !ok {
		return nil, sdk.NotFound(fmt.Errorf("work item %s does not exist", req.Ref.ID))
	}
	if state != "" {
		wi.State = state
	}
	out := *wi
	return &out, nil
}
