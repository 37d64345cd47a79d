package config

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
)

// Config is a loaded connector.hcl. Host-owned blocks are fully decoded;
// each backend's `config {}` body and each route's expressions are kept as
// HCL so that later stages (pluginhost, route) decode them against the
// plugin's schema and the `alert` object, with diagnostics that point at
// the operator's source.
type Config struct {
	// Dir is the directory of the loaded file; file() resolves relative paths
	// from it. Other paths (store.path, plugin_dir, tls files) are relative
	// to the working directory, as for any daemon.
	Dir      string
	Server   Server
	Admin    Admin
	Auth     Auth
	Store    Store
	Delivery Delivery
	// Azure is the `azure {}` block, declared and validated by host/azure;
	// nil when absent (no state flows back to Azure Monitor).
	Azure *azure.Config
	// Telemetry is the `telemetry {}` block, declared and validated by
	// host/telemetry; its Traces is nil (tracing off) without a `traces {}`
	// block.
	Telemetry telemetry.Config
	// PluginDir is where plugin binaries are found (top-level `plugin_dir`).
	PluginDir string
	LogLevel  string
	LogFormat string
	Plugins   []*Plugin
	Backends  []*Backend
	Routes    []*Route
	// Maintenance are the `maintenance "<name>" {}` blocks.
	Maintenance []*Maintenance
	// Files holds the parsed sources, for printing diagnostics with snippets.
	Files map[string]*hcl.File

	// ranges locates blocks and attributes by dotted key ("store.dsn",
	// "backend.jira.ops.max_age") for Validate's diagnostics; nil for a
	// Config built in code.
	ranges map[string]hcl.Range
}

// Server is the webhook listener.
type Server struct {
	Listen string
	// TLS is nil for plain HTTP (dev mode, or TLS terminated in front).
	TLS *TLS
	// MaxBodyBytes caps a webhook body; default 1 MiB.
	MaxBodyBytes int64
	// MaxConnections caps the listener's open connections; further ones
	// wait in the kernel's listen queue until one closes. Default
	// DefaultServerMaxConnections.
	MaxConnections int
}

// TLS names a certificate and key.
type TLS struct {
	CertFile string
	KeyFile  string
}

// Admin is the metrics / health / status listener.
type Admin struct {
	Listen string
	// Token, when set, is required (as a bearer token, or as the password
	// of HTTP Basic) by the console, the dead-letter replay and every
	// other path but /healthz and /readyz; empty leaves the listener open,
	// as before the setting existed.
	Token string
	// MetricsAuth makes /metrics require Token as well. It is off by
	// default: metrics carry counts and backend and route names, no alert
	// content, and most scrapers are set up without credentials.
	MetricsAuth bool
	// AllowedHosts are names, besides IP addresses, localhost, the
	// machine's hostname and listen's host, that a request's Host header
	// may give; other names are refused (DNS rebinding). Probes are
	// answered whatever the Host.
	AllowedHosts []string
	// MaxConnections caps the listener's open connections, as
	// Server.MaxConnections does; default DefaultAdminMaxConnections.
	MaxConnections int
}

// Auth is the `auth "<type>" {}` block: "entra_id", "none" or "dev".
type Auth struct {
	Type string
	// EntraID is the `auth "entra_id"` block, declared and validated by
	// host/entra; nil for the other types.
	EntraID *entra.Config
	Range   hcl.Range
}

// Store selects the durable state engine.
type Store struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string
	// Path is the SQLite file.
	Path string
	// DSN is the PostgreSQL connection string.
	DSN string
	// AuditRetention is how long work items' audit events are kept; older
	// ones are pruned while serving, except those of dirty or dead items.
	// Zero keeps them forever.
	AuditRetention time.Duration
}

// Delivery holds global delivery defaults.
type Delivery struct {
	// InstanceID names this connector in work item leases. It must be
	// unique among connectors sharing a store and stable across restarts
	// (a restarted connector frees its own leases at once); empty means
	// the hostname and server.listen's port.
	InstanceID string
	// CallTimeout bounds one plugin call; default DefaultCallTimeout.
	CallTimeout time.Duration
	// Lease is how long a work item stays reserved for the connector
	// working on it; a connector that dies holds its items this long
	// before another takes them. It must exceed CallTimeout; default
	// DefaultLease.
	Lease time.Duration
}

