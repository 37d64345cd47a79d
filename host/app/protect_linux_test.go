package app

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// protectHelperEnv selects what TestProtectProcessHelper does in a child
// process: "protect" or "plain" (serve with or without protectProcess),
// "read" (read /proc/$PROTECT_PID/environ).
const protectHelperEnv = "ITSM_APP_TEST_PROTECT"

// TestProtectProcessHelper is the child process of TestProtectProcess.
func TestProtectProcessHelper(t *testing.T) {
	switch os.Getenv(protectHelperEnv) {
	case "":
		t.Skip("helper process of TestProtectProcess")
	case "protect":
		if err := protectProcess(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fallthrough
	case "plain":
		d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		fmt.Println(d, err)
		_, _ = io.Copy(io.Discard, os.Stdin) // until the test is done
	case "read":
		if _, err := os.ReadFile("/proc/" + os.Getenv("PROTECT_PID") + "/environ"); err != nil {
			fmt.Println(err)
		} else {
			fmt.Println("readable")
		}
	}
	os.Exit(0)
}

// A process of the host's user (a plugin without run_as) cannot read the
// environment of a serving host, which is non-dumpable; without the
// protection it can. Both processes run as one non-root user: as root the
// test runs them as nobody, since root reads every process's environment.
func TestProtectProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses")
	}
	self, cred := os.Args[0], (*syscall.Credential)(nil)
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("running as root and this system has no user nobody")
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		// The test binary lives in a directory only root may enter.
		dir, err := os.MkdirTemp("", "protect-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		self = filepath.Join(dir, "app.test")
		if err := os.WriteFile(self, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	helper := func(mode string, env ...string) *exec.Cmd {
		cmd := exec.Command(self, "-test.run=^TestProtectProcessHelper$")
		cmd.Env = append([]string{protectHelperEnv + "=" + mode, "ITSM_ADMIN_TOKEN=secret-admin-token"}, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}
	for _, tt := range []struct {
		mode         string
		wantDumpable string
		wantRead     string
	}{
		{"protect", "0 <nil>", "permission denied"},
		{"plain", "1 <nil>", "readable"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			host := helper(tt.mode)
			stdin, err := host.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { stdin.Close(); _ = host.Wait() }()
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(line); got != tt.wantDumpable {
				t.Errorf("PR_GET_DUMPABLE = %q, want %q", got, tt.wantDumpable)
			}
			out, err := helper("read", "PROTECT_PID="+strconv.Itoa(host.Process.Pid)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tt.wantRead) {
				t.Errorf("a process of the same user reading the host's environment: %q, want %q", out, tt.wantRead)
			}
		})
	}
}
