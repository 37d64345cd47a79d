//go:build linux

package e2e

import (
	"os"
	"testing"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
)

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m))
}
