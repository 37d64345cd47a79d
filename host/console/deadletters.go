package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/store"
)

type deadLettersView struct {
	Filter   store.DeadLetterFilter
	Backends []string
	Letters  []*store.DeadLetter
	Older    string
	// BulkQuery is the filter as the bulk confirmation's query.
	BulkQuery string
	Filtered  bool
	Error     string
}

func (c *console) deadLetters(w http.ResponseWriter, r *http.Request) {
	c.renderDeadLetters(w, r, http.StatusOK, successNotice(r.URL.Query()))
}

// renderDeadLetters renders the list of r's filter with notice; a
// failed action renders it with the failure's status.
func (c *console) renderDeadLetters(w http.ResponseWriter, r *http.Request, status int, notice *Notice) {
	v := deadLettersView{}
	f, err := adminapi.ParseFilter(listQuery(r))
	v.Backends = c.backendChoices(f.Backend)
	if err != nil {
		v.Error = err.Error()
		c.render(w, http.StatusBadRequest, "deadletters", page{Title: "Dead letters", Nav: "deadletters", Body: v})
		return
	}
	f.Limit = pageSize
	v.Filter, v.Filtered = f, f.Backend != "" || f.Unmatched
	q := letterQuery(f)
	v.BulkQuery = q.Encode()
	ctx, cancel := timeout(r)
	defer cancel()
	v.Letters, err = c.Store.ListDeadLetters(ctx, f)
	if err != nil {
		v.Error = err.Error()
		c.Logger.Warn("console: listing dead letters", "error", err)
		status = max(status, http.StatusInternalServerError)
	} else if len(v.Letters) == pageSize {
		q.Set("before_id", strconv.FormatInt(v.Letters[len(v.Letters)-1].ID, 10))
		v.Older = "/deadletters?" + q.Encode()
	}
	c.render(w, status, "deadletters", page{Title: "Dead letters", Nav: "deadletters", Notice: notice, Body: v})
}

// listQuery is the list filter of r's query: a GET's own, or, after a
// failed action, only the filter fields of its form.
func listQuery(r *http.Request) url.Values {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		for _, k := range []string{"result", "id", "done", "gone", "more"} {
			q.Del(k)
		}
		return q
	}
	return url.Values{}
}

// letterQuery is f as the list's query, without paging.
func letterQuery(f store.DeadLetterFilter) url.Values {
	q := url.Values{}
	if f.Backend != "" {
		q.Set("backend", f.Backend)
	}
	if f.Unmatched {
		q.Set("unmatched", "true")
	}
	return q
}

type deadLetterView struct {
	Letter *store.DeadLetter
}

func (c *console) deadLetter(w http.ResponseWriter, r *http.Request) {
	dl, ok := c.letter(w, r)
	if !ok {
		return
	}
	c.render(w, http.StatusOK, "deadletter", page{Title: fmt.Sprintf("Dead letter %d", dl.ID), Nav: "deadletters", Body: deadLetterView{Letter: dl}})
}

// letter reads the path's dead letter, or answers why it cannot.
func (c *console) letter(w http.ResponseWriter, r *http.Request) (*store.DeadLetter, bool) {
	id, ok := pathID(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Bad dead letter id", "A dead letter id is a positive number.")
		return nil, false
	}
	ctx, cancel := timeout(r)
	defer cancel()
	dl, err := c.Store.GetDeadLetter(ctx, id)
	if err != nil {
		status, title := http.StatusInternalServerError, "Dead letter not read"
		if adminapi.Outcome(err, "") == adminapi.NotFound {
			status, title = http.StatusNotFound, "No such dead letter"
			err = fmt.Errorf("there is no dead letter %d: it was replayed or dropped already", id)
		}
		c.fail(w, r, status, title, err.Error())
		return nil, false
	}
	return dl, true
}

// replay replays one letter: the admin API's operation. A success
// redirects to the list (or the work item, from its page) with a green
// banner; a failure answers its status with the list and a red one.
func (c *console) replay(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Bad dead letter id", "A dead letter id is a positive number.")
		return
	}
	itemID, _ := strconv.ParseInt(r.PostFormValue("item"), 10, 64)
	a, err := c.DeadLetters.ReplayLetter(r.Context(), id)
	if err != nil {
		c.renderDeadLetters(w, r, a.Result.Status(), actionNotice(a, err))
		return
	}
	c.done(w, r, itemID, url.Values{"result": {string(a.Result)}, "id": {strconv.FormatInt(id, 10)}})
}

