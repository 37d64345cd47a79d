package commonschema

import (
	"maps"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// rawContext holds the alertContext members the summaries read, as raw
// JSON. It is the union of every context shape; members of other shapes
// stay empty. Key matching is case-insensitive, which also absorbs the
// mixed casing of log alert contexts.
type rawContext struct {
	// Metric and log search rules (Platform, Log Alerts V2, Simple Log Alert).
	conditionType []byte
	windowSize    []byte
	criterion     []byte // condition.allOf[0]

	// Rule custom properties (metric, log v2) or the event's properties
	// (activity log, service and resource health).
	properties []byte

	// Log Analytics and Application Insights v1.
	searchQuery, resultCount, threshold, operator    []byte
	linkUI, linkFilteredUI, linkAPI, linkFilteredAPI []byte
	dimensions                                       []byte

	// Activity log, service health, resource health.
	operationName, caller, status, level, eventSource, correlationID, eventTime []byte

	// Cost alerts.
	alertData []byte

	// Prometheus.
	expression, expressionValue, interval, labels []byte
	forDuration, annotations, ruleGroup           []byte
}

// decodeContext picks the members it knows from the context object.
func decodeContext(ctx []byte) *rawContext {
	c := &rawContext{}
	var kb keyBuf
	members(ctx, func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "conditiontype":
			c.conditionType = val
		case "condition":
			members(val, func(key, val []byte) {
				switch string(kb.fold(key)) {
				case "windowsize":
					c.windowSize = val
				case "allof":
					elements(val, func(v []byte) {
						if c.criterion == nil && len(v) > 0 && v[0] == '{' {
							c.criterion = v
						}
					})
				}
			})
		case "properties":
			c.properties = val
		case "searchquery":
			c.searchQuery = val
		case "resultcount":
			c.resultCount = val
		case "threshold":
			c.threshold = val
		case "operator":
			c.operator = val
		case "linktosearchresults":
			c.linkUI = val
		case "linktofilteredsearchresultsui":
			c.linkFilteredUI = val
		case "linktosearchresultsapi":
			c.linkAPI = val
		case "linktofilteredsearchresultsapi":
			c.linkFilteredAPI = val
		case "dimensions":
			c.dimensions = val
		case "operationname":
			c.operationName = val
		case "caller":
			c.caller = val
		case "status":
			c.status = val
		case "level":
			c.level = val
		case "eventsource":
			c.eventSource = val
		case "correlationid":
			c.correlationID = val
		case "eventtimestamp":
			c.eventTime = val
		case "alertdata":
			c.alertData = val
		case "expression":
			c.expression = val
		case "expressionvalue":
			c.expressionValue = val
		case "interval":
			c.interval = val
		case "labels":
			c.labels = val
		case "for":
			c.forDuration = val
		case "annotations":
			c.annotations = val
		case "rulegroup":
			c.ruleGroup = val
		}
	})
	return c
}

// criterion is one entry of condition.allOf: a metric criterion or a log
// query criterion.
type criterion struct {
	metricName, metricNamespace, operator, threshold, timeAggregation []byte
	dimensions, metricValue                                           []byte
	searchQuery, linkUI, linkFilteredUI, linkAPI, linkFilteredAPI     []byte
}

func decodeCriterion(raw []byte) *criterion {
	cr := &criterion{}
	var kb keyBuf
	members(raw, func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "metricname":
			cr.metricName = val
		case "metricnamespace":
			cr.metricNamespace = val
		case "operator":
			cr.operator = val
		case "threshold":
			cr.threshold = val
		case "timeaggregation":
			cr.timeAggregation = val
		case "dimensions":
			cr.dimensions = val
		case "metricvalue":
			cr.metricValue = val
		case "searchquery":
			cr.searchQuery = val
		case "linktosearchresultsui":
			cr.linkUI = val
		case "linktofilteredsearchresultsui":
			cr.linkFilteredUI = val
		case "linktosearchresultsapi":
			cr.linkAPI = val
		case "linktofilteredsearchresultsapi":
			cr.linkFilteredAPI = val
		}
	})
	return cr
}

// isLog tells a log query criterion from a metric one.
func (cr *criterion) isLog(conditionType []byte) bool {
	return strings.EqualFold(trimmed(conditionType), "LogQueryCriteria") ||
		(trimmed(cr.searchQuery) != "" && trimmed(cr.metricName) == "")
}

