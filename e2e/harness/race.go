//go:build race

package harness

// raceEnabled: the test binary runs under the race detector, so the
// binaries under test are built with it too.
const raceEnabled = true
