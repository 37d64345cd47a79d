package pluginhost

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkReplaceable explains how someone other than the connector's user
// or root could replace what is at path (a plugin binary or a directory
// holding one): it is group- or world-writable, or owned by another user.
// mode and uid describe it; hostUID is the connector's user, -1 to skip
// the owner check. nil means only the connector's user or root can.
func checkReplaceable(path string, mode fs.FileMode, uid, hostUID int) error {
	what := "plugin binary"
	if mode.IsDir() {
		what = "plugin directory"
	}
	switch {
	case mode.Perm()&0o002 != 0:
		return fmt.Errorf("the %s %s is world-writable (mode %s): anyone could replace the plugin. Run: chmod go-w %s", what, path, mode, path)
	case mode.Perm()&0o020 != 0:
		return fmt.Errorf("the %s %s is group-writable (mode %s): any member of its group could replace the plugin. Run: chmod go-w %s", what, path, mode, path)
	case hostUID >= 0 && uid != hostUID && uid != 0:
		return fmt.Errorf("the %s %s is owned by uid %d, neither root nor the connector's user (uid %d): that user could replace the plugin. Run: chown root %s", what, path, uid, hostUID, path)
	}
	return nil
}

// checkPluginFiles applies checkReplaceable to the binary at path (after
// symbolic links) and to the directories that hold it.
func checkPluginFiles(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	paths := []string{real, filepath.Dir(real)}
	if d := filepath.Dir(path); d != filepath.Dir(real) {
		paths = append(paths, d)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		uid, ok := ownerOf(fi)
		owner := hostUID()
		if !ok {
			owner = -1
		}
		if err := checkReplaceable(p, fi.Mode(), uid, owner); err != nil {
			return err
		}
	}
	return nil
}
