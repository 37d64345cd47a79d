package sdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// Connect serves p in-process over real gRPC (go-plugin's
// TestPluginGRPCConn, the same protocol code the host uses with a plugin
// process) and returns the host's view of it. Everything is torn down when
// the test ends.
//
// Use it to test a plugin the way the host will call it: requests and
// results are encoded, errors keep only what survives the wire.
func Connect(tb testing.TB, p sdk.Plugin) hostside.Client {
	tb.Helper()
	if p == nil {
		tb.Fatal("sdktest.Connect: nil plugin")
	}
	// Closing the client asks the server to stop (go-plugin's controller
	// Shutdown); stopping the server here as well would race with that.
	client, _ := plugin.TestPluginGRPCConn(tb, false, sdk.ServerPluginSets(p)[sdk.APIVersion])
	tb.Cleanup(func() { _ = client.Close() })
	c, err := hostside.Dispense(client)
	if err != nil {
		tb.Fatalf("sdktest.Connect: %v", err)
	}
	return c
}
