package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestLookupLaggingSearch: the index hides a new issue from the next 5
// searches. The process that created it still finds it at once (it reads
// its recent creates directly, and passes them as reconcileIssues on
// Cloud); a restarted process finds it once the index catches up.
func TestLookupLaggingSearch(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, func(o *jirafake.Options) { o.IndexAfterSearches = 5 }, nil)
		ctx := context.Background()
		item := e.create("k", alert())

		found, err := e.p.Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found == nil || found.ID != item.ID {
			t.Fatalf("Lookup in the creating process = %+v, %v; want %s while the index lags", found, err, item.ID)
		}
		if flavor == FlavorCloud {
			searches := e.fake.RequestsTo("POST", "/rest/api/3/search/jql")
			if !strings.Contains(string(searches[len(searches)-1].Body), `"reconcileIssues":[`+item.ID+`]`) {
				t.Errorf("search body %s lacks reconcileIssues", searches[len(searches)-1].Body)
			}
		}

		restarted := e.newPlugin(nil)
		misses := 0
		for {
			found, err := restarted.Lookup(ctx, e.request("k", alert(), nil))
			if err != nil {
				t.Fatal(err)
			}
			if found != nil {
				if found.ID != item.ID {
					t.Fatalf("Lookup found %s, want %s", found.ID, item.ID)
				}
				break
			}
			misses++
			if misses > 10 {
				t.Fatal("a restarted process never found the issue")
			}
		}
		if misses == 0 {
			t.Error("the lagging index never hid the issue; the test proves nothing")
		}
	})
}

// TestLookupConfirmsProperty: an issue carrying the correlation label but
// not the property (a clone, or a label typed by hand) is not ours.
func TestLookupConfirmsProperty(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		item := e.create("k", alert())
		clone := e.create("other", alert())
		if err := e.fake.AddLabel(clone.Key, CorrelationLabel("itsm-", "k")); err != nil {
			t.Fatal(err)
		}
		found, err := e.newPlugin(nil).Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found == nil || found.ID != item.ID {
			t.Errorf("Lookup = %+v, %v; want the original %s, not the newer clone %s", found, err, item.Key, clone.Key)
		}
	})
}

// TestLookupPaging: more candidates than one page; the newest confirmed
// wins, and paging follows nextPageToken (Cloud) or startAt (Data Center).
func TestLookupPaging(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		label := CorrelationLabel("itsm-", "k")
		// 60 older issues carrying the label without the property...
		for i := range 60 {
			it := e.create(fmt.Sprintf("noise-%d", i), alert())
			_ = e.fake.AddLabel(it.Key, label)
		}
		// ...and the real one, found first because it is newest.
		real := e.create("k", alert())
		found, err := e.newPlugin(nil).Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found == nil || found.ID != real.ID {
			t.Fatalf("Lookup = %+v, %v; want %s", found, err, real.Key)
		}
		// Without the real one, Lookup pages through and finds nothing.
		e.fake.DeleteIssue(real.Key)
		e.fake.ResetRequests()
		found, err = e.newPlugin(nil).Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found != nil {
			t.Fatalf("Lookup = %+v, %v; want nothing", found, err)
		}
		var pages int
		for _, r := range e.fake.Requests() {
			if strings.Contains(r.Path, "/search") {
				pages++
				if flavor == FlavorCloud && pages == 2 && !strings.Contains(string(r.Body), "nextPageToken") {
					t.Errorf("second search page without nextPageToken: %s", r.Body)
				}
				if flavor == FlavorDataCenter && pages == 2 && !strings.Contains(string(r.Body), `"startAt":50`) {
					t.Errorf("second search page without startAt 50: %s", r.Body)
				}
			}
		}
		if pages != 2 {
			t.Errorf("%d search pages for 60 candidates, want 2", pages)
		}
	})
}

