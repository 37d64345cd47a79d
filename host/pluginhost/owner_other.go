//go:build !unix

package pluginhost

import "io/fs"

// ownerOf reports no owner where files have no Unix owner; only the mode
// is checked there.
func ownerOf(fs.FileInfo) (uid int, ok bool) { return 0, false }

// hostUID is the user the host runs as; -1 where there is none.
func hostUID() int { return -1 }
