package app

import (
	"slices"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   int64
	}{
		{"no cgroup files", nil, 1 << 30},
		{"cgroup v2 without a limit", []string{"max\n", "max\n"}, 1 << 30},
		{"cgroup v1 unlimited", []string{"9223372036854771712\n"}, 1 << 30},
		{"a unit's MemoryMax=512M", []string{"536870912\n", "max\n"}, 536870912 / 100 * 80},
		{"the smallest of the process's and a parent's", []string{"4294967296\n", "1073741824\n", "max\n"}, 1073741824 / 100 * 80},
		{"a limit above 1 GiB", []string{"8589934592"}, 8589934592 / 100 * 80},
		{"garbage and zero are no limit", []string{"lots", "0", "-1", ""}, 1 << 30},
	}
	for _, tt := range tests {
		if got := memoryLimit(tt.values); got != tt.want {
			t.Errorf("%s: memoryLimit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCgroupMemoryFiles(t *testing.T) {
	tests := []struct {
		name, cgroup string
		want         []string
	}{
		{"cgroup v2 under systemd", "0::/system.slice/itsm-connector.service\n", []string{
			"/sys/fs/cgroup/system.slice/itsm-connector.service/memory.max",
			"/sys/fs/cgroup/system.slice/memory.max",
			"/sys/fs/cgroup/memory.max",
		}},
		{"cgroup v2 in a container (own namespace)", "0::/\n", []string{"/sys/fs/cgroup/memory.max"}},
		{"cgroup v1 hybrid", "9:name=systemd:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/\n0::/\n", []string{
			"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes",
			"/sys/fs/cgroup/memory/docker/memory.limit_in_bytes",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes",
			"/sys/fs/cgroup/memory.max",
		}},
		{"v1 memory among other controllers", "3:cpuset,memory:/x", []string{
			"/sys/fs/cgroup/memory/x/memory.limit_in_bytes",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes",
		}},
		{"a path with dot-dots stays under the cgroup root", "0::/../../etc", []string{"/sys/fs/cgroup/etc/memory.max", "/sys/fs/cgroup/memory.max"}},
		{"unreadable", "", nil},
	}
	for _, tt := range tests {
		if got := cgroupMemoryFiles(tt.cgroup); !slices.Equal(got, tt.want) {
			t.Errorf("%s: cgroupMemoryFiles = %q, want %q", tt.name, got, tt.want)
		}
	}
}
