package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// Suite is what a plugin author provides to run the conformance suite. Only
// New (or, for a plugin process, Start) is required; every check whose
// inputs are missing is skipped with a message saying which field would
// enable it.
//
// Sub-tests run one after another, never in parallel, so a single fake
// backend for the whole suite is fine.
type Suite struct {
	// New returns a new, unconfigured instance of the plugin. Each sub-test
	// calls it once and talks to the instance over gRPC, as the host does.
	New func(t *testing.T) sdk.Plugin

	// Start, instead of New, starts a new plugin process and returns the
	// host's view of it, typically with LaunchCommand: this is how a plugin
	// written in another language runs the suite. Each sub-test calls it
	// once. The suite then sees the plugin only over the wire, so it takes
	// the capabilities Info reports as they are.
	Start func(t *testing.T) hostside.Client

	// Config is a valid configuration for the plugin (the JSON the host
	// would send after decoding the backend's `config {}` block), typically
	// pointing at a fake backend started by the test. Without it only Info
	// and InvalidConfig are checked.
	Config sdk.Config

	// InvalidConfig is a configuration that Configure must reject, and
	// InvalidPath the attribute path the diagnostic must name, e.g.
	// []string{"instance_url"} or []string{"auth", "client_id"}.
	InvalidConfig sdk.Config
	InvalidPath   []string

	// InjectFault, when set, makes the plugin's backend fail every request
	// the way f describes (a retryable fault: like a 503 or 429 carrying
	// Retry-After; a permanent one: like a 400 or 403) until it is called
	// again with the zero Fault. The suite then checks that the plugin's
	// errors reach the host correctly classified.
	InjectFault func(t *testing.T, f Fault)

	// IgnoreRetryAfter skips the retry-after check of retryable faults, for
	// backends that never tell a client how long to wait.
	IgnoreRetryAfter bool

	// Alert returns the fired alert the lifecycle checks send; the default is
	// SampleAlert.
	Alert func() sdk.Alert
	// Fields are the route's rendered fields sent with every call.
	Fields map[string]any
	// Values are the plugin's per-alert attributes, already rendered, sent
	// with every call.
	Values sdk.Values

	// LookupWait is how long a just-created or just-changed work item may
	// take to be found by Lookup, or to show its new state to ReadStatus,
	// for backends whose search is eventually consistent. Zero: at once.
	LookupWait time.Duration

	// Delete, when set, deletes a work item in the test backend as a person
	// would in the tool. The ReadStatus check then expects the deleted
	// item's status with Found false.
	Delete func(t *testing.T, wi *sdk.WorkItem)
}

// Fault is a backend failure the suite asks Suite.InjectFault to produce.
// The zero Fault clears it.
type Fault struct {
	// Kind is sdk.KindRetryable or sdk.KindPermanent.
	Kind sdk.ErrorKind
	// RetryAfter is the delay a retryable fault asks the client to wait
	// (a Retry-After header). The suite expects the plugin's error to carry
	// it, rounded down at most.
	RetryAfter time.Duration
}

// callTimeout bounds each sub-test's calls so that a hung plugin fails the
// test with a message instead of hanging it.
const callTimeout = 2 * time.Minute

// faultRetryAfter is the delay a retryable fault asks for.
const faultRetryAfter = 7 * time.Second

// pluginNameRE is what Info.Name must look like: it is part of the plugin's
// binary name, itsm-connector-plugin-<name>, and of configuration blocks.
var pluginNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Run runs the conformance suite against the plugin s describes. Call it
// from a test in the plugin's own package:
//
//	func TestConformance(t *testing.T) {
//		sdktest.Run(t, sdktest.Suite{New: ..., Config: ...})
//	}
func Run(t *testing.T, s Suite) {
	t.Helper()
	if (s.New == nil) == (s.Start == nil) {
		t.Fatal("sdktest.Run: set one of Suite.New (a new, unconfigured instance of a Go plugin) and Suite.Start (a new plugin process, from LaunchCommand)")
	}
	r := &runner{s: s}
	t.Run("Info", r.testInfo)
	t.Run("Configure", r.testConfigure)
	t.Run("InvalidConfig", r.testInvalidConfig)
	t.Run("LookupUnknown", r.testLookupUnknown)
	t.Run("Lifecycle", r.testLifecycle)
	t.Run("Idempotent", r.testIdempotent)
	t.Run("NewestWins", r.testNewestWins)
	t.Run("ReadStatus", r.testReadStatus)
	t.Run("ReadStatusBatch", r.testReadStatusBatch)
	t.Run("Faults", r.testFaults)
}

