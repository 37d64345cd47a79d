package jirafake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// People, the changelog and webhooks.
//
// Every status, resolution or field change records a changelog entry with
// its author: the API's user for REST calls (the basic auth user, "PAT
// user" for a personal access token), the person for the people methods
// (ResolveAs, CloseAs, ReopenAs, EditAs, DeleteAs). GET /issue and both
// search APIs return it with expand=changelog: newest first from Cloud's
// /search/jql, oldest first (with startAt, maxResults and total) elsewhere.
// When PushTo is set, each change by a person or through a transition, and
// each deletion, is sent as Jira sends an admin webhook with a secret: a
// POST of {"timestamp","webhookEvent","issue_event_type_name","user",
// "issue","changelog"} signed in X-Hub-Signature: sha256=<hex HMAC-SHA256
// of the body>. Issue creation and comments are not pushed.

// User is a person in Jira.
type User struct {
	// AccountID identifies the user on Cloud; default derived from Name.
	AccountID string
	// Name is the user name (Data Center) or e-mail address.
	Name string
	// DisplayName is what Jira shows; default Name.
	DisplayName string
}

func (u User) render(flavor Flavor) map[string]any {
	display := u.DisplayName
	if display == "" {
		display = u.Name
	}
	if flavor == Cloud {
		id := u.AccountID
		if id == "" {
			sum := sha256.Sum256([]byte(u.Name))
			id = "5b10ac8d82e05b22cc7d" + hex.EncodeToString(sum[:6])
		}
		return map[string]any{"accountId": id, "displayName": display, "active": true, "accountType": "atlassian"}
	}
	return map[string]any{"name": u.Name, "key": "JIRAUSER" + strconv.Itoa(len(u.Name)*7919%100000), "displayName": display, "active": true}
}

// historyItem is one changed field of a changelog entry.
type historyItem struct {
	Field      string `json:"field"`
	FieldType  string `json:"fieldtype"`
	From       string `json:"from"`
	FromString string `json:"fromString"`
	To         string `json:"to"`
	ToString   string `json:"toString"`
}

// historyEntry is one changelog entry.
type historyEntry struct {
	id      string
	author  User
	created time.Time
	items   []historyItem
}

// apiUser is the user a REST request acts as.
func apiUser(r *http.Request) User {
	if user, _, ok := r.BasicAuth(); ok && user != "" {
		return User{Name: user}
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return User{Name: "pat-user", DisplayName: "PAT user"}
	}
	return User{Name: "admin", DisplayName: "Administrator"}
}

// moveLocked moves is to status with resolution ("" clears it; a status
// outside the done category always clears it), recording the change by
// author in the changelog. It returns the entry, nil when nothing changed.
func (s *Server) moveLocked(is *issue, status, resolution string, author User) *historyEntry {
	if statuses[status].category != "done" {
		resolution = ""
	}
	var items []historyItem
	if status != is.status {
		items = append(items, historyItem{Field: "status", FieldType: "jira",
			From: statuses[is.status].id, FromString: is.status, To: statuses[status].id, ToString: status})
	}
	if resolution != is.resolution {
		items = append(items, historyItem{Field: "resolution", FieldType: "jira",
			From: resolutionID(is.resolution), FromString: is.resolution, To: resolutionID(resolution), ToString: resolution})
		if resolution == "" {
			is.resolutionDate = time.Time{}
		} else {
			is.resolutionDate = s.opts.Now()
		}
	}
	is.status, is.resolution = status, resolution
	return s.recordLocked(is, author, items)
}

// recordLocked appends a changelog entry of items by author.
func (s *Server) recordLocked(is *issue, author User, items []historyItem) *historyEntry {
	if len(items) == 0 {
		return nil
	}
	s.nextHistory++
	h := &historyEntry{id: strconv.Itoa(s.nextHistory), author: author, created: s.opts.Now(), items: items}
	is.histories = append(is.histories, h)
	return h
}

