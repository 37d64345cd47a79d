package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"
)

// DirWatch reports files written into one directory as they appear, with
// inotify. A test uses it to kill the host the instant a backend wrote a
// work item: between the remote write and the host's record of it, the
// window a crash must not turn into a duplicate.
type DirWatch struct {
	f *os.File
}

// WatchDir starts watching dir, which must exist.
func WatchDir(dir string) (*DirWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	// A non-blocking descriptor goes through the runtime's poller, so
	// reads honour deadlines.
	return &DirWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir)}, nil
}

// Write is one file written into the watched directory.
type Write struct {
	// Name is the file's name in the directory.
	Name string
	// Created is true for a new name (created or hard-linked), false for a
	// file renamed over an existing one or into the directory.
	Created bool
}

// Next forgets what happened before the call and waits up to timeout for
// the next file whose name matches pattern (filepath.Match) to be written.
func (w *DirWatch) Next(pattern string, timeout time.Duration) (Write, error) {
	buf := make([]byte, 64<<10)
	_ = w.f.SetReadDeadline(time.Time{})
	if err := w.forget(buf); err != nil {
		return Write{}, err
	}
	_ = w.f.SetReadDeadline(time.Now().Add(timeout))
	for {
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return Write{}, fmt.Errorf("no file matching %s written within %v", pattern, timeout)
		}
		if err != nil {
			return Write{}, fmt.Errorf("reading inotify events: %w", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameStart := off + syscall.SizeofInotifyEvent
			name := string(bytes.TrimRight(buf[nameStart:nameStart+int(ev.Len)], "\x00"))
			off = nameStart + int(ev.Len)
			if ok, _ := filepath.Match(pattern, name); ok {
				return Write{Name: name, Created: ev.Mask&syscall.IN_CREATE != 0}, nil
			}
		}
	}
}

// forget reads and drops the events already queued. (A read through the
// poller with a past deadline fails without reading, so this reads the
// non-blocking descriptor directly until it would block.)
func (w *DirWatch) forget(buf []byte) error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	var readErr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			if _, err := syscall.Read(int(fd), buf); err != nil {
				if err != syscall.EAGAIN && err != syscall.EINTR {
					readErr = err
				}
				if err == syscall.EINTR {
					continue
				}
				return true
			}
		}
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return fmt.Errorf("inotify: dropping queued events: %w", err)
	}
	return nil
}

// Close stops watching.
func (w *DirWatch) Close() error { return w.f.Close() }
