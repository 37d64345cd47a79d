package entra

import (
	"context"
	"fmt"
	"time"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// A token whose kid is not in the key set is either signed with a key
// Entra ID published after the last refresh (Entra rotates keys) or
// forged. Only a refresh can tell, and Azure Monitor never retries a 401,
// so the answer is:
//
//   - 401 unknown_signing_key once a refresh that started after the token
//     was issued has succeeded without the key: Entra ID publishes a key
//     before it signs with it, so that refresh had every key the token
//     could genuinely be signed with;
//   - otherwise a refresh now, or joining the one in flight, and then the
//     key or the 401;
//   - 503 with Retry-After (which Azure retries) when no refresh can be
//     made now: the unknown-kid budget is spent or the issuer failed.
//
// The budget is a token bucket, unknownKidBurst rounds and one more every
// unknownKidEvery, so a flood of forged kids costs the issuer at most that
// many fetch rounds, and a genuine new key is looked up within
// unknownKidEvery even during the flood. Forged tokens that claim to be
// older than the last refresh get their 401 without any fetch.
const (
	unknownKidBurst = 3
	unknownKidEvery = 30 * time.Second
	// unknownKidWait bounds how long a request waits for a key refresh:
	// a slow issuer must not hold it past Azure's webhook timeout.
	unknownKidWait = 5 * time.Second
	// issuerRetryAfter is the least Retry-After after a failed refresh.
	issuerRetryAfter = 5 * time.Second
)

// Outcomes of a token whose key was not in the key set, as passed to
// Hooks.UnknownKey.
const (
	// UnknownKeyFound: a refresh brought the key; verification went on.
	UnknownKeyFound = "found"
	// UnknownKeyRejected: 401 unknown_signing_key.
	UnknownKeyRejected = "rejected"
	// UnknownKeyThrottled: 503, the unknown-kid refresh budget is spent.
	UnknownKeyThrottled = "throttled"
	// UnknownKeyIssuerUnavailable: 503, the refresh failed or is too slow.
	UnknownKeyIssuerUnavailable = "issuer_unavailable"
)

// UnknownKeyOutcomes lists the outcomes, for pre-registering metric labels.
var UnknownKeyOutcomes = []string{UnknownKeyFound, UnknownKeyRejected, UnknownKeyThrottled, UnknownKeyIssuerUnavailable}

// Reasons of the *auth.Unavailable errors for unknown keys.
const (
	unavailableThrottled = "key_refresh_throttled"
	unavailableIssuer    = "issuer_unavailable"
)

// unknownKeyState is what decides a token whose key is not in the key set.
type unknownKeyState struct {
	// checked: a refresh that started at or after the token was issued
	// succeeded (and the key is not in what it loaded).
	checked bool
	// inflight: a refresh round is running.
	inflight bool
	// waitFailed: this request already waited for a round, which failed
	// or did not end in time.
	waitFailed bool
	// budgetWait is how long until the budget allows a round; 0: now.
	budgetWait time.Duration
}

type unknownKeyAction int

const (
	// actRefresh: take from the budget, start a round, wait for it.
	actRefresh unknownKeyAction = iota
	// actJoin: wait for the round in flight (costs the issuer nothing).
	actJoin
	// actReject: 401 unknown_signing_key.
	actReject
	// actRetryLater: 503 with retryAfter.
	actRetryLater
)

type unknownKeyDecision struct {
	action unknownKeyAction
	// outcome is the UnknownKey… outcome of actReject and actRetryLater.
	outcome    string
	retryAfter time.Duration
}

// decideUnknownKey is the rule for a token whose key is not in the key
// set; the caller acts on it until the key is found or the answer is
// final.
func decideUnknownKey(s unknownKeyState) unknownKeyDecision {
	switch {
	case s.checked:
		return unknownKeyDecision{action: actReject, outcome: UnknownKeyRejected}
	case s.waitFailed:
		return unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyIssuerUnavailable,
			retryAfter: max(s.budgetWait, issuerRetryAfter)}
	case s.inflight:
		return unknownKeyDecision{action: actJoin}
	case s.budgetWait <= 0:
		return unknownKeyDecision{action: actRefresh}
	default:
		return unknownKeyDecision{action: actRetryLater, outcome: UnknownKeyThrottled, retryAfter: s.budgetWait}
	}
}

