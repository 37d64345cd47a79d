//go:build !unix

package pluginhost

import (
	"errors"
	"syscall"
)

// runAsAttr refuses run_as where processes have no Unix credentials.
func runAsAttr(spec string, _ int) (*syscall.SysProcAttr, error) {
	if spec == "" {
		return nil, nil
	}
	return nil, errors.New("run_as is only supported on Linux and other Unix systems")
}
