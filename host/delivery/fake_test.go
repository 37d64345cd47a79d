package delivery

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// fake is an in-process ITSM backend: it keeps work items in memory, counts
// calls, and returns injected errors or waits when told to.
type fake struct {
	mu     sync.Mutex
	items  map[string]*sdk.WorkItem // by id
	order  []string                 // ids in creation order
	calls  map[string]int
	times  map[string][]time.Time
	errs   map[string][]error // per op, consumed first in first out
	nextID int

	// createThenFail makes Create store the item and then fail with this
	// error (a timeout after the backend acted, or a crash).
	createThenFail error
	// gate, when set, blocks every call until it is closed (or ctx ends).
	gate    chan struct{}
	latency time.Duration

	inFlight, maxInFlight int
	// notes are the sdk.Request.Note of the calls that carried one, as
	// "op: note".
	notes []string

	// fields are what the tool holds in each item's fields (by id), as
	// the calls wrote them (sdk.Request.Writes) or a person changed them;
	// resolution is how each item was resolved. ReadStatus reports both.
	fields     map[string]map[string]string
	resolution map[string]string
	// reqs are the requests of each op, in order.
	reqs map[string][]*sdk.Request
	// bindings are what Create reports on the item it creates.
	bindings []sdk.CIBinding

	// humans holds the resolutions made "by a person" (resolveAsHuman).
	humans map[string]humanFix
}

type humanFix struct {
	by string
	at time.Time
}

// resolveAsHuman resolves item id as a person would in the tool.
func (f *fake) resolveAsHuman(id, by string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[id].State = sdk.StateResolved
	if f.humans == nil {
		f.humans = map[string]humanFix{}
	}
	f.humans[id] = humanFix{by: by, at: at}
}

var _ hostside.Client = (*fake)(nil)

func newFake() *fake {
	return &fake{items: map[string]*sdk.WorkItem{}, calls: map[string]int{}, times: map[string][]time.Time{}, errs: map[string][]error{},
		fields: map[string]map[string]string{}, resolution: map[string]string{}, reqs: map[string][]*sdk.Request{}}
}

// edit changes a field of item id as a person would in the tool.
func (f *fake) edit(id, field, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fields[id] == nil {
		f.fields[id] = map[string]string{}
	}
	f.fields[id][field] = value
}

// field returns what the tool holds in a field of item id.
func (f *fake) field(id, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fields[id][name]
}

// resolveAs resolves item id with a resolution, as a person would.
func (f *fake) resolveAs(id, resolution string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[id].State, f.resolution[id] = sdk.StateResolved, resolution
}

// requests returns the requests of op, in order.
func (f *fake) requests(op string) []*sdk.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sdk.Request(nil), f.reqs[op]...)
}

// write applies the fields req writes to item id (f.mu held).
func (f *fake) writeLocked(id string, req *sdk.Request, onCreate bool) {
	if f.fields[id] == nil {
		f.fields[id] = map[string]string{}
	}
	for k, v := range req.Fields {
		if req.Writes(k, onCreate) {
			f.fields[id][k] = fmt.Sprint(v)
		}
	}
}

func (f *fake) fail(op string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = append(f.errs[op], errs...)
}

func (f *fake) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fake) callTimes(op string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times[op]...)
}

// byKey returns the items stamped with key, oldest first.
func (f *fake) byKey(key string) []sdk.WorkItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sdk.WorkItem
	for _, id := range f.order {
		if it := f.items[id]; it.CorrelationKey == key {
			out = append(out, *it)
		}
	}
	return out
}

// seed stores an open item stamped with key, as a Create that reached the
// backend but was never recorded (a crash or a lost answer).
func (f *fake) seed(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("W%d", f.nextID)
	f.items[id] = &sdk.WorkItem{ID: id, Key: "INC" + id, State: sdk.StateOpen, CorrelationKey: key}
	f.order = append(f.order, id)
	return id
}

