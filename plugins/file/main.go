// Command itsm-connector-plugin-file is the itsm-connector plugin that keeps
// each work item as a JSON file in a directory. It backs the quickstart (no
// ITSM tool needed to see the connector work end to end) and it is the
// reference plugin: read it first when you write your own.
//
// The files of this command, in reading order:
//
//	main.go    starts the plugin process (this file)
//	plugin.go  the sdk.Plugin implementation: schema, Configure, lifecycle calls
//	store.go   the on-disk format, atomic writes and the directory scan
//	index.go   the correlation key index, kept up to date by watching the directory
//
// Build it with its version stamped in:
//
//	go build -ldflags "-X main.version=1.2.3" -o itsm-connector-plugin-file ./plugins/file
package main

import "github.com/itsm-connector/itsm-connector/sdk"

// version is the plugin's release version, set at build time with
// -ldflags "-X main.version=…"; "dev" for local builds.
var version = "dev"

func main() {
	// Serve points hclog's default logger at stderr as JSON lines, which the
	// host copies into its own log under the backend's name. stdout belongs
	// to the go-plugin handshake: never print to it.
	sdk.Serve(newPlugin(nil))
}
