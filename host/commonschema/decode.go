// Package commonschema turns an Azure Monitor alert in the Common Alert
// Schema into an sdk.Alert: the one normalized shape routes, the store and
// plugins work with, whatever kind of alert Azure sent.
//
// Decoding is strict where a wrong answer would create the wrong work
// item: schemaId must be the common schema, alertId and monitorCondition
// must be present. Everywhere else it is tolerant, because real payloads
// vary more than Microsoft's samples: any other essentials field may be
// null or absent, numbers and strings are accepted for the same key,
// arrays and objects may arrive JSON-encoded inside strings, key case
// varies (alertRuleID / alertRuleId), signalType and monitoringService
// vary in spaces and case and are canonicalized, unknown keys are ignored,
// and timestamps come in several formats. An unknown monitoringService
// passes through with its essentials and raw alertContext.
package commonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// SchemaID is the schemaId of the Common Alert Schema.
const SchemaID = "azureMonitorCommonAlertSchema"

// DefaultMaxBodyBytes is the default limit on a webhook body. Azure caps
// common-schema payloads at 256 KB; the margin absorbs future growth. The
// webhook enforces the limit before calling Decode.
const DefaultMaxBodyBytes = 1 << 20

// essentials holds data.essentials' members as raw JSON.
type essentials struct {
	alertID, alertRule, alertRuleID, severity, signalType, monitorCondition []byte
	monitoringService, targets, configurationItems, originAlertID           []byte
	firedDateTime, resolvedDateTime, description                            []byte
	essentialsVersion, alertContextVersion                                  []byte
}

