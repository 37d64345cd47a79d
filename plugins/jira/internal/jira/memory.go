package jira

import (
	"slices"
	"sync"
	"time"
)

// commentLimiter bounds re-fire comments per issue: at most one per
// interval; the re-fires in between are counted so that the next comment
// can summarize them. It lives in memory: after a restart an issue may get
// one comment sooner than the interval, never a lost alert.
type commentLimiter struct {
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	state map[string]*commentState // issue id → state
}

type commentState struct {
	last    time.Time
	skipped skipped
}

// maxCommentStates bounds the limiter's memory; older entries are dropped
// first once it is reached.
const maxCommentStates = 10000

func newCommentLimiter(interval time.Duration, now func() time.Time) *commentLimiter {
	return &commentLimiter{interval: interval, now: now, state: map[string]*commentState{}}
}

// admit reports whether a re-fire of issue at time at may be commented now.
// When it may not, the re-fire is counted. When it may, the re-fires skipped
// so far are returned for the comment; call posted after the comment was
// written.
func (l *commentLimiter) admit(issue string, at time.Time) (bool, skipped) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state[issue]
	now := l.now()
	if st == nil || l.interval <= 0 || now.Sub(st.last) >= l.interval {
		if st == nil {
			return true, skipped{}
		}
		return true, st.skipped
	}
	if at.IsZero() {
		at = now
	}
	if st.skipped.count == 0 {
		st.skipped.first = at
	}
	st.skipped.count++
	st.skipped.last = at
	return false, skipped{}
}

// pending returns the re-fires skipped since the last comment, for a final
// comment (resolve), and forgets them.
func (l *commentLimiter) pending(issue string) skipped {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.state[issue]; st != nil {
		sk := st.skipped
		st.skipped = skipped{}
		return sk
	}
	return skipped{}
}

// posted records that issue got a comment now and clears its skipped
// re-fires.
func (l *commentLimiter) posted(issue string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.state) >= maxCommentStates {
		l.pruneLocked()
	}
	l.state[issue] = &commentState{last: l.now()}
}

// pruneLocked drops the oldest half of the entries.
func (l *commentLimiter) pruneLocked() {
	type entry struct {
		id   string
		last time.Time
	}
	all := make([]entry, 0, len(l.state))
	for id, st := range l.state {
		all = append(all, entry{id, st.last})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.last.Compare(b.last) })
	for _, e := range all[:len(all)/2] {
		delete(l.state, e.id)
	}
}

// recentCreates remembers the issues this process created, per correlation
// key, for recentTTL. Jira's search index lags behind writes; Lookup reads
// these issues directly (and passes them to Cloud's search as
// reconcileIssues) so that an issue created seconds ago is found even
// before the index has it.
type recentCreates struct {
	now func() time.Time

	mu    sync.Mutex
	byKey map[string][]recentIssue
}

type recentIssue struct {
	id string
	at time.Time
}

const (
	// recentTTL is how long a created issue is remembered; Jira's index
	// catches up within seconds, rarely minutes.
	recentTTL = time.Hour
	// maxRecentKeys bounds the memory; expired entries go first.
	maxRecentKeys = 10000
	// maxRecentPerKey bounds the ids kept per key (Cloud accepts 50
	// reconcileIssues per search).
	maxRecentPerKey = 10
)

func newRecentCreates(now func() time.Time) *recentCreates {
	return &recentCreates{now: now, byKey: map[string][]recentIssue{}}
}

// add remembers that issue id was created for key.
func (r *recentCreates) add(key, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.byKey) >= maxRecentKeys {
		for k, list := range r.byKey {
			if now.Sub(list[len(list)-1].at) > recentTTL {
				delete(r.byKey, k)
			}
		}
		if len(r.byKey) >= maxRecentKeys {
			clear(r.byKey)
		}
	}
	list := append(r.byKey[key], recentIssue{id: id, at: now})
	if len(list) > maxRecentPerKey {
		list = list[len(list)-maxRecentPerKey:]
	}
	r.byKey[key] = list
}

// ids returns the unexpired issue ids created for key, newest first.
func (r *recentCreates) ids(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []string
	for _, e := range r.byKey[key] {
		if now.Sub(e.at) <= recentTTL {
			out = append(out, e.id)
		}
	}
	slices.Reverse(out)
	return out
}

// forget drops an issue that no longer exists.
func (r *recentCreates) forget(key, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byKey[key] = slices.DeleteFunc(r.byKey[key], func(e recentIssue) bool { return e.id == id })
	if len(r.byKey[key]) == 0 {
		delete(r.byKey, key)
	}
}
