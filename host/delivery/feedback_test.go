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
