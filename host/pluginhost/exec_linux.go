package pluginhost

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// childExecPath is the memory file as the child sees it: the first of
// exec.Cmd's ExtraFiles is the child's descriptor 3.
const childExecPath = "/proc/self/fd/3"

// sealedSeals forbid any change to a memory file's contents and its seals.
const sealedSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// privateCopy copies the binary at path into a sealed anonymous memory
// file (memfd), hashing the bytes as they are copied. The child gets that
// memory file as its descriptor 3 and executes /proc/self/fd/3: exactly the
// bytes hashed, whatever happens to path afterwards, and the seals keep
// every process, the host's user included, from changing them. The
// descriptor stays open across the exec so that a script's interpreter
// (a plugin starting with #!) can read the same bytes. Its close releases
// the host's descriptor once the process has started.
func privateCopy(path string) (*executable, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	// The name shows in /proc/<pid>/exe: "/memfd:itsm-connector-plugin-x (deleted)".
	name := filepath.Base(path)
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 6.3 do not know MFD_EXEC; their memory files are
		// executable anyway.
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("create a private in-memory copy (memfd_create): %w; the kernel must allow executable memory files (sysctl vm.memfd_noexec = 0 or 1)", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:"+path)
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(mem, h), src); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy %s: %w", path, err)
	}
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, sealedSeals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal the private copy of %s: %w", path, err)
	}
	return &executable{
		path:  childExecPath,
		files: []*os.File{mem},
		sum:   h.Sum(nil),
		close: func() { mem.Close() },
	}, nil
}
