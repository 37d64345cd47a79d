package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
)

// PluginName is the name under which the ITSM plugin is dispensed.
const PluginName = "itsm"

// APIVersion is the newest protocol version this SDK speaks.
const APIVersion = 1

// Handshake is the go-plugin handshake shared by host and plugins. The magic
// cookie only stops a plugin binary from being run by hand by mistake; it is
// not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "ITSM_CONNECTOR_PLUGIN",
	MagicCookieValue: "a7c4d0e2-itsm-connector",
}

// Client is the host's view of a running plugin: every lifecycle call, with
// the ones the plugin does not implement answering a permanent error.
type Client interface {
	Plugin
	Looker
	Updater
	Resolver
	Reopener
}

// Serve runs p as a plugin process. Call it from main; it returns when the
// host disconnects or dies.
func Serve(p Plugin) {
	panic("sdk.Serve: not implemented yet")
}

// ClientPluginSets are the versioned plugin sets a host passes to
// go-plugin's ClientConfig.VersionedPlugins; the dispensed value is a Client.
func ClientPluginSets() map[int]plugin.PluginSet {
	panic("sdk.ClientPluginSets: not implemented yet")
}

var _ = context.Background