// Decode parses body as a Common Alert Schema payload and normalizes it.
// A body that cannot be accepted yields an *Error naming the field and the
// problem; the webhook answers it with 400. Decode does not limit the body
// size: the caller reads at most its configured limit (DefaultMaxBodyBytes
// unless configured otherwise). The returned alert shares no memory with
// body.
func Decode(body []byte) (*sdk.Alert, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 BOM some senders add
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &Error{Reason: ReasonMalformed, Message: "the body is empty: expected a Common Alert Schema JSON object"}
	}
	if !valid(body) {
		return nil, syntaxError(body)
	}
	if body[0] != '{' {
		return nil, &Error{Reason: ReasonMalformed, Message: fmt.Sprintf("the body must be a JSON object, not %s", jsonKind(body))}
	}

	var schemaID, data []byte
	var kb keyBuf
	members(body, func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "schemaid":
			schemaID = val
		case "data":
			data = val
		}
	})
	if id := trimmed(schemaID); !strings.EqualFold(id, SchemaID) {
		msg := fmt.Sprintf("is missing, so this is not a Common Alert Schema payload: the action group must enable the common alert schema on this webhook action (schemaId %q)", SchemaID)
		if id != "" {
			msg = fmt.Sprintf("%q is not the Common Alert Schema (%q): the action group must enable the common alert schema on this webhook action", clip(id), SchemaID)
		}
		return nil, &Error{Reason: ReasonNotCommonSchema, Field: "schemaId", Message: msg}
	}
	if err := needObject("data", data, "a Common Alert Schema payload carries the alert in data"); err != nil {
		return nil, err
	}
	var essRaw, ctxRaw, customRaw []byte
	members(data, func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "essentials":
			essRaw = val
		case "alertcontext":
			ctxRaw = val
		case "customproperties":
			customRaw = val
		}
	})
	if err := needObject("data.essentials", essRaw, "every Common Alert Schema alert has essentials"); err != nil {
		return nil, err
	}
	var e essentials
	members(essRaw, func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "alertid":
			e.alertID = val
		case "alertrule":
			e.alertRule = val
		case "alertruleid": // also alertRuleID
			if len(e.alertRuleID) == 0 || trimmed(val) != "" {
				e.alertRuleID = val
			}
		case "severity":
			e.severity = val
		case "signaltype":
			e.signalType = val
		case "monitorcondition":
			e.monitorCondition = val
		case "monitoringservice":
			e.monitoringService = val
		case "alerttargetids":
			e.targets = val
		case "configurationitems":
			e.configurationItems = val
		case "originalertid":
			e.originAlertID = val
		case "fireddatetime":
			e.firedDateTime = val
		case "resolveddatetime":
			e.resolvedDateTime = val
		case "description":
			e.description = val
		case "essentialsversion":
			e.essentialsVersion = val
		case "alertcontextversion":
			e.alertContextVersion = val
		}
	})

	a := &sdk.Alert{ID: trimmed(e.alertID)}
	if a.ID == "" {
		return nil, &Error{Reason: ReasonMissingField, Field: "data.essentials.alertId", Message: "is required: it identifies the alert across Fired and Resolved"}
	}
	if why := inexact(e.alertID); why != "" {
		// Other text is normalized (see str); an id is matched exactly
		// across Fired and Resolved, and a rewritten one could merge two
		// alerts into one work item.
		return nil, &Error{Reason: ReasonInvalidField, Field: "data.essentials.alertId",
			Message: why + "; an alertId is matched exactly across Fired and Resolved, so it is refused rather than rewritten"}
	}
	switch mc := trimmed(e.monitorCondition); {
	case mc == "":
		return nil, &Error{Reason: ReasonMissingField, Field: "data.essentials.monitorCondition", Message: `is required: "Fired" or "Resolved"`}
	case strings.EqualFold(mc, "Fired"):
		a.Condition = sdk.ConditionFired
	case strings.EqualFold(mc, "Resolved"):
		a.Condition = sdk.ConditionResolved
	default:
		return nil, &Error{Reason: ReasonInvalidField, Field: "data.essentials.monitorCondition", Message: fmt.Sprintf(`must be "Fired" or "Resolved", got %q`, clip(mc))}
	}
	a.Rule = trimmed(e.alertRule)
	a.RuleID = trimmed(e.alertRuleID)
	if sev, ok := parseSeverity(trimmed(e.severity)); ok {
		a.Severity = &sev
		a.SeverityLabel = "Sev" + strconv.Itoa(sev)
	}
	a.SignalType = canonicalSignal(str(e.signalType))
	a.MonitoringService = canonicalService(str(e.monitoringService))
	a.Targets = nonNil(strs(e.targets))
	a.ConfigurationItems = configurationItems(strs(e.configurationItems), a.Targets)
	a.OriginAlertID = trimmed(e.originAlertID)
	a.FiredAt = tm(e.firedDateTime)
	if a.Condition == sdk.ConditionResolved {
		if t := tm(e.resolvedDateTime); !t.IsZero() {
			a.ResolvedAt = &t
		}
	}
	a.Description = trimmed(e.description)
	a.EssentialsVersion = trimmed(e.essentialsVersion)
	a.AlertContextVersion = trimmed(e.alertContextVersion)

	ctxRaw = contextJSON(ctxRaw)
	if ctxRaw != nil {
		a.Context = bytes.Clone(storable(ctxRaw))
	}
	c := decodeContext(ctxRaw)
	k := kindOf(a.MonitoringService)
	a.Stateless = k.stateless() || (k == kindGeneric && a.SignalType == SignalActivityLog)
	props := summarize(a, k, c)

	a.CustomProperties = strMap(customRaw)
	if k == kindCondition {
		// Metric and log v2 rules also carry their custom properties in
		// the context; data.customProperties wins where both have a key.
		if props == nil {
			props = strMap(c.properties)
		}
		if len(props) > 0 {
			merged := make(map[string]string, len(props)+len(a.CustomProperties))
			maps.Copy(merged, props)
			maps.Copy(merged, a.CustomProperties)
			a.CustomProperties = merged
		}
	}
	if a.CustomProperties == nil {
		a.CustomProperties = map[string]string{}
	}

	if len(a.Targets) > 0 {
		a.Resource = parseResource(a.Targets[0])
	} else if k == kindBudget {
		if scope := budgetScope(c); scope != "" {
			a.Resource = parseResource(scope)
		}
	}
	a.Subscription = a.Resource.Subscription
	a.ResourceGroup = a.Resource.ResourceGroup
	a.ResourceType = a.Resource.ResourceType
	a.ResourceName = a.Resource.Name
	return a, nil
}

