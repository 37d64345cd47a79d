package pluginhost

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Compatibility promises (docs/plugin-authoring.md, "Compatibility"): a
// plugin built with an older SDK, or with a newer one, runs on this host.

// frozenSDK is the first released SDK, frozen with a plugin built on it.
const frozenSDK = "testdata/sdkv1"

// buildInModule builds the main package of the module in dir, in that
// module alone (no workspace, go.sum as committed), into a new plugin
// directory as itsm-connector-plugin-<name>, and returns the directory.
func buildInModule(t *testing.T, dir, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a plugin subprocess")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-mod=readonly", "-o", filepath.Join(out, BinaryPrefix+name), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
	return out
}

// TestOldPluginBuildsOnlyAgainstFrozenSDK checks that the old plugin's
// build takes the SDK from the frozen copy, so that the lifecycle test
// below really runs first-release plugin code, not today's SDK.
func TestOldPluginBuildsOnlyAgainstFrozenSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-mod=readonly", "-deps", "-f", "{{with .Module}}{{.Path}}\t{{.Dir}}{{end}}", ".")
	cmd.Dir = filepath.Join(frozenSDK, "plugin")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, b)
	}
	want, err := filepath.Abs(filepath.Join(frozenSDK, "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	var sdkDirs []string
	for line := range strings.Lines(string(b)) {
		path, dir, _ := strings.Cut(strings.TrimSpace(line), "\t")
		if path == "github.com/itsm-connector/itsm-connector" {
			t.Errorf("the old plugin's build uses the current repository module (%s)", dir)
		}
		if path == "github.com/itsm-connector/itsm-connector/sdk" {
			sdkDirs = append(sdkDirs, dir)
		}
	}
	if len(sdkDirs) == 0 {
		t.Fatalf("the old plugin does not use the SDK module at all:\n%s", b)
	}
	for _, d := range sdkDirs {
		if d != want {
			t.Errorf("the old plugin's SDK comes from %s, want the frozen copy %s", d, want)
		}
	}
}

// TestOldPluginFullLifecycle runs a plugin built with the first released SDK
// through today's host: start, version negotiation, schema, Configure with
// a per-alert attribute, then Lookup, Create, Update, Resolve and Reopen.
func TestOldPluginFullLifecycle(t *testing.T) {
	dir := buildInModule(t, filepath.Join(frozenSDK, "plugin"), "oldv1")
	sum, err := FileSHA256(filepath.Join(dir, BinaryPrefix+"oldv1"))
	if err != nil {
		t.Fatal(err)
	}
	h, diags, p := startHost(t, dir, `backend "oldv1" "legacy" {
  config {
    prefix = "LEG"
    title  = "${alert.rule} (${alert.severity_label})"
  }
}
`, Options{Plugins: []*config.Plugin{{Name: "oldv1", SHA256: sum}}})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	b := mustBackend(t, h, "oldv1.legacy")
	ctx := context.Background()

	info, _ := b.Info(ctx)
	if info.Name != "oldv1" || info.Version != "1.0.0" || len(info.APIVersions) != 1 || info.APIVersions[0] != 1 {
		t.Errorf("Info = %+v", info)
	}
	want := sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true, Comment: true}
	if got := b.Capabilities(); got != want {
		t.Errorf("capabilities = %+v, want %+v", got, want)
	}
	if d := b.ReadAfterWriteDelay(); d != 0 {
		t.Errorf("read-after-write delay = %v from a plugin that cannot declare one", d)
	}

	req := testRequest("old-1")
	if wi, err := b.Lookup(ctx, req); err != nil || wi != nil {
		t.Fatalf("Lookup before Create = %+v, %v; want nil, nil", wi, err)
	}
	created, err := b.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if created.Key != "LEG-1" || created.State != sdk.StateOpen || created.CorrelationKey != "old-1" ||
		created.Attributes["title"] != "cpu high (Sev1)" || created.Note != "" {
		t.Errorf("Create = %+v", created)
	}
	found, err := b.Lookup(ctx, req)
	if err != nil || found == nil || found.ID != created.ID {
		t.Fatalf("Lookup after Create = %+v, %v; want %s", found, err, created.ID)
	}

	steps := []struct {
		name     string
		call     func(context.Context, *sdk.Request) (*sdk.WorkItem, error)
		state    sdk.WorkItemState
		comments string
	}{
		{"Update", b.Update, sdk.StateOpen, "1"},
		{"Resolve", b.Resolve, sdk.StateResolved, "1"},
		{"Reopen", b.Reopen, sdk.StateOpen, "1"},
		{"Update after Reopen", b.Update, sdk.StateOpen, "2"},
	}
	ref := created
	for _, s := range steps {
		r := testRequest("old-1")
		r.Ref = ref
		wi, err := s.call(ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if wi.ID != created.ID || wi.State != s.state || wi.Attributes["comments"] != s.comments {
			t.Errorf("%s = %+v, want state %s and %s comments", s.name, wi, s.state, s.comments)
		}
		ref = wi
	}

	gone := testRequest("old-1")
	gone.Ref = &sdk.WorkItem{ID: "999"}
	if _, err := b.Resolve(ctx, gone); sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Resolve of a deleted item: %v (kind %q), want not found", err, sdk.KindOf(err))
	}

	// ReadStatus came after the first release: the old plugin does not
	// report it, and were it asked, its answer is a permanent error.
	if st, err := b.ReadStatus(ctx, &sdk.StatusRequest{Items: []sdk.WorkItem{*created}}); st != nil ||
		sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "plugin does not implement ReadStatus") {
		t.Errorf("ReadStatus of a plugin built before it = (%v, %v), want a permanent error naming ReadStatus", st, err)
	}
	if _, err := b.Update(ctx, &sdk.Request{CorrelationKey: "old-1", Alert: req.Alert, Ref: created}); err != nil {
		t.Errorf("Update after the refused ReadStatus: %v", err)
	}
}

