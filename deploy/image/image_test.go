// Package image holds the container image's example configuration template
// and the test that builds the image with `make image` and inspects it.
package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const repoRoot = "../.."

// Paths inside the image (internal/tools/release/image.go).
const (
	hostPath   = "usr/local/bin/itsm-connector"
	pluginDir  = "usr/local/lib/itsm-connector/plugins"
	sumsDir    = "usr/local/lib/itsm-connector/checksums"
	configPath = "etc/itsm-connector/connector.hcl"
	dataDir    = "var/lib/itsm-connector"
	uid        = 65532
)

var plugins = []string{"file", "jira", "rest", "servicenow"}

// TestImage builds the image with `make image` and the builder the Makefile
// picks, exports it as an archive and checks its configuration and files.
// It does not start a container.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the container image; skipped with -short")
	}
	out, err := exec.Command("make", "-s", "-C", repoRoot, "print-image-builder").Output()
	if err != nil {
		t.Skipf("make print-image-builder: %v", err)
	}
	builder := strings.TrimSpace(string(out))
	if builder == "" {
		t.Skip("no container image builder here (podman, buildah, or docker with a running engine): the image is not built. " +
			"This test never starts a container, which sandboxes often do not allow anyway; it inspects the exported image.")
	}
	tag := fmt.Sprintf("itsm-connector-test:%d", time.Now().UnixNano())
	run(t, "make", "-C", repoRoot, "image", "IMAGE="+tag)
	t.Cleanup(func() { _ = exec.Command(builder, "rmi", "-f", tag).Run() })

	archive := filepath.Join(t.TempDir(), "image.tar")
	switch builder {
	case "podman":
		run(t, "podman", "save", "--format", "oci-archive", "-o", archive, tag)
	case "buildah":
		run(t, "buildah", "push", tag, "oci-archive:"+archive)
	default:
		run(t, builder, "save", "-o", archive, tag)
	}
	img, err := readImage(archive)
	if err != nil {
		t.Fatalf("reading the exported image: %v", err)
	}

	c := img.config.Config
	if c.User != fmt.Sprintf("%d:%d", uid, uid) {
		t.Errorf("USER = %q, want the numeric non-root %d:%d", c.User, uid, uid)
	}
	if !slices.Equal(c.Entrypoint, []string{"/" + hostPath}) {
		t.Errorf("ENTRYPOINT = %q", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, []string{"serve", "-config", "/" + configPath}) {
		t.Errorf("CMD = %q", c.Cmd)
	}
	if c.WorkingDir != "/"+dataDir {
		t.Errorf("WORKDIR = %q", c.WorkingDir)
	}
	for _, port := range []string{"8443/tcp", "9464/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("port %s not exposed (%v)", port, c.ExposedPorts)
		}
	}

	passwd := string(img.file(t, "etc/passwd").data)
	if !strings.Contains(passwd, fmt.Sprintf(":x:%d:%d:", uid, uid)) {
		t.Errorf("/etc/passwd has no entry for %d:\n%s", uid, passwd)
	}
	if f := img.file(t, "etc/ssl/certs/ca-certificates.crt"); !bytes.Contains(f.data, []byte("BEGIN CERTIFICATE")) {
		t.Error("the CA bundle holds no certificate")
	}
	if tmp := img.file(t, "tmp"); tmp.typ != tar.TypeDir || tmp.mode != 0o1777 {
		t.Errorf("/tmp: type %c mode %o, want a directory 1777", tmp.typ, tmp.mode)
	}
	if d := img.file(t, dataDir); d.typ != tar.TypeDir || d.uid != uid {
		t.Errorf("/%s: type %c owner %d, want a directory owned by %d", dataDir, d.typ, d.uid, uid)
	}
	for _, name := range []string{"var", "var/lib", "etc", "usr/local/bin"} {
		if d := img.file(t, name); d.uid != 0 {
			t.Errorf("/%s is owned by %d, want root", name, d.uid)
		}
	}

	// The example configuration pins every plugin with the checksum of the
	// binary beside it, and so do the checksum files.
	config := string(img.file(t, configPath).data)
	pins := map[string]string{}
	for _, m := range regexp.MustCompile(`plugin "([a-z]+)" \{ sha256 = "([0-9a-f]{64})" \}`).FindAllStringSubmatch(config, -1) {
		pins[m[1]] = m[2]
	}
	for _, p := range plugins {
		bin := img.file(t, path.Join(pluginDir, "itsm-connector-plugin-"+p))
		sum := sha256.Sum256(bin.data)
		want := hex.EncodeToString(sum[:])
		if pins[p] != want {
			t.Errorf("connector.hcl pins plugin %q to %q; its binary has sha256 %s", p, pins[p], want)
		}
		if got := strings.TrimSpace(string(img.file(t, path.Join(sumsDir, p+".sha256")).data)); got != want {
			t.Errorf("%s/%s.sha256 = %q; the binary has %s", sumsDir, p, got, want)
		}
		checkStatic(t, bin)
	}
	if len(pins) != len(plugins) {
		t.Errorf("connector.hcl pins %v, want exactly %v", pins, plugins)
	}
	host := img.file(t, hostPath)
	checkStatic(t, host)

	// The example configuration is valid with the image's own plugins (the
	// host binary is run here, outside a container, with the data
	// directory moved to a temporary one).
	dir := t.TempDir()
	for _, f := range append([]string{hostPath}, pluginPaths()...) {
		if err := os.MkdirAll(filepath.Join(dir, path.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), img.file(t, f).data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "connector.hcl")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(config, "/"+dataDir, filepath.Join(dir, "data"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, hostPath), "validate", "-config", cfg, "-plugin-dir", filepath.Join(dir, pluginDir))
	cmd.Env = append(os.Environ(), "ITSM_TENANT_ID=00000000-0000-0000-0000-000000000000",
		"ITSM_AUDIENCE=api://itsm-connector", "ITSM_ADMIN_TOKEN=test-admin-token-0123456789")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("validate of the image's connector.hcl: %v\n%s", err, out)
	}
}