// Plugin is a `plugin "<name>" {}` block.
type Plugin struct {
	Name string
	// SHA256 is the expected hex checksum of the binary; required outside
	// dev mode.
	SHA256 string
	// Path overrides the binary location (default plugin_dir/itsm-connector-plugin-<name>).
	Path string
	// PassEnv names host environment variables this plugin's processes
	// get, e.g. HTTPS_PROXY. Plugins otherwise start with an empty
	// environment, so the host's secrets reach them only through config.
	PassEnv []string
	// RunAs is "user" or "user:group": the account this plugin's processes
	// run as (the host must run as root). Empty runs them as the host's
	// user. See RunAsAccount.
	RunAs string
	Range hcl.Range
}

// RunAsAccount splits a run_as value into its user and group (empty when
// the user's primary group is meant). It fails on an empty user or group
// and on white space.
func RunAsAccount(s string) (user, group string, err error) {
	user, group, hasGroup := strings.Cut(s, ":")
	switch {
	case strings.ContainsFunc(s, unicode.IsSpace):
		return "", "", fmt.Errorf("%q contains white space", s)
	case user == "":
		return "", "", fmt.Errorf("%q names no user", s)
	case hasGroup && (group == "" || strings.Contains(group, ":")):
		return "", "", fmt.Errorf("%q: after the colon comes one group name", s)
	}
	return user, group, nil
}

// Backend is a `backend "<type>" "<name>" {}` block.
type Backend struct {
	Type string
	Name string
	// Config is the raw `config {}` body, decoded later against the
	// plugin's schema.
	Config hcl.Body
	// ConfigRange points at the `config` block (or the backend block when absent).
	ConfigRange hcl.Range
	MaxInFlight int
	// RateLimit is requests per second to this backend; zero is unlimited.
	RateLimit   float64
	MaxAttempts int
	MaxAge      time.Duration
	// AdoptExisting makes the first work item of each slot go after a
	// Lookup, which adopts an open work item the tool already has for the
	// correlation key (migrating from another tool). Default false: a new
	// work item costs one Create. It needs a plugin with Lookup, which is
	// checked once the plugin runs (delivery.Backend.Validate).
	AdoptExisting bool
	// StatusPollInterval is how often the backend's open work items are
	// read in the tool to find the ones a human resolved there
	// (status_poll_interval); default DefaultStatusPollInterval, zero
	// ("0s") polls never. Only a plugin with a status read is polled.
	StatusPollInterval time.Duration
	// Inbound is the `inbound {}` block: the tool pushes change
	// notifications to the webhook listener; nil when absent.
	Inbound *Inbound
	Range   hcl.Range
}

// Inbound is a backend's `inbound {}` block: how a change notification
// the tool pushes to /api/v1/itsm/<type>/<name>/events is authenticated.
// A notification is only a hint: the host then reads the item's state
// through the plugin.
type Inbound struct {
	// Scheme is one of InboundSchemes.
	Scheme string
	// Secret is the shared secret or HMAC key; read it with env() or file().
	Secret string
}

// Inbound schemes.
const (
	// InboundJiraHMAC: Jira's webhook secret, X-Hub-Signature:
	// sha256=<hex HMAC-SHA256 of the body>.
	InboundJiraHMAC = "jira_hmac"
	// InboundServiceNowHMAC: a ServiceNow business rule's outbound REST
	// message signed with X-ITSM-Signature: sha256=<hex HMAC-SHA256 of the
	// body>.
	InboundServiceNowHMAC = "servicenow_hmac"
	// InboundSharedSecret: the secret itself in the X-ITSM-Secret header,
	// for a tool that cannot sign.
	InboundSharedSecret = "shared_secret"
)

// InboundSchemes lists the schemes of `inbound {}`.
var InboundSchemes = []string{InboundJiraHMAC, InboundServiceNowHMAC, InboundSharedSecret}

// Ref is "type.name", how routes and logs name the backend.
func (b *Backend) Ref() string { return b.Type + "." + b.Name }

