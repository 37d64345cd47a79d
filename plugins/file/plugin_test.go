package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// newConfigured returns a plugin configured on dir with a clock that starts
// at a fixed time and advances one minute per call, for stable files.
func newConfigured(t *testing.T, dir string, extra string) *filePlugin {
	t.Helper()
	return newConfiguredMode(t, dir, extra, watched)
}

// indexModes are the two ways the index learns what changed in the
// directory; tests of a shared directory run in both.
type indexMode string

const (
	watched indexMode = "watched" // Linux: a watcher reports the changes
	listing indexMode = "listing" // other systems: the directory is listed
)

var indexModes = []indexMode{watched, listing}

func noWatch(string) (watcher, error) { return nil, errors.New("no watcher in this test") }

// newConfiguredMode is newConfigured with the index in the given mode.
func newConfiguredMode(t *testing.T, dir string, extra string, mode indexMode) *filePlugin {
	t.Helper()
	p := newPlugin(hclog.NewNullLogger())
	if mode == listing {
		p.newWatch = noWatch
	}
	clock := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	p.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Minute)
		return clock
	}
	cfg := fmt.Sprintf(`{"directory": %q%s}`, dir, extra)
	if err := p.Configure(context.Background(), sdk.Config(cfg)); err != nil {
		t.Fatalf("Configure(%s): %v", cfg, err)
	}
	return p
}

func testAlert(cond sdk.Condition) sdk.Alert {
	sev := 1
	a := sdk.Alert{
		ID:                "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/b9569717-bc32-442f-add5-83a997729330",
		Rule:              "WCUS-R2-Gen2",
		RuleID:            "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/pipelinealertrg/providers/microsoft.insights/metricAlerts/WCUS-R2-Gen2",
		Severity:          &sev,
		SeverityLabel:     "Sev1",
		SignalType:        "Metric",
		Condition:         cond,
		MonitoringService: "Platform",
		Targets:           []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2"},
		FiredAt:           time.Date(2026, 11, 25, 8, 58, 0, 0, time.UTC),
		Description:       "CPU above 80%",
	}
	if cond == sdk.ConditionResolved {
		at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
		a.ResolvedAt = &at
	}
	return a
}

func request(key string, cond sdk.Condition, ref *sdk.WorkItem) *sdk.Request {
	return &sdk.Request{
		CorrelationKey: key,
		Alert:          testAlert(cond),
		Fields:         map[string]any{"urgency": 2.0, "short_description": "CPU high on wcus-r2-gen2"},
		Values:         sdk.Values(`{"title": "[Sev1] WCUS-R2-Gen2 on wcus-r2-gen2"}`),
		ConfigurationItems: []sdk.ConfigurationItem{{
			Name:       "wcus-r2-gen2",
			ResourceID: "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2",
		}},
		Ref: ref,
	}
}

func TestInfo(t *testing.T) {
	info, err := newPlugin(hclog.NewNullLogger()).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "file" || info.Version != version {
		t.Errorf("Info = %q %q, want file %q", info.Name, info.Version, version)
	}
	if !info.Capabilities.Comment {
		t.Error("Capabilities.Comment is false; Update adds a history entry, so it should be true")
	}
	if err := info.Schema.Validate(); err != nil {
		t.Errorf("schema: %v", err)
	}
	caps := sdk.CapabilitiesOf(newPlugin(hclog.NewNullLogger()))
	if !caps.Lookup || !caps.Update || !caps.Resolve || !caps.Reopen {
		t.Errorf("CapabilitiesOf = %+v, want every lifecycle call", caps)
	}
	var title *sdk.Attribute
	for i := range info.Schema.Attributes {
		if info.Schema.Attributes[i].Name == "title" {
			title = &info.Schema.Attributes[i]
		}
	}
	if title == nil || !title.PerAlert || len(title.Default) > 0 {
		t.Fatalf("title attribute = %+v, want a per-alert attribute without a literal default", title)
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	base := t.TempDir()
	regular := filepath.Join(base, "regular-file")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		config      string
		wantSummary string
		wantPath    []string
	}{
		{"missing directory", `{}`, "Missing directory", []string{"directory"}},
		{"empty directory", `{"directory": ""}`, "Missing directory", []string{"directory"}},
		{"directory is a file", fmt.Sprintf(`{"directory": %q}`, regular), "Directory is not writable", []string{"directory"}},
		{"parent is a file", fmt.Sprintf(`{"directory": %q}`, filepath.Join(regular, "items")), "Directory is not writable", []string{"directory"}},
		{"wrong type", `{"directory": 42}`, "Invalid configuration", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newPlugin(hclog.NewNullLogger()).Configure(context.Background(), sdk.Config(tt.config))
			if err == nil {
				t.Fatal("Configure succeeded, want diagnostics")
			}
			var diags sdk.Diagnostics
			if !errors.As(err, &diags) || len(diags) != 1 {
				t.Fatalf("Configure error = %#v, want one sdk.Diagnostic", err)
			}
			d := diags[0]
			if d.Severity != sdk.SeverityError || d.Summary != tt.wantSummary || !slices.Equal(d.Path, tt.wantPath) {
				t.Errorf("diagnostic = %+v, want error %q at %v", d, tt.wantSummary, tt.wantPath)
			}
		})
	}
}

func TestConfigureCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "workitems")
	newConfigured(t, dir, "")
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o750 {
		t.Errorf("directory mode = %v, want 0750", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Configure left files behind: %v", entries)
	}
}

// TestLifecycle drives one work item through every call and compares the
// file with a golden copy, which doubles as the documentation of the format.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newConfigured(t, dir, "")
	const key = "WCUS-R2-Gen2|wcus-r2-gen2"

	if got, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil)); err != nil || got != nil {
		t.Fatalf("Lookup before Create = %+v, %v; want nil, nil", got, err)
	}
	created, err := p.Create(ctx, request(key, sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "file://" + filepath.ToSlash(filepath.Join(dir, "WI-000001.json"))
	if created.ID != "WI-000001" || created.Key != "WI-000001" || created.State != sdk.StateOpen ||
		created.CorrelationKey != key || created.URL != wantURL {
		t.Errorf("Create = %+v", created)
	}
	found, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil))
	if err != nil || !reflect.DeepEqual(found, created) {
		t.Fatalf("Lookup = %+v, %v; want %+v", found, err, created)
	}

	steps := []struct {
		name  string
		call  func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
		cond  sdk.Condition
		state sdk.WorkItemState
	}{
		{"update", p.Update, sdk.ConditionFired, sdk.StateOpen},
		{"resolve", p.Resolve, sdk.ConditionResolved, sdk.StateResolved},
		{"resolve again", p.Resolve, sdk.ConditionResolved, sdk.StateResolved},
		{"reopen", p.Reopen, sdk.ConditionFired, sdk.StateOpen},
		{"reopen again", p.Reopen, sdk.ConditionFired, sdk.StateOpen},
	}
	for _, s := range steps {
		got, err := s.call(ctx, request(key, s.cond, created))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.ID != created.ID || got.State != s.state {
			t.Fatalf("%s = %+v, want %s in state %s", s.name, got, created.ID, s.state)
		}
	}

	got, err := os.ReadFile(filepath.Join(dir, "WI-000001.json"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "WI-000001.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("work item file differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only WI-000001.json (no temp files left)", len(entries))
	}
}

func TestLookup(t *testing.T) {
	for _, mode := range indexModes {
		t.Run(string(mode), func(t *testing.T) { testLookup(t, mode) })
	}
}

