package fuzztest

import (
	"flag"
	"testing"
)

func TestMinimizationOff(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"not given: off", nil, "0s"},
		{"given: kept", []string{"-test.fuzzminimizetime=60s"}, "1m0s"},
		{"given as a count: kept", []string{"-test.fuzzminimizetime=100x"}, "100x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The same flag as the testing package's, on its own set.
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.Var(flag.Lookup(minimizeFlag).Value, minimizeFlag, "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := minimizationOff(fs); err != nil {
				t.Fatal(err)
			}
			if got := fs.Lookup(minimizeFlag).Value.String(); got != tt.want {
				t.Errorf("-%s = %s, want %s", minimizeFlag, got, tt.want)
			}
		})
	}
}
