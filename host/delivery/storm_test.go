package delivery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// stormDecision is alert i's delivery under a storm block with max_new 1,
// covering virtual machine vm<i>.
func stormDecision(i int) route.Decision {
	d := decision("file.x", fmt.Sprintf("k%d", i), time.Hour)
	d.Deliveries[0].ConfigurationItems = []sdk.ConfigurationItem{{Name: fmt.Sprintf("vm%d", i)}}
	d.Deliveries[0].Storm = &route.StormPolicy{Window: time.Hour, MaxNew: 1, Group: "cpu"}
	return d
}

// TestStormEngine: under max_new = 1 the first alert gets its own work
// item and the rest join one parent: members make no calls; the members
// that joined before the parent's claim reach the backend with its one
// Create, later ones with Updates (one per claim); the parent is resolved
// once, after its last member; azure_feedback acknowledges the alert of
// the work item of its own only (a parent stands for no Azure alert).
func TestStormEngine(t *testing.T) {
	itsm, arm := newFake(), &armRecorder{}
	router := feedbackRouter(t, `azure_feedback {}`)
	opts := testOptions()
	opts.Feedback = router.Feedback
	en := newEnv(t, StaticBackends{
		"file.x":              {Client: itsm, Capabilities: allCaps()},
		route.FeedbackBackend: {Client: &azure.Feedback{ARM: arm}, Capabilities: sdk.Capabilities{Update: true, Resolve: true, Reopen: true}},
	}, opts, false)
	id := func(i int) string {
		return fmt.Sprintf("/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-%012d", i)
	}
	for i := range 5 {
		en.ingest(alert(id(i), sdk.ConditionFired, t0.Add(time.Duration(i)*time.Second)), stormDecision(i))
	}
	if err := en.e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	en.settled()
	if c, u := itsm.count("create"), itsm.count("update"); c != 2 || u != 0 {
		t.Fatalf("%d creates, %d updates; want 2 creates (the own work item, the parent with its 4 members), no update", c, u)
	}
	parent := stormParentItem(t, en)
	if parent.Storm.Members != 4 || len(parent.ConfigurationItems) != 4 || parent.Remote != store.RemoteOpen {
		t.Fatalf("parent: %d members, %d configuration items, %s", parent.Storm.Members, len(parent.ConfigurationItems), parent.Remote)
	}
	if !hasNote(itsm.callNotes(), "create: storm: 4 resources affected by cpu") {
		t.Errorf("call notes %v; want the parent's Create titled", itsm.callNotes())
	}
	member := en.item("file.x", "k3")
	if member.StormParent != parent.ID || member.Remote != store.RemoteNone || member.Dirty {
		t.Errorf("member: parent %d, remote %s, dirty %v", member.StormParent, member.Remote, member.Dirty)
	}
	if notes := en.stateNotes(member.ID); !hasNote(notes, fmt.Sprintf("work item %d, the storm's parent", parent.ID)) {
		t.Errorf("member's notes %v", notes)
	}
	waitFor(t, "the own work item's alert acknowledged", func() bool { return len(arm.list()) == 1 })
	if got := arm.list(); !strings.HasPrefix(got[0], id(0)+" Acknowledged") {
		t.Errorf("Azure changes %v; want the own work item's alert acknowledged only", got)
	}

	// Two more join while it runs: Updates, each carrying all members.
	for i := 5; i < 7; i++ {
		en.ingest(alert(id(i), sdk.ConditionFired, t0.Add(time.Duration(i)*time.Second)), stormDecision(i))
	}
	en.settled()
	if u := itsm.count("update"); u < 1 || u > 2 {
		t.Errorf("%d updates for 2 members joining, want 1 or 2", u)
	}
	if p := stormParentItem(t, en); p.Storm.Members != 6 || len(p.ConfigurationItems) != 6 || p.AppliedSeq != p.Seq {
		t.Errorf("parent: %d members, %d configuration items, seq %d applied %d", p.Storm.Members, len(p.ConfigurationItems), p.Seq, p.AppliedSeq)
	}

	// All resolve: the own work item and the parent, once each.
	for i := range 7 {
		en.ingest(alert(id(i), sdk.ConditionResolved, t0.Add(time.Hour+time.Duration(i)*time.Second)), stormDecision(i))
		if i < 6 {
			if p := stormParentItem(t, en); p.Condition != sdk.ConditionFired {
				t.Fatalf("the parent resolved with %d members still firing", 6-i)
			}
		}
	}
	en.settled()
	if r := itsm.count("resolve"); r != 2 {
		t.Errorf("%d resolves, want 2 (the own work item, the parent)", r)
	}
	if p := stormParentItem(t, en); p.Remote != store.RemoteResolved || p.Storm.Firing != 0 {
		t.Errorf("parent: remote %s, %d firing", p.Remote, p.Storm.Firing)
	}
	if n := len(arm.list()); n != 1 {
		t.Errorf("Azure changes %v; want only the one acknowledgement", arm.list())
	}
}

func stormParentItem(t *testing.T, en *env) *store.Item {
	t.Helper()
	items, err := en.st.ListItems(context.Background(), store.ItemFilter{Backend: "file.x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Storm.Members > 0 {
			return it
		}
	}
	t.Fatal("no storm parent")
	return nil
}
