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

func TestMaintenance(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
route "r" {
  send_to = [backend.file.a]
}
`
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		block string
		check func(t *testing.T, m *Maintenance)
		err   string // part of the error; "" for none
		line  int    // the line the error points at (0: not checked)
	}{
		{name: "one-off", block: `maintenance "db-patch" {
  start  = "2026-03-01T22:00:00Z"
  end    = "2026-03-02T02:00:00+01:00"
  when   = alert.resource_group == "rg-db"
  on_end = "drop"
}`, check: func(t *testing.T, m *Maintenance) {
			if !m.Start.Equal(time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)) || !m.End.Equal(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)) ||
				m.Weekly != nil || m.When == nil || m.OnEnd != OnEndDrop {
				t.Errorf("maintenance = %+v", m)
			}
		}},
		{name: "weekly, defaults", block: `maintenance "weekend" {
  weekly {
    days     = ["sat", "Sunday"]
    start    = "22:00"
    duration = "4h"
    time_zone = "Europe/Berlin"
  }
}`, check: func(t *testing.T, m *Maintenance) {
			w := m.Weekly
			if w == nil || len(w.Days) != 2 || w.Days[0] != time.Saturday || w.Days[1] != time.Sunday || w.StartMinute != 22*60 ||
				w.Duration != 4*time.Hour || w.Location.String() != berlin.String() || m.When != nil || m.OnEnd != OnEndCreate {
				t.Errorf("maintenance = %+v, weekly %+v", m, w)
			}
		}},
		{name: "weekly in UTC by default", block: `maintenance "nightly" {
  weekly {
    days     = ["mon", "tue", "wed", "thu", "fri"]
    start    = "01:30"
    duration = "30m"
  }
}`, check: func(t *testing.T, m *Maintenance) {
			if m.Weekly.Location != time.UTC {
				t.Errorf("time zone %v, want UTC", m.Weekly.Location)
			}
		}},
		{name: "no schedule", block: `maintenance "x" {
  when = true
}`, err: `maintenance "x" needs a schedule`, line: 7},
		{name: "start without end", block: `maintenance "x" {
  start = "2026-03-01T22:00:00Z"
}`, err: `needs both start and end; end is missing`, line: 8},
		{name: "end before start", block: `maintenance "x" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-01T21:00:00Z"
}`, err: `ends (2026-03-01T21:00:00Z) before it starts`, line: 9},
		{name: "not RFC 3339", block: `maintenance "x" {
  start = "2026-03-01 22:00"
  end   = "2026-03-01T23:00:00Z"
}`, err: `start = "2026-03-01 22:00" is not an RFC 3339 time`, line: 8},
		{name: "both schedules", block: `maintenance "x" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-01T23:00:00Z"
  weekly {
    days     = ["sat"]
    start    = "22:00"
    duration = "4h"
  }
}`, err: `sets start or end and a weekly block`},
		{name: "bad day", block: `maintenance "x" {
  weekly {
    days     = ["sat", "weekend"]
    start    = "22:00"
    duration = "4h"
  }
}`, err: `"weekend" is not a day`, line: 9},
		{name: "bad start", block: `maintenance "x" {
  weekly {
    days     = ["sat"]
    start    = "10pm"
    duration = "4h"
  }
}`, err: `start = "10pm" is not a time of day`, line: 10},
		{name: "duration over a week", block: `maintenance "x" {
  weekly {
    days     = ["sat"]
    start    = "22:00"
    duration = "8d"
  }
}`, err: `it must be positive and at most a week`, line: 11},
		{name: "bad time zone", block: `maintenance "x" {
  weekly {
    days      = ["sat"]
    start     = "22:00"
    duration  = "4h"
    time_zone = "Europe/Atlantis"
  }
}`, err: `time_zone = "Europe/Atlantis" is not a time zone`, line: 12},
		{name: "bad on_end", block: `maintenance "x" {
  start  = "2026-03-01T22:00:00Z"
  end    = "2026-03-01T23:00:00Z"
  on_end = "delay"
}`, err: `on_end "delay" of maintenance "x" is not known`, line: 10},
		{name: "bad name", block: `maintenance "db patch" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-01T23:00:00Z"
}`, err: `may contain only letters, digits`, line: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := Load([]byte(rest+tc.block+"\n"), "inline.hcl")
			if tc.err != "" {
				text := diagText(c, diags)
				if !diags.HasErrors() || !strings.Contains(text, tc.err) {
					t.Fatalf("want an error containing %q, got:\n%s", tc.err, text)
				}
				for _, d := range diags {
					if strings.Contains(d.Detail, tc.err) && tc.line > 0 && (d.Subject == nil || d.Subject.Start.Line != tc.line) {
						t.Errorf("the error points at %v, want line %d", d.Subject, tc.line)
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%s", diagText(c, diags))
			}
			if len(c.Maintenance) != 1 {
				t.Fatalf("%d maintenance blocks, want 1", len(c.Maintenance))
			}
			tc.check(t, c.Maintenance[0])
		})
	}
}

func TestRouteStorm(t *testing.T) {
	const rest = `
auth "none" {}
backend "file" "a" {}
`
	tests := []struct {
		name  string
		block string // the storm block, or "" for none
		want  *Storm // Range and GroupBy not compared
		group bool   // group_by is set
		err   string // part of the error; "" for none
		line  int    // the line the error points at (0: not checked)
	}{
		{name: "none", want: nil},
		{name: "all attributes", block: `storm {
    window   = "5m"
    max_new  = 20
    group_by = "${alert.rule}"
  }`, want: &Storm{Window: 5 * time.Minute, MaxNew: 20}, group: true},
		{name: "without group_by", block: `storm {
    window  = "10m"
    max_new = 50
  }`, want: &Storm{Window: 10 * time.Minute, MaxNew: 50}},
		{name: "window missing", block: `storm {
    max_new = 20
  }`, err: `The argument "window" is required`},
		{name: "window not a duration", block: `storm {
    window  = "soon"
    max_new = 20
  }`, err: `window = "soon": not a duration`, line: 7},
		{name: "window zero", block: `storm {
    window  = "0s"
    max_new = 20
  }`, err: `storm.window of route "r" must be positive`, line: 7},
		{name: "max_new zero", block: `storm {
    window  = "5m"
    max_new = 0
  }`, err: `storm.max_new of route "r" must be at least 1`, line: 8},
		{name: "unknown attribute", block: `storm {
    window  = "5m"
    max_new = 20
    group   = "x"
  }`, err: `An argument named "group" is not expected here`},
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
			got := c.Routes[0].Storm
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("storm = %+v, want %+v", got, tc.want)
			}
			if got == nil {
				return
			}
			if got.Window != tc.want.Window || got.MaxNew != tc.want.MaxNew || (got.GroupBy != nil) != tc.group {
				t.Errorf("storm = %+v, want %+v (group_by set: %v)", got, tc.want, tc.group)
			}
		})
	}
}
