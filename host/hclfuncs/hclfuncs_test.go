package hclfuncs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func eval(t *testing.T, src string, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse %q: %v", src, diags)
	}
	return expr.Value(ctx)
}

func TestFunctions(t *testing.T) {
	t.Setenv("ITSM_HCLFUNCS_TEST", "from-env")
	t.Setenv("ITSM_HCLFUNCS_EMPTY", "")
	dir, _ := filepath.Abs("testdata")
	perAlert := &hcl.EvalContext{Functions: PerAlert(), Variables: map[string]cty.Value{
		"alert": cty.ObjectVal(map[string]cty.Value{"severity": cty.NullVal(cty.Number), "rg": cty.StringVal("prod-web")}),
	}}
	loadTime := &hcl.EvalContext{Functions: LoadTime(dir)}
	tests := []struct {
		name string
		ctx  *hcl.EvalContext
		src  string
		want cty.Value
		err  string // substring of the error; empty for success
	}{
		{"startswith", perAlert, `startswith(alert.rg, "prod-")`, cty.True, ""},
		{"startswith false", perAlert, `startswith(alert.rg, "dev-")`, cty.False, ""},
		{"endswith", perAlert, `endswith(alert.rg, "-web")`, cty.True, ""},
		{"strcontains", perAlert, `strcontains(alert.rg, "od-w")`, cty.True, ""},
		{"stdlib string", perAlert, `upper(format("%s!", alert.rg))`, cty.StringVal("PROD-WEB!"), ""},
		{"stdlib collection", perAlert, `length(concat(["a"], ["b", "c"]))`, cty.NumberIntVal(3), ""},
		{"stdlib numeric", perAlert, `max(1, 5, 3)`, cty.NumberIntVal(5), ""},
		{"stdlib encoding", perAlert, `jsonencode({a = 1})`, cty.StringVal(`{"a":1}`), ""},
		{"conversion", perAlert, `tostring(12)`, cty.StringVal("12"), ""},
		{"urlencode", perAlert, `urlencode("a b&c=d/é")`, cty.StringVal("a+b%26c%3Dd%2F%C3%A9"), ""},
		{"base64encode", perAlert, `base64encode("user:pass")`, cty.StringVal("dXNlcjpwYXNz"), ""},
		{"base64decode", perAlert, `base64decode("dXNlcjpwYXNz")`, cty.StringVal("user:pass"), ""},
		{"base64decode invalid", perAlert, `base64decode("%%%")`, cty.NilVal, "not valid base64"},
		{"sha256", perAlert, `sha256("abc")`, cty.StringVal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), ""},
		{"try falls back on a failing expression", perAlert, `try(alert.severity <= 1, false)`, cty.False, ""},
		{"can", perAlert, `can(alert.severity <= 1)`, cty.False, ""},
		{"env is load-time only", perAlert, `env("ITSM_HCLFUNCS_TEST")`, cty.NilVal, "only while the configuration loads"},
		{"file is load-time only", perAlert, `file("secret.txt")`, cty.NilVal, "only while the configuration loads"},
		{"env per alert fails even with an unknown argument", perAlert, `env(alert.rg)`, cty.NilVal, "only while the configuration loads"},
		{"env", loadTime, `env("ITSM_HCLFUNCS_TEST")`, cty.StringVal("from-env"), ""},
		{"env empty but set", loadTime, `env("ITSM_HCLFUNCS_EMPTY")`, cty.StringVal(""), ""},
		{"env unset", loadTime, `env("ITSM_HCLFUNCS_NEVER_SET")`, cty.NilVal, "ITSM_HCLFUNCS_NEVER_SET is not set"},
		{"env unset with try", loadTime, `try(env("ITSM_HCLFUNCS_NEVER_SET"), "fallback")`, cty.StringVal("fallback"), ""},
		{"file relative, trailing newlines trimmed", loadTime, `file("secret.txt")`, cty.StringVal("line one\nsecret"), ""},
		{"file absolute", loadTime, `file("` + filepath.Join(dir, "secret.txt") + `")`, cty.StringVal("line one\nsecret"), ""},
		{"file missing", loadTime, `file("nope.txt")`, cty.NilVal, "nope.txt"},
		{"load-time set has the common functions", loadTime, `startswith(lower("ABC"), "a")`, cty.True, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := eval(t, tc.src, tc.ctx)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
					t.Fatalf("want an error containing %q, got %v (%#v)", tc.err, diags, got)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !got.RawEquals(tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestFileRejectsBinary(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bin"), []byte{0xff, 0xfe, 0x00}, 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags := eval(t, `file("bin")`, &hcl.EvalContext{Functions: LoadTime(dir)})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "not UTF-8") {
		t.Errorf("want a UTF-8 error, got %v", diags)
	}
}

func TestSetsAgree(t *testing.T) {
	per, load := PerAlert(), LoadTime(".")
	if len(per) != len(load) {
		t.Errorf("per-alert set has %d functions, load-time set %d", len(per), len(load))
	}
	for name := range per {
		if _, ok := load[name]; !ok {
			t.Errorf("%s is per-alert but not load-time", name)
		}
	}
}
