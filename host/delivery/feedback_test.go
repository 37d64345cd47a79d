package delivery

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// armRecorder is an in-memory ARM: it records every change and can fail.
type armRecorder struct {
	mu      sync.Mutex
	changes []string // "<alert id> <state> <comment>"
	errs    []error
}

func (a *armRecorder) ChangeState(_ context.Context, id string, st azure.State, comment string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errs) > 0 {
		err := a.errs[0]
		a.errs = a.errs[1:]
		return err
	}
	a.changes = append(a.changes, id+" "+string(st)+" "+comment)
	return nil
}

func (a *armRecorder) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.changes...)
}

func feedbackRouter(t *testing.T, block string) *route.Router {
	t.Helper()
	cfg, diags := config.Load([]byte(`
auth "none" {}
backend "file" "x" {}
azure {
  credential "managed_identity" {}
}
route "r" {
  send_to = [backend.file.x]
  `+block+`
}
`), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	r, diags := route.Compile(cfg.Routes, map[string]bool{"file.x": true})
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	return r
}

// TestFeedbackAcknowledges: a work item created for a firing alert asks
// the Azure side, in the same commit, to acknowledge the alert with a
// comment naming it; the Azure side's worker does it once. A resolved
// alert's item acknowledges nothing, and on_created = "none" neither.
func TestFeedbackAcknowledges(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		want        bool
	}{
		{"acknowledged", `azure_feedback {
    comment = "${work_item.key} for ${alert.rule}"
  }`, true},
		{"on_created none", `azure_feedback {
    on_created = "none"
  }`, false},
		{"no azure_feedback", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			itsm, arm := newFake(), &armRecorder{}
			router := feedbackRouter(t, tc.block)
			opts := testOptions()
			opts.Feedback = router.Feedback
			en := newEnv(t, StaticBackends{
				"file.x":              {Client: itsm, Capabilities: allCaps()},
				route.FeedbackBackend: {Client: &azure.Feedback{ARM: arm}, Capabilities: sdk.Capabilities{Update: true, Resolve: true, Reopen: true}},
			}, opts, true)
			const id = "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222222"
			en.ingest(alert(id, sdk.ConditionFired, t0), decision("file.x", "k", time.Hour))
			en.settled()
			if !tc.want {
				if got := arm.list(); len(got) != 0 {
					t.Fatalf("changes %v", got)
				}
				return
			}
			want := id + " Acknowledged INCW1 for cpu"
			if got := arm.list(); len(got) != 1 || got[0] != want {
				t.Fatalf("changes %v, want [%s]", got, want)
			}
			slot := en.item(route.FeedbackBackend, FeedbackKey("file.x", "k"))
			if slot.Remote != store.RemoteOpen || slot.Ref == nil || slot.Ref.Attributes["state"] != "Acknowledged" || slot.Route != "r" {
				t.Errorf("azure slot %s", fmtItems([]*store.Item{slot}))
			}
			if notes := en.stateNotes(en.item("file.x", "k").ID); !hasNote(notes, "Azure alert to be acknowledged: INCW1 for cpu") {
				t.Errorf("notes of the ITSM item: %v", notes)
			}
			// The alert resolves: the ITSM item is resolved, the Azure
			// alert is left to Azure (it closes stateful alerts itself).
			en.ingest(alert(id, sdk.ConditionResolved, t0.Add(time.Minute)), decision("file.x", "k", time.Hour))
			en.settled()
			if got := arm.list(); len(got) != 1 {
				t.Errorf("changes after the resolution %v", got)
			}
		})
	}
}

