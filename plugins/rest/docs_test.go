package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsShowTheExamples checks that every backend and route block in
// docs/plugins/rest.md is, verbatim, a block of one of the example files,
// which the other tests run: the documented configurations are tested ones.
func TestDocsShowTheExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "plugins", "rest.md"))
	if err != nil {
		t.Fatal(err)
	}
	var examples strings.Builder
	for _, style := range []string{"events", "alerts", "tickets", "tracker"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "rest", style, "connector.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		examples.Write(b)
	}
	fence := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	block := regexp.MustCompile(`(?ms)^(?:backend|route) ".*?^}\n`)
	n := 0
	for _, m := range fence.FindAllStringSubmatch(string(doc), -1) {
		for _, b := range block.FindAllString(m[1], -1) {
			n++
			if !strings.Contains(examples.String(), b) {
				t.Errorf("this block of docs/plugins/rest.md is not in examples/rest/*/connector.hcl:\n%s", b)
			}
		}
	}
	if n < 7 {
		t.Errorf("found %d backend and route blocks in the docs; want the examples' 4 backends and 3 route sets", n)
	}
}