func metricSummary(c *rawContext, cr *criterion) *sdk.MetricSummary {
	return &sdk.MetricSummary{
		Name:        trimmed(cr.metricName),
		Namespace:   trimmed(cr.metricNamespace),
		Operator:    trimmed(cr.operator),
		Threshold:   trimmed(cr.threshold),
		Value:       num(cr.metricValue),
		Aggregation: trimmed(cr.timeAggregation),
		Dimensions:  dimensions(composite(cr.dimensions)),
		WindowSize:  trimmed(c.windowSize),
	}
}

// dimensions turns [{"name": …, "value": …}] into a map; anything else,
// and entries without a name, leave it empty.
func dimensions(raw []byte) map[string]string {
	out := map[string]string{}
	var kb keyBuf
	elements(raw, func(d []byte) {
		var name, value []byte
		members(d, func(key, val []byte) {
			switch string(kb.fold(key)) {
			case "name":
				name = val
			case "value":
				value = val
			}
		})
		if n := trimmed(name); n != "" {
			out[n] = str(value)
		}
	})
	return out
}

// logSummaryV2 reads a log query criterion (Log Alerts V2, Simple Log
// Alert): metricValue is the number of results or the measured value.
func logSummaryV2(cr *criterion) *sdk.LogSummary {
	return &sdk.LogSummary{
		Query:       trimmed(cr.searchQuery),
		ResultCount: num(cr.metricValue),
		Operator:    trimmed(cr.operator),
		Threshold:   trimmed(cr.threshold),
		Dimensions:  dimensions(composite(cr.dimensions)),
		Links:       links(cr.linkUI, cr.linkFilteredUI, cr.linkAPI, cr.linkFilteredAPI),
	}
}

// logSummaryV1 reads a Log Analytics or Application Insights v1 context.
// Its Dimensions are set by metric measurement rules only.
func logSummaryV1(c *rawContext) *sdk.LogSummary {
	return &sdk.LogSummary{
		Query:       trimmed(c.searchQuery),
		ResultCount: num(c.resultCount),
		Operator:    trimmed(c.operator),
		Threshold:   trimmed(c.threshold),
		Dimensions:  dimensions(composite(c.dimensions)),
		Links:       links(c.linkUI, c.linkFilteredUI, c.linkAPI, c.linkFilteredAPI),
	}
}

// links keeps the non-empty links in order, without repeats.
func links(ls ...[]byte) []string {
	out := make([]string, 0, len(ls))
	u := uniq{}
	for _, l := range ls {
		out = u.add(out, trimmed(l))
	}
	return out
}

// eventLevels names the numeric EventLevel some payloads send (the
// documented ServiceHealth sample has level 3 where its twin says
// "Informational").
var eventLevels = []string{"Critical", "Error", "Warning", "Informational", "Verbose"}

func activityLogSummary(c *rawContext, props map[string]string, service string) *sdk.ActivityLogSummary {
	level := trimmed(c.level)
	if len(level) == 1 && level[0] >= '0' && int(level[0]-'0') < len(eventLevels) {
		level = eventLevels[level[0]-'0']
	}
	return &sdk.ActivityLogSummary{
		Category:      activityCategory(c, props, service),
		Operation:     trimmed(c.operationName),
		Caller:        trimmed(c.caller),
		Status:        trimmed(c.status),
		Level:         level,
		CorrelationID: trimmed(c.correlationID),
	}
}

// activityCategory is the event source when sent as a word, else the
// event category property, else what the monitoring service implies.
func activityCategory(c *rawContext, props map[string]string, service string) string {
	if s := trimmed(c.eventSource); s != "" && !isDigits(s) {
		return s
	}
	if s := strings.TrimSpace(props["eventCategory"]); s != "" {
		return s
	}
	if _, after, ok := strings.Cut(service, " - "); ok {
		return after
	}
	return strings.ReplaceAll(service, " ", "")
}

func serviceHealthSummary(c *rawContext, p map[string]string) *sdk.ServiceHealthSummary {
	s := &sdk.ServiceHealthSummary{
		Title:            firstNonEmpty(p["title"], p["defaultLanguageTitle"]),
		TrackingID:       strings.TrimSpace(p["trackingId"]),
		IncidentType:     strings.TrimSpace(p["incidentType"]),
		Stage:            strings.TrimSpace(p["stage"]),
		Status:           trimmed(c.status),
		ImpactedServices: []string{},
		ImpactedRegions:  []string{},
	}
	// impactedServices: [{"ServiceName": …, "ImpactedRegions": [{"RegionName": …}]}],
	// sent as an array or JSON-encoded in a string.
	services, regions := uniq{}, uniq{}
	var kb keyBuf
	elements(embeddedJSON(p["impactedServices"]), func(is []byte) {
		members(is, func(key, val []byte) {
			switch string(kb.fold(key)) {
			case "servicename":
				s.ImpactedServices = services.add(s.ImpactedServices, trimmed(val))
			case "impactedregions":
				elements(val, func(r []byte) {
					members(r, func(key, val []byte) {
						if string(kb.fold(key)) == "regionname" {
							s.ImpactedRegions = regions.add(s.ImpactedRegions, trimmed(val))
						}
					})
				})
			}
		})
	})
	if len(s.ImpactedServices) == 0 {
		s.ImpactedServices = services.add(s.ImpactedServices, strings.TrimSpace(p["service"]))
	}
	if len(s.ImpactedRegions) == 0 {
		s.ImpactedRegions = regions.add(s.ImpactedRegions, strings.TrimSpace(p["region"]))
	}
	return s
}

