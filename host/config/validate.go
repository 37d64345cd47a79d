package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
)

// Validate checks the decoded configuration's values and cross-references
// and returns diagnostics naming the offending field, pointing at its
// source when the Config was loaded from a file. Warnings (such as
// `auth "none"`) have warning severity; only errors make the Config
// unusable. Load calls it; call it again after changing a Config in code.
func (c *Config) Validate() hcl.Diagnostics {
	v := &validator{c: c}
	v.server()
	v.admin()
	v.auth()
	v.store()
	v.azure()
	v.telemetry()
	v.top()
	v.plugins()
	v.backends()
	v.routes()
	v.maintenance()
	return v.diags
}

// Warnings returns the warning-severity diagnostics of Validate, e.g. that
// `auth "none"` lets anyone create work items.
func (c *Config) Warnings() hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range c.Validate() {
		if d.Severity == hcl.DiagWarning {
			out = append(out, d)
		}
	}
	return out
}

type validator struct {
	c     *Config
	diags hcl.Diagnostics
}

// at returns the range of the first key found, or nil.
func (v *validator) at(keys ...string) *hcl.Range {
	for _, k := range keys {
		if r, ok := v.c.ranges[k]; ok {
			return r.Ptr()
		}
	}
	return nil
}

func (v *validator) errorf(subject *hcl.Range, summary, format string, args ...any) {
	v.add(hcl.DiagError, subject, summary, format, args...)
}

func (v *validator) add(sev hcl.DiagnosticSeverity, subject *hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (v *validator) listen(key, value string) {
	if _, port, err := net.SplitHostPort(value); err != nil || port == "" {
		v.errorf(v.at(key, strings.Split(key, ".")[0]), "Invalid "+key,
			"%s = %q is not a listen address; write host:port, e.g. \"0.0.0.0:8443\" or \"127.0.0.1:9464\".", key, value)
	}
}

func (v *validator) maxConnections(key string, n, def int) {
	if n < 1 {
		v.errorf(v.at(key, strings.Split(key, ".")[0]), "Invalid "+key,
			"%s = %d: it caps the listener's open connections (more wait in the kernel's listen queue) and must be at least 1; the default is %d.", key, n, def)
	}
}

func (v *validator) server() {
	s := v.c.Server
	v.listen("server.listen", s.Listen)
	v.listen("admin.listen", v.c.Admin.Listen)
	if s.Listen == v.c.Admin.Listen {
		v.errorf(v.at("admin.listen", "server.listen", "admin"), "admin.listen conflicts with server.listen",
			"The admin listener (metrics, health) and the webhook listener both use %q; give them different ports.", s.Listen)
	}
	if s.MaxBodyBytes <= 0 {
		v.errorf(v.at("server.max_body_bytes", "server"), "Invalid server.max_body_bytes",
			"max_body_bytes must be a positive number of bytes; the default is %d (1 MiB) and Azure Monitor payloads are at most 256 KB.", DefaultMaxBodyBytes)
	}
	v.maxConnections("server.max_connections", s.MaxConnections, DefaultServerMaxConnections)
	v.maxConnections("admin.max_connections", v.c.Admin.MaxConnections, DefaultAdminMaxConnections)
	if t := s.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		missing := "key_file"
		if t.CertFile == "" {
			missing = "cert_file"
		}
		v.errorf(v.at("server.tls"), "Incomplete server.tls block",
			"The tls block needs both cert_file and key_file; %s is missing. Remove the block for plain HTTP (TLS terminated in front).", missing)
	}
	if t := s.TLS; t != nil && t.CertFile == "" && t.KeyFile == "" {
		v.errorf(v.at("server.tls"), "Empty server.tls block",
			"The tls block needs cert_file and key_file. Remove the block for plain HTTP (TLS terminated in front).")
	}
	if d := v.c.Delivery; d.CallTimeout <= 0 || d.Lease <= d.CallTimeout {
		v.errorf(v.at("delivery.lease", "delivery.call_timeout", "delivery"), "Invalid delivery.lease",
			"lease (%v) must exceed call_timeout (%v), both positive: a call still running when its lease ends could be started again by another connector.", d.Lease, d.CallTimeout)
	}
	if id := v.c.Delivery.InstanceID; len(id) > 200 || strings.ContainsFunc(id, unicode.IsControl) {
		v.errorf(v.at("delivery.instance_id", "delivery"), "Invalid delivery.instance_id",
			"instance_id names this connector in work item leases: at most 200 characters, no control characters.")
	}
}

