package pluginhost

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
)

var update = flag.Bool("update", false, "rewrite golden files")

// parsed is an HCL source with its backend blocks, decoded the way
// host/config does: the `config {}` body is kept raw.
type parsed struct {
	files    map[string]*hcl.File
	backends []*config.Backend
}

// parseBackends parses src (named filename) and returns its backend blocks.
func parseBackends(t testing.TB, filename, src string) parsed {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), filename, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", filename, diags.Error())
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "backend", LabelNames: []string{"type", "name"}},
	}})
	if diags.HasErrors() {
		t.Fatalf("decode %s: %s", filename, diags.Error())
	}
	p := parsed{files: map[string]*hcl.File{filename: f}}
	for _, b := range content.Blocks {
		inner, diags := b.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "config"}}})
		if diags.HasErrors() {
			t.Fatalf("decode backend: %s", diags.Error())
		}
		be := &config.Backend{Type: b.Labels[0], Name: b.Labels[1], Range: b.DefRange, ConfigRange: b.DefRange, Config: hcl.EmptyBody()}
		if cfgs := inner.Blocks.OfType("config"); len(cfgs) > 0 {
			be.Config = cfgs[0].Body
			be.ConfigRange = cfgs[0].DefRange
		}
		p.backends = append(p.backends, be)
	}
	return p
}

// render prints diagnostics the way `validate` does: file, line, snippet.
func (p parsed) render(t testing.TB, diags hcl.Diagnostics) string {
	t.Helper()
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, p.files, 0, false)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// golden compares got with testdata/<name>, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// loadContext is the load-time evaluation context host/config builds.
func loadContext(dir string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: hclfuncs.LoadTime(dir)}
}