// TestNewerPluginWorksWithKnownSubset starts a plugin that speaks a newer
// minor version of itsm.v1 than this host (sdk/testdata/newerplugin:
// capabilities, fields and enum values the host has never heard of, API
// versions [1, 2]) and checks that the host negotiates v1, uses the
// capabilities it knows and reads what it does not know as documented.
func TestNewerPluginWorksWithKnownSubset(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a plugin subprocess")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, BinaryPrefix+"newer")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/itsm-connector/itsm-connector/sdk/testdata/newerplugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build newerplugin: %v\n%s", err, out)
	}
	sum, err := FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	h, diags, p := startHost(t, dir, `backend "newer" "next" {
  config {
    prefix = "NEW"
  }
}
`, Options{Plugins: []*config.Plugin{{Name: "newer", SHA256: sum}}})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	b := mustBackend(t, h, "newer.next")
	ctx := context.Background()

	info, _ := b.Info(ctx)
	if info.Name != "newer" || len(info.APIVersions) != 2 || len(info.Schema.Attributes) != 1 || info.Schema.Attributes[0].Name != "prefix" {
		t.Errorf("Info = %+v", info)
	}
	want := sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Comment: true}
	if got := b.Capabilities(); got != want {
		t.Errorf("capabilities = %+v, want the known subset %+v", got, want)
	}

	req := testRequest("next-1")
	created, err := b.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != "1" || created.Key != "NEW-1" || created.State != sdk.StateOpen {
		t.Errorf("Create = %+v", created)
	}
	req.Ref = created
	updated, err := b.Update(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if updated.ID != "1" || updated.State != "" {
		t.Errorf("Update = %+v; want a state the host does not know read as unspecified (\"\")", updated)
	}
	resolved, err := b.Resolve(ctx, req)
	if err != nil || resolved.State != sdk.StateResolved {
		t.Errorf("Resolve = %+v, %v", resolved, err)
	}
	if _, err := b.Reopen(ctx, req); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("Reopen of a plugin without it: %v (kind %q), want permanent", err, sdk.KindOf(err))
	}
	if _, err := b.ReadStatus(ctx, &sdk.StatusRequest{Items: []sdk.WorkItem{*created}}); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("ReadStatus of a plugin without it: %v (kind %q), want permanent", err, sdk.KindOf(err))
	}

	_, err = b.Create(ctx, testRequest("future-error"))
	if err == nil || sdk.KindOf(err) != sdk.KindRetryable || !strings.Contains(err.Error(), "a kind this host does not know") {
		t.Errorf("error of an unknown kind: %v (kind %q), want it kept and treated as unclassified (retryable)", err, sdk.KindOf(err))
	}
}
