package sdktest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

const (
	validConfig   = `{"prefix": "INC", "token": "tok-3f9a7c21", "limits": {"max_items": 1000}}`
	invalidConfig = `{"prefix": "INC", "token": "tok-3f9a7c21", "limits": {"max_items": 0}}`
)

// memorySuite is the conformance suite wired to the in-memory plugin, with
// every optional input set.
func memorySuite(b *memplugin.Backend) sdktest.Suite {
	return sdktest.Suite{
		New:           func(*testing.T) sdk.Plugin { return memplugin.New(b) },
		Config:        sdk.Config(validConfig),
		InvalidConfig: sdk.Config(invalidConfig),
		InvalidPath:   []string{"limits", "max_items"},
		InjectFault: func(_ *testing.T, f sdktest.Fault) {
			b.SetFault(f.Kind, f.RetryAfter)
		},
		Fields: map[string]any{"urgency": 2, "echo": "hello"},
		Values: sdk.Values(`{"assignee": "ops"}`),
		Delete: func(_ *testing.T, wi *sdk.WorkItem) { b.Delete(wi.ID) },
	}
}

func TestRunPassesForConformingPlugin(t *testing.T) {
	sdktest.Run(t, memorySuite(memplugin.NewBackend()))
}

func TestRunSkipsWhatIsNotProvided(t *testing.T) {
	b := memplugin.NewBackend()
	sdktest.Run(t, sdktest.Suite{New: func(*testing.T) sdk.Plugin { return memplugin.New(b) }})
	if b.Len() != 0 {
		t.Errorf("without Suite.Config the suite created %d work items", b.Len())
	}
}

func TestConnect(t *testing.T) {
	c := sdktest.Connect(t, memplugin.New(memplugin.NewBackend()))
	ctx := t.Context()
	if err := c.Configure(ctx, sdk.Config(validConfig)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	wi, err := c.Create(ctx, &sdk.Request{CorrelationKey: "k", Alert: sdktest.SampleAlert()})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if wi.Key != "INC0000001" || wi.State != sdk.StateOpen {
		t.Errorf("Create = %+v", *wi)
	}
}

// Broken plugins: each case wraps the in-memory plugin with one defect and
// runs the suite in a child test process, which must fail naming the defect.

type leakyConfigure struct{ *memplugin.Plugin }

func (p leakyConfigure) Configure(ctx context.Context, cfg sdk.Config) error {
	err := p.Plugin.Configure(ctx, cfg)
	if err != nil {
		return errors.New(err.Error() + " (config was " + string(cfg) + ")")
	}
	return nil
}

type hidesLookupFailure struct{ *memplugin.Plugin }

func (p hidesLookupFailure) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	wi, err := p.Plugin.Lookup(ctx, req)
	if err != nil {
		return nil, nil
	}
	return wi, nil
}

type unclassified struct{ *memplugin.Plugin }

func (p unclassified) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	wi, err := p.Plugin.Create(ctx, req)
	if err != nil {
		return nil, errors.New(err.Error())
	}
	return wi, nil
}

type wrongState struct{ *memplugin.Plugin }

func (p wrongState) Resolve(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	wi, err := p.Plugin.Resolve(ctx, req)
	if wi != nil {
		wi.State = sdk.StateOpen
	}
	return wi, err
}

type statusOfOthers struct{ *memplugin.Plugin }

func (p statusOfOthers) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	st, err := p.Plugin.ReadStatus(ctx, req)
	for i := range st {
		st[i].ID += "-x"
	}
	return st, err
}

type skipsDeleted struct{ *memplugin.Plugin }

func (p skipsDeleted) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	st, err := p.Plugin.ReadStatus(ctx, req)
	return slices.DeleteFunc(st, func(s sdk.WorkItemStatus) bool { return !s.Found }), err
}

type staleStatus struct{ *memplugin.Plugin }

func (p staleStatus) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	st, err := p.Plugin.ReadStatus(ctx, req)
	for i := range st {
		st[i].State = sdk.StateOpen
	}
	return st, err
}

type noPath struct{ *memplugin.Plugin }

func (p noPath) Configure(ctx context.Context, cfg sdk.Config) error {
	if err := p.Plugin.Configure(ctx, cfg); err != nil {
		return sdk.Permanent(errors.New("bad configuration"))
	}
	return nil
}

