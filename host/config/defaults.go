package config

import "time"

// Defaults applied when connector.hcl leaves an attribute out.
const (
	DefaultServerListen = "0.0.0.0:8443"
	DefaultAdminListen  = "127.0.0.1:9464"
	// MinAdminTokenLength is the shortest admin.token accepted: 16
	// characters of `openssl rand -hex 32`'s output are 64 bits.
	MinAdminTokenLength = 16
	// DefaultMaxBodyBytes is 1 MiB; Azure Monitor caps payloads at 256 KB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultServerMaxConnections caps the webhook listener's open
	// connections; more wait in the kernel's listen queue. Each holds at
	// most a few tens of kilobytes before its request is read.
	DefaultServerMaxConnections = 1000
	// DefaultAdminMaxConnections caps the admin listener's open
	// connections: scrapers, probes and operators need few.
	DefaultAdminMaxConnections = 100
	DefaultStoreDriver         = "sqlite"
	DefaultStorePath           = "data/connector.db"
	DefaultPluginDir           = "./plugins"
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "json"

	// The defaults of auth "entra_id" are entra.DefaultConfig().

	DefaultMaxInFlight = 4
	// DefaultMaxAttempts of zero means retries are bounded by max_age only.
	DefaultMaxAttempts  = 0
	DefaultMaxAge       = 24 * time.Hour
	DefaultReopenWindow = 24 * time.Hour
	// DefaultMaxConfigurationItems is how many configuration items of one
	// alert get a work item of their own on a per_ci route; one more work
	// item covers the rest.
	DefaultMaxConfigurationItems = 100

	// DefaultStatusPollInterval is how often a backend's open work items
	// are read to find the ones resolved in the tool.
	DefaultStatusPollInterval = time.Minute
	// MinInboundSecretLength is the shortest inbound secret accepted.
	MinInboundSecretLength = 16

	// DefaultAuditRetention keeps 30 days of audit events.
	DefaultAuditRetention = 30 * 24 * time.Hour
	// DefaultCallTimeout bounds one plugin call.
	DefaultCallTimeout = 60 * time.Second
	// DefaultLease is how long a work item stays reserved for one
	// connector; it must exceed the call timeout.
	DefaultLease = 5 * time.Minute
)

// Auth block types.
const (
	AuthEntraID = "entra_id"
	AuthNone    = "none"
	AuthDev     = "dev"
)

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Values of a route's on_resolved_without_item: what a Resolved notification
// does when its alert has no work item (the connector was down when it
// fired, the route did not exist yet, or the Fired was dead-lettered and
// dropped).
const (
	// OnResolvedRecord notes the resolution in the audit trail and calls
	// nothing; the default.
	OnResolvedRecord = "record"
	// OnResolvedCreateAndResolve creates the work item and resolves it at
	// once, so that the ITSM tool has a record of the incident.
	OnResolvedCreateAndResolve = "create_and_resolve"

	// DefaultOnResolvedWithoutItem keeps a route's behaviour from before
	// the setting existed.
	DefaultOnResolvedWithoutItem = OnResolvedRecord
)

// Values of a maintenance block's on_end: what happens to an alert still
// firing when the window ends.
const (
	// OnEndCreate gives it its work item, as if it had just fired.
	OnEndCreate = "create"
	// OnEndDrop gives it none, unless it fires again after the window.
	OnEndDrop = "drop"

	// DefaultOnEnd makes no alert that outlasts maintenance go unseen.
	DefaultOnEnd = OnEndCreate
	// DefaultMaintenanceTimeZone is a weekly window's time zone when it
	// names none.
	DefaultMaintenanceTimeZone = "UTC"
)

// Values of a route's field_policy and field_policy_default: when a field
// the route sends (a route field or a per-alert attribute of a backend's
// plugin) is written to the work item. Create writes every field.
const (
	// FieldPolicyCreate writes the field when the work item is created and
	// never after: what the ServiceNow, Jira and REST plugins did before
	// the setting existed, so the default.
	FieldPolicyCreate = "create"
	// FieldPolicyAlways writes the field on create and on every re-fire
	// (Update and Reopen).
	FieldPolicyAlways = "always"
	// FieldPolicyComment writes the field on create; a later change of its
	// value goes into the comment or work note of the re-fire instead.
	FieldPolicyComment = "comment"
	// FieldPolicyNeverAfterHuman writes the field as "always" does until a
	// person edits it in the ITSM tool, and never after.
	FieldPolicyNeverAfterHuman = "never_after_human"

	// DefaultFieldPolicy applies to the route fields field_policy does not
	// name.
	DefaultFieldPolicy = FieldPolicyCreate
)

// FieldPolicies lists the values of field_policy, in the order the
// documentation gives them.
var FieldPolicies = []string{FieldPolicyCreate, FieldPolicyAlways, FieldPolicyComment, FieldPolicyNeverAfterHuman}

// Values of a route's azure_feedback block.
const (
	// FeedbackAcknowledged (on_created): a new or found work item moves
	// the alert to Acknowledged with a comment naming it.
	FeedbackAcknowledged = "Acknowledged"
	// FeedbackNone (on_created): the alert's state is left alone.
	FeedbackNone = "none"
	// FeedbackCloseAlert (on_human_resolved): a work item a human
	// resolved in the tool closes the alert.
	FeedbackCloseAlert = "close_alert"
	// FeedbackLeave (on_human_resolved): only recorded.
	FeedbackLeave = "leave"
)
