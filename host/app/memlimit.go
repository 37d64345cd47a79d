package app

import (
	"os"
	"path"
	"strconv"
	"strings"
)

// Default soft memory limit (GOMEMLIMIT) of serve.
const (
	// defaultMemoryLimit applies when no cgroup memory limit is found.
	defaultMemoryLimit = 1 << 30
	// cgroupMemoryShare is the part of a cgroup's memory limit the host
	// aims to stay under, in percent; the rest is for its plugins and
	// the kernel's buffers in the same cgroup.
	cgroupMemoryShare = 80
)

// DefaultMemoryLimit is the soft memory limit serve sets when GOMEMLIMIT
// is not set: 80 % of the smallest memory limit of the cgroups the process
// runs in (a unit's MemoryMax=, a container's limit), or 1 GiB without
// one. It makes the garbage collector work harder as the heap nears it,
// instead of letting the heap grow to GOGC's target.
func DefaultMemoryLimit() int64 {
	self, _ := os.ReadFile("/proc/self/cgroup")
	var values []string
	for _, f := range cgroupMemoryFiles(string(self)) {
		if b, err := os.ReadFile(f); err == nil {
			values = append(values, string(b))
		}
	}
	return memoryLimit(values)
}

// cgroupMemoryFiles lists the files holding the memory limits of the
// cgroups /proc/self/cgroup (its text) names, the process's own first,
// then each parent's: memory.max for cgroup v2, memory.limit_in_bytes for
// v1's memory controller.
func cgroupMemoryFiles(procSelfCgroup string) []string {
	var files []string
	for line := range strings.Lines(procSelfCgroup) {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			continue
		}
		dir, file := "", ""
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = "/sys/fs/cgroup", "memory.max"
		case hasController(parts[1], "memory"):
			dir, file = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean(parts[2]); ; p = path.Dir(p) {
			files = append(files, path.Join(dir, p, file))
			if p == "/" {
				break
			}
		}
	}
	return files
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// memoryLimit is cgroupMemoryShare of the smallest limit in values (the
// contents of cgroup memory limit files), or defaultMemoryLimit when none
// sets one: "max", cgroup v1's "unlimited" (a number near 2^63) and
// anything unreadable set none.
func memoryLimit(values []string) int64 {
	var lowest int64
	for _, v := range values {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			continue
		}
		if lowest == 0 || n < lowest {
			lowest = n
		}
	}
	if lowest == 0 {
		return defaultMemoryLimit
	}
	return lowest / 100 * cgroupMemoryShare
}
