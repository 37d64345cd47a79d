//go:build !linux

package app

// protectProcess does nothing where prctl does not exist; use run_as to
// keep plugins away from the host's memory and environment.
func protectProcess() error { return nil }