func resolutionID(name string) string {
	if i := slices.Index(resolutions, name); i >= 0 {
		return strconv.Itoa(10000 + i)
	}
	return ""
}

func (h *historyEntry) render(flavor Flavor) map[string]any {
	return map[string]any{"id": h.id, "author": h.author.render(flavor), "created": jiraTime(h.created), "items": h.items}
}

// changelogLocked renders is's changelog: newest first for Cloud's
// /search/jql, oldest first otherwise.
func (s *Server) changelogLocked(is *issue, newestFirst bool) map[string]any {
	hs := make([]map[string]any, 0, len(is.histories))
	for _, h := range is.histories {
		hs = append(hs, h.render(s.opts.Flavor))
	}
	if newestFirst {
		slices.Reverse(hs)
	}
	return map[string]any{"startAt": 0, "maxResults": len(hs), "total": len(hs), "histories": hs}
}

// expandsChangelog reports whether an expand parameter (a comma-separated
// string or a JSON array of strings) asks for the changelog.
func expandsChangelog(raw json.RawMessage) bool {
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		var s string
		_ = json.Unmarshal(raw, &s)
		list = splitList(s)
	}
	return slices.Contains(list, "changelog")
}

// ResolveAs takes the issue to "Done" with resolution, as the person by
// would in Jira.
func (s *Server) ResolveAs(keyOrID string, by User, resolution string) error {
	return s.personMove(keyOrID, by, "Done", resolution)
}

// CloseAs takes the issue to "Closed" with resolution, as by would.
func (s *Server) CloseAs(keyOrID string, by User, resolution string) error {
	return s.personMove(keyOrID, by, "Closed", resolution)
}

// ReopenAs takes a done issue back to "To Do", clearing its resolution, as
// by would.
func (s *Server) ReopenAs(keyOrID string, by User) error {
	return s.personMove(keyOrID, by, "To Do", "")
}

func (s *Server) personMove(keyOrID string, by User, status, resolution string) error {
	s.mu.Lock()
	is := s.findLocked(keyOrID)
	if is == nil {
		s.mu.Unlock()
		return fmt.Errorf("jirafake: no issue %q", keyOrID)
	}
	if resolution != "" && !slices.Contains(resolutions, resolution) {
		s.mu.Unlock()
		return fmt.Errorf("jirafake: unknown resolution %q", resolution)
	}
	if statuses[status].category == "done" && resolution == "" {
		resolution = "Done"
	}
	h := s.moveLocked(is, status, resolution, by)
	ev := s.eventLocked(is, "jira:issue_updated", eventType(h), by, h)
	s.mu.Unlock()
	s.pushNow(ev)
	return nil
}

// EditAs sets a field of the issue (summary, priority, or a custom field
// by id) to value (a JSON value as the REST API takes it), as by would.
func (s *Server) EditAs(keyOrID string, by User, field string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	is := s.findLocked(keyOrID)
	if is == nil {
		s.mu.Unlock()
		return fmt.Errorf("jirafake: no issue %q", keyOrID)
	}
	old := is.fields[field]
	s.setFieldLocked(is, field, raw)
	h := s.recordLocked(is, by, []historyItem{{Field: field, FieldType: "jira", FromString: fieldText(old), ToString: fieldText(raw)}})
	ev := s.eventLocked(is, "jira:issue_updated", "issue_updated", by, h)
	s.mu.Unlock()
	s.pushNow(ev)
	return nil
}

// DeleteAs deletes the issue as by would.
func (s *Server) DeleteAs(keyOrID string, by User) error {
	s.mu.Lock()
	is := s.findLocked(keyOrID)
	if is == nil {
		s.mu.Unlock()
		return fmt.Errorf("jirafake: no issue %q", keyOrID)
	}
	ev := s.eventLocked(is, "jira:issue_deleted", "issue_deleted", by, nil)
	is.deleted = true
	s.mu.Unlock()
	s.pushNow(ev)
	return nil
}

