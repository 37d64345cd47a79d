// Package hostside is the host's end of the plugin protocol, for the host
// and conformance tests, not for plugin authors: a plugin imports package
// sdk and calls sdk.Serve, and tests it with package sdktest.
//
// It starts a plugin process with go-plugin's settings the host uses
// ([ClientConfig]) and dispenses the [Client] that makes every lifecycle
// call over gRPC ([Dispense]). The host (host/pluginhost) and
// sdktest.LaunchCommand share these settings, so a plugin that passes its
// conformance tests starts the same way under the host.
package hostside

import (
	"fmt"
	"os/exec"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/internal/protocol"
)

// Client is the host's view of a running plugin: every lifecycle call and
// ReadStatus, with the ones the plugin does not implement answering a
// permanent error (a plugin built before ReadStatus existed answers
// UNIMPLEMENTED, which reads the same). ReadStatus also checks the answer
// against the request (sdk.CheckStatusAnswer): a status for an item not
// asked for, or more statuses than items, is a permanent error.
type Client interface {
	sdk.Plugin
	sdk.Looker
	sdk.Updater
	sdk.Resolver
	sdk.Reopener
	sdk.StatusReader
}

// PluginName is the name under which the ITSM plugin is dispensed.
const PluginName = protocol.PluginName

// MaxMessageSize bounds one gRPC message between host and plugin, in both
// directions, on the plugin's side; a host may accept less (see
// [DialOptions]).
const MaxMessageSize = protocol.MaxMessageSize

// LogLevelEnv names the environment variable that sets a plugin's log
// level: trace, debug, info (the default), warn or error. The host sets it
// when it starts a plugin.
const LogLevelEnv = protocol.LogLevelEnv

// Handshake is the go-plugin handshake shared by host and plugins. The
// magic cookie only stops a plugin binary from being run by hand by
// mistake; it is not a security measure.
func Handshake() plugin.HandshakeConfig { return protocol.Handshake() }

// ClientPluginSets are the versioned plugin sets a host passes to
// go-plugin's ClientConfig.VersionedPlugins, keyed by the API versions the
// host speaks; the value they dispense is a [Client].
func ClientPluginSets() map[int]plugin.PluginSet { return protocol.ClientPluginSets() }

// DialOptions are the gRPC options of the host's side of a plugin
// connection: it accepts and sends messages up to [MaxMessageSize], like
// the plugin's side. A host that caps what it accepts appends its own
// call options, which win.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageSize),
		grpc.MaxCallSendMsgSize(MaxMessageSize),
	)}
}

// ClientConfig is go-plugin's configuration for starting cmd as a plugin
// process the way the host does: the handshake and versioned plugin sets,
// gRPC only, automatic mutual TLS, an environment of cmd.Env alone (the
// host's own is not passed on) and [DialOptions]. The caller adds what is
// its own: a Logger, a StartTimeout, a SecureConfig, or dial options that
// cap what it accepts.
func ClientConfig(cmd *exec.Cmd) *plugin.ClientConfig {
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake(),
		VersionedPlugins: ClientPluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		GRPCDialOptions:  DialOptions(),
	}
}

// Dispense returns the [Client] of the plugin that rpc connects to.
func Dispense(rpc plugin.ClientProtocol) (Client, error) {
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %q: %w", PluginName, err)
	}
	c, ok := raw.(Client)
	if !ok {
		return nil, fmt.Errorf("dispensed %T, which is not a hostside.Client", raw)
	}
	return c, nil
}
