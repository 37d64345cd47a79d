package delivery

import (
	"fmt"
	"sort"
	"strings"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// fieldCall is the kind of call a field plan is made for.
type fieldCall int

const (
	// fieldsCreate: Create (a new work item) and the adoption of an item
	// Lookup found: every field is written, or taken as written.
	fieldsCreate fieldCall = iota
	// fieldsRefire: Update and Reopen, which deliver a re-fire to an
	// existing work item: each field as its policy says.
	fieldsRefire
)

// fieldInput is what planFields needs: the route's policy, the value of
// each field this call would send, what the connector knows of the work
// item's fields, and what the tool holds now.
type fieldInput struct {
	Call   fieldCall
	Policy route.Policy
	// Values are the fields this call sends, as text (sdktext.Scalar of
	// the JSON value): the route's fields and the plugin's top-level
	// per-alert attributes.
	Values map[string]fieldValue
	// State is the work item's field state (store.Item.FieldState).
	State map[string]store.FieldState
	// Current holds the tool's current value of each field, from a status
	// read in this claim; nil when none was read.
	Current map[string]string
}

// fieldValue is one field's value for a call.
type fieldValue struct {
	Text string
	// Route is true for a route field, false for a per-alert attribute:
	// field_policy_default governs route fields only.
	Route bool
}

// fieldPlan is what planFields decided for one call.
type fieldPlan struct {
	// Wire is the policy sent with the call (sdk.Request.FieldPolicy);
	// nil when the route sets no field policy.
	Wire map[string]sdk.FieldPolicy
	// State is the field state to record once the call succeeded.
	State map[string]store.FieldState
	// Note explains the plan for the audit trail; empty when nothing is
	// worth saying (no policy, or a create).
	Note string
}

// planFields decides which fields a call writes, which it puts into its
// comment instead, and which it leaves alone (the route's field_policy,
// see docs/lifecycle-policy.md). On create every field is written and its
// value becomes the baseline. On a re-fire:
//
//	create             not written
//	always             written
//	comment            written into the comment when its value differs
//	                   from the one last written or commented (or none is
//	                   known), else nothing
//	never_after_human  written while the tool holds the value last written
//	                   (or the connector never wrote it); once the tool
//	                   holds another, a person changed it: it is marked
//	                   theirs, for good, and never written again. A tool
//	                   value equal to the one being written is no change
//	                   (the connector's own write whose record a crash
//	                   lost). When the tool's value could not be read, it
//	                   is not written.
//
// A route without a field policy sends none: each plugin writes as it
// always did.
func planFields(in fieldInput) fieldPlan {
	if !in.Policy.HasFieldPolicy() {
		return fieldPlan{State: in.State}
	}
	plan := fieldPlan{Wire: map[string]sdk.FieldPolicy{}, State: make(map[string]store.FieldState, len(in.State)+len(in.Values))}
	for name, st := range in.State {
		plan.State[name] = st
	}
	var written, commented, kept []string
	for _, name := range sortedNames(in.Values) {
		v := in.Values[name]
		p, governed := in.Policy.Of(name, v.Route)
		if !governed {
			continue
		}
		if in.Call == fieldsCreate {
			plan.Wire[name] = wireOnCreate(p)
			plan.State[name] = store.FieldState{Written: v.Text}
			continue
		}
		st, known := in.State[name]
		switch p {
		case route.FieldAlways:
			plan.Wire[name] = sdk.FieldAlways
			plan.State[name] = store.FieldState{Written: v.Text, Human: st.Human}
			written = append(written, name)
		case route.FieldComment:
			if known && st.Written == v.Text {
				plan.Wire[name] = sdk.FieldCreate
				kept = append(kept, name+" (comment, unchanged)")
				continue
			}
			plan.Wire[name] = sdk.FieldComment
			plan.State[name] = store.FieldState{Written: v.Text, Human: st.Human}
			if known {
				commented = append(commented, fmt.Sprintf("%s (%q, was %q)", name, v.Text, st.Written))
			} else {
				commented = append(commented, fmt.Sprintf("%s (%q)", name, v.Text))
			}
		case route.FieldNeverAfterHuman:
			cur, read := in.Current[name]
			switch {
			case st.Human:
				plan.Wire[name] = sdk.FieldCreate
				kept = append(kept, name+" (never_after_human, changed by a person)")
			case known && in.Current == nil:
				plan.Wire[name] = sdk.FieldCreate
				kept = append(kept, name+" (never_after_human, the tool's value could not be read)")
			case known && !read:
				plan.Wire[name] = sdk.FieldCreate
				kept = append(kept, name+" (never_after_human, the tool did not report its value)")
			case known && cur != st.Written && cur != v.Text:
				plan.Wire[name] = sdk.FieldCreate
				plan.State[name] = store.FieldState{Written: st.Written, Human: true}
				kept = append(kept, fmt.Sprintf("%s (never_after_human: a person changed it to %q, the connector wrote %q; left to them from now on)", name, cur, st.Written))
			default: // unchanged in the tool, already this value, or never written by this connector
				plan.Wire[name] = sdk.FieldAlways
				plan.State[name] = store.FieldState{Written: v.Text}
				written = append(written, name)
			}
		default: // route.FieldCreate
			plan.Wire[name] = sdk.FieldCreate
			kept = append(kept, name+" (create)")
		}
	}
	if in.Call == fieldsRefire {
		plan.Note = fieldNote(written, commented, kept)
	}
	return plan
}

// wireOnCreate is a field's policy as sent with Create, which writes every
// field: never_after_human is "always" until a person edits the field.
func wireOnCreate(p route.FieldPolicy) sdk.FieldPolicy {
	switch p {
	case route.FieldAlways, route.FieldNeverAfterHuman:
		return sdk.FieldAlways
	case route.FieldComment:
		return sdk.FieldComment
	}
	return sdk.FieldCreate
}

func fieldNote(written, commented, kept []string) string {
	var parts []string
	if len(written) > 0 {
		parts = append(parts, "written: "+strings.Join(written, ", "))
	}
	if len(commented) > 0 {
		parts = append(parts, "into the comment: "+strings.Join(commented, ", "))
	}
	if len(kept) > 0 {
		parts = append(parts, "not written: "+strings.Join(kept, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "field policy: " + strings.Join(parts, "; ")
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// needsFieldRead reports whether a re-fire of an item needs the tool's
// current field values first: a never_after_human field the connector has
// written and no person has taken over yet.
func needsFieldRead(it *store.Item) bool {
	for name, p := range it.Policy.Fields {
		if p != route.FieldNeverAfterHuman {
			continue
		}
		if st, known := it.FieldState[name]; known && !st.Human {
			return true
		}
	}
	if it.Policy.Default == route.FieldNeverAfterHuman {
		for name, st := range it.FieldState {
			if _, named := it.Policy.Fields[name]; !named && !st.Human {
				return true
			}
		}
	}
	return false
}
