// Package sdktext holds the small text helpers that ITSM plugins need to
// render an alert for people: cutting text to a field's length without
// breaking a character, the Azure portal link of an alert, the default
// one-line summary, timestamps, and plain rendering of JSON values.
//
// Everything here is pure and safe for concurrent use. A plugin keeps its
// own layout (plain text, Markdown, a rich-text document); these are the
// pieces every layout needs, so that a ServiceNow incident, a Jira issue
// and a vendor's ticket say the same thing the same way.
package sdktext

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// PortalAlertURL is the Azure portal's alert details blade; [PortalLink]
// appends the alert id, path-escaped.
const PortalAlertURL = "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/"

// Ellipsis ends text that [Truncate] cut.
const Ellipsis = "…"

// Truncate cuts s to at most max characters (runes, not bytes) on a rune
// boundary, ending in "…" when it cut, so the result always fits a field
// limited to max characters. Invalid UTF-8 is replaced first, so the
// result is valid UTF-8 too. A max of zero or less gives "".
func Truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + Ellipsis
		}
		n++
	}
	return s
}

// PortalLink links to the alert with this id (the Common Alert Schema's
// alertId, an ARM id) in the Azure portal; "" without an id.
func PortalLink(alertID string) string {
	if alertID == "" {
		return ""
	}
	return PortalAlertURL + url.PathEscape(alertID)
}

// Summary is the default one-line title of a work item when the route sets
// none: "[Sev1] <rule> on <resource>", with the parts the alert lacks left
// out ("Azure Monitor alert" stands in for a missing rule name).
func Summary(a *sdk.Alert) string {
	var b strings.Builder
	if a.SeverityLabel != "" {
		b.WriteString("[" + a.SeverityLabel + "] ")
	}
	rule := a.Rule
	if rule == "" {
		rule = "Azure Monitor alert"
	}
	b.WriteString(rule)
	if a.ResourceName != "" {
		b.WriteString(" on " + a.ResourceName)
	}
	return b.String()
}

// ConditionWord is "resolved" for a resolved alert and "fired" otherwise,
// for sentences such as "Azure Monitor alert fired."
func ConditionWord(a *sdk.Alert) string {
	if a.Condition == sdk.ConditionResolved {
		return "resolved"
	}
	return "fired"
}

// ResolvedNote is the sentence a plugin writes on a work item it resolves
// for alert a: `Resolved automatically by itsm-connector: Azure Monitor
// alert "<rule>" resolved at <time>.`, at the alert's resolved time, or
// now when the alert has none ("the alert" stands in for a missing rule
// name).
func ResolvedNote(a *sdk.Alert, now time.Time) string {
	at := now
	if a.ResolvedAt != nil {
		at = *a.ResolvedAt
	}
	rule := a.Rule
	if rule == "" {
		rule = "the alert"
	}
	return fmt.Sprintf("Resolved automatically by itsm-connector: Azure Monitor alert %q resolved at %s.", rule, FormatTime(at))
}

// FormatTime renders t in UTC as RFC 3339, the form every backend and
// operator reads unambiguously; "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Paren wraps s in parentheses; "" stays "".
func Paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// JoinNonEmpty joins the non-empty parts with sep, e.g. a metric's
// namespace and name when either may be missing.
func JoinNonEmpty(sep string, parts ...string) string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// Number renders an optional number in plain decimal notation (no
// exponent), or "?" when it is absent, for figures such as a budget's
// amount.
func Number(f *float64) string {
	if f == nil {
		return "?"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// SortedKeys returns m's keys in ascending order, so that rendered maps
// (metric dimensions, field errors) read the same on every call.
func SortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Scalar renders a JSON value as the text a backend's string field stores:
// strings as they are, numbers in plain decimal notation, booleans as
// true/false, null as "", and objects and lists as compact JSON.
func Scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// ParseDuration reads a positive Go duration ("30s", "10m") from the
// configuration attribute at path. An empty value gives def; an invalid or
// non-positive one gives def and adds an error diagnostic at path to
// diags, so that Configure can report every problem at once.
func ParseDuration(v string, def time.Duration, diags *sdk.Diagnostics, path ...string) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		name := "value"
		if len(path) > 0 {
			name = path[len(path)-1]
		}
		*diags = append(*diags, sdk.AttributeError(name+" must be a positive duration",
			fmt.Sprintf("Got %q; use a Go duration such as \"30s\" or \"10m\".", v), path...))
		return def
	}
	return d
}

// FieldNote is the part of a comment or work note that carries the new
// values of the fields a call comments on instead of writing them
// (sdk.Request.Commented, the route's field_policy "comment"): a heading,
// then one "name: value" line per field, in the order of names; "" when
// names is empty. value gives each field's new value as text.
func FieldNote(names []string, value func(name string) string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Changed values (field_policy \"comment\": noted here, the fields are left as they are):")
	for _, n := range names {
		fmt.Fprintf(&b, "\n%s: %s", n, value(n))
	}
	return b.String()
}
