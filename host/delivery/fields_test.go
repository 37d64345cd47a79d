package delivery

import (
	"reflect"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestPlanFields(t *testing.T) {
	policy := func(def route.FieldPolicy, fields ...string) route.Policy {
		p := route.Policy{Default: def, Fields: map[string]route.FieldPolicy{}}
		for i := 0; i+1 < len(fields); i += 2 {
			p.Fields[fields[i]] = route.FieldPolicy(fields[i+1])
		}
		return p
	}
	rf := func(text string) fieldValue { return fieldValue{Text: text, Route: true} }
	written := func(v string) store.FieldState { return store.FieldState{Written: v} }
	human := func(v string) store.FieldState { return store.FieldState{Written: v, Human: true} }
	type fs = map[string]store.FieldState
	type wire = map[string]sdk.FieldPolicy
	tests := []struct {
		name      string
		in        fieldInput
		wire      wire
		state     fs
		note      string // part of the note; "" when it must be empty
		emptyNote bool
	}{
		{name: "no field policy: nothing on the wire, state kept",
			in:   fieldInput{Call: fieldsRefire, Values: map[string]fieldValue{"priority": rf("2")}, State: fs{"x": written("1")}},
			wire: nil, state: fs{"x": written("1")}, emptyNote: true},
		{name: "create writes every field and records it",
			in: fieldInput{Call: fieldsCreate, Policy: policy(route.FieldCreate, "priority", "comment", "assignee", "never_after_human", "summary", "always"),
				Values: map[string]fieldValue{"priority": rf("2"), "assignee": rf("alice"), "summary": rf("CPU"), "group": rf("Network")}},
			wire:  wire{"priority": sdk.FieldComment, "assignee": sdk.FieldAlways, "summary": sdk.FieldAlways, "group": sdk.FieldCreate},
			state: fs{"priority": written("2"), "assignee": written("alice"), "summary": written("CPU"), "group": written("Network")}, emptyNote: true},
		{name: "create resets a person's field of the previous item",
			in: fieldInput{Call: fieldsCreate, Policy: policy(route.FieldNeverAfterHuman),
				Values: map[string]fieldValue{"assignee": rf("alice")}, State: fs{"assignee": human("alice")}},
			wire: wire{"assignee": sdk.FieldAlways}, state: fs{"assignee": written("alice")}, emptyNote: true},
		{name: "create: not written again on a re-fire",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate), Values: map[string]fieldValue{"group": rf("DB")}, State: fs{"group": written("Network")}},
			wire: wire{"group": sdk.FieldCreate}, state: fs{"group": written("Network")}, note: "not written: group (create)"},
		{name: "always: written, new value recorded",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldAlways), Values: map[string]fieldValue{"summary": rf("CPU 99%")}, State: fs{"summary": written("CPU 95%")}},
			wire: wire{"summary": sdk.FieldAlways}, state: fs{"summary": written("CPU 99%")}, note: "written: summary"},
		{name: "comment: a changed value goes into the comment",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate, "priority", "comment"), Values: map[string]fieldValue{"priority": rf("1")}, State: fs{"priority": written("3")}},
			wire: wire{"priority": sdk.FieldComment}, state: fs{"priority": written("1")}, note: `into the comment: priority ("1", was "3")`},
		{name: "comment: an unchanged value, nothing",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate, "priority", "comment"), Values: map[string]fieldValue{"priority": rf("3")}, State: fs{"priority": written("3")}},
			wire: wire{"priority": sdk.FieldCreate}, state: fs{"priority": written("3")}, note: "not written: priority (comment, unchanged)"},
		{name: "comment: no value known yet, commented once",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldComment), Values: map[string]fieldValue{"priority": rf("3")}},
			wire: wire{"priority": sdk.FieldComment}, state: fs{"priority": written("3")}, note: `into the comment: priority ("3")`},
		{name: "never_after_human: the tool holds what was written, so written",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate, "assignee", "never_after_human"),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": written("alice")}, Current: map[string]string{"assignee": "alice"}},
			wire: wire{"assignee": sdk.FieldAlways}, state: fs{"assignee": written("bob")}, note: "written: assignee"},
		{name: "never_after_human: a person changed it, so it is theirs",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate, "assignee", "never_after_human"),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": written("alice")}, Current: map[string]string{"assignee": "carol"}},
			wire: wire{"assignee": sdk.FieldCreate}, state: fs{"assignee": human("alice")},
			note: `assignee (never_after_human: a person changed it to "carol", the connector wrote "alice"; left to them from now on)`},
		{name: "never_after_human: the tool holds the value being written (a write whose record was lost), not a person's",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldCreate, "assignee", "never_after_human"),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": written("alice")}, Current: map[string]string{"assignee": "bob"}},
			wire: wire{"assignee": sdk.FieldAlways}, state: fs{"assignee": written("bob")}, note: "written: assignee"},
		{name: "never_after_human: once a person's, never written, whatever the tool holds",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldNeverAfterHuman),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": human("alice")}, Current: map[string]string{"assignee": "alice"}},
			wire: wire{"assignee": sdk.FieldCreate}, state: fs{"assignee": human("alice")}, note: "assignee (never_after_human, changed by a person)"},
		{name: "never_after_human: the tool was not read, not written",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldNeverAfterHuman),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": written("alice")}},
			wire: wire{"assignee": sdk.FieldCreate}, state: fs{"assignee": written("alice")}, note: "could not be read"},
		{name: "never_after_human: the tool did not report the field, not written",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldNeverAfterHuman),
				Values: map[string]fieldValue{"assignee": rf("bob")}, State: fs{"assignee": written("alice")}, Current: map[string]string{}},
			wire: wire{"assignee": sdk.FieldCreate}, state: fs{"assignee": written("alice")}, note: "did not report its value"},
		{name: "never_after_human: never written by this connector, written now",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldNeverAfterHuman),
				Values: map[string]fieldValue{"assignee": rf("bob")}, Current: map[string]string{"assignee": "carol"}},
			wire: wire{"assignee": sdk.FieldAlways}, state: fs{"assignee": written("bob")}, note: "written: assignee"},
		{name: "per-alert attribute: governed only when named",
			in: fieldInput{Call: fieldsRefire, Policy: policy(route.FieldAlways, "title", "always"),
				Values: map[string]fieldValue{"title": {Text: "T"}, "body": {Text: "B"}}},
			wire: wire{"title": sdk.FieldAlways}, state: fs{"title": written("T")}, note: "written: title"},
		{name: "a field the call does not send keeps its state",
			in:   fieldInput{Call: fieldsRefire, Policy: policy(route.FieldAlways), Values: map[string]fieldValue{}, State: fs{"gone": human("x")}},
			wire: wire{}, state: fs{"gone": human("x")}, emptyNote: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planFields(tt.in)
			if !reflect.DeepEqual(got.Wire, tt.wire) {
				t.Errorf("wire = %v, want %v", got.Wire, tt.wire)
			}
			if !reflect.DeepEqual(got.State, tt.state) {
				t.Errorf("state = %v, want %v", got.State, tt.state)
			}
			if tt.emptyNote && got.Note != "" || !strings.Contains(got.Note, tt.note) {
				t.Errorf("note = %q, want it to contain %q", got.Note, tt.note)
			}
		})
	}
}

