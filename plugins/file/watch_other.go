//go:build !linux

package main

import "errors"

// newDirWatch has no implementation on this OS: the index lists the
// directory on every call.
func newDirWatch(string) (watcher, error) {
	return nil, errors.New("watching a directory is implemented on Linux only")
}
