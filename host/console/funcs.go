package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// pageNames are the templates besides the layout, one file each.
var pageNames = []string{"overview", "workitems", "workitem", "deadletters", "deadletter", "confirm", "error"}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New("layout.html").Funcs(funcs)
		out[name] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html"))
	}
	return out
}

var funcs = template.FuncMap{
	"weblink":  weblink,
	"age":      age,
	"short":    short,
	"state":    itemState,
	"cis":      ciSummary,
	"resource": resource,
	"ticket":   store.TicketKey,
	"json":     prettyJSON,
	"value":    fieldValue,
	"keys":     sortedKeys,
	"ms":       millis,
	"stamp":    func(t time.Time) string { return stamp(t) },
	"unbound":  func(b sdk.CIBinding) bool { return b.BoundID == "" },
}

// weblink reports whether u may be a link: an absolute http or https URL.
// Anything else a plugin returns (javascript:, data:, file:) is shown as
// text.
func weblink(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (strings.EqualFold(p.Scheme, "http") || strings.EqualFold(p.Scheme, "https")) && p.Host != ""
}

// age is how long ago t was, from now, in at most two units ("45s",
// "12m", "3h10m", "2d4h"); "-" for a zero time.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return compact(now.Sub(t))
}

func compact(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// short cuts s to n characters, marking the cut.
func short(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// State is a work item's reconcile state as the console shows it.
type State struct {
	Text  string
	Class string // ok, warn, bad
}

// itemState: dead letter, failing (after failed attempts), pending, in
// sync.
func itemState(it *store.Item) State {
	switch {
	case it.Dead:
		return State{"dead letter", "bad"}
	case it.Dirty && it.Attempts > 0:
		return State{fmt.Sprintf("failing (%d attempts)", it.Attempts), "warn"}
	case it.Dirty:
		return State{"pending", "warn"}
	default:
		return State{"in sync", "ok"}
	}
}

// CISummary is the CI bindings column of a work item.
type CISummary struct {
	Text  string
	Class string
	Title string
}

// ciSummary counts the bindings the work item's plugin reported: "2/2
// bound", "1/3 bound" (a warning), or "-" when none were reported.
func ciSummary(it *store.Item) CISummary {
	if it.Ref == nil || len(it.Ref.Bindings) == 0 {
		if len(it.ConfigurationItems) > 0 {
			return CISummary{Text: "-", Title: fmt.Sprintf("%d configuration items, no bindings reported", len(it.ConfigurationItems))}
		}
		return CISummary{Text: "-", Title: "no bindings reported"}
	}
	bound := 0
	for _, b := range it.Ref.Bindings {
		if b.BoundID != "" {
			bound++
		}
	}
	s := CISummary{Text: fmt.Sprintf("%d/%d bound", bound, len(it.Ref.Bindings)), Class: "ok"}
	if bound < len(it.Ref.Bindings) {
		s.Class = "warn"
		s.Title = fmt.Sprintf("%d unbound", len(it.Ref.Bindings)-bound)
	}
	return s
}

// resource is the alert's resource as a short name, with its id for the
// title.
func resource(a *sdk.Alert) string {
	switch {
	case a == nil:
		return ""
	case a.ResourceName != "":
		return a.ResourceName
	case a.Resource.Name != "":
		return a.Resource.Name
	case len(a.ConfigurationItems) > 0:
		return a.ConfigurationItems[0].Name
	default:
		return ""
	}
}

// prettyJSON is v as indented JSON, HTML characters left as they are (the
// template escapes them for the page).
func prettyJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("(cannot show as JSON: %v)", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// fieldValue is a rendered field as text: a string as it is, anything else
// as JSON.
func fieldValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return prettyJSON(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func millis(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}