func TestNeedsFieldRead(t *testing.T) {
	nah := route.FieldNeverAfterHuman
	tests := []struct {
		name   string
		policy route.Policy
		state  map[string]store.FieldState
		want   bool
	}{
		{"no policy", route.Policy{}, map[string]store.FieldState{"a": {Written: "1"}}, false},
		{"named, written", route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{"a": nah}}, map[string]store.FieldState{"a": {Written: "1"}}, true},
		{"named, a person's already", route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{"a": nah}}, map[string]store.FieldState{"a": {Written: "1", Human: true}}, false},
		{"named, never written", route.Policy{Default: route.FieldCreate, Fields: map[string]route.FieldPolicy{"a": nah}}, nil, false},
		{"by default", route.Policy{Default: nah}, map[string]store.FieldState{"a": {Written: "1"}}, true},
		{"default, the field named otherwise", route.Policy{Default: nah, Fields: map[string]route.FieldPolicy{"a": route.FieldAlways}}, map[string]store.FieldState{"a": {Written: "1"}}, false},
		{"other policies", route.Policy{Default: route.FieldAlways, Fields: map[string]route.FieldPolicy{"a": route.FieldComment}}, map[string]store.FieldState{"a": {Written: "1"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsFieldRead(&store.Item{Policy: tt.policy, FieldState: tt.state}); got != tt.want {
				t.Errorf("needsFieldRead = %v, want %v", got, tt.want)
			}
		})
	}
}
