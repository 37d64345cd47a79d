package app

import "golang.org/x/sys/unix"

// protectProcess makes the serving process non-dumpable (prctl
// PR_SET_DUMPABLE 0). Its /proc files (environ, mem, fd, …) then belong
// to root, so a process of the same user, such as a plugin without
// run_as, can neither read the host's environment (admin token, DSN,
// every backend's secrets) nor attach to it, and no core dump is written.
// Root still can.
func protectProcess() error { return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }
