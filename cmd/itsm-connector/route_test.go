package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRouteEverySample runs the `route` dry run of the annotated example
// configuration over every Microsoft sample payload: each one decodes, and
// the printed routes, backends, keys and fields match the golden file.
func TestRouteEverySample(t *testing.T) {
	samples, err := filepath.Glob("../../host/commonschema/testdata/*.json")
	if err != nil || len(samples) < 15 {
		t.Fatalf("found %d samples: %v", len(samples), err)
	}
	var out, errOut bytes.Buffer
	args := append([]string{"route", "-config", "../../connector.hcl.example"}, samples...)
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("route exited %d:\n%s%s", code, errOut.String(), out.String())
	}
	golden := "testdata/route/samples.golden"
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("route output differs from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}
