package pluginhost

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
)

func TestCheckReplaceable(t *testing.T) {
	const host, other = 1000, 1001
	tests := []struct {
		name    string
		mode    fs.FileMode
		uid     int
		hostUID int
		// want lists substrings of the error; nil means accepted.
		want []string
	}{
		{name: "binary 0755 owned by the host's user", mode: 0o755, uid: host, hostUID: host},
		{name: "binary owned by root", mode: 0o755, uid: 0, hostUID: host},
		{name: "directory 0755 owned by root", mode: fs.ModeDir | 0o755, uid: 0, hostUID: host},
		{name: "read-only for all", mode: 0o555, uid: host, hostUID: host},
		{name: "group-writable binary", mode: 0o775, uid: 0, hostUID: host,
			want: []string{"plugin binary /p is group-writable (mode -rwxrwxr-x)", "chmod go-w /p"}},
		{name: "world-writable directory", mode: fs.ModeDir | 0o777, uid: 0, hostUID: host,
			want: []string{"plugin directory /p is world-writable (mode drwxrwxrwx)", "chmod go-w /p"}},
		{name: "sticky world-writable directory", mode: fs.ModeDir | fs.ModeSticky | 0o777, uid: 0, hostUID: host,
			want: []string{"world-writable"}},
		{name: "owned by another user", mode: 0o755, uid: other, hostUID: host,
			want: []string{"owned by uid 1001, neither root nor the connector's user (uid 1000)", "chown root /p"}},
		{name: "host runs as root, binary owned by another user", mode: 0o755, uid: other, hostUID: 0,
			want: []string{"owned by uid 1001"}},
		{name: "no owners on this system", mode: 0o755, uid: other, hostUID: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReplaceable("/p", tt.mode, tt.uid, tt.hostUID)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// validate and serve (both go through findBinary) refuse a plugin binary
// or directory that someone else could change; dev mode does not check.
func TestFindBinaryRefusesReplaceablePlugins(t *testing.T) {
	type setup func(t *testing.T, dir, bin string)
	chmod := func(path func(dir, bin string) string, mode fs.FileMode) setup {
		return func(t *testing.T, dir, bin string) {
			if err := os.Chmod(path(dir, bin), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	chown := func(path func(dir, bin string) string) setup {
		return func(t *testing.T, dir, bin string) {
			if os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root")
			}
			if err := os.Chown(path(dir, bin), 65534, -1); err != nil {
				t.Fatal(err)
			}
		}
	}
	theDir := func(dir, _ string) string { return dir }
	theBin := func(_, bin string) string { return bin }
	tests := []struct {
		name  string
		setup setup
		dev   bool
		want  []string
	}{
		{name: "group-writable plugin_dir", setup: chmod(theDir, fs.ModeDir|0o775),
			want: []string{"Plugin binary not protected", "plugin directory %DIR is group-writable (mode drwxrwxr-x)", "chmod go-w %DIR"}},
		{name: "world-writable binary", setup: chmod(theBin, 0o757),
			want: []string{"plugin binary %BIN is world-writable (mode -rwxr-xrwx)", "chmod go-w %BIN"}},
		{name: "binary owned by another user", setup: chown(theBin),
			want: []string{"plugin binary %BIN is owned by uid 65534", "chown root %BIN"}},
		{name: "plugin_dir owned by another user", setup: chown(theDir),
			want: []string{"plugin directory %DIR is owned by uid 65534"}},
		{name: "dev mode does not check", setup: chmod(theDir, fs.ModeDir|0o777), dev: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plugins")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			bin, sum := fakeBinary(t, dir, "ok", 0o755)
			tt.setup(t, dir, bin)
			h := New(Options{PluginDir: dir, Dev: tt.dev})
			_, diags := h.findBinary("ok", &config.Plugin{Name: "ok", SHA256: sum}, &hcl.Range{})
			if tt.want == nil {
				if diags.HasErrors() {
					t.Fatalf("unexpected: %s", diags.Error())
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			text := diags[0].Summary + "\n" + diags[0].Detail
			for _, w := range tt.want {
				w = strings.NewReplacer("%DIR", dir, "%BIN", bin).Replace(w)
				if !strings.Contains(text, w) {
					t.Errorf("diagnostic lacks %q:\n%s", w, text)
				}
			}
		})
	}

	t.Run("a symbolic link is followed to the real binary", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "versions")
		if err := os.Mkdir(real, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(real, 0o777); err != nil {
			t.Fatal(err)
		}
		target, sum := fakeBinary(t, real, "ok", 0o755)
		dir := t.TempDir()
		if err := os.Symlink(target, filepath.Join(dir, BinaryPrefix+"ok")); err != nil {
			t.Fatal(err)
		}
		_, diags := New(Options{PluginDir: dir}).findBinary("ok", &config.Plugin{Name: "ok", SHA256: sum}, &hcl.Range{})
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "plugin directory "+real+" is world-writable") {
			t.Errorf("diagnostics = %v, want the link target's directory refused", diags)
		}
	})
}
