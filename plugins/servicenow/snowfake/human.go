package snowfake

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// People: tests act on incidents as a person in the instance's UI would,
// through the methods below. Each change runs the incident's business
// rules with that person as the current user (resolved_by, closed_by,
// sys_updated_by), and is then pushed, when PushTo is set, the way the
// outbound REST message of a business rule sends it (docs/plugins/servicenow.md,
// "Reading status and pushed changes").

// apiUser is the user a Table API request acts as: the basic auth user,
// else "admin" (a token or certificate the fake does not map to a user).
func apiUser(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return user
	}
	return "admin"
}

// AddUser adds a sys_user record with user_name and name (its display
// value) and returns its sys_id; a user_name already known keeps its
// record. A user the fake meets without AddUser gets a record whose name
// is its user_name.
func (s *Server) AddUser(userName, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.userLocked(userName); r != nil {
		return r.fields["sys_id"]
	}
	return s.insertLocked("sys_user", map[string]string{"user_name": userName, "name": name}).fields["sys_id"]
}

func (s *Server) userLocked(userName string) *record {
	for _, r := range s.records["sys_user"] {
		if r.fields["user_name"] == userName {
			return r
		}
	}
	return nil
}

// userIDLocked is the sys_id of the user named userName, added when new.
func (s *Server) userIDLocked(userName string) string {
	if r := s.userLocked(userName); r != nil {
		return r.fields["sys_id"]
	}
	return s.insertLocked("sys_user", map[string]string{"user_name": userName, "name": userName}).fields["sys_id"]
}

// ResolveAs resolves the incident sysID as the user userName would in the
// UI: state Resolved (6) with the close code and notes (the data policy
// applies, as to a person); the instance sets resolved_by and resolved_at.
func (s *Server) ResolveAs(sysID, userName, closeCode, closeNotes string) error {
	return s.actAs(sysID, userName, "update", map[string]string{"state": "6", "close_code": closeCode, "close_notes": closeNotes})
}

// CloseAs closes the incident as userName would: state Closed (7) with the
// close code and notes; the instance sets closed_by and closed_at.
func (s *Server) CloseAs(sysID, userName, closeCode, closeNotes string) error {
	return s.actAs(sysID, userName, "update", map[string]string{"state": "7", "close_code": closeCode, "close_notes": closeNotes})
}

// CancelAs cancels the incident as userName would: state Canceled (8).
func (s *Server) CancelAs(sysID, userName string) error {
	return s.actAs(sysID, userName, "update", map[string]string{"state": "8"})
}

// ReopenAs sets a resolved incident back to In Progress (2) as userName
// would; the instance clears resolved_by and resolved_at and counts the
// reopening.
func (s *Server) ReopenAs(sysID, userName string) error {
	return s.actAs(sysID, userName, "update", map[string]string{"state": "2"})
}

// EditAs sets fields of the incident as userName would (journal fields
// such as work_notes go to the journal).
func (s *Server) EditAs(sysID, userName string, fields map[string]string) error {
	return s.actAs(sysID, userName, "update", fields)
}

// DeleteAs deletes the incident as userName would.
func (s *Server) DeleteAs(sysID, userName string) error {
	return s.actAs(sysID, userName, "delete", nil)
}

// actAs applies one person's change to an incident, then pushes it.
func (s *Server) actAs(sysID, userName, op string, fields map[string]string) error {
	s.mu.Lock()
	rec := s.records["incident"][sysID]
	if rec == nil {
		s.mu.Unlock()
		return fmt.Errorf("snowfake: no incident %q", sysID)
	}
	now := s.opts.Now()
	if op == "delete" {
		delete(s.records["incident"], sysID)
	} else {
		next := copyMap(rec.fields)
		for k, v := range fields {
			if journalFields[k] {
				if v != "" {
					s.journal = append(s.journal, JournalEntry{Table: "incident", SysID: sysID, Field: k, Value: v, Created: now})
				}
				continue
			}
			next[k] = v
		}
		if msg := s.dataPolicy(next); msg != "" {
			s.mu.Unlock()
			return fmt.Errorf("snowfake: %s", msg)
		}
		s.incidentRulesLocked(rec.fields, next, userName)
		next["sys_updated_on"] = formatTime(now)
		next["sys_updated_by"] = userName
		next["sys_mod_count"] = fmt.Sprint(atoi(next["sys_mod_count"]) + 1)
		rec.fields = next
	}
	push, pushing := s.push, s.push.URL != ""
	msg := PushMessage{
		Table: "incident", SysID: sysID, Number: rec.fields["number"], State: rec.fields["state"],
		SysUpdatedBy: userName, SysUpdatedOn: formatTime(now), Operation: op,
	}
	s.mu.Unlock()
	if pushing {
		s.send(push, msg)
	}
	return nil
}

// Push is where the business rule's outbound REST message goes.
type Push struct {
	// URL receives a POST of a PushMessage as JSON.
	URL string
	// Secret authenticates the message: by default as the header
	// X-ITSM-Signature: sha256=<hex HMAC-SHA256 of the body keyed with
	// Secret>; with SecretHeader set, as that header holding Secret itself.
	Secret string
	// SecretHeader, when set, names the header that carries Secret as it is
	// (a shared secret) instead of the signature.
	SecretHeader string
	// Client sends the message; default a client with a 10 second timeout.
	Client *http.Client
}

// SignatureHeader is the header of a signed push.
const SignatureHeader = "X-ITSM-Signature"

// PushMessage is the JSON body of a push: which incident changed and how,
// never its content (a receiver reads the incident through the Table API).
type PushMessage struct {
	Table  string `json:"table"`
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	// State is the incident's state value after the change ("6").
	State        string `json:"state"`
	SysUpdatedBy string `json:"sys_updated_by"`
	// SysUpdatedOn is UTC, "2006-01-02 15:04:05".
	SysUpdatedOn string `json:"sys_updated_on"`
	// Operation is "update" or "delete".
	Operation string `json:"operation"`
}

// PushTo makes every change made through the people methods (ResolveAs,
// CloseAs, CancelAs, ReopenAs, EditAs, DeleteAs) POST a PushMessage to url,
// signed with secret (see Push); an empty url stops pushing.
func (s *Server) PushTo(url, secret string) { s.PushWith(Push{URL: url, Secret: secret}) }

// PushWith sets where and how changes are pushed (see PushTo).
func (s *Server) PushWith(p Push) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push = p
}

// Pushes returns the pushes sent so far, oldest first.
func (s *Server) Pushes() []fakehttp.Hook { return s.pushes.Sent() }

// Sign is the X-ITSM-Signature value of body under secret.
func Sign(secret string, body []byte) string { return fakehttp.SignSHA256(secret, body) }

// send posts msg to p.URL, authenticated as p says, and records the
// outcome.
func (s *Server) send(p Push, msg PushMessage) {
	body, _ := json.Marshal(msg)
	header := http.Header{}
	switch {
	case p.SecretHeader != "":
		header.Set(p.SecretHeader, p.Secret)
	case p.Secret != "":
		header.Set(SignatureHeader, Sign(p.Secret, body))
	}
	s.pushes.Send(p.Client, p.URL, header, body)
}
