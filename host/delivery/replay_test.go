package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestPermanentErrorCountsItsAttempt: a dead letter written after a
// permanent error counts the failed call, with the retryable failures
// before it; it used to show 0 attempts.
func TestPermanentErrorCountsItsAttempt(t *testing.T) {
	tests := []struct {
		name   string
		errs   []error
		wantAt int
	}{
		{"permanent at once", []error{sdk.Permanent(errors.New("HTTP 400"))}, 1},
		{"after two retryable", []error{errors.New("HTTP 503"), errors.New("HTTP 503"), sdk.Permanent(errors.New("HTTP 400"))}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.fail("create", tt.errs...)
			en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: sdk.Capabilities{}}}, testOptions(), true)
			en.ingest(alert("a1", sdk.ConditionFired, t0), decision("fake.a", "k", 0))
			var dls []*store.DeadLetter
			waitFor(t, "a dead letter", func() bool {
				dls, _ = en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
				return len(dls) == 1
			})
			if dls[0].Attempts != tt.wantAt {
				t.Errorf("dead letter shows %d attempts, want %d (reason %q)", dls[0].Attempts, tt.wantAt, dls[0].Reason)
			}
			if it := en.item("fake.a", "k"); it.Attempts != tt.wantAt {
				t.Errorf("work item shows %d attempts, want %d", it.Attempts, tt.wantAt)
			}
		})
	}
}

// TestReplayErrors: what a replay cannot do is told apart with errors.Is,
// for the admin API's status codes, and each message names the letter once.
func TestReplayErrors(t *testing.T) {
	f := newFake()
	opts := testOptions()
	opts.Router = func(a *sdk.Alert) (route.Decision, error) {
		if a.ID == "still-unmatched" {
			return route.Decision{Unmatched: "no route matched severity 4"}, nil
		}
		return decision("fake.a", a.ID, 0), nil
	}
	en := newEnv(t, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps()}}, opts, false)
	en.ingest(alert("still-unmatched", sdk.ConditionFired, t0), route.Decision{Unmatched: "no route matched severity 4"})
	dls, err := en.st.ListDeadLetters(context.Background(), store.DeadLetterFilter{})
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters %d, %v", len(dls), err)
	}
	id := dls[0].ID

	_, err = en.e.Replay(context.Background(), id)
	if !errors.Is(err, ErrUnroutable) || strings.Count(err.Error(), "dead letter") != 1 || !strings.Contains(err.Error(), "severity 4") {
		t.Errorf("replaying a still unmatched letter = %v; want ErrUnroutable, naming the letter once, with the reason", err)
	}
	if _, err := en.st.GetDeadLetter(context.Background(), id); err != nil {
		t.Errorf("the letter of a failed replay is gone: %v", err)
	}
	_, err = Replay(context.Background(), en.st, id, nil, t0)
	if !errors.Is(err, ErrUnroutable) {
		t.Errorf("replaying an unmatched letter without routes = %v; want ErrUnroutable", err)
	}
	_, err = en.e.Replay(context.Background(), 999)
	if !errors.Is(err, store.ErrNotFound) || strings.Count(err.Error(), "dead letter") != 1 {
		t.Errorf("replaying an unknown letter = %v; want ErrNotFound, naming the letter once", err)
	}
}
