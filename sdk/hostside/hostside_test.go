package hostside_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestClientConfig pins the settings every plugin process is started with,
// by the host and by sdktest.LaunchCommand alike.
func TestClientConfig(t *testing.T) {
	cmd := exec.Command("itsm-connector-plugin-x")
	cfg := hostside.ClientConfig(cmd)
	if cfg.Cmd != cmd || !cfg.AutoMTLS || !cfg.SkipHostEnv ||
		!slices.Equal(cfg.AllowedProtocols, []plugin.Protocol{plugin.ProtocolGRPC}) || len(cfg.GRPCDialOptions) == 0 {
		t.Errorf("ClientConfig = %+v; want cmd, AutoMTLS, no host environment, gRPC only, the SDK's dial options", cfg)
	}
	if cfg.HandshakeConfig != hostside.Handshake() || cfg.HandshakeConfig.MagicCookieKey == "" {
		t.Errorf("handshake %+v", cfg.HandshakeConfig)
	}
	if _, ok := cfg.VersionedPlugins[sdk.APIVersion][hostside.PluginName]; !ok {
		t.Errorf("no plugin %q for API version %d in %v", hostside.PluginName, sdk.APIVersion, cfg.VersionedPlugins)
	}
}

// TestDispense gets the Client of a plugin served in-process, and a clear
// error from a connection that dispenses something else.
func TestDispense(t *testing.T) {
	c := sdktest.Connect(t, memplugin.New(memplugin.NewBackend()))
	if info, err := c.Info(t.Context()); err != nil || info.Name != "memory" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	_, err := hostside.Dispense(dispenser{v: "not a client"})
	if err == nil || !strings.Contains(err.Error(), "string, which is not a hostside.Client") {
		t.Errorf("Dispense of a string: %v", err)
	}
	_, err = hostside.Dispense(dispenser{err: errors.New("unknown plugin type")})
	if err == nil || !strings.Contains(err.Error(), `dispense "itsm": unknown plugin type`) {
		t.Errorf("failed Dispense: %v", err)
	}
}

// dispenser is a go-plugin connection that dispenses v or fails with err.
type dispenser struct {
	v   any
	err error
}

func (d dispenser) Dispense(string) (any, error) { return d.v, d.err }
func (dispenser) Ping() error                    { return nil }
func (dispenser) Close() error                   { return nil }