func (v *validator) admin() {
	a := v.c.Admin
	_, set := v.c.ranges["admin.token"]
	if n := utf8.RuneCountInString(a.Token); (set || a.Token != "") && n < MinAdminTokenLength {
		v.errorf(v.at("admin.token", "admin"), "Invalid admin.token",
			"admin.token must be at least %d characters; it has %d. Generate one with `openssl rand -hex 32` and read it with env() or file(); leave token out to run the admin listener without authentication.", MinAdminTokenLength, n)
	} else if strings.ContainsFunc(a.Token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		v.errorf(v.at("admin.token", "admin"), "Invalid admin.token",
			"admin.token may contain only printable ASCII characters without spaces, so that it fits an Authorization header and a browser's password prompt; `openssl rand -hex 32` prints one.")
	}
	if a.MetricsAuth && a.Token == "" && !set {
		v.errorf(v.at("admin.metrics_auth", "admin"), "admin.metrics_auth needs admin.token",
			"metrics_auth = true makes /metrics require the admin token, but admin.token is not set.")
	}
	for i, h := range a.AllowedHosts {
		if !validHostName(h) {
			v.errorf(v.at("admin.allowed_hosts", "admin"), "Invalid admin.allowed_hosts",
				"admin.allowed_hosts[%d] = %q is not a host name: write the name operators use to reach the admin listener alone, without scheme, port or path, e.g. \"itsm-admin.example.com\". IP addresses need no entry.", i, h)
		}
	}
	if d := v.c.adminWarning(v.at("admin.listen", "admin")); d != nil {
		v.diags = append(v.diags, d)
	}
}

// validHostName reports whether s is a DNS name (letters, digits, '-',
// '_' and dots, at most 253 characters) or an IP address.
func validHostName(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	})
}

// SummaryAdminUnprotected is the summary of the warning that admin.listen
// is reachable from other hosts while admin.token is not set.
const SummaryAdminUnprotected = "Admin listener without authentication"

// adminWarning returns the warning that the admin listener serves its
// console and replay to other hosts without a token, or nil.
func (c *Config) adminWarning(subject *hcl.Range) *hcl.Diagnostic {
	if c.Admin.Token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Admin.Listen)
	if err != nil { // an error of its own
		return nil
	}
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  SummaryAdminUnprotected,
		Detail: fmt.Sprintf("admin.listen = %q is not a loopback address and admin.token is not set: anyone who can reach it reads alert data on the console and can replay dead letters. "+
			"Set token = env(\"ITSM_ADMIN_TOKEN\") in the admin block (at least %d characters), or listen on 127.0.0.1.", c.Admin.Listen, MinAdminTokenLength),
		Subject: subject,
	}
}

// RefreshAdminWarning replaces the warning about an unauthenticated admin
// listener in diags after admin.listen was changed in code (serve
// -admin-listen), so that it describes the address actually used.
func (c *Config) RefreshAdminWarning(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags)+1)
	for _, d := range diags {
		if d.Summary != SummaryAdminUnprotected {
			out = append(out, d)
		}
	}
	if d := c.adminWarning(nil); d != nil {
		out = append(out, d)
	}
	return out
}

