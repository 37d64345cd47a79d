package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestRetryDelay(t *testing.T) {
	const backoff, raw = 2 * time.Second, 10 * time.Second
	tests := []struct {
		op             string
		backoff, delay time.Duration
		want           time.Duration
	}{
		{"create", backoff, raw, raw},                       // the outcome is unknown: Lookup must be able to see it
		{"create", 30 * time.Second, raw, 30 * time.Second}, // a longer backoff (or Retry-After) stands
		{"create", backoff, 0, backoff},                     // a backend whose Lookup sees new items at once
		{"lookup", backoff, raw, backoff},                   // nothing was created
		{"update", backoff, raw, backoff},
		{"resolve", backoff, raw, backoff},
		{"reopen", backoff, raw, backoff},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.op, tt.backoff, tt.delay); got != tt.want {
			t.Errorf("retryDelay(%s, %v, %v) = %v, want %v", tt.op, tt.backoff, tt.delay, got, tt.want)
		}
	}
}

// TestAmbiguousCreateWaitsForReadAfterWrite: a Create that acted remotely
// but failed retryably (a lost answer) is not followed by its Lookup
// before the backend's declared read-after-write delay.
func TestAmbiguousCreateWaitsForReadAfterWrite(t *testing.T) {
	const delay = time.Hour
	f := newFake()
	f.createThenFail = sdk.Retryable(errors.New("connection reset after the request was sent"))
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), ReadAfterWriteDelay: delay}}, testOptions(), true)
	before := time.Now()
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	var it *store.Item
	waitFor(t, "the failed create recorded", func() bool {
		items, err := en.st.ListItems(context.Background(), store.ItemFilter{CorrelationKey: "k"})
		if err != nil || len(items) != 1 {
			return false
		}
		it = items[0]
		return it.Attempts == 1
	})
	if it.DueAt.Before(before.Add(delay)) {
		t.Errorf("next attempt due at %v, before the read-after-write delay (%v after %v)", it.DueAt, delay, before)
	}
	if n := f.count("lookup"); n != 0 {
		t.Errorf("lookup called %d times before the retry, want 0 (a new item's Create goes first)", n)
	}
}

// TestCallNoteInAuditTrail: a note the plugin returns with a work item
// goes into the audit trail with the call, not into the recorded ref.
func TestCallNoteInAuditTrail(t *testing.T) {
	f := newFake()
	f.seed("k")
	const note = "closed INCW9 as a duplicate of INCW1"
	en := newEnv(t, StaticBackends{"fake.a": {Client: noting{f, note}, Capabilities: allCaps(), AdoptExisting: true}}, testOptions(), true)
	en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
	en.settled()
	it := en.item("fake.a", "k")
	if it.Ref == nil || it.Ref.Note != "" {
		t.Errorf("recorded ref %+v; want one without the note", it.Ref)
	}
	evs, err := en.st.Events(context.Background(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range evs {
		if e.Kind == store.EventCall && e.Op == "lookup" {
			msgs = append(msgs, e.Message)
		}
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], note) {
		t.Errorf("lookup events %q; want one with the note %q", msgs, note)
	}
}

// noting is a backend whose Lookup answers carry a note.
type noting struct {
	*fake
	note string
}

func (n noting) Lookup(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	wi, err := n.fake.Lookup(ctx, req)
	if wi != nil {
		wi.Note = n.note
	}
	return wi, err
}
