package sdktest

import (
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// Launch builds the plugin command in pkg (a directory, "." for the test's
// own) and starts it with [LaunchCommand], the way the host does. Use it
// for one test of the real binary over the wire beside the in-process
// [Connect] tests: it catches what only a separate process shows (a main
// that does not call sdk.Serve, logs on stdout, a crash at start).
//
// Launch skips the test with -short.
func Launch(t testing.TB, pkg string) hostside.Client {
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
	return LaunchCommand(t, exec.Command(bin))
}

// LaunchCommand starts cmd as a plugin process the way the host starts
// one, whatever language the plugin is written in: the checksum of the
// file cmd.Path names verified, an environment of cmd.Env only (the host's
// own environment is not passed on; this is what `pass_env` would give the
// plugin), go-plugin's handshake with automatic mutual TLS, gRPC only, the
// SDK's message limits: hostside.ClientConfig, the settings the host
// starts plugins with. It returns the host's view of the plugin; the
// process is killed when the test ends.
//
// The plugin logs at debug level unless cmd.Env sets ITSM_PLUGIN_LOG_LEVEL;
// lines at warn and above reach the test's stderr. To run the conformance
// suite against a plugin that is not written in Go, launch it from
// [Suite].Start:
//
//	sdktest.Run(t, sdktest.Suite{
//		Start: func(t *testing.T) hostside.Client {
//			return sdktest.LaunchCommand(t, exec.Command("./itsm-connector-plugin-acme"))
//		},
//		Config: ...,
//	})
func LaunchCommand(t testing.TB, cmd *exec.Cmd) hostside.Client {
	t.Helper()
	if cmd == nil || cmd.Path == "" {
		t.Fatal("sdktest.LaunchCommand: no command")
	}
	if cmd.Err != nil {
		t.Fatalf("sdktest.LaunchCommand: %v", cmd.Err)
	}
	sum, err := fileSum(cmd.Path)
	if err != nil {
		t.Fatalf("sdktest.LaunchCommand: %v", err)
	}
	cmd.Env = slices.Clip(cmd.Env)
	if !slices.ContainsFunc(cmd.Env, func(kv string) bool { return strings.HasPrefix(kv, hostside.LogLevelEnv+"=") }) {
		cmd.Env = append(cmd.Env, hostside.LogLevelEnv+"=debug")
	}
	cfg := hostside.ClientConfig(cmd)
	cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{
		Name: "plugin", Output: os.Stderr, Level: hclog.Warn,
	})
	client := plugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin %s: %v", cmd.Path, err)
	}
	c, err := hostside.Dispense(rpc)
	if err != nil {
		t.Fatalf("sdktest.LaunchCommand: %v", err)
	}
	return c
}

// fileSum is the SHA-256 of the file at path, the checksum the host pins.
func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
