package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procID names one process so that a recycled pid is never mistaken for
// it: the pid and the process's start time in clock ticks since boot.
type procID struct {
	pid   int
	start string
	comm  string
}

// procStat is the part of /proc/<pid>/stat the harness reads.
type procStat struct {
	pid   int
	comm  string // cut to 15 bytes by the kernel
	state string
	ppid  int
	start string
}

func readStat(path string) (procStat, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, false
	}
	// pid (comm) state ppid pgrp … starttime is field 22; comm may hold
	// spaces and parentheses, so cut at the last ')'.
	text := string(b)
	open, close := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
	if open < 0 || close < open {
		return procStat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(text[:open]))
	if err != nil {
		return procStat{}, false
	}
	f := strings.Fields(text[close+1:])
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{pid: pid, comm: text[open+1 : close], state: f[0], ppid: ppid, start: f[19]}, true
}

// children lists the live child processes of parent.
func children(parent int) []procID {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []procID
	for _, s := range stats {
		st, ok := readStat(s)
		if !ok || st.ppid != parent || st.state == "Z" {
			continue
		}
		out = append(out, procID{pid: st.pid, start: st.start, comm: st.comm})
	}
	return out
}

// alive reports whether the process still runs (a zombie does not).
func (p procID) alive() bool {
	st, ok := readStat("/proc/" + strconv.Itoa(p.pid) + "/stat")
	return ok && st.start == p.start && st.state != "Z"
}

// exe is the base name of the program the process runs (its argv[0]: the
// host runs a plugin from a private in-memory copy, so /proc/<pid>/exe
// names that copy), or "" when it is gone or not ours to read.
func (p procID) exe() string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
	if err != nil {
		return ""
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0)
}

// kill sends SIGKILL to the process if it is still the one recorded.
func (p procID) kill() {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}