// TestCorrelationField: with correlation.field the key is stored in a
// custom text field and searched there.
func TestCorrelationField(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, func(cfg map[string]any) {
			cfg["correlation"] = map[string]any{"field": "Alert correlation key"}
		})
		key := `High CPU "quoted"|vm-web-01`
		item := e.create(key, alert())
		var stored string
		_ = json.Unmarshal(e.issue(item.Key).Fields["customfield_10011"], &stored)
		if stored != key {
			t.Errorf("correlation field = %q, want the key", stored)
		}
		cfg := baseConfig(flavor, e.fake.URL)
		cfg["correlation"] = map[string]any{"field": "Alert correlation key"}
		found, err := e.newPlugin(cfg).Lookup(context.Background(), e.request(key, alert(), nil))
		if err != nil || found == nil || found.ID != item.ID {
			t.Fatalf("Lookup by field = %+v, %v", found, err)
		}
		var jql string
		for _, r := range e.fake.Requests() {
			if strings.Contains(r.Path, "/search") {
				jql, _ = r.JSON(t)["jql"].(string)
			}
		}
		if want := `cf[10011] ~ "\"High CPU \\\"quoted\\\"|vm-web-01\"" ORDER BY created DESC`; jql != want {
			t.Errorf("search JQL = %s, want %s", jql, want)
		}
	})

	e := newEnv(t, FlavorCloud, nil, func(cfg map[string]any) { cfg["correlation"] = map[string]any{"field": "Team"} })
	_, err := e.p.Create(context.Background(), e.request("k", alert(), nil))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "must be a single-line text field") {
		t.Errorf("Create with an option field for correlation = %v", err)
	}
}

// TestConcurrentLookups: lookups of many keys in parallel while the index
// lags; each finds its own issue (run with -race).
func TestConcurrentLookups(t *testing.T) {
	e := newEnv(t, FlavorCloud, func(o *jirafake.Options) { o.IndexAfterSearches = 1000 }, nil)
	ctx := context.Background()
	const n = 20
	items := make([]*sdk.WorkItem, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			item, err := e.p.Create(ctx, e.request(fmt.Sprintf("key-%d", i), alert(), nil))
			if err != nil {
				t.Error(err)
				return
			}
			items[i] = item
		})
	}
	wg.Wait()
	for i := range n {
		wg.Go(func() {
			found, err := e.p.Lookup(ctx, e.request(fmt.Sprintf("key-%d", i), alert(), nil))
			if err != nil || found == nil || items[i] == nil || found.ID != items[i].ID {
				t.Errorf("Lookup(key-%d) = %+v, %v", i, found, err)
			}
		})
	}
	wg.Wait()
	e.clock.Advance(2 * time.Hour) // past the memory of recent creates
	if found, _ := e.p.Lookup(ctx, e.request("key-0", alert(), nil)); found != nil {
		t.Errorf("Lookup after the recent-create memory expired, index still lagging = %+v; want nothing (the documented limit)", found)
	}
}

// TestLookupHealsDuplicates: two open issues stamped with one key (a
// Create whose answer was lost, then a second Create before the index
// caught up). Lookup keeps the oldest, closes the newer one as a duplicate
// (done, resolution Duplicate, a "Duplicate" link to the kept issue and a
// comment), says so in the work item's note, and does it only once.
func TestLookupHealsDuplicates(t *testing.T) {
	forFlavors(t, func(t *testing.T, flavor string) {
		e := newEnv(t, flavor, nil, nil)
		ctx := context.Background()
		first := e.create("k", alert())
		second := e.create("k", alert())
		other := e.create("other", alert())

		found, err := e.newPlugin(nil).Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || found == nil || found.ID != first.ID || found.State != sdk.StateOpen {
			t.Fatalf("Lookup = %+v, %v; want the oldest open issue %s", found, err, first.Key)
		}
		if !strings.Contains(found.Note, second.Key) || !strings.Contains(found.Note, first.Key) {
			t.Errorf("note %q does not name the closed duplicate %s and the kept %s", found.Note, second.Key, first.Key)
		}
		dup := e.issue(second.Key)
		if dup.StatusCategory != CategoryDone || dup.Resolution != "Duplicate" {
			t.Errorf("duplicate %s is %q (%s), resolution %q; want done as Duplicate", dup.Key, dup.Status, dup.StatusCategory, dup.Resolution)
		}
		if want := (jirafake.Link{Type: "Duplicate", Description: "duplicates", Issue: first.Key}); len(dup.Links) != 1 || dup.Links[0] != want {
			t.Errorf("links of the duplicate = %+v, want %+v", dup.Links, want)
		}
		if len(dup.Comments) != 1 || !strings.Contains(dup.Comments[0].Body, first.Key) {
			t.Errorf("comments of the duplicate = %+v, want one naming %s", dup.Comments, first.Key)
		}
		if kept := e.issue(first.Key); kept.StatusCategory != CategoryNew {
			t.Errorf("kept issue %s is %q, want it left open", kept.Key, kept.Status)
		}
		if o := e.issue(other.Key); o.StatusCategory != CategoryNew {
			t.Errorf("an issue of another key was touched: %s is %q", o.Key, o.Status)
		}

		e.fake.ResetRequests()
		again, err := e.p.Lookup(ctx, e.request("k", alert(), nil))
		if err != nil || again == nil || again.ID != first.ID || again.Note != "" {
			t.Errorf("second Lookup = %+v, %v; want %s without a note", again, err, first.Key)
		}
		if n := len(e.fake.RequestsTo("POST", "/transitions")) + len(e.fake.RequestsTo("POST", "/issueLink")); n != 0 {
			t.Errorf("the second Lookup made %d changes, want none", n)
		}
	})
}

