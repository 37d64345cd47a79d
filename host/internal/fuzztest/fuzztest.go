// Package fuzztest holds what the host's fuzz tests share.
package fuzztest

import (
	"flag"
	"os"
	"testing"
)

// Main runs the package's tests and fuzz target with the fuzzer's
// minimization of new-coverage inputs turned off, unless
// -fuzzminimizetime is given, and exits. Call it from TestMain.
//
// Go minimizes each input that finds new coverage for up to 60 s by
// default, trying every range of bytes to cut out: quadratic in the
// length, and it reports no executions until it ends. Inputs grown from
// seeds of a few hundred bytes or more (a token, an alert payload) never
// finish in that time, so a 10–40 s run spent itself minimizing one or two
// inputs: FuzzDecode counted 33 executions in 40 s and found 1–12 new
// inputs in 20 s; without minimization it finds a few hundred
// (docs/benchmarks.md). A failing input is then kept as found; pass
// -fuzzminimizetime=60s to shrink one.
func Main(m *testing.M) {
	flag.Parse()
	if err := minimizationOff(flag.CommandLine); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// minimizationOff sets -test.fuzzminimizetime in fs to 0 unless it was
// given.
func minimizationOff(fs *flag.FlagSet) error {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == minimizeFlag })
	if given {
		return nil
	}
	return fs.Set(minimizeFlag, "0")
}

const minimizeFlag = "test.fuzzminimizetime"
