package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// watchMask: the changes to a directory's entries that can add, replace or
// remove a work item, and the directory itself going away.
const watchMask = syscall.IN_CREATE | syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_TO |
	syscall.IN_MOVED_FROM | syscall.IN_DELETE |
	syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_ONLYDIR

// lostTrack: events after which the watch no longer describes the
// directory (IN_IGNORED: the watch was removed, e.g. with the directory).
const lostTrack = syscall.IN_Q_OVERFLOW | syscall.IN_IGNORED | syscall.IN_UNMOUNT |
	syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF

// inotifyWatch watches one directory with Linux inotify. The kernel queues
// an event in the same system call that changes the directory, so a file
// another process added before a call began is always in the queue when
// that call reads it. It sees changes made through this kernel only, so
// newDirWatch refuses directories on network file systems, where other
// machines may write.
type inotifyWatch struct {
	fd      int
	buf     []byte
	cleanup runtime.Cleanup
}

// networkFS are the statfs magic numbers of file systems that other
// machines can change (linux/magic.h): NFS, SMB/CIFS, FUSE (sshfs, and
// others), Ceph, 9P, AFS, GFS2, OCFS2, Lustre.
var networkFS = map[uint32]string{
	0x6969: "nfs", 0x517b: "smb", 0xff534d42: "cifs", 0xfe534d42: "smb2",
	0x65735546: "fuse", 0x00c36400: "ceph", 0x01021997: "9p", 0x5346414f: "afs",
	0x01161970: "gfs2", 0x7461636f: "ocfs2", 0x0bd00bd0: "lustre",
}

// watchable refuses to watch a file system that other machines can change:
// their changes would never be reported.
func watchable(fsType uint32) error {
	if name, ok := networkFS[fsType]; ok {
		return fmt.Errorf("a network file system (%s): other machines' changes are not reported", name)
	}
	return nil
}

// newDirWatch starts watching dir.
func newDirWatch(dir string) (watcher, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil, err
	}
	if err := watchable(uint32(st.Type)); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, watchMask); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	w := &inotifyWatch{fd: fd, buf: make([]byte, 64<<10)}
	// A plugin has no Close call: a watch dropped without close (a test's
	// plugin) must not keep its descriptor, which the kernel limits (128
	// inotify instances per user by default).
	w.cleanup = runtime.AddCleanup(w, func(fd int) { _ = syscall.Close(fd) }, fd)
	return w, nil
}

func (w *inotifyWatch) changes() (names []string, ok bool, err error) {
	for {
		n, err := syscall.Read(w.fd, w.buf)
		if errors.Is(err, syscall.EAGAIN) {
			return names, true, nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			if ev.Mask&lostTrack != 0 {
				return nil, false, nil
			}
			name := w.buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			names = append(names, string(name))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

func (w *inotifyWatch) close() {
	w.cleanup.Stop()
	_ = syscall.Close(w.fd)
}
