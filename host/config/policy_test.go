package config

import (
	"strings"
	"testing"
	"time"
)

func TestRouteFlap(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name  string
		block string // the flap block, or "" for none
		want  *Flap
		err   string // part of the error; "" for none
		line  int    // the line the error points at (0: not checked)
	}{
		{name: "none", want: nil},
		{name: "quiet period defaults to the window", block: `flap {
    window          = "30m"
    max_transitions = 4
  }`, want: &Flap{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: 30 * time.Minute}},
		{name: "quiet period set", block: `flap {
    window          = "1h"
    max_transitions = 6
    quiet_period    = "15m"
  }`, want: &Flap{Window: time.Hour, MaxTransitions: 6, QuietPeriod: 15 * time.Minute}},
		{name: "window missing", block: `flap {
    max_transitions = 4
  }`, err: `The argument "window" is required`},
		{name: "window not a duration", block: `flap {
    window          = "soon"
    max_transitions = 4
  }`, err: `window = "soon": not a duration`, line: 7},
		{name: "window zero", block: `flap {
    window          = "0s"
    max_transitions = 4
  }`, err: `flap.window of route "r" must be positive`, line: 7},
		{name: "max_transitions zero", block: `flap {
    window          = "30m"
    max_transitions = 0
  }`, err: `flap.max_transitions of route "r" must be at least 1`, line: 8},
		{name: "quiet period zero", block: `flap {
    window          = "30m"
    max_transitions = 2
    quiet_period    = "0"
  }`, err: `flap.quiet_period of route "r" must be positive`, line: 9},
		{name: "unknown attribute", block: `flap {
    window          = "30m"
    max_transitions = 2
    quiet           = "5m"
  }`, err: `An argument named "quiet" is not expected here`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := rest + "route \"r\" {\n  send_to = [backend.file.a]\n  " + tc.block + "\n}\n"
			c, diags := Load([]byte(src), "inline.hcl")
			if tc.err != "" {
				text := diagText(c, diags)
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				if tc.line > 0 {
					for _, d := range diags {
						if !strings.Contains(d.Detail, tc.err) {
							continue
						}
						if s := d.Subject; s == nil || s.Start.Line != tc.line {
							t.Errorf("the error points at %v, want line %d", s, tc.line)
						}
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
			}
			got := c.Routes[0].Flap
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("flap = %+v, want %+v", got, tc.want)
			}
		})
	}
}