func (v *validator) auth() {
	a := v.c.Auth
	switch a.Type {
	case "":
		v.errorf(v.at(keyFile), "Missing auth block",
			"The configuration needs an auth block saying who may post alerts: auth \"entra_id\" { tenant_id = \"…\"  audiences = [\"…\"] } for Azure Monitor Secure Webhooks, or auth \"none\" {} to accept unauthenticated requests (not recommended).")
	case AuthNone:
		v.add(hcl.DiagWarning, a.Range.Ptr(), "Authentication is disabled",
			"auth \"none\" accepts every request: anyone who can reach %s can create work items. Use auth \"entra_id\" outside a closed test network.", v.c.Server.Listen)
	case AuthDev:
		// Accepted here; serve refuses it outside dev mode.
	case AuthEntraID:
		v.entraID()
	default:
		v.errorf(v.at("auth.type"), "Unsupported auth type",
			"Auth type %q is not known; use %q, %q or %q.", a.Type, AuthEntraID, AuthDev, AuthNone)
	}
}

// entraID reports the problems entra.Config.Validate finds, the check
// the verifier of serve runs, each at the attribute it names.
func (v *validator) entraID() {
	e := v.c.Auth.EntraID
	if e == nil {
		v.errorf(v.at("auth"), "Missing Entra ID settings", "auth \"entra_id\" has no settings.")
		return
	}
	for _, err := range unjoin(e.Validate()) {
		var fe *entra.FieldError
		if !errors.As(err, &fe) {
			v.errorf(v.at("auth"), "Invalid auth block", "%s", err)
			continue
		}
		v.errorf(v.at("auth."+fe.Attr, "auth"), "Invalid auth."+fe.Attr, "%s", fe.Msg)
	}
}

// azure reports the problems azure.Config.Validate finds, the check serve
// runs, each at the attribute it names.
func (v *validator) azure() {
	a := v.c.Azure
	if a == nil {
		return
	}
	for _, err := range unjoin(a.Validate()) {
		var fe *azure.FieldError
		if !errors.As(err, &fe) {
			v.errorf(v.at("azure"), "Invalid azure block", "%s", err)
			continue
		}
		v.errorf(v.at("azure."+fe.Attr, "azure.credential", "azure"), "Invalid azure."+fe.Attr, "%s", fe.Msg)
	}
}

// telemetry reports the problems telemetry.Traces.Validate finds, the check
// serve runs when it sets up tracing, each at the attribute it names.
func (v *validator) telemetry() {
	t := v.c.Telemetry.Traces
	if t == nil {
		return
	}
	for _, err := range unjoin(t.Validate()) {
		var fe *telemetry.FieldError
		if !errors.As(err, &fe) {
			v.errorf(v.at("telemetry.traces", "telemetry"), "Invalid telemetry block", "%s", err)
			continue
		}
		v.errorf(v.at("telemetry.traces."+fe.Attr, "telemetry.traces", "telemetry"), "Invalid telemetry.traces."+fe.Attr, "%s", fe.Msg)
	}
}

// unjoin lists the errors of errors.Join, or err itself.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (v *validator) store() {
	s := v.c.Store
	switch s.Driver {
	case DriverSQLite:
		if s.Path == "" {
			v.errorf(v.at("store.path", "store"), "Missing store.path",
				"driver = %q needs path, the database file (default %q).", DriverSQLite, DefaultStorePath)
		}
		if s.DSN != "" {
			v.errorf(v.at("store.dsn", "store"), "store.dsn needs driver = \"postgres\"",
				"dsn is the PostgreSQL connection string; with driver = %q set path instead.", DriverSQLite)
		}
	case DriverPostgres:
		if s.DSN == "" {
			v.errorf(v.at("store.driver", "store"), "Missing store.dsn",
				"driver = %q needs dsn, the connection string, e.g. dsn = env(\"ITSM_POSTGRES_DSN\").", DriverPostgres)
		}
		if _, set := v.c.ranges["store.path"]; set && s.Path != "" {
			v.errorf(v.at("store.path"), "store.path needs driver = \"sqlite\"",
				"path is the SQLite database file; with driver = %q set dsn instead.", DriverPostgres)
		}
	default:
		v.errorf(v.at("store.driver", "store"), "Invalid store.driver",
			"Store driver %q is not known; use %q (embedded, the default) or %q.", s.Driver, DriverSQLite, DriverPostgres)
	}
	if s.AuditRetention < 0 {
		v.errorf(v.at("store.audit_retention", "store"), "Invalid store.audit_retention",
			"audit_retention must not be negative; the default is \"%gh\" (30 days) and \"0\" keeps audit events forever.", DefaultAuditRetention.Hours())
	}
}