// TestLookupHealsWithoutResolutionScreen: a workflow whose done
// transition sets the resolution itself still closes the duplicate.
func TestLookupHealsWithoutResolutionScreen(t *testing.T) {
	e := newEnv(t, FlavorCloud, func(o *jirafake.Options) { o.NoResolutionScreen = true }, nil)
	first := e.create("k", alert())
	second := e.create("k", alert())
	found, err := e.newPlugin(nil).Lookup(context.Background(), e.request("k", alert(), nil))
	if err != nil || found == nil || found.ID != first.ID {
		t.Fatalf("Lookup = %+v, %v; want %s", found, err, first.Key)
	}
	if dup := e.issue(second.Key); dup.StatusCategory != CategoryDone || len(dup.Links) != 1 {
		t.Errorf("duplicate %s is %q with links %+v; want done and linked", dup.Key, dup.Status, dup.Links)
	}
}

// TestLookupPrefersOpenIssue: an older open issue wins over a newer
// resolved one of the same key, so the host adopts it instead of creating
// a third.
func TestLookupPrefersOpenIssue(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, nil)
	first := e.create("k", alert())
	second := e.create("k", alert())
	if err := e.fake.SetStatus(second.Key, "Done", "Done"); err != nil {
		t.Fatal(err)
	}
	found, err := e.newPlugin(nil).Lookup(context.Background(), e.request("k", alert(), nil))
	if err != nil || found == nil || found.ID != first.ID || found.State != sdk.StateOpen || found.Note != "" {
		t.Errorf("Lookup = %+v, %v; want the open %s, no note", found, err, first.Key)
	}
}

// TestLookupHealingFailureIsNoted: when the duplicate cannot be closed
// (Jira refuses the transition), Lookup still answers the kept issue, and
// the note says what failed; the next Lookup tries again.
func TestLookupHealingFailureIsNoted(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, nil)
	first := e.create("k", alert())
	second := e.create("k", alert())
	p := e.newPlugin(nil)
	ctx := context.Background()
	if _, err := p.Lookup(ctx, e.request("other", alert(), nil)); err != nil { // caches nothing relevant; warms the client
		t.Fatal(err)
	}
	e.fake.LoseNext("GET", "/rest/api/3/issue/"+second.ID+"/transitions", 503)
	found, err := p.Lookup(ctx, e.request("k", alert(), nil))
	if err != nil || found == nil || found.ID != first.ID {
		t.Fatalf("Lookup = %+v, %v; want %s", found, err, first.Key)
	}
	if !strings.Contains(found.Note, "could not close") || !strings.Contains(found.Note, second.Key) {
		t.Errorf("note %q does not report the failed close of %s", found.Note, second.Key)
	}
	if dup := e.issue(second.Key); dup.StatusCategory == CategoryDone {
		t.Fatalf("duplicate closed although Jira refused")
	}
	if _, err := p.Lookup(ctx, e.request("k", alert(), nil)); err != nil {
		t.Fatal(err)
	}
	if dup := e.issue(second.Key); dup.StatusCategory != CategoryDone {
		t.Errorf("the next Lookup did not close the duplicate: %q", dup.Status)
	}
}

// TestLookupHealingLinkFailureIsNoted: the duplicate is closed but the
// link between the two fails; Lookup still answers the kept issue, and
// the note says the link failed.
func TestLookupHealingLinkFailureIsNoted(t *testing.T) {
	e := newEnv(t, FlavorCloud, nil, nil)
	first := e.create("k", alert())
	second := e.create("k", alert())
	p := e.newPlugin(nil)
	e.fake.LoseNext("POST", "/rest/api/3/issueLink", 503)
	found, err := p.Lookup(context.Background(), e.request("k", alert(), nil))
	if err != nil || found == nil || found.ID != first.ID {
		t.Fatalf("Lookup = %+v, %v; want %s", found, err, first.Key)
	}
	if !strings.Contains(found.Note, "closed "+second.Key) || !strings.Contains(found.Note, "linking them failed") {
		t.Errorf("note %q does not report the failed link", found.Note)
	}
	if dup := e.issue(second.Key); dup.StatusCategory != CategoryDone {
		t.Errorf("the duplicate was not closed: %q", dup.Status)
	}
}
