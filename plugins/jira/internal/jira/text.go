package jira

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Length limits.
const (
	// maxSummary is the length of Jira's summary field.
	maxSummary = 255
	// maxText caps a plain-text description or comment (Jira's limit for
	// text fields is 32,767 characters).
	maxText = 32000
	// maxPart caps one free-text part of a document (a rule description, a
	// log query), so a document stays far below Jira's limits.
	maxPart = 4000
	// maxList caps the items of one list (targets, dimensions, links).
	maxList = 25
)

// CorrelationLabel is the label that stamps an issue with a correlation
// key: prefix followed by the first 16 hex digits of the key's SHA-256.
// It has no spaces and a bounded length, whatever the key.
func CorrelationLabel(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:8])
}

// correlationFieldValue is what a correlation custom field holds: the key
// itself when it fits a single-line text field, else its SHA-256.
func correlationFieldValue(key string) string {
	if utf8.ValidString(key) && utf8.RuneCountInString(key) <= maxSummary && !strings.ContainsAny(key, "\r\n") {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// summaryOf is the issue summary: the route's summary field, or
// "[Sev1] <rule> on <resource>", on one line, cut to Jira's 255 characters.
func summaryOf(a *sdk.Alert, fields map[string]any) string {
	s, _ := fields["summary"].(string)
	if strings.TrimSpace(s) == "" {
		s = sdktext.Summary(a)
	}
	s = strings.Join(strings.Fields(s), " ")
	return sdktext.Truncate(s, maxSummary)
}

// describe is the issue description: the alert's details and a link to it
// in the Azure portal.
func describe(a *sdk.Alert, key string) document {
	doc := document{
		paragraph(strong("Azure Monitor alert " + sdktext.ConditionWord(a) + ".")),
		bullets(facts(a)...),
	}
	doc = append(doc, details(a)...)
	if a.Description != "" {
		doc = append(doc, paragraph(text(sdktext.Truncate(a.Description, maxPart))))
	}
	if u := sdktext.PortalLink(a.ID); u != "" {
		doc = append(doc, paragraph(link("Open the alert in the Azure portal", u)))
	}
	doc = append(doc, paragraph(text("Correlation key: "), code(key)))
	return doc
}

// facts are the alert's essentials as list items.
func facts(a *sdk.Alert) [][]inline {
	var items [][]inline
	add := func(label, value string) {
		if value != "" {
			items = append(items, []inline{strong(label + ": "), text(value)})
		}
	}
	add("Rule", a.Rule)
	add("Severity", a.SeverityLabel)
	add("Condition", string(a.Condition))
	add("Signal", strings.TrimSpace(a.SignalType+" "+sdktext.Paren(a.MonitoringService)))
	targets := a.Targets
	if len(targets) > maxList {
		targets = append(slices.Clone(targets[:maxList]), fmt.Sprintf("… and %d more", len(a.Targets)-maxList))
	}
	add("Target", strings.Join(targets, ", "))
	add("Fired at", sdktext.FormatTime(a.FiredAt))
	if a.ResolvedAt != nil {
		add("Resolved at", sdktext.FormatTime(*a.ResolvedAt))
	}
	return items
}

// details are the signal-specific blocks.
func details(a *sdk.Alert) document {
	switch {
	case a.Metric != nil:
		m := a.Metric
		line := fmt.Sprintf("%s %s %s %s", sdktext.JoinNonEmpty("/", m.Namespace, m.Name), m.Aggregation, m.Operator, m.Threshold)
		if m.Value != nil {
			line += ", value " + strconv.FormatFloat(*m.Value, 'g', -1, 64)
		}
		if m.WindowSize != "" {
			line += ", window " + m.WindowSize
		}
		items := [][]inline{{strong("Metric: "), text(strings.Join(strings.Fields(line), " "))}}
		keys := sdktext.SortedKeys(m.Dimensions)
		if len(keys) > maxList {
			keys = keys[:maxList]
		}
		for _, k := range keys {
			items = append(items, []inline{strong(k + ": "), text(m.Dimensions[k])})
		}
		return document{bullets(items...)}
	case a.Log != nil:
		l := a.Log
		var doc document
		if l.ResultCount != nil {
			doc = append(doc, paragraph(strong("Results: "),
				text(fmt.Sprintf("%s (%s %s)", strconv.FormatFloat(*l.ResultCount, 'g', -1, 64), l.Operator, l.Threshold))))
		}
		if l.Query != "" {
			doc = append(doc, codeBlock("kusto", sdktext.Truncate(l.Query, maxPart)))
		}
		var links [][]inline
		for i, u := range l.Links {
			if i == maxList {
				break
			}
			links = append(links, []inline{link("Search results", u)})
		}
		if len(links) > 0 {
			doc = append(doc, bullets(links...))
		}
		return doc
	case a.ActivityLog != nil:
		x := a.ActivityLog
		return document{bullets(
			[]inline{strong("Operation: "), text(x.Operation)},
			[]inline{strong("Caller: "), text(x.Caller)},
			[]inline{strong("Status: "), text(x.Status)},
			[]inline{strong("Level: "), text(x.Level)},
			[]inline{strong("Category: "), text(x.Category)},
		)}
	case a.ServiceHealth != nil:
		x := a.ServiceHealth
		return document{bullets(
			[]inline{strong("Service Health: "), text(x.Title)},
			[]inline{strong("Tracking id: "), text(x.TrackingID)},
			[]inline{strong("Stage: "), text(strings.TrimSpace(x.Stage + " " + sdktext.Paren(x.IncidentType)))},
			[]inline{strong("Impacted services: "), text(strings.Join(x.ImpactedServices, ", "))},
			[]inline{strong("Impacted regions: "), text(strings.Join(x.ImpactedRegions, ", "))},
		)}
	case a.Budget != nil:
		x := a.Budget
		return document{bullets(
			[]inline{strong("Budget: "), text(strings.TrimSpace(x.Name + " " + sdktext.Paren(x.Type)))},
			[]inline{strong("Spent: "), text(fmt.Sprintf("%s of %s %s", sdktext.Number(x.Spent), sdktext.Number(x.Amount), x.Currency))},
			[]inline{strong("Threshold: "), text(strings.TrimSpace(sdktext.Number(x.Threshold) + " " + x.ThresholdType))},
		)}
	}
	return nil
}

// skipped describes re-fires that were not commented.
type skipped struct {
	count       int
	first, last time.Time
}

func (s skipped) note(interval time.Duration) []inline {
	if s.count == 0 {
		return nil
	}
	what := "1 further re-fire"
	if s.count > 1 {
		what = fmt.Sprintf("%d further re-fires", s.count)
	}
	span := "at " + sdktext.FormatTime(s.first)
	if !s.last.Equal(s.first) {
		span = fmt.Sprintf("between %s and %s", sdktext.FormatTime(s.first), sdktext.FormatTime(s.last))
	}
	return []inline{text(fmt.Sprintf("%s %s were not commented (at most one comment per %s).", what, span, interval))}
}

// refireComment is the comment added when the alert fires again.
func refireComment(a *sdk.Alert, sk skipped, interval time.Duration) document {
	head := "Azure Monitor alert fired again"
	if !a.FiredAt.IsZero() {
		head += " at " + sdktext.FormatTime(a.FiredAt)
	}
	doc := document{paragraph(strong(head + "."))}
	doc = append(doc, details(a)...)
	if n := sk.note(interval); n != nil {
		doc = append(doc, paragraph(n...))
	}
	if u := sdktext.PortalLink(a.ID); u != "" {
		doc = append(doc, paragraph(link("Open the alert in the Azure portal", u)))
	}
	return doc
}

// policyComment is the comment of an Update that carries the connector's
// note (sdk.Request.Note), e.g. that the alert is flapping.
func policyComment(note string, a *sdk.Alert) document {
	doc := document{paragraph(strong("itsm-connector: " + note))}
	if u := sdktext.PortalLink(a.ID); u != "" {
		doc = append(doc, paragraph(link("Open the alert in the Azure portal", u)))
	}
	return doc
}

// resolveComment says what resolved the issue and when.
func resolveComment(a *sdk.Alert, now time.Time, sk skipped, interval time.Duration) document {
	doc := document{paragraph(text(sdktext.ResolvedNote(a, now)))}
	if n := sk.note(interval); n != nil {
		doc = append(doc, paragraph(n...))
	}
	if u := sdktext.PortalLink(a.ID); u != "" {
		doc = append(doc, paragraph(link("Open the alert in the Azure portal", u)))
	}
	return doc
}

// reopenComment says why the issue was reopened.
func reopenComment(a *sdk.Alert) document {
	head := "Reopened by itsm-connector: the alert fired again"
	if !a.FiredAt.IsZero() {
		head += " at " + sdktext.FormatTime(a.FiredAt)
	}
	doc := document{paragraph(text(head + " inside the route's reopen window."))}
	doc = append(doc, details(a)...)
	if u := sdktext.PortalLink(a.ID); u != "" {
		doc = append(doc, paragraph(link("Open the alert in the Azure portal", u)))
	}
	return doc
}

// fieldChanges is the part of a re-fire's comment that carries the new
// values of the route fields whose policy is "comment"; nil when there are
// none.
func fieldChanges(req *sdk.Request) document {
	names := req.Commented()
	if len(names) == 0 {
		return nil
	}
	items := make([][]inline, 0, len(names))
	for _, n := range names {
		items = append(items, []inline{strong(n + ": "), text(sdktext.Truncate(sdktext.Scalar(req.Fields[n]), maxPart))})
	}
	return document{
		paragraph(text(`Changed values (field_policy "comment": noted here, the fields are left as they are):`)),
		bullets(items...),
	}
}

// textDocument turns operator text (a route's description) into a
// document, one paragraph per blank-line-separated part.
func textDocument(s string) document {
	var doc document
	for _, part := range strings.Split(sdktext.Truncate(s, maxText), "\n\n") {
		if strings.TrimSpace(part) != "" {
			doc = append(doc, paragraph(text(part)))
		}
	}
	return doc
}
