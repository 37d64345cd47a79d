package fakehttp

import (
	"io"
	"net/http"
	"sync"
)

// Fault is an injected answer.
type Fault struct {
	Status int
	Header http.Header
	// Body is the answer's body; "" lets the fake write its own error
	// envelope for Status (see [Fault.Write]).
	Body string
}

// Write answers with the fault: its headers, then its status and body.
// With a body, contentType is set unless the fault's headers set one
// (pass "" to send none); without one, envelope writes the fake's own
// error answer for the status, or, when nil, the bare status.
func (f Fault) Write(w http.ResponseWriter, contentType string, envelope func(w http.ResponseWriter, status int)) {
	for k, vs := range f.Header {
		w.Header()[k] = vs
	}
	if f.Body == "" {
		if envelope != nil {
			envelope(w, f.Status)
			return
		}
		w.WriteHeader(f.Status)
		return
	}
	if contentType != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}

// Faults holds injected faults. The zero value injects none; it is safe
// for concurrent use.
type Faults struct {
	mu     sync.Mutex
	next   []Fault
	sticky *Fault
}

// FailNext makes the next n requests the fake checks for faults answer
// with status, header and body; they are answered before any that
// FailAll set. An empty body means the fake's own error envelope.
func (f *Faults) FailNext(n, status int, header http.Header, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.next = append(f.next, Fault{Status: status, Header: header, Body: body})
	}
}

// FailAll makes every request the fake checks for faults answer with
// status, header and body until Heal is called.
func (f *Faults) FailAll(status int, header http.Header, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sticky = &Fault{Status: status, Header: header, Body: body}
}

// Heal clears the faults set by FailNext and FailAll.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next, f.sticky = nil, nil
}

// Answer answers the current request with the next fault, if there is
// one (see [Faults.NextFault] and [Fault.Write] for contentType and
// envelope), and reports whether it did: the first step of a fake's API
// handler.
//
//	if s.Answer(w, "application/json", writeEnvelope) {
//		return
//	}
func (f *Faults) Answer(w http.ResponseWriter, contentType string, envelope func(w http.ResponseWriter, status int)) bool {
	ft, ok := f.NextFault()
	if ok {
		ft.Write(w, contentType, envelope)
	}
	return ok
}

// NextFault returns the fault to answer the current request with, using
// up one set by FailNext, and reports whether there is one.
func (f *Faults) NextFault() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(f.next) > 0:
		ft := f.next[0]
		f.next = f.next[1:]
		return ft, true
	case f.sticky != nil:
		return *f.sticky, true
	}
	return Fault{}, false
}
