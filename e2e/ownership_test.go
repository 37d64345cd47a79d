//go:build linux

package e2e

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
)

// TestSecondConnectorOnOneSQLiteStoreIsRefused: a second `serve` on the
// store a running connector owns exits at once, naming the owner; the
// store commands still work beside it.
func TestSecondConnectorOnOneSQLiteStoreIsRefused(t *testing.T) {
	c := harness.Start(t, harness.Options{Config: fileConfig})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Binaries().Host, "serve", "-dev",
		"-config", filepath.Join(c.Dir(), "connector.hcl"), "-data-dir", c.DataDir(),
		"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0", "-plugin-dir", c.Binaries().PluginDir)
	cmd.Dir = c.Dir()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("second serve: %v (want it to exit with an error at once)\n%s", err, out)
	}
	if !strings.Contains(string(out), "is in use by another process") || !strings.Contains(string(out), "use PostgreSQL for several replicas") {
		t.Errorf("second serve's output does not say the store is taken:\n%s", out)
	}
	if out := c.Command(t, "workitems", "list"); len(out) == 0 {
		t.Error("workitems list printed nothing beside the running connector")
	}
}
