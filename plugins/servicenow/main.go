// Command itsm-connector-plugin-servicenow is the ServiceNow plugin for
// itsm-connector: incidents over the Table API bound to the CMDB, or events
// to Event Management. The host starts it; it is not meant to be run by hand.
package main

import (
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/internal/servicenow"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Logs go through slog's default logger, which sdk.Serve points at
	// stderr as JSON for the host.
	sdk.Serve(servicenow.New(servicenow.Options{Version: version}))
}