func (v *validator) top() {
	switch v.c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		v.errorf(v.at("log_level"), "Invalid log_level",
			"log_level %q is not known; use trace, debug, info, warn or error.", v.c.LogLevel)
	}
	switch v.c.LogFormat {
	case "json", "text":
	default:
		v.errorf(v.at("log_format"), "Invalid log_format", "log_format %q is not known; use json or text.", v.c.LogFormat)
	}
	if v.c.PluginDir == "" {
		v.errorf(v.at("plugin_dir"), "Invalid plugin_dir", "plugin_dir must not be empty (default %q).", DefaultPluginDir)
	}
}

func (v *validator) name(kind, key, value string, r *hcl.Range) {
	if !hclsyntax.ValidIdentifier(value) {
		v.errorf(r, "Invalid "+kind,
			"%s %q must start with a letter and contain only letters, digits, underscores and dashes, because %s.", kind, value, key)
	}
}

func (v *validator) plugins() {
	seen := map[string]*Plugin{}
	for _, p := range v.c.Plugins {
		v.name("plugin name", "it names the binary itsm-connector-plugin-<name>", p.Name, v.at("plugin."+p.Name+".name"))
		if prev, dup := seen[p.Name]; dup {
			v.errorf(p.Range.Ptr(), "Duplicate plugin block",
				"plugin %q is already defined at %s.", p.Name, prev.Range)
		}
		seen[p.Name] = p
		if p.SHA256 != "" {
			if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
				v.errorf(v.at("plugin."+p.Name+".sha256", "plugin."+p.Name), "Invalid plugin sha256",
					"sha256 of plugin %q must be 64 hex digits, as printed by sha256sum.", p.Name)
			}
		}
		if p.RunAs != "" {
			if _, _, err := RunAsAccount(p.RunAs); err != nil {
				v.errorf(v.at("plugin."+p.Name+".run_as", "plugin."+p.Name), "Invalid plugin run_as",
					"run_as of plugin %q is a user name or \"user:group\", e.g. \"itsm-plugin\" or \"itsm-plugin:itsm-plugin\"; %s.", p.Name, err)
			}
		}
		for _, name := range p.PassEnv {
			if !envName.MatchString(name) {
				v.errorf(v.at("plugin."+p.Name+".pass_env", "plugin."+p.Name), "Invalid plugin pass_env",
					"pass_env of plugin %q names environment variables, e.g. [\"HTTPS_PROXY\", \"NO_PROXY\"]; %q is not a variable name.", p.Name, name)
			}
		}
	}
}

