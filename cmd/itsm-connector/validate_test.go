package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateSeesEveryFieldReference runs `validate` on configurations
// whose route misspells an alert field where an evaluation against an
// unknown alert does not look: after && or ||, in a branch of ?:. Each must
// fail with the line, the snippet and a hint; spelt right, each is valid.
func TestValidateSeesEveryFieldReference(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the file plugin")
	}
	pluginDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(pluginDir, "itsm-connector-plugin-file"), "../../plugins/file")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build plugins/file: %v\n%s", err, out)
	}
	tests := []struct {
		name  string
		when  string
		valid string // the same condition spelt right
		want  []string
	}{
		{"typo after &&",
			`alert.severity <= 1 && startswith(alert.resourcegroup, "prod-")`,
			`alert.severity <= 1 && startswith(alert.resource_group, "prod-")`,
			[]string{"Unsupported attribute", "connector.hcl line 8", `startswith(alert.resourcegroup, "prod-")`, `Did you mean "resource_group"?`}},
		{"typo after ||",
			`alert.severity <= 1 || alert.sevrity == 2`,
			`alert.severity <= 1 || alert.severity == 2`,
			[]string{"Unsupported attribute", "connector.hcl line 8", "alert.sevrity does not exist", `Did you mean "severity"?`}},
		{"typo in a branch of ?:",
			`alert.severity == 0 ? alert.rulle == "x" : false`,
			`alert.severity == 0 ? alert.rule == "x" : false`,
			[]string{"Unsupported attribute", "connector.hcl line 8", "alert.rulle does not exist", `Did you mean "rule"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			validate := func(when string) (int, string) {
				cfg := filepath.Join(dir, "connector.hcl")
				src := `auth "none" {}
backend "file" "local" {
  config { directory = "` + filepath.Join(dir, "workitems") + `" }
}

route "prod" {
  send_to = [backend.file.local]
  when    = ` + when + `
}
`
				if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				code := run(context.Background(), []string{"validate", "-dev", "-config", cfg, "-plugin-dir", pluginDir}, &out, &out)
				return code, out.String()
			}
			if code, out := validate(tt.valid); code != 0 {
				t.Fatalf("validate of %s exited %d, want 0:\n%s", tt.valid, code, out)
			}
			code, out := validate(tt.when)
			if code != 1 {
				t.Errorf("validate of %s exited %d, want 1:\n%s", tt.when, code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestValidateDevUsesTheQuickstart: validate -dev without -config checks
// the embedded quickstart that serve -dev runs, with dev mode's plugin
// directory. It used to read ./connector.hcl, here a different file.
func TestValidateDevUsesTheQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the file plugin")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "plugins", "itsm-connector-plugin-file"), "../../plugins/file")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build plugins/file: %v\n%s", err, out)
	}
	t.Chdir(dir)
	if err := os.WriteFile("connector.hcl", []byte("not a configuration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "validate", "-dev")
	if want := "embedded quickstart is valid: 1 backend(s), 1 route(s)\n"; code != 0 || !strings.HasSuffix(out, want) {
		t.Errorf("validate -dev: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
	}
	// -config still names the file, also with -dev.
	code, _, errOut = runCLI(t, "validate", "-dev", "-config", "connector.hcl")
	if code != 1 || !strings.Contains(errOut, "connector.hcl") {
		t.Errorf("validate -dev -config connector.hcl: exit %d, stderr %q; want 1 and the file's error", code, errOut)
	}
}
