package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/pluginhost"
)

func TestGoPURL(t *testing.T) {
	tests := []struct{ path, version, want string }{
		{"github.com/hashicorp/go-plugin", "v1.8.0", "pkg:golang/github.com/hashicorp/go-plugin@v1.8.0"},
		{"github.com/docker/cli", "v29.9.1+incompatible", "pkg:golang/github.com/docker/cli@v29.9.1%2Bincompatible"},
		{"github.com/BurntSushi/toml", "v1.4.1-0.20240526193622-a339e1f7089c", "pkg:golang/github.com/BurntSushi/toml@v1.4.1-0.20240526193622-a339e1f7089c"},
		{"stdlib", "go1.26.8", "pkg:golang/stdlib@go1.26.8"},
	}
	for _, tt := range tests {
		if got := goPURL(tt.path, tt.version); got != tt.want {
			t.Errorf("goPURL(%q, %q) = %q, want %q", tt.path, tt.version, got, tt.want)
		}
	}
}

// TestSBOM reads the test binary's own build information, as `make
// release` reads the host's and the plugins'.
func TestSBOM(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	raw, err := sbom("itsm-connector", "v1.2.3", []string{exe}, date)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sbom("itsm-connector", "v1.2.3", []string{exe}, date)
	if !bytes.Equal(raw, again) {
		t.Error("the same binaries gave two different SBOMs")
	}

	var bom cdxBOM
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || bom.Metadata.Timestamp != "2026-01-02T03:04:05Z" ||
		bom.Metadata.Component.Name != "itsm-connector" || bom.Metadata.Component.Version != "v1.2.3" {
		t.Errorf("header: %+v", bom)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("serialNumber %q is not a version 5 UUID URN", bom.SerialNumber)
	}

	refs := map[string]cdxComponent{}
	for _, c := range bom.Components {
		if _, dup := refs[c.BOMRef]; dup {
			t.Errorf("component %s listed twice", c.BOMRef)
		}
		refs[c.BOMRef] = c
	}
	bin, ok := refs["file:"+filepath.Base(exe)]
	if !ok || len(bin.Hashes) != 1 || bin.Hashes[0].Alg != "SHA-256" {
		t.Fatalf("the binary's component: %+v", bin)
	}
	if sum, _ := pluginhost.FileSHA256(exe); bin.Hashes[0].Content != sum {
		t.Errorf("binary hash %s, want %s", bin.Hashes[0].Content, sum)
	}
	want := []string{goPURL("stdlib", info.GoVersion)}
	for _, d := range info.Deps {
		want = append(want, goPURL(d.Path, d.Version))
	}
	for _, ref := range want {
		if c, ok := refs[ref]; !ok || c.Type != "library" || c.PURL != ref {
			t.Errorf("no library component %s", ref)
		}
	}
	if len(bom.Dependencies) != 2 || bom.Dependencies[0].Ref != bom.Metadata.Component.BOMRef ||
		!slices.Equal(bom.Dependencies[0].DependsOn, []string{bin.BOMRef}) || bom.Dependencies[1].Ref != bin.BOMRef {
		t.Fatalf("dependencies: %+v", bom.Dependencies)
	}
	slices.Sort(want)
	if !slices.Equal(bom.Dependencies[1].DependsOn, want) {
		t.Errorf("the binary depends on %v, want %v", bom.Dependencies[1].DependsOn, want)
	}
}

