package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestWatchable(t *testing.T) {
	tests := []struct {
		name   string
		fsType uint32
		want   bool
	}{
		{"ext4", 0xef53, true},
		{"xfs", 0x58465342, true},
		{"tmpfs", 0x01021994, true},
		{"overlayfs", 0x794c7630, true},
		{"nfs", 0x6969, false},
		{"cifs", 0xff534d42, false},
		{"smb2", 0xfe534d42, false},
		{"fuse (sshfs)", 0x65735546, false},
		{"9p", 0x01021997, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := watchable(tt.fsType); (err == nil) != tt.want {
				t.Errorf("watchable(%#x) = %v, want watchable %v", tt.fsType, err, tt.want)
			}
		})
	}
}

// TestLookupAfterWatchOverflow: more changes between two calls than the
// kernel queues (max_queued_events) lose events; the next call lists the
// directory instead, and finds every file.
func TestLookupAfterWatchOverflow(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skip(err)
	}
	queued, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || queued > 100_000 {
		t.Skipf("max_queued_events = %q: too many files to write in a test", b)
	}
	ctx := context.Background()
	dir := t.TempDir()
	p := newConfigured(t, dir, "")
	if w, err := p.Lookup(ctx, request("k", sdk.ConditionFired, nil)); err != nil || w != nil {
		t.Fatalf("Lookup in an empty directory = %+v, %v", w, err)
	}
	if p.index.watch == nil {
		t.Fatal("the index is not watching the directory")
	}
	// Each file written is two events (create, close after writing).
	files := queued/2 + 100
	fill(t, dir, files)
	for _, i := range []int{1, files / 2, files} {
		key := fmt.Sprint("key-", i)
		if w, err := p.Lookup(ctx, request(key, sdk.ConditionFired, nil)); err != nil || w == nil || w.ID != idFor(i) {
			t.Errorf("Lookup(%s) after the watch overflowed = %+v, %v; want %s", key, w, err, idFor(i))
		}
	}
	if w, err := p.Create(ctx, request("next", sdk.ConditionFired, nil)); err != nil || w.ID != idFor(files+1) {
		t.Errorf("Create after the watch overflowed = %+v, %v; want %s", w, err, idFor(files+1))
	}
	if p.index.watch == nil {
		t.Error("the index did not watch the directory again after listing it")
	}
}
