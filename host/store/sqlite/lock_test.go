//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwn: a second owner is refused with a message naming the holder,
// also from another process, and the store is free again once released.
func TestOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connector.db")
	release, err := Own(path)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("in use by another process (pid %d)", os.Getpid())
	if _, err := Own(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second Own = %v, want %q", err, want)
	}
	// flock is held per open file, so another process is refused as well.
	if flock, err := exec.LookPath("flock"); err == nil {
		if out, err := exec.Command(flock, "--nonblock", path+".lock", "true").CombinedOutput(); err == nil {
			t.Errorf("flock in another process got the lock: %s", out)
		}
	}
	release()
	again, err := Own(path)
	if err != nil {
		t.Fatalf("Own after release: %v", err)
	}
	again()
}
