package jira

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

func TestCommentRateBound(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) {
		cfg["comments"] = map[string]any{"min_interval": "10m"}
	})
	ctx := context.Background()
	item := e.create("k", alert())
	refire := func(at time.Duration) {
		t.Helper()
		a := alert()
		a.FiredAt = e.clock.Now().Add(at)
		got, err := e.p.Update(ctx, e.request("k", a, item))
		if err != nil || got.ID != item.ID || got.State != sdk.StateOpen {
			t.Fatalf("Update = %+v, %v", got, err)
		}
	}
	refire(0) // commented
	for range 3 {
		e.clock.Advance(2 * time.Minute)
		refire(0) // inside the interval: counted, not commented
	}
	if c := e.fake.Comments(item.Key); len(c) != 1 {
		t.Fatalf("%d comments after 4 re-fires inside 10 minutes, want 1", len(c))
	}
	e.clock.Advance(5 * time.Minute)
	refire(0)
	c := e.fake.Comments(item.Key)
	if len(c) != 2 || !strings.Contains(c[1].Body, "3 further re-fires between 2025-03-14T09:32:00Z and 2025-03-14T09:36:00Z were not commented") {
		t.Fatalf("second comment = %+v; want it to summarize the 3 skipped re-fires", c)
	}
	// Skipped re-fires before a resolve are summarized in the resolve comment.
	e.clock.Advance(time.Minute)
	refire(0)
	if _, err := e.p.Resolve(ctx, e.request("k", sdktest.Resolved(alert(), e.clock.Now()), item)); err != nil {
		t.Fatal(err)
	}
	c = e.fake.Comments(item.Key)
	if len(c) != 3 || !strings.Contains(c[2].Body, "1 further re-fire at") {
		t.Errorf("resolve comment = %q; want the skipped re-fire summarized", c[len(c)-1].Body)
	}

	// min_interval = "0s" comments every time.
	e2 := newEnv(t, FlavorDataCenter, nil, func(cfg map[string]any) { cfg["comments"] = map[string]any{"min_interval": "0s"} })
	item2 := e2.create("k", alert())
	for range 3 {
		if _, err := e2.p.Update(ctx, e2.request("k", alert(), item2)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e2.fake.Comments(item2.Key)); n != 3 {
		t.Errorf("%d comments with min_interval 0s, want 3", n)
	}
}

