package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Budgets for what a plugin pulls in by depending on the SDK module. The
// modules built into the plugin and its tests are the SDK and what it
// needs (go-plugin, grpc, protobuf, hclog, the OpenTelemetry trace API and
// theirs), 19 today. The module graph (`go list -m all`) also lists every
// module those modules' go.mod files require without the plugin ever
// building them: grpc's go.mod alone lists 34 (its xDS, OpenTelemetry and
// GCP dependencies), so the graph is 58 today, against 191 when a plugin
// depended on the host's module. The SDK records a plugin's spans itself
// and sends them to the host: an OpenTelemetry SDK and OTLP exporter
// would take the graph to 97.
const (
	maxBuiltModules = 30
	maxGraphModules = 60
)

// TestModuleGraph keeps a plugin's dependencies small: the SDK module and
// what it needs, never the host's module (its databases, Kubernetes
// types, buf, staticcheck...). It runs the go command in this module, as a
// vendor's plugin in its own repository would, without a workspace.
func TestModuleGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	graph := goList(t, "list", "-mod=readonly", "-m", "-f", "{{.Path}}", "all")
	built := goList(t, "list", "-mod=readonly", "-deps", "-test", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
	for _, m := range graph {
		if m == "github.com/itsm-connector/itsm-connector" {
			t.Errorf("the plugin's module graph includes the host's module %s; a plugin must depend on the SDK module only", m)
		}
	}
	if !slices.Contains(built, "github.com/itsm-connector/itsm-connector/sdk") {
		t.Errorf("the plugin does not build with the SDK module; it builds with:\n%s", strings.Join(built, "\n"))
	}
	if len(built) > maxBuiltModules {
		t.Errorf("the plugin builds with %d modules, more than %d:\n%s", len(built), maxBuiltModules, strings.Join(built, "\n"))
	}
	if len(graph) > maxGraphModules {
		t.Errorf("go list -m all lists %d modules, more than %d:\n%s", len(graph), maxGraphModules, strings.Join(graph, "\n"))
	}
}

// goList runs the go command with args in this module and returns the
// distinct non-empty lines it prints, sorted.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var lines []string
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}