// TestFeedbackRetriesAndDeadLetters: ARM's retryable answers are retried
// by the Azure side's worker; a permanent one becomes a dead letter of the
// Azure slot whose reason says what to grant, and the ITSM side is done.
func TestFeedbackRetriesAndDeadLetters(t *testing.T) {
	itsm, arm := newFake(), &armRecorder{}
	arm.errs = []error{sdk.RetryableAfter(errFake("ARM answered 429"), 10*time.Millisecond), sdk.Retryable(errFake("ARM answered 503"))}
	opts := testOptions()
	opts.Feedback = feedbackRouter(t, "azure_feedback {}").Feedback
	en := newEnv(t, StaticBackends{
		"file.x":              {Client: itsm, Capabilities: allCaps()},
		route.FeedbackBackend: {Client: &azure.Feedback{ARM: arm}, Capabilities: sdk.Capabilities{Update: true, Resolve: true, Reopen: true}},
	}, opts, true)
	const a1 = "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222221"
	const a2 = "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222223"
	en.ingest(alert(a1, sdk.ConditionFired, t0), decision("file.x", "k1", time.Hour))
	en.settled()
	if got := arm.list(); len(got) != 1 || !strings.HasPrefix(got[0], a1+" Acknowledged") {
		t.Fatalf("changes %v", got)
	}
	arm.mu.Lock()
	arm.errs = []error{sdk.Permanent(errFake("ARM refused the change with 403 (AuthorizationFailed): " + azure.RoleAdvice))}
	arm.mu.Unlock()
	en.ingest(alert(a2, sdk.ConditionFired, t0), decision("file.x", "k2", time.Hour))
	waitFor(t, "the Azure slot's dead letter", func() bool {
		dls, err := en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{Backend: route.FeedbackBackend})
		return err == nil && len(dls) == 1 && strings.Contains(dls[0].Reason, "Microsoft.AlertsManagement/alerts/changestate/action")
	})
	if it := en.item("file.x", "k2"); it.Remote != store.RemoteOpen || it.Dead {
		t.Errorf("the ITSM item %s", fmtItems([]*store.Item{it}))
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

// TestHumanResolutionClosesTheAlert: the status poll finds a work item a
// person resolved in the tool, records who and when with an audit event,
// and (close_alert) the Azure side closes the alert with a comment naming
// them; a stale Fired (Azure retrying the old notification) does not
// reopen the work item; a later genuine re-fire reopens it, and the Azure
// side never acknowledges the alert it closed. The inbound path
// (CheckStatus) reads at once.
func TestHumanResolutionClosesTheAlert(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		closes      bool
		poll        time.Duration
	}{
		{"close_alert by the poll", "azure_feedback {}", true, 20 * time.Millisecond},
		{"leave by the poll", "azure_feedback {\n    on_human_resolved = \"leave\"\n  }", false, 20 * time.Millisecond},
		{"close_alert by a push", "azure_feedback {}", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			itsm, arm := newFake(), &armRecorder{}
			opts := testOptions()
			opts.Feedback = feedbackRouter(t, tc.block).Feedback
			var human atomicCount
			opts.Observer = func(o Observation) {
				if o.Op == OpHumanResolved {
					human.add()
				}
			}
			caps := allCaps()
			caps.ReadStatus = true
			en := newEnv(t, StaticBackends{
				"file.x":              {Client: itsm, Capabilities: caps, StatusPollInterval: tc.poll},
				route.FeedbackBackend: {Client: &azure.Feedback{ARM: arm}, Capabilities: sdk.Capabilities{Update: true, Resolve: true, Reopen: true}},
			}, opts, true)
			const id = "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222222"
			fired := alert(id, sdk.ConditionFired, t0)
			en.ingest(fired, decision("file.x", "k", 24*time.Hour))
			en.settled()
			waitFor(t, "the acknowledgement", func() bool { return len(arm.list()) == 1 })
			ref := en.item("file.x", "k").Ref.ID
			resolvedAt := t0.Add(5 * time.Minute)
			itsm.resolveAsHuman(ref, "alice", resolvedAt)
			if tc.poll == 0 {
				n, err := en.e.CheckStatus(context.Background(), "file.x", []string{ref})
				if err != nil || n != 1 {
					t.Fatalf("CheckStatus = %d, %v", n, err)
				}
			}
			waitFor(t, "the resolution recorded", func() bool { return en.item("file.x", "k").Remote == store.RemoteResolved })
			it := en.item("file.x", "k")
			if !it.HumanResolved || it.ResolvedBy != "alice" || !it.RemoteResolvedAt.Equal(resolvedAt) || it.Resolution != "Solved" {
				t.Errorf("after the resolution: %s by %q at %v", fmtItems([]*store.Item{it}), it.ResolvedBy, it.RemoteResolvedAt)
			}
			if notes := en.stateNotes(it.ID); !hasNote(notes, "resolved in file.x by alice") {
				t.Errorf("notes %v", notes)
			}
			if tc.closes {
				waitFor(t, "the close", func() bool { return len(arm.list()) == 2 })
				if got := arm.list()[1]; !strings.HasPrefix(got, id+" Closed ") || !strings.Contains(got, "by alice") {
					t.Errorf("close %q", got)
				}
			}
			en.settled()
			if human.get() != 1 {
				t.Errorf("%d human resolutions observed", human.get())
			}

			// Azure retries the old Fired (same time) and sends one from
			// before the resolution: neither reopens.
			en.ingest(fired, decision("file.x", "k", 24*time.Hour))
			en.ingest(alert(id, sdk.ConditionFired, t0.Add(time.Minute)), decision("file.x", "k", 24*time.Hour))
			en.settled()
			if it := en.item("file.x", "k"); it.Remote != store.RemoteResolved || itsm.count("reopen") != 0 {
				t.Fatalf("a stale Fired reopened the work item: %s", fmtItems([]*store.Item{it}))
			}
			// A genuine re-fire after the resolution reopens (inside the
			// reopen window); the alert the connector closed is not
			// acknowledged again.
			en.ingest(alert(id, sdk.ConditionFired, resolvedAt.Add(time.Minute)), decision("file.x", "k", 24*time.Hour))
			en.settled()
			if itsm.count("reopen") != 1 {
				t.Errorf("the re-fire did not reopen: %d reopens", itsm.count("reopen"))
			}
			want := 1
			if tc.closes {
				want = 2
			}
			if got := arm.list(); len(got) != want {
				t.Errorf("changes %v: the closed alert must not be acknowledged again", got)
			}
		})
	}
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