func testLookup(t *testing.T, mode indexMode) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newConfiguredMode(t, dir, "", mode)
	var items []*sdk.WorkItem
	for _, key := range []string{"a", "b", "a", "c"} {
		w, err := p.Create(ctx, request(key, sdk.ConditionFired, nil))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, w)
	}
	// Files the scan must skip: a leftover temp file, a damaged item, and
	// something an operator put there.
	for name, content := range map[string]string{
		".WI-000009.json.123.tmp": `{"correlation_key": "d"}`,
		"WI-000010.json":          `{"correlation_key": "d", `,
		"notes.json":              `{"correlation_key": "d"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		key    string
		wantID string // "" for none
	}{
		{"a", items[2].ID}, // newest of two
		{"b", items[1].ID},
		{"c", items[3].ID},
		{"d", ""},
		{"A", ""}, // keys are compared exactly
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := p.Lookup(ctx, request(tt.key, sdk.ConditionFired, nil))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantID == "" && got != nil:
				t.Errorf("Lookup(%q) = %+v, want none", tt.key, got)
			case tt.wantID != "" && (got == nil || got.ID != tt.wantID):
				t.Errorf("Lookup(%q) = %+v, want %s", tt.key, got, tt.wantID)
			}
		})
	}

	// The damaged WI-000010 still reserves its number.
	w, err := p.Create(ctx, request("e", sdk.ConditionFired, nil))
	if err != nil || w.ID != "WI-000011" {
		t.Errorf("Create after a damaged file = %+v, %v; want WI-000011", w, err)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newConfigured(t, dir, "")
	item, err := p.Create(ctx, request("k", sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "WI-000002.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := `{"format_version": 99, "id": "WI-000003"}`
	if err := os.WriteFile(filepath.Join(dir, "WI-000003.json"), []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	ref := func(id string) *sdk.WorkItem { return &sdk.WorkItem{ID: id} }
	badValues := request("k", sdk.ConditionFired, item)
	badValues.Values = sdk.Values(`{"title": 7}`)

	tests := []struct {
		name string
		call func() (*sdk.WorkItem, error)
		want sdk.ErrorKind
	}{
		{"create without key", func() (*sdk.WorkItem, error) { return p.Create(ctx, request("", sdk.ConditionFired, nil)) }, sdk.KindPermanent},
		{"lookup without key", func() (*sdk.WorkItem, error) { return p.Lookup(ctx, request("", sdk.ConditionFired, nil)) }, sdk.KindPermanent},
		{"update without ref", func() (*sdk.WorkItem, error) { return p.Update(ctx, request("k", sdk.ConditionFired, nil)) }, sdk.KindPermanent},
		{"resolve with path in id", func() (*sdk.WorkItem, error) {
			return p.Resolve(ctx, request("k", sdk.ConditionResolved, ref("../../etc/passwd")))
		}, sdk.KindPermanent},
		{"bad per-alert values", func() (*sdk.WorkItem, error) { return p.Update(ctx, badValues) }, sdk.KindPermanent},
		{"damaged file", func() (*sdk.WorkItem, error) {
			return p.Resolve(ctx, request("k", sdk.ConditionResolved, ref("WI-000002")))
		}, sdk.KindPermanent},
		{"newer format", func() (*sdk.WorkItem, error) {
			return p.Resolve(ctx, request("k", sdk.ConditionResolved, ref("WI-000003")))
		}, sdk.KindPermanent},
		{"deleted item", func() (*sdk.WorkItem, error) {
			return p.Reopen(ctx, request("k", sdk.ConditionFired, ref("WI-000404")))
		}, sdk.KindNotFound},
		{"not configured", func() (*sdk.WorkItem, error) {
			return newPlugin(hclog.NewNullLogger()).Create(ctx, request("k", sdk.ConditionFired, nil))
		}, sdk.KindPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err == nil {
				t.Fatalf("succeeded with %+v, want a %s error", got, tt.want)
			}
			if kind := sdk.KindOf(err); kind != tt.want {
				t.Errorf("KindOf(%v) = %s, want %s", err, kind, tt.want)
			}
		})
	}
}

// TestStorageFailureIsRetryable removes the directory under a configured
// plugin: a real I/O failure, which must not dead-letter the alert.
func TestStorageFailureIsRetryable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "items")
	p := newConfigured(t, dir, "")
	item, err := p.Create(context.Background(), request("k", sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err = p.Resolve(context.Background(), request("k", sdk.ConditionResolved, item))
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Resolve on a vanished directory: %v (kind %s), want retryable", err, sdk.KindOf(err))
	}
	_, err = p.Create(context.Background(), request("k", sdk.ConditionFired, nil))
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Create on a vanished directory: %v (kind %s), want retryable", err, sdk.KindOf(err))
	}
	_, err = p.Lookup(context.Background(), request("k", sdk.ConditionFired, nil))
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Lookup on a vanished directory: %v (kind %s), want retryable", err, sdk.KindOf(err))
	}
}

func TestDiskFullIsRetryable(t *testing.T) {
	full := &fs.PathError{Op: "write", Path: "/data/.WI-000001.json.1.tmp", Err: syscall.ENOSPC}
	err := ioError("create work item", full)
	if sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("KindOf(%v) = %s, want retryable", err, sdk.KindOf(err))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("%v does not wrap ENOSPC", err)
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		name   string
		values string
		alert  sdk.Alert
		want   string
	}{
		{"rendered by the host", `{"title": "CPU on vm1"}`, sdk.Alert{Rule: "r", SeverityLabel: "Sev2"}, "CPU on vm1"},
		{"no values", ``, sdk.Alert{Rule: "r", SeverityLabel: "Sev2"}, "[Sev2] r"},
		{"no severity", `{}`, sdk.Alert{Rule: "budget"}, "budget"},
		{"nothing but an id", `{"title": ""}`, sdk.Alert{ID: "42"}, "Alert 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := titleOf(&sdk.Request{Alert: tt.alert, Values: sdk.Values(tt.values)})
			if err != nil || got != tt.want {
				t.Errorf("titleOf = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCompactFiles(t *testing.T) {
	dir := t.TempDir()
	p := newConfigured(t, dir, `, "pretty": false`)
	if _, err := p.Create(context.Background(), request("k", sdk.ConditionFired, nil)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "WI-000001.json"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("pretty = false wrote %d lines, want 1", n)
	}
}

// TestConcurrentCreate runs two plugin instances (as two processes would)
// on one directory: every work item gets its own id and file.
func TestConcurrentCreate(t *testing.T) {
	for _, mode := range indexModes {
		t.Run(string(mode), func(t *testing.T) { testConcurrentCreate(t, mode) })
	}
}

func testConcurrentCreate(t *testing.T, mode indexMode) {
	ctx := context.Background()
	dir := t.TempDir()
	plugins := []*filePlugin{newConfiguredMode(t, dir, "", mode), newConfiguredMode(t, dir, "", mode)}
	const perPlugin = 50
	ids := make(chan string, 2*perPlugin)
	var wg sync.WaitGroup
	for i, p := range plugins {
		for j := range perPlugin {
			wg.Go(func() {
				w, err := p.Create(ctx, request(fmt.Sprintf("key-%d-%d", i, j), sdk.ConditionFired, nil))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- w.ID
			})
		}
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %s handed out twice", id)
		}
		seen[id] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2*perPlugin || len(entries) != 2*perPlugin {
		t.Errorf("got %d ids and %d files, want %d of each", len(seen), len(entries), 2*perPlugin)
	}
	for i := range plugins {
		for j := range perPlugin {
			key := fmt.Sprintf("key-%d-%d", i, j)
			if w, err := plugins[1-i].Lookup(ctx, request(key, sdk.ConditionFired, nil)); err != nil || w == nil {
				t.Errorf("Lookup(%s) from the other instance = %v, %v", key, w, err)
			}
		}
	}
}

// TestLookupSharedDirectory: Lookup sees work items another process wrote
// into the directory after this one read it, forgets deleted ones, and
// warns about a damaged file once, not on every call.
func TestLookupSharedDirectory(t *testing.T) {
	for _, mode := range indexModes {
		t.Run(string(mode), func(t *testing.T) { testLookupSharedDirectory(t, mode) })
	}
}

func testLookupSharedDirectory(t *testing.T, mode indexMode) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs bytes.Buffer
	p := newConfiguredMode(t, dir, "", mode)
	p.logger = hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
	other := newConfiguredMode(t, dir, "", mode)
	other.now = func() time.Time { return p.now().Add(time.Second) } // writes after p
	lookup := func(key string) *sdk.WorkItem {
		t.Helper()
		w, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil))
		if err != nil {
			t.Fatalf("Lookup(%q): %v", key, err)
		}
		return w
	}

	if w := lookup("k"); w != nil {
		t.Fatalf("Lookup in an empty directory = %+v", w)
	}
	mine, err := p.Create(ctx, request("k", sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := other.Create(ctx, request("k", sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := lookup("k"); w == nil || w.ID != theirs.ID {
		t.Fatalf("Lookup after another process created %s = %+v; want it (the newest)", theirs.ID, w)
	}
	if err := os.Remove(filepath.Join(dir, theirs.ID+".json")); err != nil {
		t.Fatal(err)
	}
	if w := lookup("k"); w == nil || w.ID != mine.ID {
		t.Fatalf("Lookup after %s was deleted = %+v; want %s", theirs.ID, w, mine.ID)
	}

	if err := os.WriteFile(filepath.Join(dir, "WI-000099.json"), []byte(`{"correlation_key": `), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup("k")
	lookup("k")
	if n := strings.Count(logs.String(), "skipping unreadable work item file: id=WI-000099"); n != 1 {
		t.Errorf("the damaged file was reported %d times over two lookups, want once:\n%s", n, logs.String())
	}
}

// TestLookupSeesFilesAddedByHand: after the plugin has indexed the
// directory, files that people or other tools put there are found by
// Lookup and reserve their numbers, however they arrive: written in place
// (first empty, then filled), moved in, at a number far above the others,
// or in a directory removed and made again.
func TestLookupSeesFilesAddedByHand(t *testing.T) {
	for _, mode := range indexModes {
		t.Run(string(mode), func(t *testing.T) { testLookupSeesFilesAddedByHand(t, mode) })
	}
}

func testLookupSeesFilesAddedByHand(t *testing.T, mode indexMode) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "items")
	p := newConfiguredMode(t, dir, "", mode)
	lookup := func(key string) *sdk.WorkItem {
		t.Helper()
		w, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil))
		if err != nil {
			t.Fatalf("Lookup(%q): %v", key, err)
		}
		return w
	}
	// handWritten is a valid work item file stamped with key.
	handWritten := func(id, key string) []byte {
		return fmt.Appendf(nil, `{"format_version": 1, "id": %q, "key": %q, "correlation_key": %q, "state": "open",
			"created": "2026-11-25T09:00:00Z", "updated": "2026-11-25T09:00:00Z"}`, id, id, key)
	}
	if _, err := p.Create(ctx, request("mine", sdk.ConditionFired, nil)); err != nil {
		t.Fatal(err)
	}
	if w := lookup("far"); w != nil {
		t.Fatalf("Lookup before any file was added = %+v", w)
	}
	if watching := p.index.watch != nil; watching != (mode == watched && runtime.GOOS == "linux") {
		t.Fatalf("index watching the directory = %v in mode %s on %s", watching, mode, runtime.GOOS)
	}

	// Far above the highest number.
	if err := os.WriteFile(filepath.Join(dir, "WI-000500.json"), handWritten("WI-000500", "far"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := lookup("far"); w == nil || w.ID != "WI-000500" {
		t.Errorf("Lookup(far) = %+v, want WI-000500", w)
	}
	if w, err := p.Create(ctx, request("next", sdk.ConditionFired, nil)); err != nil || w.ID != "WI-000501" {
		t.Errorf("Create after WI-000500 was added = %+v, %v; want WI-000501", w, err)
	}

	// Created empty (a copy in progress), then filled.
	partial := filepath.Join(dir, "WI-000600.json")
	f, err := os.Create(partial)
	if err != nil {
		t.Fatal(err)
	}
	if w := lookup("slow-copy"); w != nil {
		t.Fatalf("Lookup(slow-copy) while its file is empty = %+v", w)
	}
	if _, err := f.Write(handWritten("WI-000600", "slow-copy")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if w := lookup("slow-copy"); w == nil || w.ID != "WI-000600" {
		t.Errorf("Lookup(slow-copy) after its file was written = %+v, want WI-000600", w)
	}

	// Moved in from elsewhere on the same file system.
	outside := filepath.Join(base, "restored.json")
	if err := os.WriteFile(outside, handWritten("WI-000042", "restored"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(outside, filepath.Join(dir, "WI-000042.json")); err != nil {
		t.Fatal(err)
	}
	if w := lookup("restored"); w == nil || w.ID != "WI-000042" {
		t.Errorf("Lookup(restored) after the file was moved in = %+v, want WI-000042", w)
	}

	// Removed: no longer a candidate.
	if err := os.Remove(filepath.Join(dir, "WI-000042.json")); err != nil {
		t.Fatal(err)
	}
	if w := lookup("restored"); w != nil {
		t.Errorf("Lookup(restored) after the file was removed = %+v, want none", w)
	}

	// The whole directory removed (a volume unmounted): retryable; made
	// again with other files: those are found.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Lookup(ctx, request("far", sdk.ConditionFired, nil)); sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("Lookup on a removed directory: %v (kind %s), want retryable", err, sdk.KindOf(err))
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "WI-000007.json"), handWritten("WI-000007", "again"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := lookup("again"); w == nil || w.ID != "WI-000007" {
		t.Errorf("Lookup(again) in the directory made again = %+v, want WI-000007", w)
	}
	if w := lookup("far"); w != nil {
		t.Errorf("Lookup(far) after its directory was removed = %+v, want none", w)
	}
}

// Without a watch, the plugin says once why it lists the directory at
// every call, not at every call.
func TestUnwatchedDirectoryIsLoggedOnce(t *testing.T) {
	var logs fakehttp.LogBuffer
	p := newPlugin(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}))
	p.newWatch = noWatch
	dir := t.TempDir()
	if err := p.Configure(context.Background(), sdk.Config(fmt.Sprintf(`{"directory": %q}`, dir))); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := p.Lookup(context.Background(), &sdk.Request{CorrelationKey: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "not watching the work item directory"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestUpdateWithNote: an Update carrying the connector's note (a flapping
// alert) records the note as its history event's reason.
func TestUpdateWithNote(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newConfigured(t, dir, "")
	const key = "k"
	created, err := p.Create(ctx, request(key, sdk.ConditionFired, nil))
	if err != nil {
		t.Fatal(err)
	}
	req := request(key, sdk.ConditionResolved, created)
	req.Note = "Alert is flapping: more than 4 fire/resolve transitions within 30m0s."
	if _, err := p.Update(ctx, req); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, created.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		History []event `json:"history"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc.History); n != 2 || doc.History[1].Type != eventUpdated || doc.History[1].Reason != req.Note {
		t.Errorf("history = %+v; want created, then updated with the note as its reason", doc.History)
	}
}
