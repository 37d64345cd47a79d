package main

import (
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestConformance runs the SDK's conformance suite over real gRPC. Every
// plugin should have this test.
func TestConformance(t *testing.T) {
	// The suite connects a new client for each check; they all talk to one
	// instance, whose map stands for the remote backend.
	backend := &hello{}
	sdktest.Run(t, sdktest.Suite{
		New:           func(*testing.T) sdk.Plugin { return backend },
		Config:        sdk.Config(`{"greeting": "hi"}`),
		InvalidConfig: sdk.Config(`{"greeting": ""}`),
		InvalidPath:   []string{"greeting"},
		Values:        sdk.Values(`{"note": "High CPU on web tier is fired"}`),
	})
}