// envName is an environment variable name as shells accept it.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) backends() {
	if len(v.c.Backends) == 0 {
		v.errorf(v.at(keyFile), "Missing backend block",
			"The configuration needs at least one backend \"<type>\" \"<name>\" { config { … } } block: where work items are created.")
	}
	seen := map[string]*Backend{}
	for _, b := range v.c.Backends {
		key := "backend." + b.Ref()
		v.name("backend type", "it is the plugin's name and appears in references backend.<type>.<name>", b.Type, v.at(key+".type", key))
		v.name("backend name", "it appears in references backend.<type>.<name>", b.Name, v.at(key+".name", key))
		if prev, dup := seen[b.Ref()]; dup {
			v.errorf(b.Range.Ptr(), "Duplicate backend block",
				"backend %q %q is already defined at %s.", b.Type, b.Name, prev.Range)
		}
		seen[b.Ref()] = b
		if b.Ref() == azure.FeedbackBackend {
			v.errorf(b.Range.Ptr(), "Reserved backend name",
				"backend %q %q is reserved for the Azure side's work items (the azure block); name the backend otherwise.", b.Type, b.Name)
		}
		if b.MaxInFlight < 1 {
			v.errorf(v.at(key+".max_in_flight", key), "Invalid max_in_flight",
				"max_in_flight of backend %s must be at least 1 (default %d).", b.Ref(), DefaultMaxInFlight)
		}
		if b.RateLimit < 0 {
			v.errorf(v.at(key+".rate_limit", key), "Invalid rate_limit",
				"rate_limit of backend %s is requests per second and must not be negative; 0 means unlimited.", b.Ref())
		}
		if b.MaxAttempts < 0 {
			v.errorf(v.at(key+".max_attempts", key), "Invalid max_attempts",
				"max_attempts of backend %s must not be negative; 0 means retries are bounded by max_age only.", b.Ref())
		}
		if b.MaxAge <= 0 {
			v.errorf(v.at(key+".max_age", key), "Invalid max_age",
				"max_age of backend %s must be positive (default %s): it bounds how long a delivery is retried.", b.Ref(), DefaultMaxAge)
		}
		if b.StatusPollInterval != 0 && b.StatusPollInterval < time.Second {
			v.errorf(v.at(key+".status_poll_interval", key), "Invalid status_poll_interval",
				"status_poll_interval of backend %s must be at least 1s, or \"0s\" to read no status; the default is %s.", b.Ref(), DefaultStatusPollInterval)
		}
		if in := b.Inbound; in != nil {
			if !slices.Contains(InboundSchemes, in.Scheme) {
				v.errorf(v.at(key+".inbound.scheme", key+".inbound"), "Invalid inbound.scheme",
					"inbound.scheme %q of backend %s is not known; use %s.", in.Scheme, b.Ref(), strings.Join(InboundSchemes, ", "))
			}
			if n := utf8.RuneCountInString(in.Secret); n < MinInboundSecretLength {
				v.errorf(v.at(key+".inbound.secret", key+".inbound"), "Invalid inbound.secret",
					"inbound.secret of backend %s must be at least %d characters; it has %d. Generate one with `openssl rand -hex 32` and read it with env() or file().", b.Ref(), MinInboundSecretLength, n)
			}
		}
	}
}

