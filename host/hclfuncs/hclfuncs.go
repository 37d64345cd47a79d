// Package hclfuncs holds the functions available in connector.hcl: the
// per-alert set (routes, fields, per-alert plugin attributes) and the
// load-time set, which adds env() and file().
//
// Both sets share the same string, collection, numeric, encoding and
// conversion functions (from go-cty's stdlib, with Terraform-like names)
// plus startswith, endswith, strcontains, try and can. The per-alert set
// answers env() and file() with an error that explains they exist only
// while the configuration loads, so a misplaced call fails `validate` with
// a clear message instead of "unknown function".
package hclfuncs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// PerAlert returns the functions available in per-alert expressions: a
// route's when, correlation_key and fields, and plugin attributes the
// plugin's schema marks per-alert. The map is new on every call; build an
// hcl.EvalContext from it once and reuse it.
func PerAlert() map[string]function.Function {
	fs := common()
	fs["env"] = loadTimeOnly("env")
	fs["file"] = loadTimeOnly("file")
	return fs
}

// LoadTime returns the functions available while connector.hcl loads (host
// blocks and backend config bodies): the per-alert set plus env(NAME),
// which reads an environment variable, and file(PATH), which reads a file
// relative to dir with trailing newlines trimmed.
func LoadTime(dir string) map[string]function.Function {
	fs := common()
	fs["env"] = EnvFunc
	fs["file"] = MakeFileFunc(dir)
	return fs
}

// EnvFunc is env(NAME): the value of an environment variable. An unset
// variable is an error (a missing secret must not become an empty
// password); wrap it in try(env("X"), "default") to make it optional. An
// empty but set variable is returned as "".
var EnvFunc = function.New(&function.Spec{
	Description: "Returns the value of the named environment variable; an error when it is not set.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		name := args[0].AsString()
		if name == "" {
			return cty.NilVal, errors.New("the variable name is empty")
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return cty.NilVal, fmt.Errorf("environment variable %s is not set (use try(env(%q), \"default\") to make it optional)", name, name)
		}
		return cty.StringVal(v), nil
	},
})

// MakeFileFunc returns file(PATH): the contents of a UTF-8 text file, with
// trailing newlines (\n or \r\n) trimmed so secrets written by `echo` work.
// A relative PATH resolves from dir, the configuration file's directory.
func MakeFileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file relative to the configuration's directory, trailing newlines trimmed.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if p == "" {
				return cty.NilVal, errors.New("the path is empty")
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, fmt.Errorf("reading %s: %w", p, err)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, fmt.Errorf("%s is not UTF-8 text", p)
			}
			return cty.StringVal(strings.TrimRight(string(b), "\r\n")), nil
		},
	})
}

// loadTimeOnly is the per-alert stand-in for env and file. It fails while
// computing the return type, so the call fails at load time even when its
// argument depends on the alert.
func loadTimeOnly(name string) function.Function {
	return function.New(&function.Spec{
		Description: name + "() is available only while the configuration loads.",
		VarParam:    &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowNull: true, AllowUnknown: true, AllowDynamicType: true},
		Type: func([]cty.Value) (cty.Type, error) {
			return cty.NilType, fmt.Errorf("%s() is available only while the configuration loads (server, auth, store and backend config blocks), not in per-alert expressions such as a route's when, correlation_key or fields", name)
		},
	})
}

