//go:build !linux

package pluginhost

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// privateCopy copies the binary at path into a new directory only the
// host's user can change (0711, so that a plugin's run_as user can still
// execute the copy), hashing the bytes as they are copied, so that the
// file executed is the one hashed. Its close removes the directory once
// the process has started.
func privateCopy(path string) (*executable, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "itsm-connector-plugin-")
	if err != nil {
		return nil, fmt.Errorf("create a private copy of %s: %w", path, err)
	}
	done := func() { os.RemoveAll(dir) }
	if err := os.Chmod(dir, 0o711); err != nil {
		done()
		return nil, fmt.Errorf("create a private copy of %s: %w", path, err)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		done()
		return nil, fmt.Errorf("create a private copy of %s: %w", path, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		done()
		return nil, fmt.Errorf("copy %s: %w", path, err)
	}
	return &executable{path: dst, sum: h.Sum(nil), close: done}, nil
}