func (v *validator) routes() {
	if len(v.c.Routes) == 0 {
		v.errorf(v.at(keyFile), "Missing route block",
			"The configuration needs at least one route \"<name>\" { send_to = [backend.<type>.<name>] } block; without one every alert would become a dead letter.")
	}
	seen := map[string]*Route{}
	for _, r := range v.c.Routes {
		key := "route." + r.Name
		if r.Name == "" {
			v.errorf(v.at(key+".name", key), "Invalid route name", "A route needs a non-empty name.")
		}
		if prev, dup := seen[r.Name]; dup {
			v.errorf(r.Range.Ptr(), "Duplicate route block",
				"route %q is already defined at %s; route names identify routes in logs and dead letters.", r.Name, prev.Range)
		}
		seen[r.Name] = r
		if len(r.SendTo) == 0 {
			v.errorf(v.at(key+".send_to", key), "Empty send_to",
				"route %q must send to at least one backend, e.g. send_to = [backend.servicenow.prod].", r.Name)
		}
		refs := map[string]bool{}
		for _, ref := range r.SendTo {
			if refs[ref.Ref()] {
				v.errorf(ref.Range.Ptr(), "Duplicate send_to entry",
					"route %q lists backend.%s more than once.", r.Name, ref.Ref())
			}
			refs[ref.Ref()] = true
		}
		if r.ReopenWindow < 0 {
			v.errorf(v.at(key+".reopen_window", key), "Invalid reopen_window",
				"reopen_window of route %q must not be negative; 0 never reopens.", r.Name)
		}
		// Zero in a Route built in code is the default; written in the file
		// it is refused like any value below 1.
		_, set := v.c.ranges[key+".max_configuration_items"]
		if r.MaxConfigurationItems < 0 || (set && r.MaxConfigurationItems == 0) {
			v.errorf(v.at(key+".max_configuration_items", key), "Invalid max_configuration_items",
				"max_configuration_items of route %q must be at least 1; the default is %d. With per_ci = true, the first max_configuration_items configuration items of an alert get a work item each and one more covers the rest.", r.Name, DefaultMaxConfigurationItems)
		} else if set && !r.PerCI {
			v.add(hcl.DiagWarning, v.at(key+".max_configuration_items"), "max_configuration_items without per_ci",
				"max_configuration_items of route %q has no effect: the route sets no per_ci = true, so each alert is one work item covering all its configuration items.", r.Name)
		}
		if f := r.Flap; f != nil {
			v.flap(key, r.Name, f)
		}
		if st := r.Storm; st != nil {
			v.storm(key, r.Name, st)
		}
		if fb := r.AzureFeedback; fb != nil {
			at := v.at(key+".azure_feedback", key)
			if v.c.Azure == nil {
				v.errorf(at, "azure_feedback needs an azure block",
					"route %q has an azure_feedback block, but the configuration has no azure {} block saying how the connector authenticates to Azure Resource Manager: add azure { credential \"managed_identity\" {} } (or another credential), or remove azure_feedback.", r.Name)
			}
			if fb.OnCreated != FeedbackAcknowledged && fb.OnCreated != FeedbackNone {
				v.errorf(v.at(key+".azure_feedback.on_created", key+".azure_feedback"), "Invalid azure_feedback.on_created",
					"on_created %q of route %q is not known; use %q (the default: the alert is acknowledged with a comment naming the work item) or %q.", fb.OnCreated, r.Name, FeedbackAcknowledged, FeedbackNone)
			}
			if fb.OnHumanResolved != FeedbackCloseAlert && fb.OnHumanResolved != FeedbackLeave {
				v.errorf(v.at(key+".azure_feedback.on_human_resolved", key+".azure_feedback"), "Invalid azure_feedback.on_human_resolved",
					"on_human_resolved %q of route %q is not known; use %q (the default: the alert is closed) or %q (only recorded).", fb.OnHumanResolved, r.Name, FeedbackCloseAlert, FeedbackLeave)
			}
		}
		switch r.OnResolvedWithoutItem {
		case "", OnResolvedRecord, OnResolvedCreateAndResolve:
		default:
			v.errorf(v.at(key+".on_resolved_without_item", key), "Invalid on_resolved_without_item",
				"on_resolved_without_item %q of route %q is not known; use %q (the default: note the resolution in the audit trail, call nothing) or %q (create the work item, then resolve it at once).",
				r.OnResolvedWithoutItem, r.Name, OnResolvedRecord, OnResolvedCreateAndResolve)
		}
		v.fieldPolicy(key, r)
		v.wontFix(key, r)
	}
}

// flap checks a route's flap block.
func (v *validator) flap(key, route string, f *Flap) {
	key += ".flap"
	if f.Window <= 0 {
		v.errorf(v.at(key+".window", key), "Invalid flap.window",
			"flap.window of route %q must be positive, e.g. \"30m\": transitions are counted inside it.", route)
	}
	if f.MaxTransitions < 1 {
		v.errorf(v.at(key+".max_transitions", key), "Invalid flap.max_transitions",
			"flap.max_transitions of route %q must be at least 1, e.g. 4: an alert with more fire and resolve transitions inside flap.window is flapping.", route)
	}
	if f.QuietPeriod <= 0 {
		v.errorf(v.at(key+".quiet_period", key), "Invalid flap.quiet_period",
			"flap.quiet_period of route %q must be positive (the default is flap.window): a flapping alert's work item is resolved once the alert has stayed resolved that long.", route)
	}
}

