package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// defaultPayload is Microsoft's sample static metric alert in the Common
// Alert Schema (about 1.9 KB), the body every request starts from.
//
//go:embed alert.json
var defaultPayload []byte

// Placeholders put into the payload template, replaced per request.
const (
	phID       = "LOADGEN-ALERT-ID-7f3a9c"
	phFired    = "LOADGEN-FIRED-AT-7f3a9c"
	phResolved = "LOADGEN-RESOLVED-AT-7f3a9c"
)

// payloads renders request bodies: the sample alert with its alertId,
// monitorCondition and timestamps set per request.
type payloads struct {
	fired, resolved template
}

// template is a body split around its placeholders.
type template struct {
	parts [][]byte // len(slots)+1 literal pieces
	slots []bool   // between parts[i] and parts[i+1]: the alert id (true) or the event time
}

// newPayloads builds the fired and resolved templates from a Common Alert
// Schema body (a fired or resolved sample; both work).
func newPayloads(sample []byte) (*payloads, error) {
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		return nil, fmt.Errorf("payload: not JSON: %w", err)
	}
	data, _ := doc["data"].(map[string]any)
	ess, _ := data["essentials"].(map[string]any)
	if ess == nil {
		return nil, errors.New("payload: no data.essentials object; give a Common Alert Schema body")
	}
	render := func(cond string) (template, error) {
		ess["alertId"] = phID
		ess["monitorCondition"] = cond
		ess["firedDateTime"] = phFired
		if cond == "Resolved" {
			ess["resolvedDateTime"] = phResolved
		} else {
			delete(ess, "resolvedDateTime")
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return template{}, fmt.Errorf("payload: encoding: %w", err)
		}
		return split(b), nil
	}
	f, err := render("Fired")
	if err != nil {
		return nil, err
	}
	r, err := render("Resolved")
	if err != nil {
		return nil, err
	}
	return &payloads{fired: f, resolved: r}, nil
}

// split cuts b around the placeholders (plain ASCII, so JSON leaves them
// as they are).
func split(b []byte) template {
	var t template
	for {
		at, which := -1, ""
		for _, ph := range []string{phID, phFired, phResolved} {
			if i := bytes.Index(b, []byte(ph)); i >= 0 && (at < 0 || i < at) {
				at, which = i, ph
			}
		}
		if at < 0 {
			t.parts = append(t.parts, b)
			return t
		}
		t.parts = append(t.parts, b[:at])
		t.slots = append(t.slots, which == phID)
		b = b[at+len(which):]
	}
}

// render appends the body of one request to dst: alert id, condition and
// the event time (fired, and resolved for a resolution).
func (p *payloads) render(dst []byte, n notice, at time.Time) []byte {
	t := p.fired
	if n.resolved {
		t = p.resolved
	}
	ts := at.UTC().Format(time.RFC3339Nano)
	escID, _ := json.Marshal(n.alertID)
	for i, part := range t.parts {
		dst = append(dst, part...)
		if i == len(t.slots) {
			break
		}
		if t.slots[i] {
			dst = append(dst, escID[1:len(escID)-1]...)
		} else {
			dst = append(dst, ts...)
		}
	}
	return dst
}

// notice is what one request says: which alert, fired or resolved.
type notice struct {
	alertID  string
	resolved bool
}

// sequence decides the alert id and condition of each request.
//
// With distinct ids (ids == 0) every Fired is a new alert and every
// Resolved resolves the oldest alert this run fired and did not resolve yet
// (a Fired is sent instead while there is none). With ids > 0 the requests
// cycle over that many alert ids, so each alert fires (and resolves) again
// and again. The resolved fraction r is exact over any run: request i (with
// repeats, an alert's i-th visit) is a resolution when
// floor((i+1)·r) > floor(i·r).
type sequence struct {
	prefix   string
	ids      int
	resolved float64

	mu   sync.Mutex
	n    int
	next int      // next fresh alert number (distinct ids)
	open []string // fired, not yet resolved (distinct ids), oldest first
}

func newSequence(prefix string, ids int, resolved float64) *sequence {
	return &sequence{prefix: prefix, ids: ids, resolved: resolved}
}

func (s *sequence) alertID(k int) string {
	return s.prefix + strconv.Itoa(k)
}

// nextNotice returns the notice of the next request.
func (s *sequence) nextNotice() notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.n
	s.n++
	if s.ids > 0 {
		// The mix applies to each alert's own visits, so every alert
		// fires and resolves in turn.
		v := i / s.ids
		return notice{alertID: s.alertID(i % s.ids), resolved: mixed(v, s.resolved)}
	}
	res := mixed(i, s.resolved)
	if res && len(s.open) > 0 {
		id := s.open[0]
		s.open[0] = ""
		s.open = s.open[1:]
		return notice{alertID: id, resolved: true}
	}
	id := s.alertID(s.next)
	s.next++
	if s.resolved > 0 {
		s.open = append(s.open, id)
	}
	return notice{alertID: id}
}

// mixed reports whether the i-th request of a run with resolved fraction r
// is a resolution.
func mixed(i int, r float64) bool {
	return int(float64(i+1)*r) > int(float64(i)*r)
}
