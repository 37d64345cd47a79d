package pluginhost

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func statusRequest(ids ...string) *sdk.StatusRequest {
	req := &sdk.StatusRequest{}
	for _, id := range ids {
		req.Items = append(req.Items, sdk.WorkItem{ID: id, State: sdk.StateOpen})
	}
	return req
}

// TestReadStatusThroughHost reads status from a real plugin process: the
// answer as the plugin gave it, the batch size it declares, a request over
// it refused, and answers that break the contract or the limits refused
// with errors naming the backend, the plugin and what is wrong.
func TestReadStatusThroughHost(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	ctx := context.Background()
	if !b.Capabilities().ReadStatus || b.MaxStatusBatch() != 4 {
		t.Fatalf("capabilities %+v, batch %d; want read_status in batches of 4", b.Capabilities(), b.MaxStatusBatch())
	}

	got, err := b.ReadStatus(ctx, statusRequest("wi-1", "open-2", "gone-3"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.WorkItemStatus{
		{ID: "wi-1", Found: true, State: sdk.StateResolved, ResolvedBy: "ops@example.test",
			ResolvedAt: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC), Resolution: "Solved (Permanently)"},
		{ID: "open-2", Found: true, State: sdk.StateOpen},
		{ID: "gone-3"},
	}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("ReadStatus = %s\nwant %s", g, w)
	}

	for _, tt := range []struct {
		name string
		req  *sdk.StatusRequest
		want string
	}{
		{"more items than the plugin reads at once", statusRequest("a", "b", "c", "d", "e"),
			`backend test.prod: read_status: 5 work items asked for; plugin "test" reads at most 4 per call`},
		{"a status for an item not asked for", statusRequest("wi-1", "stray-2"),
			`plugin answered ReadStatus wrongly: statuses[1] is for work item "other-stray-2", which was not asked for`},
		{"a status field over the limit", statusRequest("wi-1", "big-2"),
			`backend test.prod: plugin "test" answered read_status with a status the host does not take: statuses[1] (work item "big-2"): its resolved_by has 102400 bytes`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := b.ReadStatus(ctx, tt.req)
			if got != nil || sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadStatus = (%v, %v); want a permanent error saying %q", got, err, tt.want)
			}
		})
	}
	if b.Restarts() != 0 {
		t.Errorf("restarts = %d: a wrong answer is not a crash", b.Restarts())
	}
}

// TestReadStatusFollowsConfigure: a plugin whose configuration turns the
// capability off is not asked.
func TestReadStatusCapabilityFollowsConfigure(t *testing.T) {
	dir, _ := testPluginDirs(t)
	h, diags, _ := startHost(t, dir, `backend "test" "prod" {
  config {
    url     = "https://a.example.test"
    retries = 0
  }
}
`, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	if b.Capabilities().ReadStatus {
		t.Errorf("capabilities %+v with retries = 0; want no read_status", b.Capabilities())
	}
}

// TestReadStatusIsRedacted: a plugin echoing its secrets in a status gets
// them redacted in every string the host takes.
func TestReadStatusIsRedacted(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_ECHO_TOKEN", echoToken)
	t.Setenv("PLUGINHOST_ECHO_CLIENT_SECRET", echoClientSecret)
	h, diags, p := startHost(t, dir, echoConfig, Options{})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	got, err := mustBackend(t, h, "test.echo").ReadStatus(context.Background(), statusRequest("echo-1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "echo-1" || !strings.Contains(got[0].ResolvedBy, "[redacted]") {
		t.Errorf("ReadStatus = %+v; want echo-1 resolved by a redacted name", got)
	}
	assertNoLeak(t, "the status", mustJSON(t, got))
}

// TestCheckStatus: the limits on a status's strings, each named.
func TestCheckStatus(t *testing.T) {
	big := strings.Repeat("x", MaxWorkItemFieldBytes+1)
	many := map[string]string{}
	for i := range 5 {
		many[strings.Repeat(string(rune('a'+i)), 10)] = strings.Repeat("v", 60<<10)
	}
	for _, tt := range []struct {
		name string
		st   sdk.WorkItemStatus
		want string
	}{
		{"within the limits", sdk.WorkItemStatus{ID: "1", Found: true, State: sdk.StateOpen, Fields: map[string]string{"k": "v"}}, ""},
		{"id", sdk.WorkItemStatus{ID: big}, "its id has 65537 bytes; a status field may have at most 65536 (64 KiB)"},
		{"resolution", sdk.WorkItemStatus{ID: "1", Resolution: big}, "its resolution has 65537 bytes"},
		{"a field", sdk.WorkItemStatus{ID: "1", Fields: map[string]string{"close_notes": big}}, `its fields["close_notes"] has 65548 bytes`},
		{"all fields", sdk.WorkItemStatus{ID: "1", Fields: many}, "its fields have 307250 bytes; a status may have at most 262144 (256 KiB)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkStatus(&tt.st)
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("checkStatus = %v, want %q", err, tt.want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
