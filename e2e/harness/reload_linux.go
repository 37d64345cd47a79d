package harness

import (
	"os"
	"syscall"
	"testing"
)

// Reconfigure writes src as the running connector's configuration file and
// sends it SIGHUP, as an operator reloading a changed file would. It
// returns at once; watch Logs for the reload's outcome. A later Restart
// starts from src too.
func (c *Connector) Reconfigure(t testing.TB, src string) {
	t.Helper()
	if err := os.WriteFile(c.configPath, []byte(src), 0o600); err != nil {
		t.Fatalf("writing connector.hcl: %v", err)
	}
	c.mu.Lock()
	r := c.cur
	c.mu.Unlock()
	if r == nil {
		t.Fatal("Reconfigure: the connector is not running")
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("sending SIGHUP: %v", err)
	}
}
