package maintenance

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestLocalTime(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		y        int
		m        time.Month
		d, h, mi int
		want     time.Time
	}{
		{"winter", 2026, time.January, 10, 22, 0, utc("2026-01-10T21:00:00Z")},
		{"summer", 2026, time.July, 10, 22, 0, utc("2026-07-10T20:00:00Z")},
		// 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
		{"skipped by spring forward: when the clock jumps", 2026, time.March, 29, 2, 30, utc("2026-03-29T01:00:00Z")},
		{"just before the jump", 2026, time.March, 29, 1, 59, utc("2026-03-29T00:59:00Z")},
		{"just after the jump", 2026, time.March, 29, 3, 0, utc("2026-03-29T01:00:00Z")},
		// 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC).
		{"shown twice in autumn: the first", 2026, time.October, 25, 2, 30, utc("2026-10-25T00:30:00Z")},
		{"after the repeated hour", 2026, time.October, 25, 3, 0, utc("2026-10-25T02:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localTime(tt.y, tt.m, tt.d, tt.h, tt.mi, berlin); !got.Equal(tt.want) {
				t.Errorf("localTime = %v, want %v", got.UTC(), tt.want)
			}
		})
	}
}

// TestScheduleOccurrence: whether an instant falls in a window, which
// occurrence, and the next boundary, for one-off and weekly windows,
// across daylight saving changes in the window's time zone.
func TestScheduleOccurrence(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	ny := mustLoad(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	oneOff := Schedule{Start: utc("2026-03-01T22:00:00Z"), End: utc("2026-03-02T02:00:00Z")}
	// Saturday and Sunday nights, 22:00 Berlin time, four hours.
	weekend := Schedule{Weekly: &Weekly{Days: []time.Weekday{time.Saturday, time.Sunday}, StartMinute: 22 * 60, Duration: 4 * time.Hour, Location: berlin}}
	// Every Sunday 01:30 Berlin time, two hours: spans the changes.
	sundayNight := Schedule{Weekly: &Weekly{Days: []time.Weekday{time.Sunday}, StartMinute: 90, Duration: 2 * time.Hour, Location: berlin}}
	// Every day 02:30 Berlin time for one hour: the start the clocks skip
	// or show twice.
	daily0230 := Schedule{Weekly: &Weekly{Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, StartMinute: 150, Duration: time.Hour, Location: berlin}}
	// Friday 20:00 New York time for 60 hours: the whole weekend.
	longWeekend := Schedule{Weekly: &Weekly{Days: []time.Weekday{time.Friday}, StartMinute: 20 * 60, Duration: 60 * time.Hour, Location: ny}}
	tests := []struct {
		name       string
		s          Schedule
		at         time.Time
		in         bool
		start, end time.Time // the occurrence when in
		next       time.Time // zero: none
	}{
		{"one-off: before", oneOff, utc("2026-03-01T21:59:59Z"), false, time.Time{}, time.Time{}, utc("2026-03-01T22:00:00Z")},
		{"one-off: at the start", oneOff, utc("2026-03-01T22:00:00Z"), true, oneOff.Start, oneOff.End, oneOff.End},
		{"one-off: inside", oneOff, utc("2026-03-02T01:00:00Z"), true, oneOff.Start, oneOff.End, oneOff.End},
		{"one-off: at the end, out", oneOff, utc("2026-03-02T02:00:00Z"), false, time.Time{}, time.Time{}, time.Time{}},
		// 2026-01-10 is a Saturday; CET is UTC+1.
		{"weekly: Saturday before", weekend, utc("2026-01-10T20:59:00Z"), false, time.Time{}, time.Time{}, utc("2026-01-10T21:00:00Z")},
		{"weekly: Saturday night", weekend, utc("2026-01-10T23:00:00Z"), true, utc("2026-01-10T21:00:00Z"), utc("2026-01-11T01:00:00Z"), utc("2026-01-11T01:00:00Z")},
		{"weekly: after midnight into Sunday, Saturday's occurrence", weekend, utc("2026-01-11T00:30:00Z"), true,
			utc("2026-01-10T21:00:00Z"), utc("2026-01-11T01:00:00Z"), utc("2026-01-11T01:00:00Z")},
		{"weekly: Sunday day, next is Sunday night", weekend, utc("2026-01-11T12:00:00Z"), false, time.Time{}, time.Time{}, utc("2026-01-11T21:00:00Z")},
		{"weekly: Monday early, Sunday's occurrence", weekend, utc("2026-01-12T00:59:59Z"), true,
			utc("2026-01-11T21:00:00Z"), utc("2026-01-12T01:00:00Z"), utc("2026-01-12T01:00:00Z")},
		{"weekly: Monday, next is Saturday", weekend, utc("2026-01-12T01:00:00Z"), false, time.Time{}, time.Time{}, utc("2026-01-17T21:00:00Z")},
		{"weekly: summer time, 22:00 is 20:00 UTC", weekend, utc("2026-07-11T20:30:00Z"), true,
			utc("2026-07-11T20:00:00Z"), utc("2026-07-12T00:00:00Z"), utc("2026-07-12T00:00:00Z")},
		// Spring forward, Sunday 2026-03-29 02:00 CET → 03:00 CEST: the
		// occurrence starting 01:30 CET lasts two hours of elapsed time,
		// so the clock shows 04:30 at its end.
		{"spring forward: inside, across the jump", sundayNight, utc("2026-03-29T01:30:00Z"), true,
			utc("2026-03-29T00:30:00Z"), utc("2026-03-29T02:30:00Z"), utc("2026-03-29T02:30:00Z")},
		{"spring forward: ends 04:30 CEST, next Sunday 01:30 CEST", sundayNight, utc("2026-03-29T02:30:00Z"), false, time.Time{}, time.Time{}, utc("2026-04-04T23:30:00Z")},
		// Fall back, Sunday 2026-10-25 03:00 CEST → 02:00 CET: 01:30 CEST
		// plus two hours is 02:30 CET.
		{"fall back: inside, across the repeated hour", sundayNight, utc("2026-10-25T01:15:00Z"), true,
			utc("2026-10-24T23:30:00Z"), utc("2026-10-25T01:30:00Z"), utc("2026-10-25T01:30:00Z")},
		{"fall back: the week after, CET", sundayNight, utc("2026-11-01T00:30:00Z"), true,
			utc("2026-11-01T00:30:00Z"), utc("2026-11-01T02:30:00Z"), utc("2026-11-01T02:30:00Z")},
		// A start the clock skips begins when it jumps (03:00 CEST), and
		// lasts its hour.
		{"skipped start: on at the jump", daily0230, utc("2026-03-29T01:00:00Z"), true,
			utc("2026-03-29T01:00:00Z"), utc("2026-03-29T02:00:00Z"), utc("2026-03-29T02:00:00Z")},
		{"skipped start: not before it", daily0230, utc("2026-03-29T00:59:00Z"), false, time.Time{}, time.Time{}, utc("2026-03-29T01:00:00Z")},
		// A start the clock shows twice is the first: 02:30 CEST.
		{"repeated start: the first 02:30", daily0230, utc("2026-10-25T00:30:00Z"), true,
			utc("2026-10-25T00:30:00Z"), utc("2026-10-25T01:30:00Z"), utc("2026-10-25T01:30:00Z")},
		{"repeated start: the second 02:30 is after the occurrence", daily0230, utc("2026-10-25T01:30:00Z"), false,
			time.Time{}, time.Time{}, utc("2026-10-26T01:30:00Z")},
		// 60 hours from Friday 20:00 EST, across nothing: Monday 08:00.
		{"longer than a day: Sunday noon, Friday's occurrence", longWeekend, utc("2026-01-11T17:00:00Z"), true,
			utc("2026-01-10T01:00:00Z"), utc("2026-01-12T13:00:00Z"), utc("2026-01-12T13:00:00Z")},
		// US spring forward, Sunday 2026-03-08: Friday 20:00 EST plus 60
		// hours of elapsed time is Monday 09:00 EDT.
		{"longer than a day across spring forward", longWeekend, utc("2026-03-09T12:59:00Z"), true,
			utc("2026-03-07T01:00:00Z"), utc("2026-03-09T13:00:00Z"), utc("2026-03-09T13:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, in := tt.s.Occurrence(tt.at)
			if in != tt.in || !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Occurrence(%v) = %v %v–%v, want %v %v–%v", tt.at, in, start.UTC(), end.UTC(), tt.in, tt.start, tt.end)
			}
			next, ok := tt.s.Next(tt.at)
			if ok != !tt.next.IsZero() || !next.Equal(tt.next) {
				t.Errorf("Next(%v) = %v %v, want %v", tt.at, next.UTC(), ok, tt.next)
			}
		})
	}
}
