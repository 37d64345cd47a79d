package commonschema

import "strings"

// Canonical monitoringService values, as Microsoft documents them.
const (
	ServicePlatform                  = "Platform"
	ServiceLogAnalytics              = "Log Analytics"
	ServiceApplicationInsights       = "Application Insights"
	ServiceLogAlertsV2               = "Log Alerts V2"
	ServiceSimpleLogAlert            = "Simple Log Alert"
	ServiceActivityLogAdmin          = "Activity Log - Administrative"
	ServiceActivityLogPolicy         = "Activity Log - Policy"
	ServiceActivityLogAutoscale      = "Activity Log - Autoscale"
	ServiceActivityLogSecurity       = "Activity Log - Security"
	ServiceActivityLogRecommendation = "Activity Log - Recommendation"
	ServiceServiceHealth             = "ServiceHealth"
	ServiceResourceHealth            = "Resource Health"
	ServiceSmartDetector             = "SmartDetector"
	ServicePrometheus                = "Prometheus"
	ServiceCostAlerts                = "CostAlerts"
)

// Canonical signalType values.
const (
	SignalMetric      = "Metric"
	SignalLog         = "Log"
	SignalActivityLog = "Activity Log"
)

// canonicalServices maps a folded monitoringService (lower case, letters and
// digits only) to its canonical spelling, so "Resource Health",
// "ResourceHealth" and "resource health" are one service.
var canonicalServices = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		ServicePlatform, ServiceLogAnalytics, ServiceApplicationInsights, ServiceLogAlertsV2,
		ServiceSimpleLogAlert, ServiceActivityLogAdmin, ServiceActivityLogPolicy,
		ServiceActivityLogAutoscale, ServiceActivityLogSecurity, ServiceActivityLogRecommendation,
		ServiceServiceHealth, ServiceResourceHealth, ServiceSmartDetector, ServicePrometheus,
		ServiceCostAlerts,
	} {
		m[fold(s)] = s
	}
	return m
}()

var canonicalSignals = map[string]string{
	"metric":      SignalMetric,
	"log":         SignalLog,
	"activitylog": SignalActivityLog,
}

// canonicalService returns the canonical spelling of a monitoringService,
// or the value trimmed when the service is unknown.
func canonicalService(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := canonicalServices[fold(s)]; ok {
		return c
	}
	return s
}

// canonicalSignal returns "Metric", "Log" or "Activity Log" whatever the
// spaces and case ("ActivityLog", "activity log"), or the value trimmed.
func canonicalSignal(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := canonicalSignals[fold(s)]; ok {
		return c
	}
	return s
}

// fold lower-cases s and keeps only ASCII letters and digits.
func fold(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		}
	}
	return string(b)
}

// kind is the family of alert a payload belongs to; it decides the summary
// and statelessness.
type kind int

const (
	kindGeneric   kind = iota // unknown service: essentials and raw context only
	kindCondition             // metric or log search rule with condition.allOf
	kindLogV1                 // Log Analytics / Application Insights v1 context
	kindActivityLog
	kindServiceHealth
	kindResourceHealth
	kindSmartDetector
	kindPrometheus
	kindBudget
)

// kindOf classifies by the canonical monitoringService. An unknown service
// is generic, except that an activity-log signal is still stateless.
func kindOf(service string) kind {
	switch service {
	case ServicePlatform, ServiceLogAlertsV2, ServiceSimpleLogAlert:
		return kindCondition
	case ServiceLogAnalytics, ServiceApplicationInsights:
		return kindLogV1
	case ServiceServiceHealth:
		return kindServiceHealth
	case ServiceResourceHealth:
		return kindResourceHealth
	case ServiceSmartDetector:
		return kindSmartDetector
	case ServicePrometheus:
		return kindPrometheus
	case ServiceCostAlerts:
		return kindBudget
	}
	if strings.HasPrefix(service, "Activity Log") {
		return kindActivityLog
	}
	return kindGeneric
}

// stateless reports whether alerts of this kind never send Resolved.
func (k kind) stateless() bool {
	return k == kindActivityLog || k == kindServiceHealth || k == kindResourceHealth
}
