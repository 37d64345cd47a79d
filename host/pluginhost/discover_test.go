package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
)

// fakeBinary writes an executable file named like plugin name into dir and
// returns its path and sha256.
func fakeBinary(t *testing.T, dir, name string, mode os.FileMode) (string, string) {
	t.Helper()
	path := filepath.Join(dir, BinaryPrefix+name)
	content := []byte("#!/bin/sh\nexit 0\n# " + name + "\n")
	if err := os.WriteFile(path, content, mode); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return path, hex.EncodeToString(sum[:])
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	okPath, okSum := fakeBinary(t, dir, "ok", 0o755)
	fakeBinary(t, dir, "noexec", 0o644)
	if err := os.Mkdir(filepath.Join(dir, BinaryPrefix+"dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	elsewhere, elsewhereSum := fakeBinary(t, other, "custom", 0o755)
	block := func(name, sum string) *config.Plugin {
		return &config.Plugin{Name: name, SHA256: sum, Range: hcl.Range{Filename: "connector.hcl", Start: hcl.Pos{Line: 7}}}
	}
	backendRange := &hcl.Range{Filename: "connector.hcl", Start: hcl.Pos{Line: 20}}

	tests := []struct {
		name     string
		opts     Options
		plugin   string
		block    *config.Plugin
		wantPath string
		// wantErr lists substrings of the diagnostic's summary and detail.
		wantErr  []string
		wantLine int
	}{
		{name: "found and verified", opts: Options{PluginDir: dir}, plugin: "ok", block: block("ok", okSum), wantPath: okPath},
		{name: "checksum in upper case", opts: Options{PluginDir: dir}, plugin: "ok", block: block("ok", strings.ToUpper(okSum)), wantPath: okPath},
		{name: "path overrides plugin_dir", opts: Options{PluginDir: dir}, plugin: "custom", block: &config.Plugin{Name: "custom", SHA256: elsewhereSum, Path: elsewhere}, wantPath: elsewhere},
		{name: "dev mode needs no checksum", opts: Options{PluginDir: dir, Dev: true}, plugin: "ok", wantPath: okPath},
		{name: "dev mode still verifies a given checksum", opts: Options{PluginDir: dir, Dev: true}, plugin: "ok", block: block("ok", strings.Repeat("0", 64)),
			wantErr: []string{"Plugin checksum mismatch", okSum, strings.Repeat("0", 64)}, wantLine: 7},
		{name: "missing", opts: Options{PluginDir: dir}, plugin: "servicenow", block: block("servicenow", okSum),
			wantErr: []string{"Plugin binary not found", filepath.Join(dir, BinaryPrefix+"servicenow") + " (does not exist)"}, wantLine: 7},
		{name: "not executable", opts: Options{PluginDir: dir}, plugin: "noexec", wantErr: []string{"Plugin binary not found", "(not executable)"}, wantLine: 20},
		{name: "a directory", opts: Options{PluginDir: dir}, plugin: "dir", wantErr: []string{"(not a regular file)"}, wantLine: 20},
		{name: "no plugin_dir", opts: Options{}, plugin: "ok", wantErr: []string{"No plugin directory", "plugin_dir is not set"}, wantLine: 20},
		{name: "mismatch", opts: Options{PluginDir: dir}, plugin: "ok", block: block("ok", strings.Repeat("ab", 32)),
			wantErr: []string{"Plugin checksum mismatch", "has sha256 " + okSum, "expects " + strings.Repeat("ab", 32)}, wantLine: 7},
		{name: "malformed checksum", opts: Options{PluginDir: dir}, plugin: "ok", block: block("ok", "abc"),
			wantErr: []string{"Invalid plugin checksum", "64 hexadecimal digits"}, wantLine: 7},
		{name: "block without sha256", opts: Options{PluginDir: dir}, plugin: "ok", block: block("ok", ""),
			wantErr: []string{"Plugin checksum required", `The plugin "ok" block has no sha256`, `sha256 = "` + okSum + `"`}, wantLine: 7},
		{name: "no plugin block", opts: Options{PluginDir: dir}, plugin: "ok",
			wantErr: []string{"Plugin checksum required", `There is no plugin "ok" block`, `plugin "ok" {`, okSum}, wantLine: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(tt.opts)
			bin, diags := h.findBinary(tt.plugin, tt.block, backendRange)
			if tt.wantErr == nil {
				if diags.HasErrors() {
					t.Fatalf("unexpected: %s", diags.Error())
				}
				if bin.path != tt.wantPath {
					t.Errorf("path = %s, want %s", bin.path, tt.wantPath)
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			text := diags[0].Summary + "\n" + diags[0].Detail
			for _, w := range tt.wantErr {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostic lacks %q:\n%s", w, text)
				}
			}
			if diags[0].Subject == nil || diags[0].Subject.Start.Line != tt.wantLine {
				t.Errorf("subject = %v, want line %d", diags[0].Subject, tt.wantLine)
			}
		})
	}
}
