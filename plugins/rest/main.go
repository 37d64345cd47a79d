// Command itsm-connector-plugin-rest is the generic REST plugin for
// itsm-connector: any JSON ticketing or alerting API, driven by templates in
// connector.hcl. The host starts it; it is not meant to be run by hand.
package main

import (
	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/rest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Logs go through slog's default logger, which sdk.Serve points at
	// stderr as JSON for the host.
	sdk.Serve(rest.New(rest.Options{Version: version}))
}