// common is the function table both sets share.
func common() map[string]function.Function {
	return map[string]function.Function{
		// Strings.
		"chomp":        stdlib.ChompFunc,
		"endswith":     EndsWithFunc,
		"format":       stdlib.FormatFunc,
		"formatlist":   stdlib.FormatListFunc,
		"indent":       stdlib.IndentFunc,
		"join":         stdlib.JoinFunc,
		"lower":        stdlib.LowerFunc,
		"regex":        stdlib.RegexFunc,
		"regexall":     stdlib.RegexAllFunc,
		"regexreplace": stdlib.RegexReplaceFunc,
		"replace":      stdlib.ReplaceFunc,
		"split":        stdlib.SplitFunc,
		"startswith":   StartsWithFunc,
		"strcontains":  StrContainsFunc,
		"strlen":       stdlib.StrlenFunc,
		"strrev":       stdlib.ReverseFunc,
		"substr":       stdlib.SubstrFunc,
		"title":        stdlib.TitleFunc,
		"trim":         stdlib.TrimFunc,
		"trimprefix":   stdlib.TrimPrefixFunc,
		"trimspace":    stdlib.TrimSpaceFunc,
		"trimsuffix":   stdlib.TrimSuffixFunc,
		"upper":        stdlib.UpperFunc,
		// Collections.
		"chunklist":    stdlib.ChunklistFunc,
		"coalesce":     stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc,
		"compact":      stdlib.CompactFunc,
		"concat":       stdlib.ConcatFunc,
		"contains":     stdlib.ContainsFunc,
		"distinct":     stdlib.DistinctFunc,
		"element":      stdlib.ElementFunc,
		"flatten":      stdlib.FlattenFunc,
		"index":        stdlib.IndexFunc,
		"keys":         stdlib.KeysFunc,
		"length":       stdlib.LengthFunc,
		"lookup":       stdlib.LookupFunc,
		"merge":        stdlib.MergeFunc,
		"range":        stdlib.RangeFunc,
		"reverse":      stdlib.ReverseListFunc,
		"setunion":     stdlib.SetUnionFunc,
		"slice":        stdlib.SliceFunc,
		"sort":         stdlib.SortFunc,
		"values":       stdlib.ValuesFunc,
		"zipmap":       stdlib.ZipmapFunc,
		// Numbers.
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,
		// Encoding and time.
		"csvdecode":    stdlib.CSVDecodeFunc,
		"formatdate":   stdlib.FormatDateFunc,
		"jsondecode":   stdlib.JSONDecodeFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"timeadd":      stdlib.TimeAddFunc,
		"urlencode":    URLEncodeFunc,
		"base64encode": Base64EncodeFunc,
		"base64decode": Base64DecodeFunc,
		"sha256":       SHA256Func,
		// Conversion.
		"tobool":   stdlib.MakeToFunc(cty.Bool),
		"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber": stdlib.MakeToFunc(cty.Number),
		"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring": stdlib.MakeToFunc(cty.String),
		// Error handling.
		"can": tryfunc.CanFunc,
		"try": tryfunc.TryFunc,
	}
}

// URLEncodeFunc is urlencode(STR): STR escaped for a URL query.
var URLEncodeFunc = stringTransform("Escapes the string for use in a URL query.", func(s string) (string, error) {
	return url.QueryEscape(s), nil
})

// Base64EncodeFunc is base64encode(STR): the standard base64 of STR's UTF-8 bytes.
var Base64EncodeFunc = stringTransform("Encodes the string's UTF-8 bytes in standard base64.", func(s string) (string, error) {
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
})

// Base64DecodeFunc is base64decode(STR): the text STR encodes in standard base64.
var Base64DecodeFunc = stringTransform("Decodes standard base64 into a UTF-8 string.", func(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("not valid base64: %w", err)
	}
	if !utf8.Valid(b) {
		return "", errors.New("the decoded bytes are not UTF-8 text")
	}
	return string(b), nil
})

// SHA256Func is sha256(STR): the lowercase hex SHA-256 of STR, e.g. to bound
// a long correlation key where an API limits its length.
var SHA256Func = stringTransform("Returns the lowercase hex SHA-256 digest of the string.", func(s string) (string, error) {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
})

func stringTransform(desc string, f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params:      []function.Parameter{{Name: "str", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			out, err := f(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(out), nil
		},
	})
}

// StartsWithFunc is startswith(STR, PREFIX).
var StartsWithFunc = stringPredicate("Reports whether the string begins with the prefix.", "prefix", strings.HasPrefix)

// EndsWithFunc is endswith(STR, SUFFIX).
var EndsWithFunc = stringPredicate("Reports whether the string ends with the suffix.", "suffix", strings.HasSuffix)

// StrContainsFunc is strcontains(STR, SUBSTR).
var StrContainsFunc = stringPredicate("Reports whether the string contains the substring.", "substr", strings.Contains)

func stringPredicate(desc, second string, f func(s, x string) bool) function.Function {
	return function.New(&function.Spec{
		Description: desc,
		Params: []function.Parameter{
			{Name: "str", Type: cty.String},
			{Name: second, Type: cty.String},
		},
		Type:         function.StaticReturnType(cty.Bool),
		RefineResult: func(b *cty.RefinementBuilder) *cty.RefinementBuilder { return b.NotNull() },
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}
