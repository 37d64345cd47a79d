// Command memplugin serves the in-memory test plugin as a real plugin
// process for the SDK's subprocess tests. Creating a work item with the
// correlation key "crash" makes the process exit mid-call.
package main

import (
	"context"
	"os"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
)

type crashing struct{ *memplugin.Plugin }

func (c crashing) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if req.CorrelationKey == "crash" {
		os.Exit(3)
	}
	return c.Plugin.Create(ctx, req)
}

func main() {
	sdk.Serve(crashing{memplugin.New(memplugin.NewBackend())})
}