// resourceHealthSummary reads a Resource Health event's properties
// (keys in any case, the object sent as is or JSON-encoded in a string).
// details is kept only when it is a string (Microsoft's samples send null).
func resourceHealthSummary(c *rawContext) *sdk.ResourceHealthSummary {
	r := &sdk.ResourceHealthSummary{}
	var kb keyBuf
	members(composite(c.properties), func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "title":
			r.Title = trimmed(val)
		case "currenthealthstatus":
			r.CurrentHealthStatus = trimmed(val)
		case "previoushealthstatus":
			r.PreviousHealthStatus = trimmed(val)
		case "type":
			r.Type = trimmed(val)
		case "cause":
			r.Cause = trimmed(val)
		case "details":
			if len(val) > 0 && val[0] == '"' {
				r.Details = trimmed(val)
			}
		}
	})
	return r
}

// isResolution reports whether a service or resource health event says
// the issue is over: its stage or status is Resolved.
func isResolution(c *rawContext, props map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(props["stage"]), "Resolved") ||
		strings.EqualFold(trimmed(c.status), "Resolved")
}

func budgetSummary(c *rawContext) *sdk.BudgetSummary {
	b := &sdk.BudgetSummary{}
	money := func(raw []byte) *float64 {
		if v, ok := parseMoney(str(raw)); ok {
			return &v
		}
		return nil
	}
	var kb keyBuf
	members(composite(c.alertData), func(key, val []byte) {
		switch string(kb.fold(key)) {
		case "budgetname":
			b.Name = trimmed(val)
		case "budgettype":
			b.Type = trimmed(val)
		case "spentamount":
			b.Spent = money(val)
		case "notificationthresholdamount":
			b.Threshold = money(val)
		case "budgetthreshold":
			b.Amount = money(val)
		case "unit":
			b.Currency = trimmed(val)
		case "thresholdtype":
			b.ThresholdType = trimmed(val)
		}
	})
	return b
}

// budgetScope is the budget's scope (an ARM id), or "".
func budgetScope(c *rawContext) string {
	var scope string
	var kb keyBuf
	members(composite(c.alertData), func(key, val []byte) {
		if string(kb.fold(key)) == "scope" {
			scope = trimmed(val)
		}
	})
	return scope
}

// prometheusMetricSummary maps a Prometheus rule's context onto the
// metric summary, as routes written before alert.prometheus read it: the
// PromQL expression as the metric, its value, the labels as dimensions and
// the evaluation interval as the window.
func prometheusMetricSummary(c *rawContext, p *sdk.PrometheusSummary) *sdk.MetricSummary {
	return &sdk.MetricSummary{
		Name:       p.Expression,
		Value:      num(c.expressionValue),
		Dimensions: maps.Clone(p.Labels),
		WindowSize: p.Interval,
	}
}

// prometheusSummary reads a Prometheus rule's context. The expression
// value stays text: Azure formats it ("0", "12.7m"), so it is not always a
// number.
func prometheusSummary(c *rawContext) *sdk.PrometheusSummary {
	return &sdk.PrometheusSummary{
		Expression:      trimmed(c.expression),
		ExpressionValue: trimmed(c.expressionValue),
		Interval:        trimmed(c.interval),
		For:             trimmed(c.forDuration),
		Labels:          nonNilMap(strMap(c.labels)),
		Annotations:     nonNilMap(strMap(c.annotations)),
		RuleGroup:       trimmed(c.ruleGroup),
	}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// uniq appends strings to a list once each, in linear time however long
// the list grows.
type uniq map[string]struct{}

func (u uniq) add(list []string, s string) []string {
	if s == "" {
		return list
	}
	if _, dup := u[s]; dup {
		return list
	}
	u[s] = struct{}{}
	return append(list, s)
}