func TestTransitionChoice(t *testing.T) {
	tests := []struct {
		name        string
		noScreen    bool
		resolve     map[string]any
		wantStatus  string
		wantResSent bool
		wantErr     []string
	}{
		{name: "default: first to the done category, resolution on its screen", wantStatus: "Done", wantResSent: true},
		{name: "configured transition without a screen", resolve: map[string]any{"transition": "close"}, wantStatus: "Closed"},
		{name: "done transition without a resolution screen", noScreen: true, wantStatus: "Done"},
		{name: "configured resolution", resolve: map[string]any{"resolution": "Cannot Reproduce"}, wantStatus: "Done", wantResSent: true},
		{name: "unknown transition", resolve: map[string]any{"transition": "Resolve Issue"},
			wantErr: []string{`no transition named "Resolve Issue" (resolve.transition)`, `from status "To Do"`, `"Done" → Done`, `"Close" → Closed`}},
		{name: "resolution not offered", resolve: map[string]any{"resolution": "Fixed"},
			wantErr: []string{`"Fixed" (resolve.resolution) is not one of its values`, `"Won't Do"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, FlavorCloud, func(o *jirafake.Options) { o.NoResolutionScreen = tt.noScreen }, func(cfg map[string]any) {
				if tt.resolve != nil {
					cfg["resolve"] = tt.resolve
				}
			})
			item := e.create("k", alert())
			got, err := e.p.Resolve(context.Background(), e.request("k", sdktest.Resolved(alert(), e.clock.Now()), item))
			if tt.wantErr != nil {
				if sdk.KindOf(err) != sdk.KindPermanent {
					t.Fatalf("Resolve = %v (%s), want permanent", err, sdk.KindOf(err))
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			is := e.issue(item.Key)
			if got.State != sdk.StateResolved || is.Status != tt.wantStatus || got.Attributes["status"] != tt.wantStatus {
				t.Errorf("Resolve = %+v, issue status %q; want %q", got, is.Status, tt.wantStatus)
			}
			posts := e.fake.RequestsTo("POST", "/transitions")
			_, sent := posts[len(posts)-1].JSON(t)["fields"]
			if sent != tt.wantResSent {
				t.Errorf("resolution sent = %v, want %v", sent, tt.wantResSent)
			}
			if want, ok := tt.resolve["resolution"].(string); ok && is.Resolution != want {
				t.Errorf("resolution = %q, want %q", is.Resolution, want)
			}
			// Resolving again reads the issue and changes nothing.
			e.fake.ResetRequests()
			if again, err := e.p.Resolve(context.Background(), e.request("k", alert(), item)); err != nil || again.State != sdk.StateResolved {
				t.Errorf("second Resolve = %+v, %v", again, err)
			}
			if n := len(e.fake.RequestsTo("POST", "/transitions")); n != 0 {
				t.Errorf("second Resolve made %d transitions, want 0", n)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	t.Run("won't fix blocks reopening", func(t *testing.T) {
		forFlavors(t, func(t *testing.T, flavor string) {
			e := newEnv(t, flavor, nil, nil)
			item := e.create("k", alert())
			if err := e.fake.SetStatus(item.Key, "Done", "Won't Do"); err != nil {
				t.Fatal(err)
			}
			_, err := e.p.Reopen(context.Background(), e.request("k", alert(), item))
			if sdk.KindOf(err) != sdk.KindNotFound || !strings.Contains(err.Error(), `resolved as "Won't Do", which blocks reopening`) {
				t.Errorf("Reopen of a won't-do issue = %v (%s); want not_found so the host opens a new issue", err, sdk.KindOf(err))
			}
			if is := e.issue(item.Key); is.Status != "Done" || len(is.Comments) != 0 {
				t.Errorf("the won't-do issue was touched: %+v", is)
			}
		})
	})
	t.Run("configured won't-fix list", func(t *testing.T) {
		e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) {
			cfg["reopen"] = map[string]any{"wont_fix_resolutions": []any{"Duplicate"}}
		})
		item := e.create("k", alert())
		_ = e.fake.SetStatus(item.Key, "Done", "Won't Do")
		if got, err := e.p.Reopen(context.Background(), e.request("k", alert(), item)); err != nil || got.State != sdk.StateOpen {
			t.Errorf("Reopen with \"Won't Do\" not listed = %+v, %v; want reopened", got, err)
		}
	})
	t.Run("configured transition", func(t *testing.T) {
		e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) {
			cfg["reopen"] = map[string]any{"transition": "Nope"}
		})
		item := e.create("k", alert())
		_ = e.fake.SetStatus(item.Key, "Closed", "Done")
		_, err := e.p.Reopen(context.Background(), e.request("k", alert(), item))
		if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), `no transition named "Nope" (reopen.transition)`) ||
			!strings.Contains(err.Error(), `"Reopen" → To Do`) {
			t.Errorf("Reopen with an unknown transition = %v", err)
		}
	})
	t.Run("already open", func(t *testing.T) {
		e := newEnv(t, FlavorDataCenter, nil, nil)
		item := e.create("k", alert())
		_ = e.fake.SetStatus(item.Key, "In Progress", "")
		got, err := e.p.Reopen(context.Background(), e.request("k", alert(), item))
		if err != nil || got.State != sdk.StateOpen || len(e.fake.RequestsTo("POST", "/transitions")) != 0 {
			t.Errorf("Reopen of an open issue = %+v, %v; want open without a transition", got, err)
		}
	})
}
