package main

import "testing"

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
