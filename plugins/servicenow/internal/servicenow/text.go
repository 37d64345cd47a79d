package servicenow

import (
	"crypto/sha256"
	"encoding/hex"
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

// portalAlertURL is the Azure portal's alert details blade; the alert id is
// appended path-escaped.
const portalAlertURL = "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/"

// maxDescription caps description and work notes, in characters (the
// default length of incident.description is 4000).
const maxDescription = 4000

// Truncate cuts s to at most max characters on a rune boundary, ending in
// "…" when it cut. Invalid UTF-8 is replaced first so the result is valid.
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
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// CorrelationID is the value stored in correlation_id for a correlation
// key: the key itself when it fits in max characters and is safe inside an
// encoded query, else its SHA-256 in hex.
func CorrelationID(key string, max int) string {
	if key != "" && utf8.ValidString(key) && utf8.RuneCountInString(key) <= max && !strings.ContainsAny(key, "^\r\n") {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// PortalLink links to the alert in the Azure portal.
func PortalLink(alertID string) string {
	if alertID == "" {
		return ""
	}
	return portalAlertURL + url.PathEscape(alertID)
}

// summary is the default short description when the route sets none.
func summary(a *sdk.Alert) string {
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

// description renders the alert for the incident's description.
func description(a *sdk.Alert, key string) string {
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, value)
		}
	}
	fmt.Fprintf(&b, "Azure Monitor alert %s.\n\n", conditionWord(a))
	line("Rule", a.Rule)
	line("Severity", a.SeverityLabel)
	line("Condition", string(a.Condition))
	line("Signal", strings.TrimSpace(a.SignalType+" "+paren(a.MonitoringService)))
	line("Target", strings.Join(a.Targets, ", "))
	line("Fired at", formatTime(a.FiredAt))
	if a.ResolvedAt != nil {
		line("Resolved at", formatTime(*a.ResolvedAt))
	}
	details(&b, a)
	if a.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", a.Description)
	}
	if link := PortalLink(a.ID); link != "" {
		fmt.Fprintf(&b, "\nAlert in the Azure portal: %s\n", link)
	}
	line("Correlation key", key)
	return Truncate(strings.TrimRight(b.String(), "\n"), maxDescription)
}

// details adds the signal-specific summary.
func details(b *strings.Builder, a *sdk.Alert) {
	switch {
	case a.Metric != nil:
		m := a.Metric
		fmt.Fprintf(b, "Metric: %s %s %s %s", join("/", m.Namespace, m.Name), m.Aggregation, m.Operator, m.Threshold)
		if m.Value != nil {
			fmt.Fprintf(b, ", value %s", strconv.FormatFloat(*m.Value, 'g', -1, 64))
		}
		if m.WindowSize != "" {
			fmt.Fprintf(b, ", window %s", m.WindowSize)
		}
		b.WriteString("\n")
		for _, k := range sortedKeys(m.Dimensions) {
			fmt.Fprintf(b, "  %s = %s\n", k, m.Dimensions[k])
		}
	case a.Log != nil:
		l := a.Log
		fmt.Fprintf(b, "Log query: %s\n", Truncate(l.Query, 1000))
		if l.ResultCount != nil {
			fmt.Fprintf(b, "Results: %s (%s %s)\n", strconv.FormatFloat(*l.ResultCount, 'g', -1, 64), l.Operator, l.Threshold)
		}
		for _, link := range l.Links {
			fmt.Fprintf(b, "Results link: %s\n", link)
		}
	case a.ActivityLog != nil:
		x := a.ActivityLog
		fmt.Fprintf(b, "Activity: %s by %s, status %s, level %s, category %s\n", x.Operation, x.Caller, x.Status, x.Level, x.Category)
	case a.ServiceHealth != nil:
		x := a.ServiceHealth
		fmt.Fprintf(b, "Service Health: %s (tracking id %s, %s, stage %s)\n", x.Title, x.TrackingID, x.IncidentType, x.Stage)
		if len(x.ImpactedServices) > 0 {
			fmt.Fprintf(b, "Impacted services: %s\n", strings.Join(x.ImpactedServices, ", "))
		}
		if len(x.ImpactedRegions) > 0 {
			fmt.Fprintf(b, "Impacted regions: %s\n", strings.Join(x.ImpactedRegions, ", "))
		}
	case a.Budget != nil:
		x := a.Budget
		fmt.Fprintf(b, "Budget: %s (%s), spent %s of %s %s, threshold %s %s\n", x.Name, x.Type,
			num(x.Spent), num(x.Amount), x.Currency, num(x.Threshold), x.ThresholdType)
	}
}

// refireNote is the work note added when the alert fires again.
func refireNote(a *sdk.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Azure Monitor alert fired again: %s", summary(a))
	if !a.FiredAt.IsZero() {
		fmt.Fprintf(&b, " at %s", formatTime(a.FiredAt))
	}
	b.WriteString(".\n")
	details(&b, a)
	if link := PortalLink(a.ID); link != "" {
		fmt.Fprintf(&b, "Alert in the Azure portal: %s\n", link)
	}
	return Truncate(strings.TrimRight(b.String(), "\n"), maxDescription)
}

// reopenNote is the work note added when the incident is reopened.
func reopenNote(a *sdk.Alert) string {
	return "Reopened by itsm-connector: the alert fired again inside the route's reopen window.\n" + refireNote(a)
}

// closeNotes says what resolved the incident and when.
func closeNotes(a *sdk.Alert, now time.Time) string {
	at := now
	if a.ResolvedAt != nil {
		at = *a.ResolvedAt
	}
	rule := a.Rule
	if rule == "" {
		rule = "the alert"
	}
	msg := fmt.Sprintf("Resolved automatically by itsm-connector: Azure Monitor alert %q resolved at %s.", rule, formatTime(at))
	if link := PortalLink(a.ID); link != "" {
		msg += "\nAlert in the Azure portal: " + link
	}
	return msg
}

// unboundNote lists configuration items that could not be bound.
func unboundNote(table string, bindings []sdk.CIBinding) string {
	var b strings.Builder
	for _, x := range bindings {
		if x.BoundID != "" {
			continue
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "itsm-connector could not bind these configuration items to the CMDB (%s):\n", table)
		}
		fmt.Fprintf(&b, "- %s: %s\n", ciLabel(x.ConfigurationItem), x.Reason)
	}
	return strings.TrimRight(b.String(), "\n")
}

func ciLabel(ci sdk.ConfigurationItem) string {
	switch {
	case ci.Name != "" && ci.ResourceID != "":
		return ci.Name + " (" + ci.ResourceID + ")"
	case ci.Name != "":
		return ci.Name
	}
	return ci.ResourceID
}

// fieldValue converts a route field (a JSON value) to the string the Table
// API stores.
func fieldValue(v any) string {
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

func conditionWord(a *sdk.Alert) string {
	if a.Condition == sdk.ConditionResolved {
		return "resolved"
	}
	return "fired"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func num(f *float64) string {
	if f == nil {
		return "?"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
