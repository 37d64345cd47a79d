//go:build unix

package pluginhost

import (
	"io/fs"
	"os"
	"syscall"
)

// ownerOf returns the user id owning fi.
func ownerOf(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// hostUID is the user the host runs as.
func hostUID() int { return os.Geteuid() }
