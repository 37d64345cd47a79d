package maintenance

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

const testConfig = `
auth "none" {}
backend "file" "a" {}
route "r" {
  send_to = [backend.file.a]
}
maintenance "db" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-02T02:00:00Z"
  when  = alert.resource_group == "rg-db"
}
maintenance "all-night" {
  start  = "2026-03-01T20:00:00Z"
  end    = "2026-03-02T02:00:00Z"
  on_end = "drop"
}
maintenance "weekend" {
  weekly {
    days      = ["sat", "sun"]
    start     = "22:00"
    duration  = "4h"
    time_zone = "Europe/Berlin"
  }
  when = try(alert.custom_properties["team"], "") == "web"
}
`

func compileTest(t *testing.T, src string) []*Window {
	t.Helper()
	c, diags := config.Load([]byte(src), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	ws, diags := Compile(c)
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	return ws
}

func TestCompileChecksWhen(t *testing.T) {
	c, diags := config.Load([]byte(`
auth "none" {}
backend "file" "a" {}
route "r" {
  send_to = [backend.file.a]
}
maintenance "typo" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-02T02:00:00Z"
  when  = alert.resource_grup == "rg-db"
}
maintenance "not-a-bool" {
  start = "2026-03-01T22:00:00Z"
  end   = "2026-03-02T02:00:00Z"
  when  = alert.resource_group
}
`), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	_, diags = Compile(c)
	text := config.DiagnosticsText(diags)
	for _, want := range []string{`alert.resource_grup does not exist`, `Did you mean "resource_group"?`, `Invalid when in maintenance window "not-a-bool"`} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
}

func TestHold(t *testing.T) {
	w := New(nil, compileTest(t, testConfig), nil)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	db := &sdk.Alert{ID: "a", ResourceGroup: "rg-db"}
	web := &sdk.Alert{ID: "b", ResourceGroup: "rg-web", CustomProperties: map[string]string{"team": "web"}}
	tests := []struct {
		name  string
		alert *sdk.Alert
		at    time.Time
		want  *route.MaintenanceHold
	}{
		{"before every window", db, at("2026-03-01T19:00:00Z"), nil},
		{"only the window for every alert", web, at("2026-03-01T21:00:00Z"),
			&route.MaintenanceHold{Window: "all-night", Until: at("2026-03-02T02:00:00Z"), OnEnd: route.OnEndDrop}},
		{"two end together: create wins", db, at("2026-03-01T23:00:00Z"),
			&route.MaintenanceHold{Window: "db", Until: at("2026-03-02T02:00:00Z"), OnEnd: route.OnEndCreate}},
		// 2026-03-07 is a Saturday: 22:00 CET is 21:00 UTC.
		{"weekly, matching", web, at("2026-03-07T22:00:00Z"),
			&route.MaintenanceHold{Window: "weekend", Until: at("2026-03-08T01:00:00Z"), OnEnd: route.OnEndCreate}},
		{"weekly, when false", db, at("2026-03-07T22:00:00Z"), nil},
		{"weekly, when fails for the alert (no custom properties): no match", &sdk.Alert{ID: "c"}, at("2026-03-07T22:00:00Z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := w.Hold(tt.alert, tt.at)
			if (got == nil) != (tt.want == nil) || (got != nil && (got.Window != tt.want.Window || !got.Until.Equal(tt.want.Until) || got.OnEnd != tt.want.OnEnd)) {
				t.Errorf("Hold = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestStartAndEnd(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := New(st, compileTest(t, testConfig), nil)
	invalid := []struct {
		name string
		req  AdHoc
		want string
	}{
		{"bad name", AdHoc{Name: "db patch", Duration: time.Hour}, "may contain only letters"},
		{"bad when", AdHoc{Name: "x", When: "alert.sevrity < 2", Duration: time.Hour}, `Did you mean "severity"?`},
		{"when not a bool", AdHoc{Name: "x", When: `"yes"`, Duration: time.Hour}, "when must be a condition"},
		{"when does not parse", AdHoc{Name: "x", When: `alert.severity <`, Duration: time.Hour}, "when:"},
		{"no end", AdHoc{Name: "x"}, "give end (an RFC 3339 time) or a positive duration"},
		{"end and duration", AdHoc{Name: "x", End: now.Add(time.Hour), Duration: time.Hour}, "not both"},
		{"end before start", AdHoc{Name: "x", Start: now.Add(time.Hour), End: now}, "is not after start"},
		{"ended already", AdHoc{Name: "x", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}, "has passed"},
		{"too long", AdHoc{Name: "x", Duration: 40 * 24 * time.Hour}, "more than 744h0m0s"},
		{"bad on_end", AdHoc{Name: "x", Duration: time.Hour, OnEnd: "later"}, `on_end "later" is not known`},
	}
	for _, tt := range invalid {
		if _, err := w.Start(ctx, tt.req, now); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Start = %v; want ErrInvalid saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := w.Start(ctx, AdHoc{Name: "db", Duration: time.Hour}, now); !errors.Is(err, ErrConfigured) {
		t.Errorf("Start of a configured name = %v, want ErrConfigured", err)
	}
	got, err := w.Start(ctx, AdHoc{Name: "app-deploy", When: `alert.resource_group == "rg-app"`, Duration: time.Hour, Reason: "CHG0042"}, now)
	if err != nil || !got.Active || got.Source != SourceAdHoc || !got.End.Equal(now.Add(time.Hour)) || got.OnEnd != route.OnEndCreate || got.Reason != "CHG0042" {
		t.Fatalf("Start = %+v, %v", got, err)
	}
	if _, err := w.Start(ctx, AdHoc{Name: "app-deploy", Duration: time.Hour}, now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second start of a window that is on = %v, want ErrConflict", err)
	}
	app := &sdk.Alert{ID: "a", ResourceGroup: "rg-app"}
	if h := w.Hold(app, now.Add(time.Minute)); h == nil || h.Window != "app-deploy" {
		t.Errorf("Hold after Start = %+v, want app-deploy", h)
	}
	// Another connector on the same store sees it after its refresh.
	other := New(st, nil, nil)
	if err := other.Refresh(ctx, now); err != nil {
		t.Fatal(err)
	}
	if h := other.Hold(app, now.Add(time.Minute)); h == nil || h.Window != "app-deploy" {
		t.Errorf("another connector's Hold = %+v, want app-deploy", h)
	}

	if _, _, err := w.End(ctx, "db", now); !errors.Is(err, ErrConfigured) {
		t.Errorf("End of a configured window = %v, want ErrConfigured", err)
	}
	ended, _, err := w.End(ctx, "app-deploy", now.Add(10*time.Minute))
	if err != nil || !ended.End.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("End = %+v, %v", ended, err)
	}
	if h := w.Hold(app, now.Add(11*time.Minute)); h != nil {
		t.Errorf("Hold after End = %+v, want none", h)
	}
	if _, _, err := w.End(ctx, "app-deploy", now.Add(11*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a second End = %v, want ErrNotFound", err)
	}
	if _, ok := w.Get("app-deploy", now.Add(11*time.Minute)); ok {
		t.Errorf("an ended window is still listed")
	}

	// Listing: configured windows first, with their next occurrence.
	list := w.List(now)
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "all-night,db,weekend" {
		t.Errorf("List = %v", names)
	}
	// 2026-03-01 is a Sunday.
	if s, _ := w.Get("weekend", now); s.Active || !s.Start.Equal(time.Date(2026, 3, 1, 21, 0, 0, 0, time.UTC)) || !s.End.Equal(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("weekend at %v: %+v; want its next occurrence, Sunday 22:00–02:00 CET", now, s)
	}
}
