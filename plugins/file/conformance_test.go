package main

import (
	"fmt"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestConformance runs the SDK's conformance suite: every plugin should.
// Each sub-test gets a new plugin instance over real gRPC; all share one
// directory, as restarts of one backend would.
//
// Fault injection is left out: a file system has no switch for "answer 503
// now", so the classification of storage errors is tested directly in
// plugin_test.go instead.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	sdktest.Run(t, sdktest.Suite{
		New:           func(*testing.T) sdk.Plugin { return newPlugin(hclog.NewNullLogger()) },
		Config:        sdk.Config(fmt.Sprintf(`{"directory": %q}`, dir)),
		InvalidConfig: sdk.Config(`{"directory": "/dev/null/work-items"}`),
		InvalidPath:   []string{"directory"},
		Fields:        map[string]any{"urgency": 2, "short_description": "CPU high"},
		Values:        sdk.Values(`{"title": "[Sev1] High CPU on web tier"}`),
	})
}
