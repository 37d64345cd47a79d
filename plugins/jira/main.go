// Command itsm-connector-plugin-jira is the Jira plugin for itsm-connector:
// issues on Jira Cloud or Data Center (or Jira Service Management
// requests), commented on re-fire, transitioned to done when the alert
// resolves and back when it fires again. The host starts it; it is not
// meant to be run by hand.
package main

import (
	"github.com/itsm-connector/itsm-connector/plugins/jira/internal/jira"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Logs go through slog's default logger, which sdk.Serve points at
	// stderr as JSON for the host.
	sdk.Serve(jira.New(jira.Options{Version: version}))
}