type runner struct {
	s Suite

	mu      sync.Mutex
	secrets []secret // sensitive values from the configurations, once known
	known   bool
}

// secret is the value of one sensitive attribute.
type secret struct {
	path  string
	value string
}

// minSecretLen: shorter sensitive values match too much innocent text to be
// looked for in messages.
const minSecretLen = 4

func (r *runner) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// start returns the host's view of a new plugin instance and, for a Go
// plugin from Suite.New, the instance itself.
func (r *runner) start(t *testing.T) (hostside.Client, sdk.Plugin) {
	t.Helper()
	if r.s.Start != nil {
		c := r.s.Start(t)
		if c == nil {
			t.Fatal("Suite.Start returned nil")
		}
		return c, nil
	}
	p := r.s.New(t)
	if p == nil {
		t.Fatal("Suite.New returned nil")
	}
	return Connect(t, p), p
}

// connect starts a new plugin instance and fetches its Info.
func (r *runner) connect(t *testing.T) (hostside.Client, sdk.Info) {
	t.Helper()
	c, _ := r.start(t)
	info, err := c.Info(r.ctx(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	r.learnSecrets(info.Schema)
	return c, info
}

// configured starts a plugin instance and configures it with Suite.Config.
func (r *runner) configured(t *testing.T) (hostside.Client, sdk.Info) {
	t.Helper()
	if len(r.s.Config) == 0 {
		t.Skip("Suite.Config not set: set it to a valid configuration to run this check")
	}
	c, info := r.connect(t)
	if err := c.Configure(r.ctx(t), r.s.Config); err != nil {
		r.noSecret(t, "Configure", err)
		if d := sdk.AsDiagnostics(err); !d.HasErrors() {
			return c, r.infoAfterConfigure(t, c, info) // warnings only
		}
		t.Fatalf("Configure(Suite.Config) failed: %v", err)
	}
	return c, r.infoAfterConfigure(t, c, info)
}

// infoAfterConfigure asks for Info again, as the host does after every
// successful Configure: a plugin's capabilities may follow its
// configuration (sdk.CapabilityReporter).
func (r *runner) infoAfterConfigure(t *testing.T, c hostside.Client, before sdk.Info) sdk.Info {
	t.Helper()
	info, err := c.Info(r.ctx(t))
	if err != nil {
		t.Fatalf("Info after Configure: %v", err)
	}
	if info.Name != before.Name || info.Version != before.Version {
		t.Errorf("Info after Configure names %s %s; before it %s %s: only ReadAfterWriteDelay, MaxStatusBatch and Capabilities may follow the configuration",
			info.Name, info.Version, before.Name, before.Version)
	}
	return info
}

// learnSecrets records the values of sensitive attributes in the suite's
// configurations, now that the schema says which attributes are sensitive.
func (r *runner) learnSecrets(s sdk.Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known {
		return
	}
	r.known = true
	for _, cfg := range []sdk.Config{r.s.Config, r.s.InvalidConfig} {
		var v any
		if len(cfg) == 0 || json.Unmarshal(cfg, &v) != nil {
			continue
		}
		collectSecrets(s, "", v, &r.secrets)
	}
}

// collectSecrets walks a configuration value along its schema.
func collectSecrets(s sdk.Schema, prefix string, v any, out *[]secret) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, a := range s.Attributes {
		if a.Sensitive {
			collectStrings(prefix+a.Name, obj[a.Name], out)
		}
	}
	for _, b := range s.Blocks {
		switch nested := obj[b.Name].(type) {
		case map[string]any:
			if b.Nesting == sdk.NestingMap {
				for label, x := range nested {
					collectSecrets(b.Schema, prefix+b.Name+"."+label+".", x, out)
				}
			} else {
				collectSecrets(b.Schema, prefix+b.Name+".", nested, out)
			}
		case []any:
			for i, x := range nested {
				collectSecrets(b.Schema, fmt.Sprintf("%s%s.%d.", prefix, b.Name, i), x, out)
			}
		}
	}
}

func collectStrings(path string, v any, out *[]secret) {
	switch x := v.(type) {
	case string:
		if len(x) >= minSecretLen {
			*out = append(*out, secret{path: path, value: x})
		}
	case []any:
		for _, e := range x {
			collectStrings(path, e, out)
		}
	case map[string]any:
		for _, e := range x {
			collectStrings(path, e, out)
		}
	}
}

// noSecret fails t when err's message contains a sensitive value. The value
// itself is never printed.
func (r *runner) noSecret(t *testing.T, call string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	r.mu.Lock()
	secrets := r.secrets
	r.mu.Unlock()
	msg := err.Error()
	for _, s := range secrets {
		if strings.Contains(msg, s.value) {
			t.Errorf("%s: the error message contains the value of sensitive attribute %q; "+
				"errors are logged and shown to operators, keep secrets out of them", call, s.path)
		}
	}
}

// key returns a correlation key no earlier run used, shaped like a real one
// (route templates often join a rule name and an ARM id with "|").
func (r *runner) key(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "sdktest|" + hex.EncodeToString(b) + "|/subscriptions/00000000-0000-0000-0000-000000000000" +
		"/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/vm-web-01"
}

func (r *runner) alert() sdk.Alert {
	if r.s.Alert != nil {
		return r.s.Alert()
	}
	return SampleAlert()
}

func (r *runner) request(key string, a sdk.Alert, ref *sdk.WorkItem) *sdk.Request {
	return &sdk.Request{
		CorrelationKey:     key,
		Alert:              a,
		Fields:             r.s.Fields,
		Values:             r.s.Values,
		ConfigurationItems: a.ConfigurationItems,
		Ref:                ref,
	}
}

// checkItem verifies a work item returned by call: present, with an id, in
// the expected state, stamped with key if it says, and the same item as prev
// when prev is given.
func checkItem(t *testing.T, call string, wi *sdk.WorkItem, want sdk.WorkItemState, key string, prev *sdk.WorkItem) {
	t.Helper()
	if wi == nil {
		t.Fatalf("%s returned neither a work item nor an error", call)
	}
	if wi.ID == "" {
		t.Fatalf("%s returned a work item without an ID: %+v", call, *wi)
	}
	if wi.State != want {
		t.Errorf("%s: work item %s has state %q, want %q", call, wi.ID, wi.State, want)
	}
	if wi.CorrelationKey != "" && wi.CorrelationKey != key {
		t.Errorf("%s: work item %s says it is stamped with correlation key %q, want %q", call, wi.ID, wi.CorrelationKey, key)
	}
	if prev == nil {
		return
	}
	if wi.ID != prev.ID {
		t.Errorf("%s changed the work item's ID from %q to %q; an ID must identify the same item on every call", call, prev.ID, wi.ID)
	}
	if prev.Key != "" && wi.Key != "" && wi.Key != prev.Key {
		t.Errorf("%s changed the work item's key from %q to %q", call, prev.Key, wi.Key)
	}
}

// lookup calls Lookup until it finds wantID (or anything, when wantID is
// empty), for at most Suite.LookupWait.
func (r *runner) lookup(t *testing.T, c hostside.Client, key, wantID string) *sdk.WorkItem {
	t.Helper()
	deadline := time.Now().Add(r.s.LookupWait)
	for {
		wi, err := c.Lookup(r.ctx(t), r.request(key, r.alert(), nil))
		if err != nil {
			r.noSecret(t, "Lookup", err)
			t.Fatalf("Lookup(%q): %v", key, err)
		}
		found := wi != nil && (wantID == "" || wi.ID == wantID)
		if found || !time.Now().Before(deadline) {
			return wi
		}
		time.Sleep(min(100*time.Millisecond, time.Until(deadline)))
	}
}

func (r *runner) testInfo(t *testing.T) {
	c, p := r.start(t)
	info, err := c.Info(r.ctx(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !pluginNameRE.MatchString(info.Name) {
		t.Errorf("Info.Name = %q; want a short lowercase name ([a-z0-9_-]), the <name> in the binary name itsm-connector-plugin-<name>", info.Name)
	}
	if strings.TrimSpace(info.Version) == "" {
		t.Error("Info.Version is empty; report the plugin's release version")
	}
	if !slices.Contains(info.APIVersions, sdk.APIVersion) {
		t.Errorf("Info.APIVersions = %v; it must include the protocol version this SDK serves (%d), or be left empty", info.APIVersions, sdk.APIVersion)
	}
	if err := info.Schema.Validate(); err != nil {
		t.Errorf("Info.Schema is invalid: %v", err)
	}
	if p == nil {
		return // a plugin process: only its Info says what it implements
	}
	want := sdk.CapabilitiesOf(p)
	got := info.Capabilities
	if got.Lookup != want.Lookup || got.Update != want.Update || got.Resolve != want.Resolve || got.Reopen != want.Reopen ||
		got.ReadStatus != want.ReadStatus {
		t.Errorf("Info.Capabilities over the wire = %+v; the lifecycle and read_status capabilities must match the interfaces the plugin implements (%+v)", got, want)
	}
}

func (r *runner) testConfigure(t *testing.T) {
	r.configured(t)
}

func (r *runner) testInvalidConfig(t *testing.T) {
	if len(r.s.InvalidConfig) == 0 || len(r.s.InvalidPath) == 0 {
		t.Skip("Suite.InvalidConfig and Suite.InvalidPath not set: set them to a configuration Configure must reject and the attribute path it must name")
	}
	c, _ := r.connect(t)
	err := c.Configure(r.ctx(t), r.s.InvalidConfig)
	if err == nil {
		t.Fatalf("Configure(Suite.InvalidConfig) succeeded; want an error diagnostic for %s", strings.Join(r.s.InvalidPath, "."))
	}
	r.noSecret(t, "Configure", err)
	diags := sdk.AsDiagnostics(err)
	for _, d := range diags {
		if d.Severity != sdk.SeverityWarning && slices.Equal(d.Path, r.s.InvalidPath) {
			if d.Summary == "" {
				t.Errorf("the diagnostic for %s has an empty summary", strings.Join(d.Path, "."))
			}
			return
		}
	}
	var paths []string
	for _, d := range diags {
		paths = append(paths, fmt.Sprintf("%s %q", d.Severity, d.Path))
	}
	t.Errorf("Configure(Suite.InvalidConfig) = %v; want an error diagnostic with path %q, got diagnostics [%s] "+
		"(return sdk.Diagnostics built with sdk.AttributeError so the host can point at the line)",
		err, r.s.InvalidPath, strings.Join(paths, ", "))
}

func (r *runner) testLookupUnknown(t *testing.T) {
	c, info := r.configured(t)
	if !info.Capabilities.Lookup {
		t.Skip("the plugin does not implement sdk.Looker")
	}
	key := r.key(t)
	wi, err := c.Lookup(r.ctx(t), r.request(key, r.alert(), nil))
	if err != nil {
		r.noSecret(t, "Lookup", err)
		t.Fatalf("Lookup of a correlation key nothing was stamped with: %v; want (nil, nil)", err)
	}
	if wi != nil {
		t.Fatalf("Lookup of a correlation key nothing was stamped with returned %+v; want (nil, nil)", *wi)
	}
}

func (r *runner) testLifecycle(t *testing.T) {
	c, info := r.configured(t)
	ctx := r.ctx(t)
	key := r.key(t)
	fired := r.alert()

	item, err := c.Create(ctx, r.request(key, fired, nil))
	if err != nil {
		r.noSecret(t, "Create", err)
		t.Fatalf("Create: %v", err)
	}
	checkItem(t, "Create", item, sdk.StateOpen, key, nil)

	if info.Capabilities.Lookup {
		found := r.lookup(t, c, key, item.ID)
		if found == nil {
			t.Fatalf("Lookup did not find the work item %s just created with the same correlation key", item.ID)
		}
		checkItem(t, "Lookup after Create", found, sdk.StateOpen, key, item)
	} else {
		t.Log("the plugin does not implement sdk.Looker: Lookup not checked")
	}

	if info.Capabilities.Update {
		updated, err := c.Update(ctx, r.request(key, fired, item))
		if err != nil {
			r.noSecret(t, "Update", err)
			t.Fatalf("Update: %v", err)
		}
		checkItem(t, "Update", updated, sdk.StateOpen, key, item)
		item = updated
	} else {
		t.Log("the plugin does not implement sdk.Updater: Update not checked")
	}

	if !info.Capabilities.Resolve {
		t.Log("the plugin does not implement sdk.Resolver: Resolve and Reopen not checked")
		return
	}
	resolved, err := c.Resolve(ctx, r.request(key, Resolved(fired, fired.FiredAt.Add(10*time.Minute)), item))
	if err != nil {
		r.noSecret(t, "Resolve", err)
		t.Fatalf("Resolve: %v", err)
	}
	checkItem(t, "Resolve", resolved, sdk.StateResolved, key, item)
	item = resolved

	if info.Capabilities.Lookup {
		found := r.lookup(t, c, key, item.ID)
		if found == nil {
			t.Fatalf("Lookup did not find the resolved work item %s", item.ID)
		}
		checkItem(t, "Lookup after Resolve", found, sdk.StateResolved, key, item)
	}

	if !info.Capabilities.Reopen {
		t.Log("the plugin does not implement sdk.Reopener: Reopen not checked")
		return
	}
	reopened, err := c.Reopen(ctx, r.request(key, fired, item))
	if err != nil {
		r.noSecret(t, "Reopen", err)
		t.Fatalf("Reopen: %v", err)
	}
	checkItem(t, "Reopen", reopened, sdk.StateOpen, key, item)
}

// testIdempotent repeats each call, as the host does when it crashed after a
// call succeeded remotely but before it recorded the result.
func (r *runner) testIdempotent(t *testing.T) {
	c, info := r.configured(t)
	if !info.Capabilities.Resolve && !info.Capabilities.Update {
		t.Skip("the plugin implements neither sdk.Updater nor sdk.Resolver")
	}
	ctx := r.ctx(t)
	key := r.key(t)
	fired := r.alert()
	item, err := c.Create(ctx, r.request(key, fired, nil))
	if err != nil {
		r.noSecret(t, "Create", err)
		t.Fatalf("Create: %v", err)
	}
	checkItem(t, "Create", item, sdk.StateOpen, key, nil)

	type step struct {
		name  string
		ok    bool
		call  func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
		alert sdk.Alert
		want  sdk.WorkItemState
	}
	steps := []step{
		{"Update", info.Capabilities.Update, c.Update, fired, sdk.StateOpen},
		{"Resolve", info.Capabilities.Resolve, c.Resolve, Resolved(fired, fired.FiredAt.Add(10*time.Minute)), sdk.StateResolved},
		{"Reopen", info.Capabilities.Resolve && info.Capabilities.Reopen, c.Reopen, fired, sdk.StateOpen},
	}
	for _, s := range steps {
		if !s.ok {
			continue
		}
		for attempt := 1; attempt <= 2; attempt++ {
			name := fmt.Sprintf("%s (attempt %d)", s.name, attempt)
			// Both attempts carry the ref recorded before the first one,
			// as after a crash.
			next, err := s.call(ctx, r.request(key, s.alert, item))
			if err != nil {
				r.noSecret(t, s.name, err)
				t.Fatalf("%s: %v; repeating a call that already succeeded must succeed again", name, err)
			}
			checkItem(t, name, next, s.want, key, item)
			if attempt == 2 {
				item = next
			}
		}
	}
}

// testNewestWins: after the reopen window the host creates a new work item
// under the same key; Lookup must then find the new one.
func (r *runner) testNewestWins(t *testing.T) {
	c, info := r.configured(t)
	if !info.Capabilities.Lookup || !info.Capabilities.Resolve {
		t.Skip("needs sdk.Looker and sdk.Resolver")
	}
	ctx := r.ctx(t)
	key := r.key(t)
	fired := r.alert()
	first, err := c.Create(ctx, r.request(key, fired, nil))
	if err != nil {
		r.noSecret(t, "Create", err)
		t.Fatalf("Create: %v", err)
	}
	checkItem(t, "Create", first, sdk.StateOpen, key, nil)
	if _, err := c.Resolve(ctx, r.request(key, Resolved(fired, fired.FiredAt.Add(time.Minute)), first)); err != nil {
		r.noSecret(t, "Resolve", err)
		t.Fatalf("Resolve: %v", err)
	}
	second, err := c.Create(ctx, r.request(key, fired, nil))
	if err != nil {
		r.noSecret(t, "Create", err)
		t.Fatalf("second Create with the same correlation key: %v", err)
	}
	checkItem(t, "second Create", second, sdk.StateOpen, key, nil)
	if second.ID == first.ID {
		t.Fatalf("a second Create with the correlation key of a resolved work item returned the same item %s; "+
			"the host decides when to reopen, Create must always open a new item", first.ID)
	}
	found := r.lookup(t, c, key, second.ID)
	if found == nil || found.ID != second.ID {
		t.Fatalf("Lookup returned %+v; want the newest work item stamped with the key, %s", found, second.ID)
	}
}

func (r *runner) testFaults(t *testing.T) {
	if r.s.InjectFault == nil {
		t.Skip("Suite.InjectFault not set: set it to make the test backend fail, so that the classification of backend errors is checked")
	}
	c, info := r.configured(t)
	key := r.key(t)
	fired := r.alert()
	open, err := c.Create(r.ctx(t), r.request(key, fired, nil))
	if err != nil {
		r.noSecret(t, "Create", err)
		t.Fatalf("Create before injecting a fault: %v", err)
	}
	checkItem(t, "Create", open, sdk.StateOpen, key, nil)

	type call struct {
		name string
		do   func(context.Context) (*sdk.WorkItem, error)
	}
	calls := []call{{"Create", func(ctx context.Context) (*sdk.WorkItem, error) {
		return c.Create(ctx, r.request(r.key(t), fired, nil))
	}}}
	if info.Capabilities.Lookup {
		calls = append(calls, call{"Lookup", func(ctx context.Context) (*sdk.WorkItem, error) {
			return c.Lookup(ctx, r.request(key, fired, nil))
		}})
	}
	if info.Capabilities.Resolve {
		calls = append(calls, call{"Resolve", func(ctx context.Context) (*sdk.WorkItem, error) {
			return c.Resolve(ctx, r.request(key, Resolved(fired, fired.FiredAt.Add(time.Minute)), open))
		}})
	}
	if info.Capabilities.ReadStatus {
		calls = append(calls, call{"ReadStatus", func(ctx context.Context) (*sdk.WorkItem, error) {
			st, err := c.ReadStatus(ctx, &sdk.StatusRequest{Items: []sdk.WorkItem{*open}})
			if err == nil {
				return &sdk.WorkItem{ID: fmt.Sprintf("%d statuses", len(st))}, nil
			}
			return nil, err
		}})
	}

	for _, f := range []Fault{{Kind: sdk.KindRetryable, RetryAfter: faultRetryAfter}, {Kind: sdk.KindPermanent}} {
		t.Run(string(f.Kind), func(t *testing.T) {
			r.s.InjectFault(t, f)
			defer r.s.InjectFault(t, Fault{})
			for _, cl := range calls {
				wi, err := cl.do(r.ctx(t))
				if err == nil {
					t.Errorf("%s answered (%+v, nil) while the backend was failing; a failed call must return an error "+
						"(a Lookup that hides a failure makes the host create a duplicate)", cl.name, wi)
					continue
				}
				r.noSecret(t, cl.name, err)
				if got := sdk.KindOf(err); got != f.Kind {
					t.Errorf("%s error %q reached the host classified %q, want %q (use sdk.FromHTTPStatus, sdk.Retryable or sdk.Permanent)",
						cl.name, err, got, f.Kind)
				}
				if f.RetryAfter > 0 && !r.s.IgnoreRetryAfter {
					got := sdk.RetryAfterOf(err)
					if got <= 0 || got > f.RetryAfter {
						t.Errorf("%s: the backend asked to retry after %v, the error carries %v "+
							"(use sdk.FromHTTPStatus or sdk.RetryableAfter; or set Suite.IgnoreRetryAfter if the backend never says)",
							cl.name, f.RetryAfter, got)
					}
				}
			}
		})
	}

	t.Run("Recovers", func(t *testing.T) {
		if _, err := c.Create(r.ctx(t), r.request(r.key(t), fired, nil)); err != nil {
			r.noSecret(t, "Create", err)
			t.Fatalf("Create after the fault was cleared: %v", err)
		}
	})
}