// summarize sets the per-type summaries for k from the context, turns a
// health notification that reports the end of its issue into a
// resolution, and gives a Prometheus alert without a description its
// summary annotation, as a budget alert without targets gets its scope as
// the resource. It returns the context's properties when it decoded them.
func summarize(a *sdk.Alert, k kind, c *rawContext) (props map[string]string) {
	switch k {
	case kindCondition, kindLogV1:
		if c.criterion != nil {
			cr := decodeCriterion(c.criterion)
			if cr.isLog(c.conditionType) {
				a.Log = logSummaryV2(cr)
			} else {
				a.Metric = metricSummary(c, cr)
			}
		} else if trimmed(c.searchQuery) != "" {
			a.Log = logSummaryV1(c)
		}
	case kindActivityLog:
		props = strMap(c.properties)
		a.ActivityLog = activityLogSummary(c, props, a.MonitoringService)
	case kindResourceHealth:
		props = strMap(c.properties)
		a.ActivityLog = activityLogSummary(c, props, a.MonitoringService)
		a.ResourceHealth = resourceHealthSummary(c)
		resolveHealth(a, c, props)
	case kindServiceHealth:
		props = strMap(c.properties)
		a.ServiceHealth = serviceHealthSummary(c, props)
		resolveHealth(a, c, props)
	case kindPrometheus:
		a.Prometheus = prometheusSummary(c)
		a.Metric = prometheusMetricSummary(c, a.Prometheus)
		if a.Description == "" {
			// A Prometheus rule keeps its human text in annotations, and
			// summary is the conventional one-line description.
			a.Description = strings.TrimSpace(a.Prometheus.Annotations["summary"])
		}
	case kindBudget:
		if c.alertData != nil {
			a.Budget = budgetSummary(c)
		}
	}
	return props
}

// resolveHealth marks a service or resource health event whose stage or
// status is Resolved as a resolution: Azure sends such events with
// monitorCondition Fired, since these alerts are stateless. The resolution
// time is the essentials' resolvedDateTime, else the impact mitigation
// time, else the event time, else the fired time.
func resolveHealth(a *sdk.Alert, c *rawContext, props map[string]string) {
	if !isResolution(c, props) {
		return
	}
	a.Condition = sdk.ConditionResolved
	if a.ResolvedAt != nil {
		return
	}
	for _, t := range []time.Time{parseTime(props["impactMitigationTime"]), tm(c.eventTime), a.FiredAt} {
		if !t.IsZero() {
			a.ResolvedAt = &t
			return
		}
	}
}

// needObject checks that a required member is a JSON object.
func needObject(field string, raw []byte, why string) error {
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return &Error{Reason: ReasonMissingField, Field: field, Message: "is missing or null: " + why}
	case raw[0] != '{':
		return &Error{Reason: ReasonMalformed, Field: field, Message: fmt.Sprintf("must be a JSON object, not %s", jsonKind(raw))}
	}
	return nil
}

// jsonKind names the kind of a JSON value for messages.
func jsonKind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// syntaxError explains why body is not JSON, with the byte offset.
func syntaxError(body []byte) error {
	var v any
	err := json.Unmarshal(body, &v)
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &Error{Reason: ReasonMalformed, Message: fmt.Sprintf("the body is not valid JSON: %v (at byte %d)", syn, syn.Offset), Err: err}
	}
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return &Error{Reason: ReasonMalformed, Message: fmt.Sprintf("the body is not valid JSON: %v", err), Err: err}
}

// parseSeverity reads "Sev0" … "Sev4" in any case and spacing, a bare
// digit, or Azure's level names (Critical, Error, Warning, Informational,
// Verbose).
func parseSeverity(s string) (int, bool) {
	f := fold(s)
	f = strings.TrimPrefix(f, "sev")
	f = strings.TrimPrefix(f, "severity")
	if len(f) == 1 && f[0] >= '0' && f[0] <= '4' {
		return int(f[0] - '0'), true
	}
	switch f {
	case "critical":
		return 0, true
	case "error":
		return 1, true
	case "warning":
		return 2, true
	case "informational", "information", "info":
		return 3, true
	case "verbose":
		return 4, true
	}
	return 0, false
}

// contextJSON is the raw alertContext to keep: nil when absent or null,
// the object inside when Azure sent it JSON-encoded in a string.
func contextJSON(raw []byte) []byte {
	switch {
	case len(raw) == 0 || raw[0] == 'n':
		return nil
	case raw[0] == '"':
		if inner := embeddedJSON(str(raw)); inner != nil && inner[0] == '{' {
			return inner
		}
	}
	return raw
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if s[i]&0xC0 != 0x80 { // cut on a rune boundary
			return s[:i] + "…"
		}
	}
	return ""
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