// Route is a `route "<name>" {}` block, its expressions not yet evaluated.
type Route struct {
	Name string
	// When is nil when absent (matches everything).
	When hcl.Expression
	// SendTo lists backend references as written: backend.<type>.<name>.
	SendTo []BackendRef
	// CorrelationKey is nil for the default (alert.id).
	CorrelationKey hcl.Expression
	// Fields is nil when absent; an object expression of per-alert values.
	Fields       hcl.Expression
	ReopenWindow time.Duration
	// OnResolvedWithoutItem is OnResolvedRecord or
	// OnResolvedCreateAndResolve; empty means the default (record).
	OnResolvedWithoutItem string
	PerCI                 bool
	// MaxConfigurationItems caps the work items per_ci makes of one alert:
	// the first this many configuration items get one each, one more
	// covers the rest. Default DefaultMaxConfigurationItems; zero in a
	// Route built in code means the default.
	MaxConfigurationItems int
	Continue              bool
	// Flap is the route's flap block; nil when absent (no alert is ever
	// marked flapping).
	Flap *Flap
	// Storm is the route's storm block; nil when absent (every alert gets
	// its own work item).
	Storm *Storm
	// FieldPolicy is field_policy: for each field it names (a route field,
	// or a per-alert attribute of a backend's plugin), one of
	// FieldPolicies. Nil when the route sets none.
	FieldPolicy map[string]string
	// FieldPolicyDefault is field_policy_default, the policy of the route
	// fields field_policy does not name; empty when the route does not set
	// it (DefaultFieldPolicy applies).
	FieldPolicyDefault string
	// WontFix is the wont_fix block; nil when absent.
	WontFix *WontFix
	// AzureFeedback is the route's `azure_feedback {}` block; nil when
	// absent.
	AzureFeedback *AzureFeedback
	Range         hcl.Range
}

// Flap is a route's `flap {}` block: an alert whose fire and resolve
// transitions exceed MaxTransitions inside Window is flapping; it stops
// once it has stayed steady for QuietPeriod, and a flapping alert's work
// item is resolved once the alert has stayed resolved that long.
type Flap struct {
	Window         time.Duration
	MaxTransitions int
	// QuietPeriod defaults to Window.
	QuietPeriod time.Duration
}

// Storm is a route's `storm {}` block: once more than MaxNew new work
// items would open inside Window for one group (GroupBy rendered for the
// alert), further alerts of the group are attached to one parent work item
// instead of opening their own.
type Storm struct {
	Window time.Duration
	MaxNew int
	// GroupBy is a string template over `alert`; nil groups every alert
	// of the route together.
	GroupBy hcl.Expression
	Range   hcl.Range
}

// HasFieldPolicy reports whether the route sets field_policy or
// field_policy_default: only then do its calls carry a policy, and only
// then must its backends' plugins apply one.
func (r *Route) HasFieldPolicy() bool {
	return len(r.FieldPolicy) > 0 || r.FieldPolicyDefault != ""
}

// WontFix is a route's `wont_fix {}` block: resolutions (Jira) and close
// codes (ServiceNow) that mean a person decided the problem is not worth
// fixing. A re-fire inside the reopen window of a work item resolved with
// one of them adds a comment instead of reopening it.
type WontFix struct {
	// Resolutions are matched without regard to case.
	Resolutions []string
}

// AzureFeedback is a route's `azure_feedback {}` block: what its work
// items' outcomes do to the Azure Monitor alert.
type AzureFeedback struct {
	// OnCreated is FeedbackAcknowledged (default) or FeedbackNone.
	OnCreated string
	// OnHumanResolved is FeedbackCloseAlert (default) or FeedbackLeave.
	OnHumanResolved string
	// Comment and CloseComment are templates over `alert` and
	// `work_item`; nil for the default text.
	Comment      hcl.Expression
	CloseComment hcl.Expression
	Range        hcl.Range
}

// BackendRef is one resolved entry of send_to.
type BackendRef struct {
	Type, Name string
	Range      hcl.Range
}

// Ref is "type.name".
func (r BackendRef) Ref() string { return r.Type + "." + r.Name }

// Maintenance is a `maintenance "<name>" {}` block: while its schedule is
// on, alerts its `when` matches get no work item; at its end, those still
// firing get theirs (OnEnd "create") or none (OnEnd "drop"). The schedule
// is one-off (Start, End) or weekly (Weekly).
type Maintenance struct {
	Name       string
	Start, End time.Time
	Weekly     *MaintenanceWeekly
	// When is nil when absent (every alert); checked by maintenance.Compile.
	When hcl.Expression
	// OnEnd is OnEndCreate (default) or OnEndDrop.
	OnEnd string
	Range hcl.Range
}

// MaintenanceWeekly is a maintenance block's `weekly {}` schedule.
type MaintenanceWeekly struct {
	Days []time.Weekday
	// StartMinute is the local start time, minutes after midnight.
	StartMinute int
	Duration    time.Duration
	Location    *time.Location
}