// fieldText is a field's value as the changelog's strings show it.
func fieldText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	return strings.Join(fieldStrings(raw), ", ")
}

// eventType is the issue_event_type_name of a move.
func eventType(h *historyEntry) string {
	if h == nil {
		return "issue_generic"
	}
	for _, it := range h.items {
		if it.Field == "resolution" {
			if it.To != "" {
				return "issue_resolved"
			}
			return "issue_reopened"
		}
	}
	return "issue_generic"
}

// webhookEvent is one webhook to send; nil when nothing is pushed.
type webhookEvent struct {
	hook Push
	body []byte
}

// eventLocked builds the webhook of a change when pushing is on.
func (s *Server) eventLocked(is *issue, event, typeName string, by User, h *historyEntry) *webhookEvent {
	if s.push.URL == "" {
		return nil
	}
	payload := map[string]any{
		"timestamp":             s.opts.Now().UnixMilli(),
		"webhookEvent":          event,
		"issue_event_type_name": typeName,
		"user":                  by.render(s.opts.Flavor),
		"issue": s.renderLocked("2", is, []string{"status", "resolution", "resolutiondate", "summary", "priority",
			"labels", "project", "issuetype", "created"}, nil, false),
	}
	if h != nil {
		payload["changelog"] = map[string]any{"id": h.id, "items": h.items}
	}
	body, _ := json.Marshal(payload)
	return &webhookEvent{hook: s.push, body: body}
}

// Push is where webhooks go.
type Push struct {
	// URL receives each webhook as a POST.
	URL string
	// Secret signs each webhook in X-Hub-Signature; empty sends it
	// unsigned, as a webhook registered without a secret.
	Secret string
}

// SignatureHeader is the header of a signed webhook.
const SignatureHeader = "X-Hub-Signature"

// PushTo registers a webhook to url with secret (see Push); an empty url
// removes it.
func (s *Server) PushTo(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push = Push{URL: url, Secret: secret}
}

// Pushes returns the webhooks sent so far, oldest first. A webhook of a
// REST call is sent after the call is answered; WaitPushes waits for it.
func (s *Server) Pushes() []fakehttp.Hook { return s.hooks.Sent() }

// WaitPushes waits until every webhook started so far has been sent.
func (s *Server) WaitPushes() { s.hooks.Wait() }

// Close waits for the webhooks in flight, then stops the server.
func (s *Server) Close() {
	s.hooks.Wait()
	s.Base.Close()
}

// Sign is the X-Hub-Signature value of body under secret.
func Sign(secret string, body []byte) string { return fakehttp.SignSHA256(secret, body) }

// pushNow sends ev, if any, before returning (a person's change).
func (s *Server) pushNow(ev *webhookEvent) {
	if ev != nil {
		s.hooks.Send(nil, ev.hook.URL, ev.header(), ev.body)
	}
}

// pushLater sends ev, if any, in the background (a REST call's change,
// whose answer must not wait for the webhook).
func (s *Server) pushLater(ev *webhookEvent) {
	if ev != nil {
		s.hooks.SendLater(nil, ev.hook.URL, ev.header(), ev.body)
	}
}

// header is what Jira sends with a webhook: its identifier and flow, and
// the signature when the webhook has a secret.
func (ev *webhookEvent) header() http.Header {
	h := http.Header{
		"Content-Type":                   {"application/json; charset=UTF-8"},
		"X-Atlassian-Webhook-Identifier": {strconv.FormatInt(time.Now().UnixNano(), 36)},
		"X-Atlassian-Webhook-Flow":       {"Primary"},
	}
	if ev.hook.Secret != "" {
		h.Set(SignatureHeader, Sign(ev.hook.Secret, ev.body))
	}
	return h
}

// pushState is the Server's webhook state.
type pushState struct {
	push  Push
	hooks fakehttp.Hooks
}
