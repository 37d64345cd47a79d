package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
)

// BinaryPrefix starts the file name of every plugin binary:
// itsm-connector-plugin-<name>.
const BinaryPrefix = "itsm-connector-plugin-"

// binary is a plugin executable found and checked.
type binary struct {
	name string
	path string
	// sum is the expected SHA-256; nil in dev mode without a sha256.
	sum []byte
	// attr starts the process as the plugin block's run_as account; nil
	// runs it as the host's user.
	attr *syscall.SysProcAttr
}

// findBinary locates the plugin `name` and verifies its checksum. block is
// the `plugin "<name>" {}` block, nil when the configuration has none;
// subject is where a diagnostic points when there is no block.
func (h *Host) findBinary(name string, block *config.Plugin, subject *hcl.Range) (*binary, hcl.Diagnostics) {
	var candidates []string
	if block != nil && block.Path != "" {
		candidates = append(candidates, block.Path)
	} else if h.opts.PluginDir != "" {
		candidates = append(candidates, filepath.Join(h.opts.PluginDir, BinaryPrefix+name))
	}
	if block != nil {
		subject = block.Range.Ptr()
	}
	if len(candidates) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No plugin directory",
			Detail:   fmt.Sprintf("Cannot look for plugin %q: plugin_dir is not set and its plugin block has no path. Set plugin_dir, or path in plugin %q {}.", name, name),
			Subject:  subject,
		}}
	}
	var path string
	var problems []string
	for _, c := range candidates {
		if err := checkExecutable(c); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		path = c
		break
	}
	if path == "" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plugin binary not found",
			Detail: fmt.Sprintf("Plugin %q must be an executable file named %s%s; looked for:\n  %s",
				name, BinaryPrefix, name, strings.Join(problems, "\n  ")),
			Subject: subject,
		}}
	}

	if !h.opts.Dev {
		if err := checkPluginFiles(path); err != nil {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Plugin binary not protected",
				Detail:   fmt.Sprintf("Plugin %q: %s. Outside dev mode only root or the connector's user may be able to change a plugin binary and its directory; the plugin is not started.", name, err),
				Subject:  subject,
			}}
		}
	}
	var attr *syscall.SysProcAttr
	if block != nil {
		var err error
		if attr, err = runAsAttr(block.RunAs, hostUID()); err != nil {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid plugin run_as",
				Detail:   fmt.Sprintf("Plugin %q: %s.", name, err),
				Subject:  subject,
			}}
		}
	}
	actual, err := FileSHA256(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read plugin binary",
			Detail:   fmt.Sprintf("Plugin %q at %s: %s", name, path, err),
			Subject:  subject,
		}}
	}
	want := ""
	if block != nil {
		want = strings.ToLower(strings.TrimSpace(block.SHA256))
	}
	if want == "" {
		if h.opts.Dev {
			return &binary{name: name, path: path, attr: attr}, nil
		}
		what := fmt.Sprintf("The plugin %q block has no sha256", name)
		if block == nil {
			what = fmt.Sprintf("There is no plugin %q block", name)
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plugin checksum required",
			Detail: fmt.Sprintf("%s. Outside dev mode every plugin binary is verified before it runs. If %s is the binary you trust, add:\n\n  plugin %q {\n    sha256 = %q\n  }",
				what, path, name, actual),
			Subject: subject,
		}}
	}
	sum, err := hex.DecodeString(want)
	if err != nil || len(sum) != sha256.Size {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid plugin checksum",
			Detail:   fmt.Sprintf("The sha256 of plugin %q must be 64 hexadecimal digits, as printed by sha256sum.", name),
			Subject:  subject,
		}}
	}
	if want != actual {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Plugin checksum mismatch",
			Detail: fmt.Sprintf("The binary %s has sha256 %s, but the plugin %q block expects %s. The binary was replaced or the checksum is stale; the plugin is not started.",
				path, actual, name, want),
			Subject: subject,
		}}
	}
	return &binary{name: name, path: path, sum: sum, attr: attr}, nil
}

// checkExecutable explains why path cannot be run, or returns nil.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s (does not exist)", path)
	case err != nil:
		return fmt.Errorf("%s (%v)", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s (not a regular file)", path)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s (not executable)", path)
	}
	return nil
}

// FileSHA256 returns the lowercase hex SHA-256 of the file at path: the
// checksum a plugin block's sha256 pins and the host verifies before it
// starts the plugin (sha256sum prints the same).
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
