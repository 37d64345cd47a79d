package config

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// docsRoot is the repository, whose README.md and docs/**/*.md hold the
// configuration snippets operators copy.
const docsRoot = "../.."

// docSnippet is one HCL snippet of a document.
type docSnippet struct {
	file string
	line int // of its first line
	text string
}

// inlineBlock matches an inline code span that is a whole one-line block
// setting an attribute, such as `store { driver = "sqlite" }` or
// `plugin "x" { sha256 = "…" }`. Spans that only name attributes, as
// `tls { ca_cert insecure_skip_verify }` in a table of attributes, are
// prose, not snippets.
var inlineBlock = regexp.MustCompile("`([a-z_]+(?: \"[^\"`]*\")* \\{[^`=]*=[^`]*\\})`")

// hclSnippets returns the HCL of a Markdown document: each fenced block
// whose info string starts with "hcl", and each inline code span that is
// a one-line block setting an attribute. A fence marked "hcl partial" is skipped: it shows a
// fragment on purpose (an elided value, a lone expression). Attribute-only
// snippets need no mark: a body may hold attributes alone.
func hclSnippets(t *testing.T, path string) []docSnippet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []docSnippet
		inFence bool
		isHCL   bool
		cur     docSnippet
		body    []string
		fence   string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !inFence {
			if strings.HasPrefix(trimmed, "```") {
				inFence, fence = true, line[:strings.Index(line, "```")]
				info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
				isHCL = len(info) > 0 && info[0] == "hcl" && !(len(info) > 1 && info[1] == "partial")
				cur, body = docSnippet{file: path, line: n + 1}, nil
				continue
			}
			for _, m := range inlineBlock.FindAllStringSubmatch(line, -1) {
				out = append(out, docSnippet{file: path, line: n, text: m[1]})
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			inFence = false
			if isHCL {
				cur.text = strings.Join(body, "\n") + "\n"
				out = append(out, cur)
			}
			continue
		}
		body = append(body, strings.TrimPrefix(line, fence)) // fences indented in a list
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDocsHCLParses parses every HCL snippet of README.md and
// docs/**/*.md, so that none an operator copies is invalid HCL (such as
// two attributes on one line: `store { driver = "sqlite" path = "c.db" }`).
// It checks the syntax only: snippets leave out the blocks around them.
func TestDocsHCLParses(t *testing.T) {
	files := []string{filepath.Join(docsRoot, "README.md")}
	err := filepath.WalkDir(filepath.Join(docsRoot, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, f := range files {
		for _, s := range hclSnippets(t, f) {
			count++
			_, diags := hclsyntax.ParseConfig([]byte(s.text), s.file, hcl.Pos{Line: s.line, Column: 1, Byte: 0})
			if diags.HasErrors() {
				t.Errorf("%s:%d: the HCL snippet does not parse (mark a deliberate fragment ```hcl partial): %s\n%s",
					s.file, s.line, DiagnosticsText(diags), s.text)
			}
		}
	}
	if count < 20 {
		t.Errorf("found %d HCL snippets; the extraction is broken", count)
	}
}