func (f *fake) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items)
}

func (f *fake) delete(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, id)
	for i, o := range f.order {
		if o == id {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
}

// enter records a call and returns its injected error, after the gate and
// latency.
func (f *fake) enter(ctx context.Context, op string) error {
	return f.enterWith(ctx, op, nil)
}

func (f *fake) enterWith(ctx context.Context, op string, req *sdk.Request) error {
	f.mu.Lock()
	f.calls[op]++
	if req != nil {
		f.reqs[op] = append(f.reqs[op], req)
	}
	f.times[op] = append(f.times[op], time.Now())
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	gate, latency := f.gate, f.latency
	var err error
	if q := f.errs[op]; len(q) > 0 {
		err, f.errs[op] = q[0], q[1:]
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (f *fake) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "fake", Version: "test"}, nil
}

func (f *fake) Configure(context.Context, sdk.Config) error { return nil }

func (f *fake) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if err := f.enterWith(ctx, "create", req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Note != "" {
		f.notes = append(f.notes, "create: "+req.Note)
	}
	f.nextID++
	id := fmt.Sprintf("W%d", f.nextID)
	wi := &sdk.WorkItem{ID: id, Key: "INC" + id, State: sdk.StateOpen, CorrelationKey: req.CorrelationKey}
	f.items[id] = wi
	bound := *wi
	bound.Bindings = f.bindings
	f.order = append(f.order, id)
	f.writeLocked(id, req, true)
	if err := f.createThenFail; err != nil {
		f.createThenFail = nil
		return nil, err
	}
	return &bound, nil
}

func (f *fake) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if err := f.enter(ctx, "lookup"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.order) - 1; i >= 0; i-- {
		if it := f.items[f.order[i]]; it.CorrelationKey == req.CorrelationKey {
			c := *it
			return &c, nil
		}
	}
	return nil, nil
}

func (f *fake) change(ctx context.Context, op string, req *sdk.Request, state sdk.WorkItemState) (*sdk.WorkItem, error) {
	if err := f.enterWith(ctx, op, req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Note != "" {
		f.notes = append(f.notes, op+": "+req.Note)
	}
	if req.Ref == nil {
		return nil, sdk.Permanent(fmt.Errorf("%s without a ref", op))
	}
	it, ok := f.items[req.Ref.ID]
	if !ok {
		return nil, sdk.NotFound(fmt.Errorf("work item %s not found", req.Ref.ID))
	}
	if state != "" {
		it.State = state
	}
	if op == "update" || op == "reopen" {
		f.writeLocked(it.ID, req, false)
	}
	if op == "reopen" {
		delete(f.resolution, it.ID)
	}
	c := *it
	return &c, nil
}

func (f *fake) Update(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, "update", req, "")
}

func (f *fake) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, "resolve", req, sdk.StateResolved)
}

func (f *fake) Reopen(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	return f.change(ctx, "reopen", req, sdk.StateOpen)
}

// ReadStatus answers the state of each item asked for that the fake holds,
// and Found false for the others.
func (f *fake) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	if err := f.enter(ctx, "read_status"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]sdk.WorkItemStatus, 0, len(req.Items))
	for _, ref := range req.Items {
		st := sdk.WorkItemStatus{ID: ref.ID}
		if it, ok := f.items[ref.ID]; ok {
			st.Found, st.State = true, it.State
			if h, ok := f.humans[ref.ID]; ok {
				st.ResolvedBy, st.ResolvedAt, st.Resolution = h.by, h.at, "Solved"
			}
			if r, ok := f.resolution[ref.ID]; ok {
				st.Resolution = r
			}
			if fs := f.fields[ref.ID]; len(fs) > 0 {
				st.Fields = map[string]string{}
				for k, v := range fs {
					st.Fields[k] = v
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func allCaps() sdk.Capabilities {
	return sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true}
}

func (f *fake) callNotes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.notes...)
}