// storm checks a route's storm block; group_by's references are checked
// with the route's other templates (route.Compile).
func (v *validator) storm(key, route string, st *Storm) {
	key += ".storm"
	if st.Window <= 0 {
		v.errorf(v.at(key+".window", key), "Invalid storm.window",
			"storm.window of route %q must be positive, e.g. \"5m\": new work items of a group are counted inside it.", route)
	}
	if st.MaxNew < 1 {
		v.errorf(v.at(key+".max_new", key), "Invalid storm.max_new",
			"storm.max_new of route %q must be at least 1, e.g. 20: once more new work items of one group would open inside storm.window, further alerts of the group join one parent work item.", route)
	}
}

// maxMaintenanceName bounds a maintenance window's name.
const maxMaintenanceName = 64

// CheckMaintenanceName reports why s cannot name a maintenance window: it
// appears in API paths, command lines and audit trails, so it is 1 to 64
// letters, digits, '-', '_' and '.', starting with a letter or digit. The
// admin API applies it to ad-hoc windows.
func CheckMaintenanceName(s string) error {
	switch {
	case s == "":
		return errors.New("the name is empty")
	case len(s) > maxMaintenanceName:
		return fmt.Errorf("%q is longer than %d characters", s, maxMaintenanceName)
	case !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] >= '0' && s[0] <= '9'):
		return fmt.Errorf("%q must start with a letter or digit", s)
	case strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}):
		return fmt.Errorf("%q may contain only letters, digits, '-', '_' and '.'", s)
	}
	return nil
}

func (v *validator) maintenance() {
	seen := map[string]*Maintenance{}
	for _, m := range v.c.Maintenance {
		key := "maintenance." + m.Name
		if err := CheckMaintenanceName(m.Name); err != nil {
			v.errorf(v.at(key+".name", key), "Invalid maintenance name", "maintenance %s: %s.", strconv.Quote(m.Name), err)
		}
		if prev, dup := seen[m.Name]; dup {
			v.errorf(m.Range.Ptr(), "Duplicate maintenance block", "maintenance %q is already defined at %s.", m.Name, prev.Range)
		}
		seen[m.Name] = m
		oneOff := !m.Start.IsZero() || !m.End.IsZero()
		switch {
		case m.Weekly == nil && !oneOff:
			v.errorf(m.Range.Ptr(), "Missing maintenance schedule",
				"maintenance %q needs a schedule: start and end (RFC 3339 times) for one window, or a weekly { days, start, duration, time_zone } block.", m.Name)
		case m.Weekly != nil && oneOff:
			v.errorf(v.at(key+".start", key+".end", key), "Two maintenance schedules",
				"maintenance %q sets start or end and a weekly block; give one window start and end, or a weekly block, not both.", m.Name)
		case m.Weekly == nil && (m.Start.IsZero() || m.End.IsZero()):
			missing := "end"
			if m.Start.IsZero() {
				missing = "start"
			}
			v.errorf(v.at(key+".start", key+".end", key), "Incomplete maintenance schedule",
				"maintenance %q needs both start and end; %s is missing.", m.Name, missing)
		case m.Weekly == nil && !m.End.After(m.Start):
			v.errorf(v.at(key+".end", key), "Invalid maintenance end",
				"maintenance %q ends (%s) before it starts (%s).", m.Name, m.End.Format(time.RFC3339), m.Start.Format(time.RFC3339))
		case m.Weekly != nil:
			w := m.Weekly
			if len(w.Days) == 0 {
				v.errorf(v.at(key+".weekly.days", key+".weekly", key), "Invalid weekly.days",
					"weekly.days of maintenance %q lists no day; e.g. days = [\"sat\", \"sun\"].", m.Name)
			}
			if w.Duration <= 0 || w.Duration > 7*24*time.Hour {
				v.errorf(v.at(key+".weekly.duration", key+".weekly", key), "Invalid weekly.duration",
					"weekly.duration of maintenance %q is %v; it must be positive and at most a week (\"168h\"), e.g. \"4h\".", m.Name, w.Duration)
			}
		}
		switch m.OnEnd {
		case OnEndCreate, OnEndDrop:
		default:
			v.errorf(v.at(key+".on_end", key), "Invalid on_end",
				"on_end %q of maintenance %q is not known; use %q (the default: alerts still firing when the window ends get their work item) or %q (they get none, unless they fire again).",
				m.OnEnd, m.Name, OnEndCreate, OnEndDrop)
		}
	}
}

