package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/sqlstore"
)

// TestListItemsPlanSQLite: the console's search (correlation key, rule or
// ticket key) and its dead-item listing read indexes, never every work
// item with its alert; the other filters walk the primary key newest
// first and stop at the limit, so they never sort the table.
func TestListItemsPlanSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		f    store.ItemFilter
		want []string // each must appear in the plan
	}{
		{"search", store.ItemFilter{Search: "INC0001"},
			[]string{"INDEX work_items_correlation_key", "INDEX work_items_rule", "INDEX work_items_ref_key"}},
		{"search within a backend", store.ItemFilter{Backend: "file.x", Search: "INC0001", State: store.ItemStateFailing},
			[]string{"INDEX work_items_correlation_key", "INDEX work_items_rule", "INDEX work_items_ref_key"}},
		{"dead", store.ItemFilter{State: store.ItemStateDead}, []string{"INDEX work_items_dead"}},
		{"severity", store.ItemFilter{Severity: "Sev1", State: store.ItemStateInSync}, []string{"SCAN work_items"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, args, err := sqlstore.ListItemsQuery(sqlite.Dialect, c.f)
			if err != nil {
				t.Fatal(err)
			}
			details := sqlitePlan(t, db, q, args...)
			plan := strings.Join(details, "\n")
			t.Logf("plan:\n%s", plan)
			for _, w := range c.want {
				if !strings.Contains(plan, w) {
					t.Errorf("the plan does not use %s:\n%s", w, plan)
				}
			}
			if c.f.Search != "" || c.f.State == store.ItemStateDead {
				if strings.Contains(plan, "SCAN work_items") && !strings.Contains(plan, "USING INDEX") {
					t.Errorf("the plan scans work_items:\n%s", plan)
				}
			}
			if strings.Contains(plan, "USE TEMP B-TREE") && c.f.Search == "" {
				t.Errorf("the plan sorts what it reads instead of walking ids newest first:\n%s", plan)
			}
		})
	}
}
