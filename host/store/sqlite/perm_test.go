//go:build unix

package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// permChildEnv makes the test binary, started again by TestFilesArePrivate,
// open a store under the umask it names. The umask is process-wide, so it
// is set in a process of its own.
const permChildEnv = "ITSM_TEST_SQLITE_UMASK"

// TestFilesArePrivate: the database, its WAL and its shared-memory file
// are created 0600 whatever the umask: they hold alert data.
func TestFilesArePrivate(t *testing.T) {
	if mask := os.Getenv(permChildEnv); mask != "" {
		permChild(t, mask)
		return
	}
	for _, mask := range []string{"0022", "0000", "0002", "0077"} {
		t.Run("umask "+mask, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFilesArePrivate$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), permChildEnv+"="+mask, "ITSM_TEST_SQLITE_DIR="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			modes := map[string]string{}
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) == 3 && f[0] == "mode" {
					modes[f[1]] = f[2]
				}
			}
			for _, name := range []string{"connector.db", "connector.db-wal", "connector.db-shm"} {
				if got := modes[name]; got != "0600" {
					t.Errorf("%s created with mode %q under umask %s, want 0600\n%s", name, got, mask, out)
				}
			}
		})
	}
}

// permChild opens a store under umask mask and prints the mode of each
// file while it is open (the WAL and shared-memory files go when it is
// closed).
func permChild(t *testing.T, mask string) {
	var m int
	if _, err := fmt.Sscanf(mask, "%o", &m); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(m)
	path := filepath.Join(os.Getenv("ITSM_TEST_SQLITE_DIR"), "connector.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"connector.db", "connector.db-wal", "connector.db-shm"} {
		fi, err := os.Stat(filepath.Join(filepath.Dir(path), name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("mode %s %04o\n", name, fi.Mode().Perm())
	}
}
