// Package protocol holds what both ends of a plugin connection agree on:
// go-plugin's handshake, the name a plugin is dispensed under, the gRPC
// message limit and the log level variable. Package sdk (the plugin's end)
// and package hostside (the host's end) both build on it, so neither has
// to export its half to the other.
package protocol

import "github.com/hashicorp/go-plugin"

// APIVersion is the newest protocol version this SDK speaks.
const APIVersion = 1

// PluginName is the name under which the ITSM plugin is dispensed.
const PluginName = "itsm"

// MaxMessageSize bounds one gRPC message between host and plugin, in both
// directions. gRPC's 4 MiB default is too tight for an alert with a large
// alertContext plus rendered fields; 16 MiB leaves ample room.
const MaxMessageSize = 16 << 20

// LogLevelEnv names the environment variable that sets a plugin's log
// level: trace, debug, info (the default), warn or error. The host sets it
// when it starts a plugin.
const LogLevelEnv = "ITSM_PLUGIN_LOG_LEVEL"

// Handshake is the go-plugin handshake shared by host and plugins. The
// magic cookie only stops a plugin binary from being run by hand by
// mistake; it is not a security measure.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  APIVersion,
		MagicCookieKey:   "ITSM_CONNECTOR_PLUGIN",
		MagicCookieValue: "a7c4d0e2-itsm-connector",
	}
}

// ClientPluginSets returns the versioned plugin sets a host passes to
// go-plugin; the value they dispense is the host's client of a plugin.
// Package sdk sets it when it is initialized, since the client is built
// from the SDK's own wire conversions; package hostside, which imports
// sdk, is therefore never without it.
var ClientPluginSets func() map[int]plugin.PluginSet
