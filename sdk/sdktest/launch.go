package sdktest

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Launch builds the plugin command in pkg (a directory, "." for the test's
// own) and starts it the way the host does: a subprocess without the
// host's environment, its checksum verified, AutoMTLS, gRPC only, the
// SDK's message limits. It returns the host's view of the plugin; the
// process is killed when the test ends. Use it for one test of the real
// binary over the wire beside the in-process [Connect] tests: it catches
// what only a separate process shows (a main that does not call
// sdk.Serve, logs on stdout, a crash at start).
//
// The plugin logs at debug level; lines at warn and above reach stderr.
// Launch skips the test with -short.
func Launch(t testing.TB, pkg string) sdk.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the plugin binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the plugin with")
	}
	bin := filepath.Join(t.TempDir(), "itsm-connector-plugin-under-test")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("building the plugin in %s: %v\n%s", pkg, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	cmd := exec.Command(bin)
	cmd.Env = []string{sdk.LogLevelEnv + "=debug"}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.ClientPluginSets(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum[:], Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  sdk.DialOptions(),
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: os.Stderr, Level: hclog.Warn,
		}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin: %v", err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatalf("dispensing the plugin: %v", err)
	}
	return raw.(sdk.Client)
}
