package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Binary names and packages.
const (
	hostBinary   = "itsm-connector"
	hostPackage  = "./cmd/itsm-connector"
	pluginPrefix = "itsm-connector-plugin-"
)

// Binaries are the built host and plugins.
type Binaries struct {
	// Host is the itsm-connector binary.
	Host string
	// PluginDir holds itsm-connector-plugin-<name> for every plugin built
	// so far in this test binary.
	PluginDir string
}

// built caches builds for the whole test binary: each binary is built at
// most once, failures included, into one temporary directory that Main
// removes.
var built struct {
	mu      sync.Mutex
	dir     string
	results map[string]error // package dir → build error
}

// Main runs the tests and removes the built binaries. Call it from
// TestMain: os.Exit(harness.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	return code
}

// Build returns the host and the named plugins (directories under
// plugins/), building each once per test binary. Under the race detector
// the binaries are built with -race too, and their logs are checked for
// races (see Connector). It skips the test under -short.
func Build(t testing.TB, plugins ...string) Binaries {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds binaries and runs subprocesses; skipped with -short")
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "itsm-e2e-bin-")
		if err != nil {
			t.Fatalf("creating the build directory: %v", err)
		}
		built.dir = dir
		built.results = map[string]error{}
	}
	bins := Binaries{Host: filepath.Join(built.dir, hostBinary), PluginDir: filepath.Join(built.dir, "plugins")}
	if err := buildOnce(hostPackage, bins.Host); err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		if err := buildOnce("./plugins/"+p, filepath.Join(bins.PluginDir, pluginPrefix+p)); err != nil {
			t.Fatal(err)
		}
	}
	return bins
}

// buildOnce builds pkg (relative to the module root) into out unless it
// was tried before; built.mu is held.
func buildOnce(pkg, out string) error {
	if err, done := built.results[pkg]; done {
		return err
	}
	err := goBuild(pkg, out)
	built.results[pkg] = err
	return err
}

func goBuild(pkg, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(cmd.Args[1:], " "), err, b)
	}
	return nil
}

// moduleRoot is the directory of the go.mod the tests run in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root with go env GOMOD: %w", err)
	}
	gomod := string(bytes.TrimSpace(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("finding the module root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}
