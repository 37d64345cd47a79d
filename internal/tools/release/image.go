package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// The container image's user: a numeric, non-root user and group with no
// login shell. Kubernetes' runAsNonRoot needs a numeric USER to verify it.
const (
	imageUID  = 65532
	imageUser = "itsm-connector"
)

// Paths inside the image (docs/operations.md, "Containers and Kubernetes").
const (
	imageHost      = "usr/local/bin/itsm-connector"
	imagePluginDir = "usr/local/lib/itsm-connector/plugins"
	imageChecksums = "usr/local/lib/itsm-connector/checksums" // <name>.sha256, read by file() in the Kubernetes config
	imageConfig    = "etc/itsm-connector/connector.hcl"
	imageCA        = "etc/ssl/certs/ca-certificates.crt"
	imageDataDir   = "var/lib/itsm-connector" // WORKDIR, owned by imageUID (the Containerfile's second COPY)
)

// imageContext writes the build context of the Containerfile to out:
// rootfs/ (copied to / owned by root) and data/ (copied to /var/lib/itsm-connector
// owned by the image user). bin holds the static host binary and plugins/.
// The example configuration is tmpl rendered with the plugins' checksums
// (.Plugins: name and SHA256 of each, .PluginDir, .DataDir).
func imageContext(bin, tmpl, ca, out string) error {
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	root := filepath.Join(out, "rootfs")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(out, "data"), 0o750},
		{filepath.Join(root, "tmp"), 0o777 | os.ModeSticky}, // go-plugin's sockets
		{filepath.Join(root, imagePluginDir), 0o755},
		{filepath.Join(root, imageChecksums), 0o755},
		{filepath.Join(root, filepath.Dir(imageConfig)), 0o755},
		{filepath.Join(root, filepath.Dir(imageCA)), 0o755},
		{filepath.Join(root, filepath.Dir(imageHost)), 0o755},
		{filepath.Join(root, filepath.Dir(imageDataDir)), 0o755},
	} {
		if err := os.MkdirAll(d.path, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.mode); err != nil { // whatever the umask
			return err
		}
	}

	if err := copyFile(filepath.Join(bin, "itsm-connector"), filepath.Join(root, imageHost), 0o755); err != nil {
		return err
	}
	pins, err := pluginPins(filepath.Join(bin, "plugins"))
	if err != nil {
		return err
	}
	for _, p := range pins {
		name := pluginPrefix + p.Name
		if err := copyFile(filepath.Join(bin, "plugins", name), filepath.Join(root, imagePluginDir, name), 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(root, imageChecksums, p.Name+".sha256"), []byte(p.SHA256+"\n"), 0o644); err != nil {
			return err
		}
	}
	config, err := renderConfig(tmpl, pins)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(root, imageConfig), config, 0o644); err != nil {
		return err
	}
	if err := copyFile(ca, filepath.Join(root, imageCA), 0o644); err != nil {
		return fmt.Errorf("CA certificates (install Debian's ca-certificates or pass -ca): %w", err)
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/%s:/sbin/nologin\n", imageUser, imageUID, imageUID, imageUser, imageDataDir)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", imageUser, imageUID)
	if err := writeFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	return writeFile(filepath.Join(root, "etc/group"), []byte(group), 0o644)
}

// renderConfig renders the image's example configuration template.
func renderConfig(path string, pins []pin) ([]byte, error) {
	t, err := template.New(filepath.Base(path)).Option("missingkey=error").ParseFiles(path)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{
		"Plugins":   pins,
		"PluginDir": "/" + imagePluginDir,
		"DataDir":   "/" + imageDataDir,
	})
	return b.Bytes(), err
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return writeFile(to, b, mode)
}

// writeFile writes a file with exactly mode, whatever the umask.
func writeFile(path string, b []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}