// refreshBudget is a token bucket measured in time: it holds up to
// burst×every of credit, gains credit as time passes, and a round costs
// every. The zero value is full at its first use.
type refreshBudget struct {
	credit time.Duration
	at     time.Time
}

func (b *refreshBudget) fill(now time.Time) {
	const capacity = unknownKidBurst * unknownKidEvery
	if b.at.IsZero() {
		b.credit, b.at = capacity, now
		return
	}
	// A clock stepped back earns nothing, and does not delay what follows.
	b.credit, b.at = min(capacity, b.credit+max(0, now.Sub(b.at))), now
}

// wait is how long until a round is allowed; 0 when it is now.
func (b *refreshBudget) wait(now time.Time) time.Duration {
	b.fill(now)
	return max(0, unknownKidEvery-b.credit)
}

// take spends one round; wait(now) must be 0.
func (b *refreshBudget) take(now time.Time) {
	b.fill(now)
	b.credit -= unknownKidEvery
}

// awaitKey looks for the key of h in version's key set, refreshing as
// decideUnknownKey says, for a token issued at issued (its iat, or now if
// earlier or absent). It returns the snapshot that has the key, or the
// answer: an *auth.Error (401) or an *auth.Unavailable (503).
func (m *keyManager) awaitKey(ctx context.Context, version string, h jwtHeader, issued time.Time) (*snapshot, error) {
	wait := m.wait
	if wait <= 0 {
		wait = unknownKidWait
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	waitFailed := false
	for {
		m.mu.Lock()
		// Loaded under the lock: lastGood never describes a snapshot
		// newer than this one.
		if s := m.current(); s.keys[version].find(h.Kid, h.X5t) != nil {
			m.mu.Unlock()
			m.outcome(UnknownKeyFound)
			return s, nil
		}
		now := m.now()
		d := decideUnknownKey(unknownKeyState{
			checked:    !m.lastGood.IsZero() && !m.lastGood.Before(issued),
			inflight:   m.inflight != nil,
			waitFailed: waitFailed,
			budgetWait: m.budget.wait(now),
		})
		c := m.inflight
		if d.action == actRefresh {
			m.budget.take(now)
			c = m.startLocked("unknown_kid")
		}
		m.mu.Unlock()

		switch d.action {
		case actReject:
			m.outcome(d.outcome)
			return nil, unauthorized(ReasonUnknownKey, "the token is signed with key "+quoteShort(keyName(h))+
				", which is not in the v"+version+" key set of the tenant's discovery document, loaded after the token was issued")
		case actRetryLater:
			m.outcome(d.outcome)
			desc := "the token is signed with key " + quoteShort(keyName(h)) + ", which is not in the v" + version +
				" key set yet, and the key set was refreshed too recently to look again now; retry later"
			reason := unavailableThrottled
			if d.outcome == UnknownKeyIssuerUnavailable {
				reason = unavailableIssuer
				desc = "the token is signed with key " + quoteShort(keyName(h)) + ", which is not in the v" + version +
					" key set, and the key set could not be refreshed from the issuer; retry later"
			}
			return nil, &auth.Unavailable{Reason: reason, RetryAfter: d.retryAfter, Description: desc}
		}
		select {
		case <-c.done:
			waitFailed = c.err != nil
		case <-wctx.Done():
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for a key refresh: %w", ctx.Err())
			}
			waitFailed = true
		}
	}
}

func (m *keyManager) outcome(o string) {
	if m.hooks.UnknownKey != nil {
		m.hooks.UnknownKey(o)
	}
}
