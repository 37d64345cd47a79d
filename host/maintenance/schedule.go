// Package maintenance is the connector's maintenance windows: the
// schedules of connector.hcl's `maintenance` blocks and the ad-hoc windows
// the admin API starts (kept in the store), each with a `when` expression
// over `alert`. While a window is on, an alert it matches gets no work item;
// ingest records the window on the alert's work items (route.MaintenanceHold)
// and the delivery engine settles the hold at the window's end, as its
// on_end says.
//
// Schedule evaluation is pure (Schedule.Occurrence, Schedule.Next): a
// one-off window [start, end), or a weekly one that starts on some days at a
// local time in its time zone and lasts a duration of elapsed time.
package maintenance

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schedule is when a window is on: a one-off interval [Start, End), or,
// when Weekly is set, a weekly recurrence.
type Schedule struct {
	Start, End time.Time
	Weekly     *Weekly
}

// Weekly is a weekly recurrence: an occurrence starts on each of Days at
// the local time StartMinute (minutes after midnight) in Location and
// lasts Duration of elapsed time, so across a daylight saving change it
// ends an hour later or earlier on the clock. A start the clock skips (the
// hour lost in spring) begins when the clock jumps; a start the clock
// shows twice (the hour repeated in autumn) is the first of the two.
type Weekly struct {
	Days        []time.Weekday
	StartMinute int
	Duration    time.Duration
	Location    *time.Location
}

// MaxWeeklyDuration bounds a weekly occurrence: a week.
const MaxWeeklyDuration = 7 * 24 * time.Hour

// Occurrence returns the occurrence of s that t falls in, [start, end),
// and whether there is one. Of overlapping weekly occurrences (a duration
// above a day) it returns the one that ends last.
func (s Schedule) Occurrence(t time.Time) (start, end time.Time, ok bool) {
	if s.Weekly == nil {
		if !t.Before(s.Start) && t.Before(s.End) {
			return s.Start, s.End, true
		}
		return time.Time{}, time.Time{}, false
	}
	w := s.Weekly
	back := int(w.Duration/(24*time.Hour)) + 1
	local := t.In(w.Location)
	for k := 0; k <= back; k++ {
		day := local.AddDate(0, 0, -k)
		if !slices.Contains(w.Days, day.Weekday()) {
			continue
		}
		st := w.startOn(day.Year(), day.Month(), day.Day())
		en := st.Add(w.Duration)
		if !t.Before(st) && t.Before(en) && (!ok || en.After(end)) {
			start, end, ok = st, en, true
		}
	}
	return start, end, ok
}

// Next returns the next boundary of s after t: the end of the occurrence t
// falls in, or else the start of the next one; false when there is none
// (a one-off window that has ended).
func (s Schedule) Next(t time.Time) (time.Time, bool) {
	if _, end, ok := s.Occurrence(t); ok {
		return end, true
	}
	return s.NextStart(t)
}

// NextStart returns the start of the first occurrence that starts after t;
// false when there is none.
func (s Schedule) NextStart(t time.Time) (time.Time, bool) {
	if s.Weekly == nil {
		if t.Before(s.Start) {
			return s.Start, true
		}
		return time.Time{}, false
	}
	w := s.Weekly
	local := t.In(w.Location)
	for k := 0; k <= 8; k++ {
		day := local.AddDate(0, 0, k)
		if !slices.Contains(w.Days, day.Weekday()) {
			continue
		}
		if st := w.startOn(day.Year(), day.Month(), day.Day()); st.After(t) {
			return st, true
		}
	}
	return time.Time{}, false
}

// startOn is the instant the occurrence of the given local date starts.
func (w *Weekly) startOn(y int, m time.Month, d int) time.Time {
	return localTime(y, m, d, w.StartMinute/60, w.StartMinute%60, w.Location)
}

// localTime is the instant the clock in loc shows h:mi on the date: the
// first such instant when the clock shows it twice, and when it skips it,
// the instant it jumps (time.Date leaves both choices open).
func localTime(y int, m time.Month, d, h, mi int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
	var (
		best     time.Time
		before   int
		sawFirst bool
	)
	// The offsets in effect around the date: before and after any change.
	for i, probe := range []time.Time{wall.Add(-26 * time.Hour), wall.Add(26 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		if i == 0 {
			before = off
		}
		u := wall.Add(-time.Duration(off) * time.Second)
		l := u.In(loc)
		if l.Year() == y && l.Month() == m && l.Day() == d && l.Hour() == h && l.Minute() == mi {
			if !sawFirst || u.Before(best) {
				best, sawFirst = u, true
			}
		}
	}
	if sawFirst {
		return best
	}
	// Skipped: with the offset before the jump the instant lies past it,
	// in the zone that begins at the jump.
	start, _ := wall.Add(-time.Duration(before) * time.Second).In(loc).ZoneBounds()
	return start
}

// String describes s for listings: "2026-03-01T22:00:00Z to
// 2026-03-02T02:00:00Z", or "weekly sat,sun 22:00 for 4h0m0s
// (Europe/Berlin)".
func (s Schedule) String() string {
	if s.Weekly == nil {
		return s.Start.UTC().Format(time.RFC3339) + " to " + s.End.UTC().Format(time.RFC3339)
	}
	w := s.Weekly
	days := make([]string, len(w.Days))
	for i, d := range w.Days {
		days[i] = strings.ToLower(d.String()[:3])
	}
	return fmt.Sprintf("weekly %s %02d:%02d for %v (%s)", strings.Join(days, ","), w.StartMinute/60, w.StartMinute%60, w.Duration, w.Location)
}
