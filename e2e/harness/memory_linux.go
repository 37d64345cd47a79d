package harness

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// RaceBuilt reports whether the binaries under test are built with the
// race detector, which multiplies the memory they use.
func RaceBuilt() bool { return raceEnabled }

// RSS is the resident memory of the host process in bytes, as VmRSS in
// /proc/<pid>/status says.
func (c *Connector) RSS() (int64, error) {
	pid := c.PID()
	if pid == 0 {
		return 0, fmt.Errorf("harness: RSS: the connector is not running")
	}
	return vmRSS(pid)
}

func vmRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// VmRSS:	   45320 kB
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS of pid %d: %w", pid, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in its status", pid)
}