func TestArchiveIsReproducible(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("itsm-connector", 0o755)
	write("plugins/itsm-connector-plugin-file", 0o755)
	write("README.md", 0o644)
	date := time.Unix(1_700_000_000, 0).UTC()
	a, b := filepath.Join(t.TempDir(), "a.tar.gz"), filepath.Join(t.TempDir(), "b.tar.gz")
	if err := archive(a, "itsm-connector_v1_linux_amd64", dir, date); err != nil {
		t.Fatal(err)
	}
	// The same tree with other file times gives the same bytes.
	if err := os.Chtimes(filepath.Join(dir, "README.md"), time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := archive(b, "itsm-connector_v1_linux_amd64", dir, date); err != nil {
		t.Fatal(err)
	}
	ra, _ := os.ReadFile(a)
	rb, _ := os.ReadFile(b)
	if !bytes.Equal(ra, rb) {
		t.Error("two archives of the same tree differ")
	}

	zr, err := gzip.NewReader(bytes.NewReader(ra))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(date) || h.Uid != 0 || h.Uname != "root" {
			t.Errorf("%s: time %v owner %d/%s", h.Name, h.ModTime, h.Uid, h.Uname)
		}
		got = append(got, h.Name+" "+strings.TrimLeft(os.FileMode(h.Mode).String(), "-"))
	}
	want := []string{
		"itsm-connector_v1_linux_amd64/ rwxr-xr-x",
		"itsm-connector_v1_linux_amd64/README.md rw-r--r--",
		"itsm-connector_v1_linux_amd64/itsm-connector rwxr-xr-x",
		"itsm-connector_v1_linux_amd64/plugins/ rwxr-xr-x",
		"itsm-connector_v1_linux_amd64/plugins/itsm-connector-plugin-file rwxr-xr-x",
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSumsAndPins(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"itsm-connector-plugin-jira", "itsm-connector-plugin-file", "README.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"pins", dir}, &out); err != nil {
		t.Fatal(err)
	}
	fileSum, _ := pluginhost.FileSHA256(filepath.Join(dir, "itsm-connector-plugin-file"))
	jiraSum, _ := pluginhost.FileSHA256(filepath.Join(dir, "itsm-connector-plugin-jira"))
	want := `plugin "file" { sha256 = "` + fileSum + `" }` + "\n" + `plugin "jira" { sha256 = "` + jiraSum + `" }` + "\n"
	if out.String() != want {
		t.Errorf("pins:\n%s\nwant:\n%s", out.String(), want)
	}

	sumsFile := filepath.Join(t.TempDir(), "SHA256SUMS")
	if err := run([]string{"sums", "-o", sumsFile, filepath.Join(dir, "itsm-connector-plugin-jira"), filepath.Join(dir, "itsm-connector-plugin-file")}, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(sumsFile)
	if want := fileSum + "  itsm-connector-plugin-file\n" + jiraSum + "  itsm-connector-plugin-jira\n"; string(got) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant (sha256sum's format, by name):\n%s", got, want)
	}

	if err := run([]string{"pins", t.TempDir()}, io.Discard); err == nil || !strings.Contains(err.Error(), "no itsm-connector-plugin-* binaries") {
		t.Errorf("pins of an empty directory: %v", err)
	}
	if err := run([]string{"sums", "file"}, io.Discard); err == nil || err.Error() != "sums: -o is required" {
		t.Errorf("sums without -o: %v", err)
	}
}

func TestImageContext(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"itsm-connector", "plugins/itsm-connector-plugin-file", "plugins/itsm-connector-plugin-rest"} {
		p := filepath.Join(bin, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := run([]string{"image-context", "-bin", bin, "-template", "../../../deploy/image/connector.hcl.tmpl", "-ca", ca, "-o", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(out, "rootfs")
	modes := map[string]string{
		"usr/local/bin/itsm-connector":                                    "-rwxr-xr-x",
		"usr/local/lib/itsm-connector/plugins/itsm-connector-plugin-file": "-rwxr-xr-x",
		"usr/local/lib/itsm-connector/checksums/rest.sha256":              "-rw-r--r--",
		"etc/itsm-connector/connector.hcl":                                "-rw-r--r--",
		"etc/ssl/certs/ca-certificates.crt":                               "-rw-r--r--",
		"etc/passwd":                                                      "-rw-r--r--",
		"tmp":                                                             "dtrwxrwxrwx",
		"var/lib":                                                         "drwxr-xr-x",
		"../data":                                                         "drwxr-x---",
	}
	for name, want := range modes {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().String() != want {
			t.Errorf("%s: mode %s, want %s", name, fi.Mode(), want)
		}
	}
	config, _ := os.ReadFile(filepath.Join(root, "etc/itsm-connector/connector.hcl"))
	restSum, _ := pluginhost.FileSHA256(filepath.Join(bin, "plugins/itsm-connector-plugin-rest"))
	for _, want := range []string{`plugin "rest" { sha256 = "` + restSum + `" }`, `plugin_dir = "/usr/local/lib/itsm-connector/plugins"`, `path   = "/var/lib/itsm-connector/connector.db"`} {
		if !strings.Contains(string(config), want) {
			t.Errorf("connector.hcl lacks %s:\n%s", want, config)
		}
	}
	if sum, _ := os.ReadFile(filepath.Join(root, "usr/local/lib/itsm-connector/checksums/rest.sha256")); string(sum) != restSum+"\n" {
		t.Errorf("rest.sha256 = %q, want %q", sum, restSum)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "itsm-connector:x:65532:65532:") {
		t.Errorf("passwd:\n%s", passwd)
	}
}
