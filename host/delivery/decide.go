package delivery

import (
	"fmt"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// resolvedNeed is what a resolved alert needs when its slot holds no open
// work item (none, or a resolved one of an earlier incident).
type resolvedNeed int

const (
	// needNothing: the resolution is recorded only.
	needNothing resolvedNeed = iota
	// needAcknowledgedFired: a Fired the connector acknowledged has not
	// reached the backend. Its work item is delivered as for a firing alert
	// (Create, or Reopen inside the reopen window) and then resolved,
	// whatever the route's on_resolved_without_item says.
	needAcknowledgedFired
	// needCreateAndResolve: no Fired was acknowledged for the slot and no
	// item exists; the route's on_resolved_without_item is
	// create_and_resolve, so the item is created and then resolved.
	needCreateAndResolve
)

// resolvedWithoutItem decides what a resolved alert whose slot holds no open
// work item needs. on_resolved_without_item governs only a resolution whose
// Fired this connector never acknowledged (it was down when the alert fired,
// the route did not exist yet, or an operator dropped the Fired's dead
// letter); an acknowledged Fired always gets its work item.
func resolvedWithoutItem(it *store.Item) resolvedNeed {
	switch {
	case it.FiredSeq > it.AppliedSeq:
		return needAcknowledgedFired
	case it.Remote == store.RemoteNone && it.AppliedSeq < it.Seq &&
		it.OnResolvedWithoutItem == route.ResolvedCreateAndResolve:
		return needCreateAndResolve
	default:
		return needNothing
	}
}

// firedAt is when the Fired the worker delivers fired: the desired state's
// time for a firing alert, and for a resolved alert whose acknowledged Fired
// is still owed its item, the fired time the resolution carries.
func firedAt(it *store.Item) time.Time {
	if it.Condition != sdk.ConditionFired && it.Alert != nil && !it.Alert.FiredAt.IsZero() {
		return it.Alert.FiredAt
	}
	return it.EventAt
}

// staleAfterHumanResolution reports whether the item's Fired predates a
// resolution a person made in the tool: Azure retrying or re-sending an
// old notification (the same or an earlier fired time) must never reopen
// a work item someone resolved. A Fired that fired after the resolution
// is a genuine re-fire and follows the reopen rules.
func staleAfterHumanResolution(it *store.Item) bool {
	return it.Remote == store.RemoteResolved && it.HumanResolved && !it.RemoteResolvedAt.IsZero() &&
		!firedAt(it).After(it.RemoteResolvedAt)
}

func byWhom(by string) string {
	if by == "" {
		return ""
	}
	return " by " + by
}

// move is what one reconcile step does: at most one plugin call.
type move int

const (
	// moveDone: nothing left to call; the desired state is applied and
	// the claim ends.
	moveDone move = iota
	// moveWait: a Lookup must settle an earlier Create, but not before the
	// backend's read-after-write delay has passed since that attempt; the
	// claim ends and the item is due again then.
	moveWait
	// moveLookup: look the correlation key up before creating.
	moveLookup
	// moveMarkCreate: record the creating intent and this claim's attempt
	// before a Create that neither ingest nor the claim made durable.
	moveMarkCreate
	moveCreate
	moveUpdate
	moveResolve
	moveReopen
	// moveSkipUpdate: a re-fire the plugin cannot update; only recorded.
	moveSkipUpdate
	// moveSkipResolve: a resolution the plugin cannot resolve; only
	// recorded, and the claim ends.
	moveSkipResolve
	// moveFlapNote: the alert flaps; Update with the note that says so
	// (choice.Comment), once per flapping.
	moveFlapNote
	// moveFlapNoted: the alert flaps and the plugin has no Update: the
	// note is recorded as impossible, no call.
	moveFlapNoted
	// moveSuppress: a flapping alert fired again; recorded, not sent.
	moveSuppress
	// moveHold: a flapping alert resolved; its work item stays open until
	// choice.At, when the resolution is the quiet period old.
	moveHold
	// moveSettle: a maintenance window's hold ends (the window is over, or
	// a newer notification is not held); choice.Settle says what becomes
	// of the notifications it held back. No call.
	moveSettle
	// moveReadStatus: read the work item's status in the tool before the
	// re-fire that needs it (a never_after_human field's current value,
	// or the resolution wont_fix asks about).
	moveReadStatus
	// moveWontFix: a re-fire inside the reopen window of a work item a
	// person resolved as not worth fixing (the route's wont_fix): Update
	// comments on it (with choice.Comment, when set, as its note), and it
	// stays resolved.
	moveWontFix
)

var moveNames = [...]string{"done", "wait", "lookup", "mark-create", "create", "update", "resolve", "reopen", "skip-update", "skip-resolve",
	"flap-note", "flap-noted", "suppress", "hold", "settle", "read-status", "wont-fix"}

func (m move) String() string { return moveNames[m] }

// situation is what decide needs: the item as the worker sees it and what
// this claim has done and knows.
type situation struct {
	Item *store.Item
	Caps sdk.Capabilities
	// Marked: this claim's Create attempt is durable (the claim marked it,
	// or the worker recorded it), so Create may go.
	Marked bool
	// LookedUp: this claim already called Lookup.
	LookedUp bool
	// Adopt is the backend's adopt_existing.
	Adopt bool
	// ReadAfterWrite is the plugin's read-after-write delay.
	ReadAfterWrite time.Duration
	Now            time.Time
	// StatusRead: this claim read the work item's status; Status is the
	// answer (nil when there is none).
	StatusRead bool
	Status     *sdk.WorkItemStatus
}

// needsStatus reports whether a re-fire of s's open or resolved item needs
// the tool's status first and can still get it in this claim: a
// never_after_human field the connector wrote (its current value), or, for
// a reopen (reopen true), the route's wont_fix (the resolution).
func (s situation) needsStatus(reopen bool) bool {
	if !s.Caps.ReadStatus || s.StatusRead || s.Item.Ref == nil {
		return false
	}
	return needsFieldRead(s.Item) || (reopen && len(s.Item.Policy.WontFix) > 0)
}

// unknownCreate reports whether an earlier claim may have sent a Create
// whose outcome was never recorded: the item has a creating intent and an
// attempt mark that is not this claim's.
func (s situation) unknownCreate() bool {
	return s.Item.Intent == store.IntentCreating && !s.Item.CreateAttemptAt.IsZero() && !s.Marked
}

// choice is one step: the move, an audit note explaining it (may be
// empty), for moveWait and moveHold when the item is due again, and for a
// call a lifecycle policy makes, what the call says (sdk.Request.Note).
type choice struct {
	Move    move
	Note    string
	At      time.Time
	Comment string
	// Settle is what moveSettle does with the held notifications.
	Settle settlement
}

// settlement is what becomes of the notifications a maintenance window
// held back, once the hold ends.
type settlement int

const (
	// settleDeliver: they are delivered as any notification is (the
	// window ended with the alert firing and on_end = "create", or the
	// work item is open and nothing was held back).
	settleDeliver settlement = iota
	// settleGiveUp: they get no work item: the alert resolved inside the
	// window, or it was still firing at the end and on_end = "drop". A
	// Fired among them is no longer owed its work item; one acknowledged
	// before the window (Hold.PriorFiredSeq) is not among them, and while
	// it is owed the hold is settled to deliver instead.
	settleGiveUp
)

// decide is the reconcile table (see the package documentation): the one
// step that brings the backend closer to the desired state. Lookup is
// called only when the store cannot know the answer: a Create of an
// earlier claim may have acted (a retryable failure, a timeout, a crash or
// a shutdown mid-call), or the backend adopts existing tickets and the
// slot has no work item of its own yet. Every other new work item costs
// exactly one call, Create.
func decide(s situation) choice {
	if s.Item.StormParent != 0 {
		return stormMember(s)
	}
	c := decideItem(s)
	if s.Item.Storm.Members > 0 {
		return stormParent(s, c)
	}
	return c
}

// stormMember is the step for a storm's member (see store.ObserveStorm):
// no call of its own, whatever its alert does; the parent work item
// carries it, and its audit trail says which.
func stormMember(s situation) choice {
	it := s.Item
	if it.AppliedSeq >= it.Seq && it.Intent == store.IntentNone {
		return choice{Move: moveDone}
	}
	return choice{Move: moveDone, Note: fmt.Sprintf(
		"storm member: work item %d, the storm's parent, carries this alert and lists its configuration items; no call of its own", it.StormParent)}
}

// stormParent completes the step c of a storm's parent work item, whose
// desired state follows its members (store.JoinStorm): its Create, Update
// (one per claim, carrying every member that joined since the last) and
// Reopen say what the storm is, and its Resolve that every member has
// resolved.
func stormParent(s situation, c choice) choice {
	it := s.Item
	title := store.StormTitle(it.Storm.Members, it.Alert.Rule)
	switch c.Move {
	case moveCreate, moveReopen:
		c.Comment = title
	case moveUpdate:
		c.Comment = title
		c.Note = joinNotes(c.Note, fmt.Sprintf("storm: one update carries the %d members' configuration items", it.Storm.Members))
	case moveSkipUpdate:
		c.Note = fmt.Sprintf("storm: %d members; the plugin has no Update, so the new members are only recorded", it.Storm.Members)
	case moveResolve:
		c.Comment = fmt.Sprintf("storm over: all %d members resolved", it.Storm.Members)
		c.Note = joinNotes(c.Note, c.Comment)
	}
	return c
}

// decideItem is decide for a work item of its own (a storm's parent
// included).
func decideItem(s situation) choice {
	it, caps := s.Item, s.Caps
	if s.unknownCreate() && caps.Lookup && !s.LookedUp {
		if at := it.CreateAttemptAt.Add(s.ReadAfterWrite); s.Now.Before(at) {
			return choice{Move: moveWait, At: at, Note: fmt.Sprintf(
				"an earlier Create may have reached the backend; looking it up once the plugin's read-after-write delay (%v) has passed", s.ReadAfterWrite)}
		}
		return choice{Move: moveLookup}
	}
	if it.Hold.Seq > 0 {
		return maintenance(s)
	}
	if it.Remote == store.RemoteOpen && it.Flap != nil && it.FlapState.Flapping() {
		return flapping(s)
	}
	if it.Condition == sdk.ConditionFired {
		switch {
		case staleAfterHumanResolution(it):
			return choice{Move: moveDone, Note: fmt.Sprintf(
				"alert fired at %s, before its work item was resolved in the tool%s at %s; a Fired from before a person's resolution does not reopen it",
				firedAt(it).UTC().Format(time.RFC3339), byWhom(it.ResolvedBy), it.RemoteResolvedAt.UTC().Format(time.RFC3339))}
		case it.Remote != store.RemoteOpen && it.Seq > 0 && it.AppliedSeq >= it.Seq:
			// Nothing owed: a maintenance window dropped the alert at its
			// end, or wont_fix answered the re-fire with a comment and the
			// item stays resolved, as the person left it.
			return choice{Move: moveDone}
		case it.Remote != store.RemoteOpen:
			return newItem(s, "")
		case it.AppliedSeq >= it.Seq:
			return choice{Move: moveDone}
		case !caps.Update:
			return choice{Move: moveSkipUpdate, Note: "alert fired again; the plugin has no Update, so only recorded"}
		case s.needsStatus(false):
			return choice{Move: moveReadStatus, Note: "reading the work item's fields before the update: the route's never_after_human fields are left alone once a person changed them"}
		}
		return choice{Move: moveUpdate}
	}
	if it.Remote == store.RemoteOpen {
		if !caps.Resolve {
			return choice{Move: moveSkipResolve, Note: "alert resolved; the plugin cannot resolve, so only recorded"}
		}
		return choice{Move: moveResolve}
	}
	if need := resolvedWithoutItem(it); need != needNothing {
		// The same path as a firing alert's; once the item is open, the
		// step above resolves it.
		return newItem(s, "alert resolved with no work item open; "+whyCreate(need)+cannotResolve(caps))
	}
	switch {
	case it.Intent == store.IntentCreating:
		return choice{Move: moveDone, Note: "the alert resolved before its work item was created; nothing to create"}
	case it.Remote == store.RemoteNone && it.AppliedSeq < it.Seq:
		return choice{Move: moveDone, Note: "alert resolved with no work item open; recorded only"}
	}
	return choice{Move: moveDone}
}

// maintenance is the step for an item a maintenance window holds (see
// store.Hold): while the window lasts and holds the newest notification,
// an item without an open work item waits for its end; an open work item
// is updated and resolved as usual. When the hold ends (the window is
// over, or a newer notification is not held), it is settled: an alert
// that was still firing at the end gets its work item (on_end = "create")
// or none (on_end = "drop"); one that resolved inside the window gets none.
// Neither gives up a Fired acknowledged before the window that has not
// reached the backend yet: that alert gets its work item (then resolved,
// when it resolved inside the window), as any acknowledged Fired does.
func maintenance(s situation) choice {
	it, h := s.Item, s.Item.Hold
	if it.Remote == store.RemoteOpen {
		return choice{Move: moveSettle, Settle: settleDeliver, Note: fmt.Sprintf(
			"maintenance window %q: the work item is open, so the notification is delivered as usual", h.Window)}
	}
	if it.Seq == h.Seq && s.Now.Before(h.Until) {
		return choice{Move: moveWait, At: h.Until, Note: fmt.Sprintf(
			"in maintenance window %q until %s: no work item is created or reopened before it ends", h.Window, h.Until.UTC().Format(time.RFC3339))}
	}
	why := fmt.Sprintf("maintenance window %q ended", h.Window)
	if it.Seq > h.Seq && s.Now.Before(h.Until) {
		why = fmt.Sprintf("a newer notification is outside maintenance window %q", h.Window)
	}
	// A Fired acknowledged before the window began holding the alert, and
	// not delivered since (the backend was failing, say), is owed its work
	// item like any acknowledged Fired: the window gives up only what it
	// held.
	owed := h.PriorFiredSeq > it.AppliedSeq
	switch {
	case h.Condition != sdk.ConditionFired && owed:
		return choice{Move: moveSettle, Settle: settleDeliver, Note: fmt.Sprintf(
			"the alert resolved inside maintenance window %q, but its Fired acknowledged before the window has no work item yet: delivering it, then resolving it", h.Window)}
	case h.Condition != sdk.ConditionFired:
		return choice{Move: moveSettle, Settle: settleGiveUp, Note: fmt.Sprintf(
			"the alert resolved inside maintenance window %q: no work item for it", h.Window)}
	case h.OnEnd == route.OnEndDrop && owed:
		return choice{Move: moveSettle, Settle: settleDeliver, Note: why + " with the alert still firing; on_end = \"drop\" gives up only what the window held, " +
			"and the alert's Fired acknowledged before the window has no work item yet: delivering it"}
	case h.OnEnd == route.OnEndDrop:
		return choice{Move: moveSettle, Settle: settleGiveUp, Note: why + " with the alert still firing: dropped (on_end = \"drop\"), no work item unless it fires again"}
	}
	return choice{Move: moveSettle, Settle: settleDeliver, Note: why + " with the alert still firing: delivering it (on_end = \"create\")"}
}

// flapping is the step for a flapping alert whose work item is open (see
// store.ObserveFlap for when an alert flaps): one Update says so, re-fires
// are recorded and not sent, and a resolution waits until the alert has
// stayed resolved for the quiet period. A flapping alert without an open
// work item gets one as any firing alert does (Create or Reopen), and the
// note follows.
func flapping(s situation) choice {
	it, caps, f := s.Item, s.Caps, s.Item.Flap
	if !it.FlapNoted.Equal(it.FlapState.Since) {
		if !caps.Update {
			return choice{Move: moveFlapNoted, Note: "alert is flapping; the plugin has no Update, so no note says so"}
		}
		return choice{Move: moveFlapNote, Note: "alert is flapping: adding a note that says so; further transitions are recorded, not sent",
			Comment: fmt.Sprintf("Alert is flapping: more than %d fire/resolve transitions within %v. Further changes are recorded by the connector but not sent, "+
				"and this work item stays open until the alert has stayed resolved for %v.", f.MaxTransitions, f.Window, f.QuietPeriod)}
	}
	if it.Condition == sdk.ConditionFired {
		if it.AppliedSeq >= it.Seq {
			return choice{Move: moveDone}
		}
		return choice{Move: moveSuppress, Note: "alert is flapping: fired again; recorded, not sent"}
	}
	if quiet := it.EventAt.Add(f.QuietPeriod); s.Now.Before(quiet) {
		return choice{Move: moveHold, At: quiet, Note: fmt.Sprintf(
			"alert is flapping: resolved; the work item stays open until the alert has stayed resolved for %v (%s)", f.QuietPeriod, quiet.UTC().Format(time.RFC3339))}
	}
	note := fmt.Sprintf("the flapping alert has stayed resolved for %v: resolving", f.QuietPeriod)
	if !caps.Resolve {
		return choice{Move: moveSkipResolve, Note: note + "; the plugin cannot resolve, so only recorded"}
	}
	return choice{Move: moveResolve, Note: note}
}

// newItem brings a Fired to a slot whose work item is resolved or absent:
// Reopen inside the reopen window, else Create, after a Lookup when the
// backend adopts existing tickets and the slot has no work item yet. note
// says why, when the alert has resolved meanwhile.
func newItem(s situation, note string) choice {
	it, caps := s.Item, s.Caps
	if it.Remote == store.RemoteResolved {
		gap := firedAt(it).Sub(it.RemoteResolvedAt)
		inside := it.ReopenWindow > 0 && !it.RemoteResolvedAt.IsZero() && gap <= it.ReopenWindow
		var why string
		switch {
		case inside && s.needsStatus(true):
			return choice{Move: moveReadStatus, Note: joinNotes(note, "reading the work item's status before reopening it: "+statusReason(it))}
		case inside && s.Status != nil && it.Policy.IsWontFix(s.Status.Resolution):
			return wontFix(s, note)
		case inside && caps.Reopen:
			return choice{Move: moveReopen, Note: note}
		case inside:
			why = "fired again inside the reopen window, but the plugin cannot reopen; creating a new work item"
		case it.ReopenWindow > 0:
			why = fmt.Sprintf("fired again %v after resolution, outside the reopen window of %v; creating a new work item", gap, it.ReopenWindow)
		default:
			why = "fired again after resolution and the route does not reopen; creating a new work item"
		}
		note = joinNotes(note, why)
	}
	switch {
	case s.Adopt && caps.Lookup && !s.LookedUp && it.Ref == nil:
		return choice{Move: moveLookup, Note: joinNotes(note, "adopt_existing: looking for an existing work item before creating the first one")}
	case !s.Marked:
		return choice{Move: moveMarkCreate, Note: note}
	}
	return choice{Move: moveCreate, Note: note}
}

// statusReason says why a reopen reads the work item's status first.
func statusReason(it *store.Item) string {
	var why []string
	if len(it.Policy.WontFix) > 0 {
		why = append(why, "a resolution in the route's wont_fix leaves it resolved")
	}
	if needsFieldRead(it) {
		why = append(why, "the route's never_after_human fields are left alone once a person changed them")
	}
	return strings.Join(why, "; ")
}

// wontFix is the step for a re-fire inside the reopen window of a work item
// resolved as the route's wont_fix lists: it stays resolved, and Update
// comments that the alert fired again. A flapping alert's item gets one
// comment per flapping, the note that it flaps (as an open item's does);
// its further re-fires are recorded, not sent.
func wontFix(s situation, note string) choice {
	it, caps, f := s.Item, s.Caps, s.Item.Flap
	msg := wontFixNote(s, caps)
	if f == nil || !it.FlapState.Flapping() {
		return choice{Move: moveWontFix, Note: joinNotes(note, msg)}
	}
	if it.FlapNoted.Equal(it.FlapState.Since) {
		return choice{Move: moveSuppress, Note: joinNotes(note, fmt.Sprintf(
			"fired again inside the reopen window of %s, resolved as %q, which the route's wont_fix lists; the alert is flapping: recorded, not sent",
			refName(it.Ref), s.Status.Resolution))}
	}
	return choice{Move: moveWontFix, Note: joinNotes(note, msg+"; the alert is flapping: the comment says so, and further re-fires are recorded, not sent"),
		Comment: fmt.Sprintf("Alert is flapping: more than %d fire/resolve transitions within %v. This work item stays resolved (%q); "+
			"further changes are recorded by the connector but not sent.", f.MaxTransitions, f.Window, s.Status.Resolution)}
}

// wontFixNote explains a re-fire that comments instead of reopening.
func wontFixNote(s situation, caps sdk.Capabilities) string {
	by := ""
	if s.Status.ResolvedBy != "" {
		by = " by " + s.Status.ResolvedBy
	}
	msg := fmt.Sprintf("fired again inside the reopen window, but %s was resolved as %q%s, which the route's wont_fix lists: not reopened",
		refName(s.Item.Ref), s.Status.Resolution, by)
	if !caps.Update {
		return msg + "; the plugin has no Update, so only recorded"
	}
	return msg + "; a comment says it fired again"
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// whyCreate completes the audit note of a work item created for a resolved
// alert.
func whyCreate(need resolvedNeed) string {
	if need == needAcknowledgedFired {
		return "its acknowledged Fired still needs its work item, whatever on_resolved_without_item says: delivering it, then resolving it"
	}
	return "creating and resolving it per the route's on_resolved_without_item"
}

// cannotResolve completes the audit note of a create for a resolved alert
// when the plugin has no Resolve.
func cannotResolve(caps sdk.Capabilities) string {
	if caps.Resolve {
		return ""
	}
	return "; the plugin cannot resolve, so the work item stays open"
}