// fieldPolicy checks a route's field_policy values and field_policy_default.
// Whether each name is a field the route sends is checked once its
// backends' plugins run (their per-alert attributes count as fields).
func (v *validator) fieldPolicy(key string, r *Route) {
	names := make([]string, 0, len(r.FieldPolicy))
	for name := range r.FieldPolicy {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			v.errorf(v.at(key+".field_policy"), "Invalid field_policy",
				"field_policy of route %q names a field with an empty name; each key is a field the route sends.", r.Name)
			continue
		}
		if p := r.FieldPolicy[name]; !slices.Contains(FieldPolicies, p) {
			v.errorf(v.at(key+".field_policy."+name, key+".field_policy"), "Invalid field_policy."+name,
				"field_policy.%s = %q in route %q is not a policy; use %s.", name, p, r.Name, policyList())
		}
	}
	_, set := v.c.ranges[key+".field_policy_default"]
	if d := r.FieldPolicyDefault; (set || d != "") && !slices.Contains(FieldPolicies, d) {
		v.errorf(v.at(key+".field_policy_default", key), "Invalid field_policy_default",
			"field_policy_default = %q in route %q is not a policy; use %s (the default is %q: route fields are written when the work item is created only).",
			d, r.Name, policyList(), DefaultFieldPolicy)
	}
}

func policyList() string {
	quoted := make([]string, len(FieldPolicies))
	for i, p := range FieldPolicies {
		quoted[i] = strconv.Quote(p)
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// wontFix checks a route's wont_fix block.
func (v *validator) wontFix(key string, r *Route) {
	if r.WontFix == nil {
		return
	}
	if len(r.WontFix.Resolutions) == 0 {
		v.errorf(v.at(key+".wont_fix.resolutions", key+".wont_fix"), "Empty wont_fix.resolutions",
			"wont_fix of route %q lists no resolutions; name the Jira resolutions or ServiceNow close codes that mean a person decided not to fix, e.g. resolutions = [\"Won't Fix\", \"Won't Do\"], or remove the block.", r.Name)
	}
	for i, res := range r.WontFix.Resolutions {
		if strings.TrimSpace(res) == "" {
			v.errorf(v.at(key+".wont_fix.resolutions", key+".wont_fix"), "Invalid wont_fix.resolutions",
				"wont_fix.resolutions[%d] of route %q is empty; each entry is a resolution or close code as the ITSM tool names it.", i, r.Name)
		}
	}
}

// Range returns where the block or attribute key ("route.r.field_policy",
// "route.r.field_policy.priority", "backend.jira.ops") is in the file, or
// nil when it is not there (or the Config was built in code); for
// diagnostics of checks made after loading.
func (c *Config) Range(key string) *hcl.Range {
	if r, ok := c.ranges[key]; ok {
		return r.Ptr()
	}
	return nil
}
