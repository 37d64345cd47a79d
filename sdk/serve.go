package sdk

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
	"github.com/itsm-connector/itsm-connector/sdk/internal/protocol"
)

// APIVersion is the newest protocol version this SDK speaks.
const APIVersion = protocol.APIVersion

// ErrMessageTooLarge is wrapped by the permanent error of a call whose
// request or answer was larger than the receiving side accepts: at most
// 16 MiB for a plugin, less for a host that caps answers.
var ErrMessageTooLarge = errors.New("message larger than allowed between host and plugin")

// The host's side of the protocol (package hostside) dispenses the client
// built here, from the SDK's wire conversions.
func init() { protocol.ClientPluginSets = clientPluginSets }

// parentPollInterval is how often a serving plugin checks that its host is
// still alive.
const parentPollInterval = 500 * time.Millisecond

// Serve runs p as a plugin process. Call it from main; it returns when the
// host disconnects or dies.
//
// Serve speaks go-plugin's gRPC protocol only, refuses to run without the
// host's magic cookie, and logs as JSON to stderr (stdout belongs to the
// handshake), where the host picks the lines up into its own log. Plugins log
// through log/slog (or the standard log package): Serve installs the default
// handlers, at the level named by the environment variable
// ITSM_PLUGIN_LOG_LEVEL (trace, debug, info, warn or error; the host sets it).
// When the host process dies, the plugin exits instead of lingering.
func Serve(p Plugin) {
	if p == nil {
		panic("sdk.Serve: nil Plugin")
	}
	// go-plugin replaces os.Stderr with a pipe once serving; logs must go to
	// the real stderr, which the host reads line by line.
	logger := setupLogging(os.Stderr, os.Getenv(protocol.LogLevelEnv))

	stop := watchParent(os.Getppid(), parentPollInterval, os.Getppid, func() {
		logger.Error("host process exited; plugin shutting down")
		os.Exit(1)
	})
	defer stop()

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  protocol.Handshake(),
		VersionedPlugins: ServerPluginSets(p),
		GRPCServer:       newServer,
		Logger:           logger,
	})
}

// newServer builds the plugin's gRPC server with go-plugin's options (TLS)
// and the raised message limit.
func newServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(protocol.MaxMessageSize), grpc.MaxSendMsgSize(protocol.MaxMessageSize))
	return grpc.NewServer(opts...)
}

// clientPluginSets are the versioned plugin sets a host passes to
// go-plugin's ClientConfig.VersionedPlugins; the dispensed value is a
// *grpcClient. Hosts get them from package hostside.
func clientPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {protocol.PluginName: &grpcPlugin{}},
	}
}

// ServerPluginSets are the versioned plugin sets that serve p, keyed by API
// version, as go-plugin's ServeConfig.VersionedPlugins expects. Serve uses
// them; so does the sdktest harness. Plugins normally call Serve instead.
func ServerPluginSets(p Plugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {protocol.PluginName: &grpcPlugin{impl: p}},
	}
}

// grpcPlugin is the go-plugin glue for API version 1: it registers the
// server in the plugin process and builds the Client in the host.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// impl is the served plugin; nil on the host side.
	impl Plugin
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer registers the plugin's service.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return errors.New("sdk: plugin set has no implementation to serve (use ServerPluginSets, not the host's plugin sets)")
	}
	itsmv1.RegisterPluginServiceServer(s, newGRPCServer(p.impl))
	return nil
}

// GRPCClient returns the host's client over conn.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcClient{rpc: itsmv1.NewPluginServiceClient(conn)}, nil
}

// watchParent calls gone once the process's parent is no longer ppid (the
// host died and the plugin was re-parented), checking every interval. It
// returns a function that stops watching. A plugin started directly by init
// (ppid 1) cannot tell, and is not watched; neither can one on Windows, where
// an orphan keeps its parent's pid.
func watchParent(ppid int, every time.Duration, getppid func() int, gone func()) (stop func()) {
	done := make(chan struct{})
	if ppid <= 1 {
		return func() {}
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if getppid() != ppid {
					gone()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