func pluginPaths() []string {
	var out []string
	for _, p := range plugins {
		out = append(out, path.Join(pluginDir, "itsm-connector-plugin-"+p))
	}
	return out
}

// checkStatic fails unless f is an executable ELF file without an
// interpreter (statically linked), built with CGO_ENABLED=0.
func checkStatic(t *testing.T, f entry) {
	t.Helper()
	if f.mode&0o111 == 0 {
		t.Errorf("/%s is not executable (mode %o)", f.name, f.mode)
	}
	e, err := elf.NewFile(bytes.NewReader(f.data))
	if err != nil {
		t.Errorf("/%s: %v", f.name, err)
		return
	}
	for _, p := range e.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("/%s is dynamically linked", f.name)
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(f.data))
	if err != nil {
		t.Errorf("/%s: %v", f.name, err)
		return
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Errorf("/%s was built with CGO_ENABLED=%s", f.name, s.Value)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// image is an exported image: its configuration and its file system with
// the layers applied in order.
type image struct {
	config struct {
		Config struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			WorkingDir   string
			ExposedPorts map[string]struct{}
		} `json:"config"`
	}
	files map[string]entry
}

type entry struct {
	name string
	typ  byte
	mode int64
	uid  int
	data []byte
}

func (img *image) file(t *testing.T, name string) entry {
	t.Helper()
	f, ok := img.files[name]
	if !ok {
		t.Fatalf("the image has no /%s", name)
	}
	return f
}

// readImage reads an OCI archive (index.json) or a docker save archive
// (manifest.json).
func readImage(archive string) (*image, error) {
	blobs := map[string][]byte{}
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReader(f))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			blobs[path.Clean(h.Name)] = b
		}
	}
	var configName string
	var layers []string
	if raw, ok := blobs["manifest.json"]; ok && blobs["index.json"] == nil {
		var m []struct {
			Config string
			Layers []string
		}
		if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
			return nil, fmt.Errorf("manifest.json: %v (%d images)", err, len(m))
		}
		configName, layers = m[0].Config, m[0].Layers
	} else {
		blob := func(digest string) string { return "blobs/" + strings.Replace(digest, ":", "/", 1) }
		var index struct{ Manifests []struct{ Digest string } }
		if err := json.Unmarshal(blobs["index.json"], &index); err != nil || len(index.Manifests) == 0 {
			return nil, fmt.Errorf("index.json: %v", err)
		}
		var m struct {
			Config struct{ Digest string }
			Layers []struct{ Digest string }
		}
		if err := json.Unmarshal(blobs[blob(index.Manifests[0].Digest)], &m); err != nil {
			return nil, fmt.Errorf("manifest: %v", err)
		}
		configName = blob(m.Config.Digest)
		for _, l := range m.Layers {
			layers = append(layers, blob(l.Digest))
		}
	}
	img := &image{files: map[string]entry{}}
	if err := json.Unmarshal(blobs[configName], &img.config); err != nil {
		return nil, fmt.Errorf("image config %s: %v", configName, err)
	}
	for _, l := range layers {
		if err := img.apply(blobs[l]); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l, err)
		}
	}
	return img, nil
}

// apply adds a layer's entries (plain or gzipped tar) to the file system.
func (img *image) apply(layer []byte) error {
	if layer == nil {
		return errors.New("missing from the archive")
	}
	var r io.Reader = bytes.NewReader(layer)
	if bytes.HasPrefix(layer, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if base := path.Base(name); strings.HasPrefix(base, ".wh.") {
			delete(img.files, path.Join(path.Dir(name), strings.TrimPrefix(base, ".wh.")))
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		mode := h.Mode & 0o777
		if h.Mode&0o1000 != 0 || h.FileInfo().Mode()&os.ModeSticky != 0 {
			mode |= 0o1000
		}
		img.files[name] = entry{name: name, typ: h.Typeflag, mode: mode, uid: h.Uid, data: data}
	}
}
