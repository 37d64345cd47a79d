package entra

import (
	"testing"
	"time"
)

func TestDecideUnknownKey(t *testing.T) {
	const soon = 12 * time.Second
	tests := []struct {
		name  string
		state unknownKeyState
		want  unknownKeyDecision
	}{
		{name: "checked after the token was issued: genuine 401",
			state: unknownKeyState{checked: true},
			want:  unknownKeyDecision{action: actReject, outcome: UnknownKeyRejected}},
		{name: "checked wins over a round in flight",
			state: unknownKeyState{checked: true, inflight: true},
			want:  unknownKeyDecision{action: actReject, outcome: UnknownKeyRejected}},
		{name: "checked wins over a spent budget",
			state: unknownKeyState{checked: true, budgetWait: soon},
			want:  unknownKeyDecision{action: actReject, outcome: UnknownKeyRejected}},
		{name: "checked wins over an earlier failure",
			state: unknownKeyState{checked: true, waitFailed: true},
			want:  unknownKeyDecision{action: actReject, outcome: UnknownKeyRejected}},
		{name: "round in flight: join it, free",
			state: unknownKeyState{inflight: true},
			want:  unknownKeyDecision{action: actJoin}},
		{name: "round in flight with a spent budget: still join",
			state: unknownKeyState{inflight: true, budgetWait: soon},
			want:  unknownKeyDecision{action: actJoin}},
		{name: "budget left: refresh now",
			state: unknownKeyState{},
			want:  unknownKeyDecision{action: actRefresh}},
		{name: "budget spent: 503 until the next round is allowed",
			state: unknownKeyState{budgetWait: soon},
			want:  unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyThrottled, retryAfter: soon}},
		{name: "the round waited for failed: 503, no second round",
			state: unknownKeyState{waitFailed: true},
			want:  unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyIssuerUnavailable, retryAfter: issuerRetryAfter}},
		{name: "failed and still in flight (too slow): 503, do not wait again",
			state: unknownKeyState{waitFailed: true, inflight: true},
			want:  unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyIssuerUnavailable, retryAfter: issuerRetryAfter}},
		{name: "failed with a spent budget: retry when a round is allowed",
			state: unknownKeyState{waitFailed: true, budgetWait: 25 * time.Second},
			want:  unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyIssuerUnavailable, retryAfter: 25 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideUnknownKey(tc.state); got != tc.want {
				t.Errorf("decideUnknownKey(%+v) = %+v, want %+v", tc.state, got, tc.want)
			}
		})
	}
}

func TestRefreshBudget(t *testing.T) {
	var b refreshBudget
	now := t0
	step := func(d time.Duration) { now = now.Add(d) }
	// Full at first use: the burst.
	for i := 0; i < unknownKidBurst; i++ {
		if w := b.wait(now); w != 0 {
			t.Fatalf("round %d of the burst: wait %v", i+1, w)
		}
		b.take(now)
	}
	if w := b.wait(now); w != unknownKidEvery {
		t.Fatalf("after the burst: wait %v, want %v", w, unknownKidEvery)
	}
	step(10 * time.Second)
	if w := b.wait(now); w != unknownKidEvery-10*time.Second {
		t.Fatalf("10s later: wait %v, want %v", w, unknownKidEvery-10*time.Second)
	}
	step(20 * time.Second)
	if w := b.wait(now); w != 0 {
		t.Fatalf("%v after the burst: wait %v, want 0", unknownKidEvery, w)
	}
	b.take(now)
	// Idle for a day: the credit is capped at the burst.
	step(24 * time.Hour)
	for i := 0; i < unknownKidBurst; i++ {
		if w := b.wait(now); w != 0 {
			t.Fatalf("after a day, round %d: wait %v", i+1, w)
		}
		b.take(now)
	}
	if w := b.wait(now); w == 0 {
		t.Fatal("after a day: more than the burst allowed at once")
	}
	// A clock that steps back gives no credit, and delays nothing after.
	step(-time.Hour)
	if w := b.wait(now); w != unknownKidEvery {
		t.Fatalf("clock stepped back: wait %v, want %v", w, unknownKidEvery)
	}
	step(unknownKidEvery)
	if w := b.wait(now); w != 0 {
		t.Fatalf("%v after the clock stepped back: wait %v, want 0", unknownKidEvery, w)
	}
}
