package config

import (
	"testing"
	"time"
)

func TestParseWeekdayAndClock(t *testing.T) {
	for in, want := range map[string]time.Weekday{"sat": time.Saturday, "Sunday": time.Sunday, "MON": time.Monday, " wed ": time.Wednesday} {
		if got, ok := parseWeekday(in); !ok || got != want {
			t.Errorf("parseWeekday(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "sa", "weekend", "mo"} {
		if _, ok := parseWeekday(in); ok {
			t.Errorf("parseWeekday(%q) accepted", in)
		}
	}
	for in, want := range map[string]int{"00:00": 0, "22:00": 1320, "23:59": 1439, "02:30": 150} {
		if got, ok := parseClock(in); !ok || got != want {
			t.Errorf("parseClock(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"24:00", "7:00", "12:60", "12-00", "+1:00", "ab:cd", "12:00:00"} {
		if _, ok := parseClock(in); ok {
			t.Errorf("parseClock(%q) accepted", in)
		}
	}
}