// done redirects after a successful action: to the work item when the
// form came from its page, else to the dead letters.
func (c *console) done(w http.ResponseWriter, r *http.Request, itemID int64, q url.Values) {
	to := "/deadletters?"
	if itemID > 0 {
		to = "/workitems/" + strconv.FormatInt(itemID, 10) + "?"
	}
	http.Redirect(w, r, to+q.Encode(), http.StatusSeeOther)
}

type confirmView struct {
	Action string // replay or drop
	// Letter is the one letter to drop; nil for a bulk operation.
	Letter *store.DeadLetter
	// Bulk: the filter, how many letters match it now, and the newest
	// id, past which letters that arrive later are left alone.
	Filter   store.DeadLetterFilter
	Count    int64
	BeforeID int64
	Max      int64
	Cancel   string
}

// confirmDrop asks before a letter is dropped.
func (c *console) confirmDrop(w http.ResponseWriter, r *http.Request) {
	dl, ok := c.letter(w, r)
	if !ok {
		return
	}
	c.render(w, http.StatusOK, "confirm", page{Title: fmt.Sprintf("Drop dead letter %d?", dl.ID), Nav: "deadletters",
		Body: confirmView{Action: "drop", Letter: dl, Cancel: fmt.Sprintf("/deadletters/%d", dl.ID)}})
}

// drop drops one letter once confirmed.
func (c *console) drop(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Bad dead letter id", "A dead letter id is a positive number.")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		c.fail(w, r, http.StatusBadRequest, "Not confirmed", fmt.Sprintf("Dropping dead letter %d needs a confirmation: open /deadletters/%d/drop.", id, id))
		return
	}
	a, err := c.DeadLetters.DropLetter(r.Context(), id)
	if err != nil {
		c.renderDeadLetters(w, r, a.Result.Status(), actionNotice(a, err))
		return
	}
	c.done(w, r, 0, url.Values{"result": {string(a.Result)}, "id": {strconv.FormatInt(id, 10)}})
}

// confirmBulk asks before every letter of a filter is replayed or
// dropped, saying how many match now.
func (c *console) confirmBulk(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	action := q.Get("action")
	q.Del("action")
	if action != "replay" && action != "drop" {
		c.fail(w, r, http.StatusBadRequest, "Unknown action", "A bulk action is replay or drop.")
		return
	}
	f, err := adminapi.ParseFilter(q)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	v := confirmView{Action: action, Filter: f, Max: adminapi.MaxBulk, Cancel: "/deadletters?" + letterQuery(f).Encode()}
	newest, err := c.Store.ListDeadLetters(ctx, store.DeadLetterFilter{Backend: f.Backend, Unmatched: f.Unmatched, Limit: 1})
	if err == nil && len(newest) > 0 {
		v.BeforeID = newest[0].ID + 1
		v.Count, err = c.count(r, f)
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "Dead letters not read", err.Error())
		return
	}
	c.render(w, http.StatusOK, "confirm", page{Title: "Confirm " + action, Nav: "deadletters", Body: v})
}

// count is how many letters f matches now, from the store's statistics.
func (c *console) count(r *http.Request, f store.DeadLetterFilter) (int64, error) {
	ctx, cancel := timeout(r)
	defer cancel()
	st, err := c.Stats(ctx)
	if err != nil {
		return 0, err
	}
	switch {
	case f.Unmatched:
		return st.Unmatched, nil
	case f.Backend != "":
		return st.Backends[f.Backend].DeadLetters, nil
	}
	n := st.Unmatched
	for _, b := range st.Backends {
		n += b.DeadLetters
	}
	return n, nil
}

