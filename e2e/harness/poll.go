package harness

import (
	"testing"
	"time"
)

// PollInterval is how often the harness checks a condition it waits for.
const PollInterval = 20 * time.Millisecond

// Eventually polls cond until it reports true, failing the test after
// timeout with what was awaited and cond's last status (say what is still
// missing, e.g. "37 of 40 work items").
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, status string)) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Poll polls cond until it reports true or timeout passes; it returns an
// error with cond's last status then. For goroutines other than the test's,
// which must not call t.Fatal.
func Poll(timeout time.Duration, cond func() (ok bool, status string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if status == "" {
				status = "condition never held"
			}
			return &TimeoutError{After: timeout, Status: status}
		}
		time.Sleep(PollInterval)
	}
}

// TimeoutError is Poll's error: the condition did not hold in time.
type TimeoutError struct {
	After  time.Duration
	Status string
}

func (e *TimeoutError) Error() string {
	return "timed out after " + e.After.String() + ": " + e.Status
}
