package config

import (
	"strings"
	"time"

	// Weekly maintenance windows name IANA time zones; the database is
	// embedded so that they load on hosts and images without one.
	_ "time/tzdata"
)

// parseWeekday reads a weekday as the configuration writes it: "mon" …
// "sun" or the full English name, in any case.
func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, true
		}
	}
	return 0, false
}

// parseClock reads a local time of day "HH:MM" (24-hour) as minutes after
// midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}
