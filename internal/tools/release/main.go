// Command release assembles what `make image` and `make release` ship: the
// container image's root file system, reproducible tar.gz archives,
// SHA256SUMS, a CycloneDX SBOM read from the binaries' Go build information,
// and the plugin blocks to paste into a configuration.
//
//	release image-context -bin DIR -template FILE -ca FILE -o DIR
//	release archive -o FILE.tar.gz -prefix NAME DIR
//	release sbom -o FILE -name NAME -version VERSION BINARY...
//	release sums -o FILE FILE...
//	release pins DIR
//
// File times come from SOURCE_DATE_EPOCH (Unix seconds; 0 when unset), so
// the same inputs give the same bytes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/pluginhost"
)

// pluginPrefix starts every plugin binary's name (pluginhost.BinaryPrefix).
const pluginPrefix = "itsm-connector-plugin-"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: release image-context|archive|sbom|sums|pins [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	out := fs.String("o", "", "output `path`")
	switch args[0] {
	case "image-context":
		bin := fs.String("bin", "", "`dir` holding itsm-connector and plugins/")
		tmpl := fs.String("template", "", "connector.hcl `template`")
		ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle (`PEM`)")
		if err := parse(fs, args[1:], 0, "o", "bin", "template", "ca"); err != nil {
			return err
		}
		return imageContext(*bin, *tmpl, *ca, *out)
	case "archive":
		prefix := fs.String("prefix", "", "top directory `name` inside the archive")
		if err := parse(fs, args[1:], 1, "o", "prefix"); err != nil {
			return err
		}
		return archive(*out, *prefix, fs.Arg(0), sourceDate())
	case "sbom":
		name := fs.String("name", "itsm-connector", "product `name`")
		version := fs.String("version", "", "product `version`")
		if err := parse(fs, args[1:], -1, "o", "name", "version"); err != nil {
			return err
		}
		b, err := sbom(*name, *version, fs.Args(), sourceDate())
		if err != nil {
			return err
		}
		return os.WriteFile(*out, b, 0o644)
	case "sums":
		if err := parse(fs, args[1:], -1, "o"); err != nil {
			return err
		}
		return sums(*out, fs.Args())
	case "pins":
		if err := parse(fs, args[1:], 1); err != nil {
			return err
		}
		pins, err := pluginPins(fs.Arg(0))
		if err != nil {
			return err
		}
		for _, p := range pins {
			fmt.Fprintln(stdout, p.Block())
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// parse parses a subcommand's flags and checks that the flags named in
// required are set and that there are nargs arguments (-1: one or more).
func parse(fs *flag.FlagSet, args []string, nargs int, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, name := range required {
		if fs.Lookup(name).Value.String() == "" {
			return fmt.Errorf("%s: -%s is required", fs.Name(), name)
		}
	}
	switch {
	case nargs == -1 && fs.NArg() == 0:
		return fmt.Errorf("%s: no files named", fs.Name())
	case nargs >= 0 && fs.NArg() != nargs:
		return fmt.Errorf("%s: got %d arguments, want %d", fs.Name(), fs.NArg(), nargs)
	}
	return nil
}

// sourceDate is the time written into archives and the SBOM.
func sourceDate() time.Time {
	sec, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
	if err != nil {
		sec = 0
	}
	return time.Unix(sec, 0).UTC()
}

// pin is one plugin binary and its checksum.
type pin struct {
	Name   string // plugin name: the binary's name without pluginPrefix
	SHA256 string
}

// Block is the configuration block that pins the plugin.
func (p pin) Block() string {
	return fmt.Sprintf("plugin %q { sha256 = %q }", p.Name, p.SHA256)
}

// pluginPins returns every plugin binary in dir with its checksum, by name.
func pluginPins(dir string) ([]pin, error) {
	bins, err := filepath.Glob(filepath.Join(dir, pluginPrefix+"*"))
	if err != nil {
		return nil, err
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no %s* binaries in %s", pluginPrefix, dir)
	}
	slices.Sort(bins)
	pins := make([]pin, 0, len(bins))
	for _, b := range bins {
		sum, err := pluginhost.FileSHA256(b)
		if err != nil {
			return nil, err
		}
		pins = append(pins, pin{Name: strings.TrimPrefix(filepath.Base(b), pluginPrefix), SHA256: sum})
	}
	return pins, nil
}

// sums writes out in sha256sum's format (`sha256sum -c` reads it), one line
// per file named by its base name, sorted by name.
func sums(out string, files []string) error {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	var b strings.Builder
	for _, f := range files {
		sum, err := pluginhost.FileSHA256(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, filepath.Base(f))
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
