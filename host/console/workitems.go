package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
	"github.com/itsm-connector/itsm-connector/host/store"
)

type workItemsView struct {
	Filter     store.ItemFilter
	Backends   []string
	States     []store.ItemState
	Severities []string
	Items      []*store.Item
	// Older is the link to the next page; empty on the last.
	Older    string
	Newest   string
	Filtered bool
	Error    string
}

// pageSize is how many rows a list page shows.
const pageSize = 50

func (c *console) workItems(w http.ResponseWriter, r *http.Request) {
	v := workItemsView{States: store.ItemStates, Severities: adminapi.Severities}
	f, err := adminapi.ParseItemFilter(r.URL.Query())
	v.Backends = c.backendChoices(f.Backend)
	if err != nil {
		v.Error = err.Error()
		c.render(w, http.StatusBadRequest, "workitems", page{Title: "Work items", Nav: "workitems", Body: v})
		return
	}
	f.Limit = pageSize
	v.Filter = f
	v.Filtered = f.Backend != "" || f.Route != "" || f.State != "" || f.Severity != "" || f.Search != ""
	ctx, cancel := timeout(r)
	defer cancel()
	v.Items, err = c.Store.ListItems(ctx, f)
	if err != nil {
		v.Error = err.Error()
		c.Logger.Warn("console: listing work items", "error", err)
		c.render(w, http.StatusInternalServerError, "workitems", page{Title: "Work items", Nav: "workitems", Body: v})
		return
	}
	v.Newest = "/workitems?" + itemQuery(f).Encode()
	if len(v.Items) == pageSize {
		q := itemQuery(f)
		q.Set("before_id", strconv.FormatInt(v.Items[len(v.Items)-1].ID, 10))
		v.Older = "/workitems?" + q.Encode()
	}
	c.render(w, http.StatusOK, "workitems", page{Title: "Work items", Nav: "workitems", Body: v})
}

// itemQuery is f as the list's query, without paging.
func itemQuery(f store.ItemFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"backend": f.Backend, "route": f.Route, "state": string(f.State), "severity": f.Severity, "q": f.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

type workItemView struct {
	Item        *store.Item
	Events      []store.Event
	OlderEvents string
	DeadLetters []*store.DeadLetter
	Error       string
}

func (c *console) workItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "Bad work item id", "A work item id is a positive number.")
		return
	}
	ef, err := adminapi.ParseEventFilter(eventQuery(r.URL.Query()))
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, "Bad audit trail page", err.Error())
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	it, err := c.Store.GetItem(ctx, id)
	if err != nil {
		status, title := http.StatusInternalServerError, "Work item not read"
		if adminapi.Outcome(err, "") == adminapi.NotFound {
			status, title = http.StatusNotFound, "No such work item"
		}
		c.fail(w, r, status, title, err.Error())
		return
	}
	v := workItemView{Item: it}
	ef.ItemID = id
	ef.Limit = 100
	v.Events, err = c.Store.ListEvents(ctx, ef)
	if err == nil && len(v.Events) == ef.Limit {
		v.OlderEvents = "/workitems/" + strconv.FormatInt(id, 10) + "?events_before=" + strconv.FormatInt(v.Events[len(v.Events)-1].ID, 10) + "#audit"
	}
	if err == nil && it.Dead {
		v.DeadLetters, err = c.Store.ListDeadLetters(ctx, store.DeadLetterFilter{ItemID: id, Limit: 10})
	}
	status := http.StatusOK
	if err != nil {
		v.Error, status = err.Error(), http.StatusInternalServerError
	}
	c.render(w, status, "workitem", page{Title: "Work item " + strconv.FormatInt(id, 10), Nav: "workitems", Notice: successNotice(r.URL.Query()), Body: v})
}

// eventQuery maps the page's events_before to the trail filter's before_id.
func eventQuery(q url.Values) url.Values {
	out := url.Values{}
	if v := q.Get("events_before"); v != "" {
		out.Set("before_id", v)
	}
	return out
}

// backendChoices are the backend filter's choices: the running backends'
// references, sorted, and the one a filter names when no running backend
// has it (a backend removed from the configuration still has work items
// and dead letters).
func (c *console) backendChoices(selected string) []string {
	var refs []string
	for _, b := range c.Backends() {
		refs = append(refs, b.Ref)
	}
	slices.Sort(refs)
	if selected != "" && !slices.Contains(refs, selected) {
		refs = append(refs, selected)
	}
	return refs
}