// bulk replays or drops every letter of the form's filter once confirmed:
// the admin API's bulk operation, bounded by the newest id the
// confirmation saw.
func (c *console) bulk(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad form", err.Error())
		return
	}
	action := r.PostForm.Get("action")
	if action != "replay" && action != "drop" {
		c.fail(w, r, http.StatusBadRequest, "Unknown action", "A bulk action is replay or drop.")
		return
	}
	if r.PostForm.Get("confirm") != "yes" || r.PostForm.Get("before_id") == "" {
		c.fail(w, r, http.StatusBadRequest, "Not confirmed", "Replaying or dropping many dead letters needs a confirmation: use the buttons on the dead letters page.")
		return
	}
	q := url.Values{}
	for _, k := range []string{"backend", "unmatched", "before_id"} {
		if v := r.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	f, err := adminapi.ParseBulkFilter(q)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	op := c.DeadLetters.ReplayMatching
	if action == "drop" {
		op = c.DeadLetters.DropMatching
	}
	res, err := op(r.Context(), f)
	if err != nil {
		c.renderDeadLetters(w, r, res.Status(), bulkNotice(action, res))
		return
	}
	out := url.Values{"result": {string(res.Result)}, "done": {strconv.Itoa(res.Done)}, "gone": {strconv.Itoa(res.Gone)}}
	if res.More {
		out.Set("more", "1")
	}
	c.done(w, r, 0, out)
}

// notices are the texts of single actions by result; %d is the letter's id.
var notices = map[adminapi.Result]string{
	adminapi.Replayed:   "Dead letter %d replayed: its work is queued again.",
	adminapi.Dropped:    "Dead letter %d dropped.",
	adminapi.NotFound:   "Dead letter %d was not changed: there is no such dead letter (it was replayed or dropped already).",
	adminapi.Unroutable: "Dead letter %d was not replayed: its alert still matches no route. Fix the routes, reload (SIGHUP) and replay it again; the letter is kept.",
	adminapi.Failed:     "Dead letter %d was not changed: the store failed. The connector's log has the error.",
}

// actionNotice is the red banner of a failed single action.
func actionNotice(a adminapi.Action, err error) *Notice {
	format, ok := notices[a.Result]
	if !ok {
		format = notices[adminapi.Failed]
	}
	return &Notice{Text: fmt.Sprintf(format, a.ID), Detail: err.Error()}
}

// bulkNotice is the red banner of a bulk action that did not do
// everything.
func bulkNotice(action string, b adminapi.BulkAction) *Notice {
	past := map[string]string{"replay": "replayed", "drop": "dropped"}[action]
	n := &Notice{Text: fmt.Sprintf("Not every dead letter was %s: %d %s, %d failed.", past, b.Done, past, len(b.Failed)), Detail: b.Message}
	if b.Result == adminapi.Unroutable {
		n.Text += " The failed letters' alerts still match no route: fix the routes, reload (SIGHUP) and replay them again; the letters are kept."
	}
	if len(b.Failed) == 0 {
		n.Text = fmt.Sprintf("The dead letters were not %s: %s", past, b.Message)
		n.Detail = ""
	}
	return n
}

// successNotice is the green banner for the query a successful action
// redirected to, or nil. Only successes are taken from a URL, as fixed
// texts with numbers: a failure is answered by the action itself.
func successNotice(q url.Values) *Notice {
	res := adminapi.Result(q.Get("result"))
	if res != adminapi.Replayed && res != adminapi.Dropped {
		return nil
	}
	num := func(k string) (int64, bool) {
		n, err := strconv.ParseInt(q.Get(k), 10, 64)
		return n, err == nil && n >= 0
	}
	if id, ok := num("id"); ok && id > 0 && !q.Has("done") {
		return &Notice{Text: fmt.Sprintf(notices[res], id), OK: true}
	}
	done, ok1 := num("done")
	gone, ok2 := num("gone")
	if !ok1 || !ok2 || q.Has("id") {
		return nil
	}
	text := fmt.Sprintf("%d dead letters %s.", done, res)
	if gone > 0 {
		text += fmt.Sprintf(" %d were replayed or dropped by someone else meanwhile.", gone)
	}
	if q.Get("more") == "1" {
		text += fmt.Sprintf(" More letters match than one run handles (%d): run it again.", adminapi.MaxBulk)
	}
	return &Notice{Text: text, OK: true}
}
