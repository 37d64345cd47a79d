//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Own takes the exclusive lock that makes one process the owner of the
// SQLite store at path, for as long as it serves: a second connector on
// the same file would claim the same work items under the same lease
// owner. Short-lived commands (workitems, deadletter) open the store
// without it. The lock is a flock on <path>.lock, released by release or
// when the process dies, so a crash never leaves it behind.
func Own(path string) (release func(), err error) {
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening lock file %s: %w", lockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lockPath)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if pid, err := strconv.Atoi(strings.TrimSpace(string(holder))); err == nil {
				who = fmt.Sprintf("another process (pid %d)", pid)
			}
			return nil, fmt.Errorf("sqlite store %s is in use by %s: one connector owns a SQLite store; use PostgreSQL for several replicas", path, who)
		}
		return nil, fmt.Errorf("sqlite store: locking %s: %w", lockPath, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { _ = f.Close() }, nil
}
