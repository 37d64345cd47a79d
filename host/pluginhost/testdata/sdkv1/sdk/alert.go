package sdk

import (
	"encoding/json"
	"time"
)

// Condition is an alert's monitor condition.
type Condition string

// Alert conditions.
const (
	ConditionFired    Condition = "fired"
	ConditionResolved Condition = "resolved"
)

// Alert is an Azure Monitor alert normalized from the Common Alert Schema.
// Its JSON names are the names routes use: `alert.<json name>` in HCL.
// Optional values are null in HCL when absent.
type Alert struct {
	// ID is the essentials alertId: stable across Fired and Resolved.
	ID string `json:"id"`
	// Rule is the alert rule's name.
	Rule string `json:"rule"`
	// RuleID is the alert rule's ARM id.
	RuleID string `json:"rule_id"`
	// Severity is 0 (critical) to 4 (verbose); nil when Azure sends none
	// (budget alerts).
	Severity *int `json:"severity"`
	// SeverityLabel is "Sev0" … "Sev4", or "" without a severity.
	SeverityLabel string `json:"severity_label"`
	// SignalType is "Metric", "Log", "Activity Log", ...
	SignalType string `json:"signal_type"`
	// Condition is fired or resolved.
	Condition Condition `json:"condition"`
	// MonitoringService is the essentials monitoringService, e.g. "Platform".
	MonitoringService string `json:"monitoring_service"`
	// Targets are the ARM ids from alertTargetIDs.
	Targets []string `json:"targets"`
	// ConfigurationItems are the resources a CMDB can bind the alert to.
	ConfigurationItems []ConfigurationItem `json:"configuration_items"`
	// OriginAlertID is the id of the alert in its originating service.
	OriginAlertID string `json:"origin_alert_id"`
	// FiredAt is when the alert fired.
	FiredAt time.Time `json:"fired_at"`
	// ResolvedAt is when the alert resolved; nil while it is fired.
	ResolvedAt *time.Time `json:"resolved_at"`
	// Description is the alert rule's description.
	Description string `json:"description"`
	// CustomProperties are the action group's custom properties.
	CustomProperties map[string]string `json:"custom_properties"`
	// Stateless alerts (activity log, service health, resource health)
	// never send Resolved.
	Stateless bool `json:"stateless"`
	// EssentialsVersion and AlertContextVersion are the schema versions sent.
	EssentialsVersion   string `json:"essentials_version"`
	AlertContextVersion string `json:"alert_context_version"`

	// Resource is the first target, parsed; also flattened below for routes.
	Resource Resource `json:"resource"`
	// Flattened from Resource for short route expressions.
	Subscription  string `json:"subscription_id"`
	ResourceGroup string `json:"resource_group"`
	ResourceType  string `json:"resource_type"`
	ResourceName  string `json:"resource_name"`

	// Per-type summaries: at most one is set, by signal and service.
	Metric        *MetricSummary        `json:"metric"`
	Log           *LogSummary           `json:"log"`
	ActivityLog   *ActivityLogSummary   `json:"activity_log"`
	ServiceHealth *ServiceHealthSummary `json:"service_health"`
	Budget        *BudgetSummary        `json:"budget"`

	// Context is the raw alertContext, for plugins that want everything.
	// It is not reachable from route expressions.
	Context json.RawMessage `json:"context,omitempty"`
}

// IsFired reports whether the alert is firing.
func (a *Alert) IsFired() bool { return a.Condition == ConditionFired }

// ConfigurationItem is one thing a CMDB can bind an alert to: its name, and
// its ARM resource id when known. Plugins bind by id first, by name second.
type ConfigurationItem struct {
	Name       string `json:"name"`
	ResourceID string `json:"resource_id"`
}

// Resource is an ARM resource id taken apart.
type Resource struct {
	ID            string `json:"id"`
	Subscription  string `json:"subscription_id"`
	ResourceGroup string `json:"resource_group"`
	Provider      string `json:"provider"`
	ResourceType  string `json:"resource_type"`
	Name          string `json:"name"`
}

// MetricSummary summarizes a metric alert's first (or only) criterion.
type MetricSummary struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Operator    string            `json:"operator"`
	Threshold   string            `json:"threshold"`
	Value       *float64          `json:"value"`
	Aggregation string            `json:"aggregation"`
	Dimensions  map[string]string `json:"dimensions"`
	WindowSize  string            `json:"window_size"`
}

// LogSummary summarizes a log search alert.
type LogSummary struct {
	Query       string   `json:"query"`
	ResultCount *float64 `json:"result_count"`
	Operator    string   `json:"operator"`
	Threshold   string   `json:"threshold"`
	Links       []string `json:"links"`
}

// ActivityLogSummary summarizes an activity log alert.
type ActivityLogSummary struct {
	Category      string `json:"category"`
	Operation     string `json:"operation"`
	Caller        string `json:"caller"`
	Status        string `json:"status"`
	Level         string `json:"level"`
	CorrelationID string `json:"correlation_id"`
}

// ServiceHealthSummary summarizes a Service Health notification.
type ServiceHealthSummary struct {
	Title            string   `json:"title"`
	TrackingID       string   `json:"tracking_id"`
	IncidentType     string   `json:"incident_type"`
	Stage            string   `json:"stage"`
	Status           string   `json:"status"`
	ImpactedServices []string `json:"impacted_services"`
	ImpactedRegions  []string `json:"impacted_regions"`
}

// BudgetSummary summarizes a cost budget alert.
type BudgetSummary struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Spent         *float64 `json:"spent"`
	Threshold     *float64 `json:"threshold"`
	Amount        *float64 `json:"amount"`
	Currency      string   `json:"currency"`
	ThresholdType string   `json:"threshold_type"`
}
