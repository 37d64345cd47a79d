package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/pluginhost"
)

// The SBOM is CycloneDX 1.5 JSON (https://cyclonedx.org/docs/1.5/json/):
// the product as metadata.component, each binary as an application with its
// SHA-256 and Go build settings, each Go module compiled into a binary as a
// library with its package URL, the Go standard library as pkg:golang/stdlib,
// and the dependency graph binary -> modules. Everything comes from the
// binaries' own build information (`go version -m`), so it lists what was
// linked, not what go.mod lists.

type cdxBOM struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	SerialNumber string          `json:"serialNumber"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Timestamp string       `json:"timestamp"`
	Component cdxComponent `json:"component"`
}

type cdxComponent struct {
	Type       string        `json:"type"`
	BOMRef     string        `json:"bom-ref"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Hashes     []cdxHash     `json:"hashes,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxHash struct {
	Alg     string `json:"alg"`
	Content string `json:"content"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

// buildSettings are the `go version -m` settings recorded per binary.
var buildSettings = []string{"GOOS", "GOARCH", "CGO_ENABLED", "-trimpath", "-ldflags", "vcs.revision", "vcs.time", "vcs.modified"}

// sbom returns the CycloneDX document of the binaries of product name at
// version.
func sbom(name, version string, binaries []string, date time.Time) ([]byte, error) {
	product := cdxComponent{Type: "application", BOMRef: name + "@" + version, Name: name, Version: version}
	bom := cdxBOM{
		BOMFormat:   "CycloneDX",
		SpecVersion: "1.5",
		Version:     1,
		Metadata:    cdxMetadata{Timestamp: date.Format(time.RFC3339), Component: product},
	}
	libs := map[string]cdxComponent{}
	var productDeps []string
	for _, path := range binaries {
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sum, err := pluginhost.FileSHA256(path)
		if err != nil {
			return nil, err
		}
		bin := cdxComponent{
			Type:       "application",
			BOMRef:     "file:" + filepath.Base(path),
			Name:       filepath.Base(path),
			Version:    version,
			Hashes:     []cdxHash{{Alg: "SHA-256", Content: sum}},
			Properties: []cdxProperty{{Name: "go:main", Value: info.Path}},
		}
		for _, s := range info.Settings {
			if slices.Contains(buildSettings, s.Key) {
				bin.Properties = append(bin.Properties, cdxProperty{Name: "go:build:" + s.Key, Value: s.Value})
			}
		}
		stdlib := goModule("stdlib", info.GoVersion)
		deps := []string{stdlib.BOMRef}
		libs[stdlib.BOMRef] = stdlib
		for _, d := range info.Deps {
			// A replacement by another module version names that version. A
			// replacement by a directory (the SDK's `=> ./sdk`) has none
			// ("(devel)"): the module keeps the version it is required at,
			// which its release tag names (sdk/vX.Y.Z).
			if d.Replace != nil && d.Replace.Version != "" && !strings.HasPrefix(d.Replace.Version, "(") {
				d = d.Replace
			}
			if strings.HasPrefix(d.Version, "(") || d.Version == "" { // no version to name
				continue
			}
			lib := goModule(d.Path, d.Version)
			libs[lib.BOMRef] = lib
			deps = append(deps, lib.BOMRef)
		}
		slices.Sort(deps)
		bom.Components = append(bom.Components, bin)
		bom.Dependencies = append(bom.Dependencies, cdxDependency{Ref: bin.BOMRef, DependsOn: deps})
		productDeps = append(productDeps, bin.BOMRef)
	}
	refs := make([]string, 0, len(libs))
	for ref := range libs {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		bom.Components = append(bom.Components, libs[ref])
	}
	bom.Dependencies = append([]cdxDependency{{Ref: product.BOMRef, DependsOn: productDeps}}, bom.Dependencies...)
	bom.SerialNumber = serialNumber(bom)
	return json.MarshalIndent(bom, "", "  ")
}

// goModule is a Go module as a library component.
func goModule(path, version string) cdxComponent {
	purl := goPURL(path, version)
	return cdxComponent{Type: "library", BOMRef: purl, Name: path, Version: version, PURL: purl}
}

// goPURL is the package URL of a Go module (pkg:golang/<path>@<version>):
// the path keeps its slashes, and characters outside the unreserved set are
// percent-encoded (v2.0.0+incompatible becomes v2.0.0%2Bincompatible).
func goPURL(path, version string) string {
	return "pkg:golang/" + purlEscape(path, "/") + "@" + purlEscape(version, "")
}

func purlEscape(s, keep string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// serialNumber is a UUID (version 5 layout) taken from the document's
// content, so the same binaries give the same serial number.
func serialNumber(bom cdxBOM) string {
	b, _ := json.Marshal(bom) // plain structs: cannot fail
	h := sha256.Sum256(b)
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