var brokenPlugins = map[string]struct {
	wrap func(*memplugin.Plugin) sdk.Plugin
	want string
}{
	"leaky-configure": {
		func(p *memplugin.Plugin) sdk.Plugin { return leakyConfigure{p} },
		`contains the value of sensitive attribute "token"`,
	},
	"hides-lookup-failure": {
		func(p *memplugin.Plugin) sdk.Plugin { return hidesLookupFailure{p} },
		"Lookup answered (<nil>, nil) while the backend was failing",
	},
	"unclassified": {
		func(p *memplugin.Plugin) sdk.Plugin { return unclassified{p} },
		`reached the host classified "retryable", want "permanent"`,
	},
	"wrong-state": {
		func(p *memplugin.Plugin) sdk.Plugin { return wrongState{p} },
		`has state "open", want "resolved"`,
	},
	"status-of-others": {
		func(p *memplugin.Plugin) sdk.Plugin { return statusOfOthers{p} },
		`plugin answered ReadStatus wrongly: statuses[0] is for work item "mem-`,
	},
	"skips-deleted": {
		func(p *memplugin.Plugin) sdk.Plugin { return skipsDeleted{p} },
		`ReadStatus answered 1 statuses for 2 work items; none for ["mem-`,
	},
	"stale-status": {
		func(p *memplugin.Plugin) sdk.Plugin { return staleStatus{p} },
		`the item resolved through the plugin (work item mem-`,
	},
	"no-path": {
		func(p *memplugin.Plugin) sdk.Plugin { return noPath{p} },
		`want an error diagnostic with path ["limits" "max_items"]`,
	},
}

const brokenEnv = "SDKTEST_BROKEN_PLUGIN"

// TestBrokenPluginChild runs the suite against one broken plugin; it only
// runs as the child of TestRunCatchesBrokenPlugins.
func TestBrokenPluginChild(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("runs only as a child of TestRunCatchesBrokenPlugins")
	}
	b := memplugin.NewBackend()
	s := memorySuite(b)
	s.New = func(*testing.T) sdk.Plugin { return brokenPlugins[name].wrap(memplugin.New(b)) }
	sdktest.Run(t, s)
}

func TestRunCatchesBrokenPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary once per case")
	}
	for name, tc := range brokenPlugins {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenPluginChild$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a plugin with defect %q:\n%s", name, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("the suite failed, but without saying %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestRunWithStart runs the suite through Suite.Start, as for a plugin that
// is not written in Go: the in-process plugin, then a plugin process
// started by LaunchCommand for each check.
func TestRunWithStart(t *testing.T) {
	t.Run("in-process", func(t *testing.T) {
		s := memorySuite(memplugin.NewBackend())
		newPlugin := s.New
		s.New = nil
		s.Start = func(t *testing.T) hostside.Client { return sdktest.Connect(t, newPlugin(t)) }
		sdktest.Run(t, s)
	})
	t.Run("process", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and starts a plugin binary")
		}
		bin := filepath.Join(t.TempDir(), "itsm-connector-plugin-mem")
		if out, err := exec.Command("go", "build", "-o", bin, "../testdata/memplugin").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		sdktest.Run(t, sdktest.Suite{
			Start:         func(t *testing.T) hostside.Client { return sdktest.LaunchCommand(t, exec.Command(bin)) },
			Config:        sdk.Config(validConfig),
			InvalidConfig: sdk.Config(invalidConfig),
			InvalidPath:   []string{"limits", "max_items"},
		})
	})
}

func TestRunNeedsNewOrStart(t *testing.T) {
	if os.Getenv(brokenEnv) == "both" {
		s := memorySuite(memplugin.NewBackend())
		s.Start = func(t *testing.T) hostside.Client { return sdktest.Connect(t, s.New(t)) }
		sdktest.Run(t, s)
		return
	}
	if os.Getenv(brokenEnv) != "" {
		t.Skip("a child of TestRunCatchesBrokenPlugins")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRunNeedsNewOrStart$", "-test.v")
	cmd.Env = append(os.Environ(), brokenEnv+"=both")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "set one of Suite.New") {
		t.Fatalf("a suite with both New and Start ran (err %v):\n%s", err, out)
	}
}

func TestRejected(t *testing.T) {
	warning := sdk.Diagnostics{{Severity: sdk.SeverityWarning, Summary: "plain http", Path: []string{"url"}}}
	rejection := sdk.Diagnostics{sdk.AttributeError("bad url", "", "url")}
	plain := errors.New("boom")
	for _, tt := range []struct {
		name string
		err  error
		want error
	}{
		{"accepted", nil, nil},
		{"warnings only", warning, nil},
		{"error diagnostic", rejection, rejection},
		{"plain error", plain, plain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdktest.Rejected(tt.err); (got == nil) != (tt.want == nil) {
				t.Errorf("Rejected(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}
