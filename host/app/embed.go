package app

import _ "embed"

// QuickstartConfig is examples/quickstart/connector.hcl, embedded so that
// `serve -dev` runs without any file; a test keeps the two identical.
//
//go:embed quickstart.hcl
var QuickstartConfig []byte
