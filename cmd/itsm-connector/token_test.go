package main

import (
	"strings"
	"testing"
)

// A dev token that serve -dev would refuse (lifetime_too_long) is refused
// when it is minted, with the limit in the message.
func TestTokenLifetimeWithinWhatServeAccepts(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		lifetime string
		ok       bool
	}{
		{"1h", true},
		{"28h", true},
		{"29h", false},
		{"0s", false},
		{"-1m", false},
	} {
		code, stdout, stderr := runCLI(t, "token", "-data-dir", dir, "-lifetime", tc.lifetime)
		if tc.ok != (code == 0) {
			t.Errorf("-lifetime %s: exit %d, stderr %q", tc.lifetime, code, stderr)
		}
		if !tc.ok && !strings.Contains(stderr, "at most 28h0m0s") {
			t.Errorf("-lifetime %s: the error does not give the limit: %q", tc.lifetime, stderr)
		}
		if tc.ok && strings.Count(stdout, ".") != 2 {
			t.Errorf("-lifetime %s: not a token: %q", tc.lifetime, stdout)
		}
	}
}
