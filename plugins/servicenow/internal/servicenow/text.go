package servicenow

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// maxDescription caps description and work notes, in characters (the
// default length of incident.description is 4000).
const maxDescription = 4000

// CorrelationID is the value stored in correlation_id for a correlation
// key: the key itself when it fits in max characters and is safe inside an
// encoded query (queryValueProblem), else its SHA-256 in hex.
func CorrelationID(key string, max int) string {
	if key != "" && utf8.ValidString(key) && utf8.RuneCountInString(key) <= max && queryValueProblem(key) == "" {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// queryValueProblem says why value cannot be the value of a condition in
// an encoded query (sysparm_query), or "" when it can. Every value from an
// alert that reaches a query passes here first:
//   - "^" separates conditions (and starts ^OR and ^NQ ones), so it would
//     change the query;
//   - a line break is not part of the query language;
//   - a value beginning with "javascript:" (any case, after leading white
//     space or invisible characters) is evaluated by the instance as
//     server-side script, with the integration user's rights.
func queryValueProblem(value string) string {
	switch {
	case strings.Contains(value, "^"):
		return `it contains "^", which separates encoded query conditions`
	case strings.ContainsAny(value, "\r\n"):
		return "it contains a line break"
	}
	v := strings.TrimLeftFunc(value, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	if len(v) >= len(scriptPrefix) && strings.EqualFold(v[:len(scriptPrefix)], scriptPrefix) {
		return `it begins with "javascript:", which the instance would run as server-side script`
	}
	return ""
}

// scriptPrefix marks a query value the instance evaluates as script.
const scriptPrefix = "javascript:"

// description renders the alert for the incident's description.
func description(a *sdk.Alert, key string) string {
	var b strings.Builder
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\n", label, value)
		}
	}
	fmt.Fprintf(&b, "Azure Monitor alert %s.\n\n", sdktext.ConditionWord(a))
	line("Rule", a.Rule)
	line("Severity", a.SeverityLabel)
	line("Condition", string(a.Condition))
	line("Signal", strings.TrimSpace(a.SignalType+" "+sdktext.Paren(a.MonitoringService)))
	line("Target", strings.Join(a.Targets, ", "))
	line("Fired at", sdktext.FormatTime(a.FiredAt))
	if a.ResolvedAt != nil {
		line("Resolved at", sdktext.FormatTime(*a.ResolvedAt))
	}
	details(&b, a)
	if a.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", a.Description)
	}
	if link := sdktext.PortalLink(a.ID); link != "" {
		fmt.Fprintf(&b, "\nAlert in the Azure portal: %s\n", link)
	}
	line("Correlation key", key)
	return sdktext.Truncate(strings.TrimRight(b.String(), "\n"), maxDescription)
}

// details adds the signal-specific summary.
func details(b *strings.Builder, a *sdk.Alert) {
	switch {
	case a.Metric != nil:
		m := a.Metric
		fmt.Fprintf(b, "Metric: %s %s %s %s", sdktext.JoinNonEmpty("/", m.Namespace, m.Name), m.Aggregation, m.Operator, m.Threshold)
		if m.Value != nil {
			fmt.Fprintf(b, ", value %s", strconv.FormatFloat(*m.Value, 'g', -1, 64))
		}
		if m.WindowSize != "" {
			fmt.Fprintf(b, ", window %s", m.WindowSize)
		}
		b.WriteString("\n")
		for _, k := range sdktext.SortedKeys(m.Dimensions) {
			fmt.Fprintf(b, "  %s = %s\n", k, m.Dimensions[k])
		}
	case a.Log != nil:
		l := a.Log
		fmt.Fprintf(b, "Log query: %s\n", sdktext.Truncate(l.Query, 1000))
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
			sdktext.Number(x.Spent), sdktext.Number(x.Amount), x.Currency, sdktext.Number(x.Threshold), x.ThresholdType)
	}
}

// refireNote is the work note added when the alert fires again.
func refireNote(a *sdk.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Azure Monitor alert fired again: %s", sdktext.Summary(a))
	if !a.FiredAt.IsZero() {
		fmt.Fprintf(&b, " at %s", sdktext.FormatTime(a.FiredAt))
	}
	b.WriteString(".\n")
	details(&b, a)
	if link := sdktext.PortalLink(a.ID); link != "" {
		fmt.Fprintf(&b, "Alert in the Azure portal: %s\n", link)
	}
	return sdktext.Truncate(strings.TrimRight(b.String(), "\n"), maxDescription)
}

// policyNote is the work note of an Update that carries the connector's
// note (sdk.Request.Note), e.g. that the alert is flapping: the note, then
// the alert it is about.
func policyNote(note string, a *sdk.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "itsm-connector: %s\nAlert: %s\n", note, sdktext.Summary(a))
	if link := sdktext.PortalLink(a.ID); link != "" {
		fmt.Fprintf(&b, "Alert in the Azure portal: %s\n", link)
	}
	return sdktext.Truncate(strings.TrimRight(b.String(), "\n"), maxDescription)
}

// reopenNote is the work note added when the incident is reopened.
func reopenNote(a *sdk.Alert) string {
	return "Reopened by itsm-connector: the alert fired again inside the route's reopen window.\n" + refireNote(a)
}

// closeNotes says what resolved the incident and when.
func closeNotes(a *sdk.Alert, now time.Time) string {
	msg := sdktext.ResolvedNote(a, now)
	if link := sdktext.PortalLink(a.ID); link != "" {
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

// affectedFailureNote tells the incident's readers which CIs could not be
// listed as Affected CIs, and why.
func affectedFailureNote(missing []string, bindings []sdk.CIBinding, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "itsm-connector could not record these configuration items as Affected CIs (%s):\n", taskCITable)
	for _, id := range missing {
		label := ""
		for _, x := range bindings {
			if strings.EqualFold(x.BoundID, id) {
				label = ciLabel(x.ConfigurationItem)
				break
			}
		}
		if label != "" {
			fmt.Fprintf(&b, "- %s: cmdb_ci %s\n", label, id)
		} else {
			fmt.Fprintf(&b, "- cmdb_ci %s\n", id)
		}
	}
	fmt.Fprintf(&b, "Reason: %v\n", err)
	b.WriteString("They are added when the alert fires again or the incident is reopened, once the cause is fixed.")
	return sdktext.Truncate(b.String(), maxDescription)
}
