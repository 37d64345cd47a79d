package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/itsm-connector/itsm-connector/host/azure"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// LoadFile reads and loads the configuration file at path. See Load.
func LoadFile(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return &Config{Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   fmt.Sprintf("Reading %s: %s.", path, err),
		}}
	}
	return Load(src, path)
}

// Load parses src (HCL native syntax) as the configuration file filename,
// decodes the host-owned blocks, applies defaults and runs Validate.
//
// The returned Config is never nil, so callers can always print the
// diagnostics with its Files; it must not be used when the diagnostics
// contain errors. Warnings (e.g. `auth "none"`) come back as
// warning-severity diagnostics beside a usable Config.
//
// Load checks structure and values. The per-alert expressions of routes
// (when, correlation_key, fields) and send_to references are checked by
// route.Compile, and backend config bodies by the plugin host against the
// plugin's schema; `validate` runs all three.
func Load(src []byte, filename string) (*Config, hcl.Diagnostics) {
	dir := filepath.Dir(filename)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c := &Config{Dir: dir}
	parser := hclparse.NewParser()
	f, diags := parser.ParseHCL(src, filename)
	c.Files = parser.Files()
	if diags.HasErrors() {
		return c, diags
	}
	l := &loader{cfg: c, ctx: LoadContext(dir), ranges: map[string]hcl.Range{}}
	c.ranges = l.ranges
	c.applyDefaults()
	diags = append(diags, dropFollowOns(l.decodeRoot(f.Body))...)
	if diags.HasErrors() {
		return c, diags
	}
	return c, append(diags, c.Validate()...)
}

// LoadContext is the evaluation context of load-time expressions: host
// blocks and backend `config {}` bodies. It has the load-time functions
// (hclfuncs.LoadTime: env(), file() relative to dir, and the string and
// collection functions) and no variables. The plugin host decodes backend
// config bodies with it.
func LoadContext(dir string) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: hclfuncs.LoadTime(dir)}
}

// applyDefaults fills every default before decoding overwrites what the
// file sets.
func (c *Config) applyDefaults() {
	c.Server = Server{Listen: DefaultServerListen, MaxBodyBytes: DefaultMaxBodyBytes, MaxConnections: DefaultServerMaxConnections}
	c.Admin = Admin{Listen: DefaultAdminListen, MaxConnections: DefaultAdminMaxConnections}
	c.Store = Store{Driver: DefaultStoreDriver, Path: DefaultStorePath, AuditRetention: DefaultAuditRetention}
	c.Delivery = Delivery{CallTimeout: DefaultCallTimeout, Lease: DefaultLease}
	c.PluginDir = DefaultPluginDir
	c.LogLevel = DefaultLogLevel
	c.LogFormat = DefaultLogFormat
}

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "plugin_dir"},
		{Name: "log_level"},
		{Name: "log_format"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "server"},
		{Type: "admin"},
		{Type: "auth", LabelNames: []string{"type"}},
		{Type: "store"},
		{Type: "delivery"},
		{Type: "azure"},
		{Type: "telemetry"},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "backend", LabelNames: []string{"type", "name"}},
		{Type: "route", LabelNames: []string{"name"}},
		{Type: "maintenance", LabelNames: []string{"name"}},
	},
}

// loader decodes one file into cfg, recording source ranges of blocks and
// attributes under dotted keys ("store.dsn", "backend.jira.ops") so that
// Validate can point at them.
type loader struct {
	cfg    *Config
	ctx    *hcl.EvalContext
	ranges map[string]hcl.Range
}

func (l *loader) decodeRoot(body hcl.Body) hcl.Diagnostics {
	content, diags := body.Content(rootSchema)
	l.ranges[keyFile] = body.MissingItemRange()

	top := map[string]*string{
		"plugin_dir": &l.cfg.PluginDir,
		"log_level":  &l.cfg.LogLevel,
		"log_format": &l.cfg.LogFormat,
	}
	for name, attr := range content.Attributes {
		l.ranges[name] = attr.Expr.Range()
		var s string
		d := gohcl.DecodeExpression(attr.Expr, l.ctx, &s)
		diags = append(diags, d...)
		if !d.HasErrors() {
			*top[name] = s
		}
	}

	seen := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		switch b.Type {
		case "server", "admin", "auth", "store", "delivery", "azure", "telemetry":
			if prev, dup := seen[b.Type]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
					Detail:   fmt.Sprintf("Only one %s block is allowed; the first is at %s.", b.Type, prev.DefRange),
					Subject:  b.DefRange.Ptr(),
				})
				continue
			}
			seen[b.Type] = b
		}
		switch b.Type {
		case "server":
			diags = append(diags, l.decodeServer(b)...)
		case "admin":
			l.record("admin", b)
			var raw struct {
				Listen *string `hcl:"listen,optional"`
				// Token is checked by Validate; present but short is an error.
				Token          *string  `hcl:"token,optional"`
				MetricsAuth    *bool    `hcl:"metrics_auth,optional"`
				AllowedHosts   []string `hcl:"allowed_hosts,optional"`
				MaxConnections *int     `hcl:"max_connections,optional"`
			}
			diags = append(diags, gohcl.DecodeBody(b.Body, l.ctx, &raw)...)
			setValue(&l.cfg.Admin.Listen, raw.Listen)
			setValue(&l.cfg.Admin.Token, raw.Token)
			if raw.MetricsAuth != nil {
				l.cfg.Admin.MetricsAuth = *raw.MetricsAuth
			}
			l.cfg.Admin.AllowedHosts = raw.AllowedHosts
			setValue(&l.cfg.Admin.MaxConnections, raw.MaxConnections)
		case "auth":
			diags = append(diags, l.decodeAuth(b)...)
		case "store":
			diags = append(diags, l.decodeStore(b)...)
		case "delivery":
			present := l.record("delivery", b)
			var raw struct {
				InstanceID  *string `hcl:"instance_id,optional"`
				CallTimeout *string `hcl:"call_timeout,optional"`
				Lease       *string `hcl:"lease,optional"`
				Workers     *int    `hcl:"workers,optional"` // ignored, with a warning
			}
			diags = append(diags, gohcl.DecodeBody(b.Body, l.ctx, &raw)...)
			setValue(&l.cfg.Delivery.InstanceID, raw.InstanceID)
			diags = append(diags, l.duration("delivery.call_timeout", raw.CallTimeout, &l.cfg.Delivery.CallTimeout)...)
			diags = append(diags, l.duration("delivery.lease", raw.Lease, &l.cfg.Delivery.Lease)...)
			if present["workers"] {
				rng := l.ranges["delivery.workers"]
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Ignored attribute: workers",
					Detail:   "delivery.workers has no effect: each backend's max_in_flight bounds how many of its work items are reconciled at once. Remove it.",
					Subject:  &rng,
				})
			}
		case "azure":
			diags = append(diags, l.decodeAzure(b)...)
		case "telemetry":
			diags = append(diags, l.decodeTelemetry(b)...)
		case "plugin":
			diags = append(diags, l.decodePlugin(b)...)
		case "backend":
			diags = append(diags, l.decodeBackend(b)...)
		case "route":
			diags = append(diags, l.decodeRoute(b)...)
		case "maintenance":
			diags = append(diags, l.decodeMaintenance(b)...)
		}
	}
	return diags
}

func (l *loader) decodeServer(b *hcl.Block) hcl.Diagnostics {
	l.record("server", b)
	var raw struct {
		Listen         *string `hcl:"listen,optional"`
		MaxBodyBytes   *int64  `hcl:"max_body_bytes,optional"`
		MaxConnections *int    `hcl:"max_connections,optional"`
		TLS            *struct {
			CertFile string `hcl:"cert_file,optional"`
			KeyFile  string `hcl:"key_file,optional"`
		} `hcl:"tls,block"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	s := &l.cfg.Server
	setValue(&s.Listen, raw.Listen)
	if raw.MaxBodyBytes != nil {
		s.MaxBodyBytes = *raw.MaxBodyBytes
	}
	setValue(&s.MaxConnections, raw.MaxConnections)
	if raw.TLS != nil {
		s.TLS = &TLS{CertFile: raw.TLS.CertFile, KeyFile: raw.TLS.KeyFile}
	}
	return diags
}

func (l *loader) decodeStore(b *hcl.Block) hcl.Diagnostics {
	l.record("store", b)
	st := &l.cfg.Store
	var raw struct {
		Driver *string `hcl:"driver,optional"`
		Path   *string `hcl:"path,optional"`
		DSN    *string `hcl:"dsn,optional"`
		// AuditRetention is a duration string; "0" keeps events forever.
		AuditRetention *string `hcl:"audit_retention,optional"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	setValue(&st.Driver, raw.Driver)
	setValue(&st.Path, raw.Path)
	setValue(&st.DSN, raw.DSN)
	diags = append(diags, l.duration("store.audit_retention", raw.AuditRetention, &st.AuditRetention)...)
	if st.Driver == DriverPostgres && raw.Path == nil {
		st.Path = ""
	}
	return diags
}

// decodeTelemetry overwrites telemetry.DefaultTraces() with what the
// traces block sets; telemetry.Traces.Validate, the check serve runs too,
// checks the values.
func (l *loader) decodeTelemetry(b *hcl.Block) hcl.Diagnostics {
	l.record("telemetry", b)
	var raw struct {
		Traces *struct {
			Exporter    *string           `hcl:"exporter,optional"`
			Endpoint    *string           `hcl:"endpoint,optional"`
			Insecure    *bool             `hcl:"insecure,optional"`
			Headers     map[string]string `hcl:"headers,optional"`
			SampleRatio *float64          `hcl:"sample_ratio,optional"`
		} `hcl:"traces,block"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	if raw.Traces == nil {
		return diags
	}
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		for _, nb := range sb.Blocks {
			if nb.Type == "traces" {
				l.record("telemetry.traces", nb.AsHCLBlock())
			}
		}
	}
	t := telemetry.DefaultTraces()
	setValue(&t.Exporter, raw.Traces.Exporter)
	setValue(&t.Endpoint, raw.Traces.Endpoint)
	setValue(&t.Insecure, raw.Traces.Insecure)
	setValue(&t.SampleRatio, raw.Traces.SampleRatio)
	t.Headers = raw.Traces.Headers
	l.cfg.Telemetry.Traces = &t
	return diags
}

func (l *loader) decodeAuth(b *hcl.Block) hcl.Diagnostics {
	l.record("auth", b)
	a := &l.cfg.Auth
	a.Type = b.Labels[0]
	a.Range = b.DefRange
	l.ranges["auth.type"] = b.LabelRanges[0]
	switch a.Type {
	case AuthNone, AuthDev:
		return gohcl.DecodeBody(b.Body, l.ctx, &struct{}{})
	case AuthEntraID:
		return l.decodeEntraID(b)
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unsupported auth type",
		Detail:   fmt.Sprintf("Auth type %q is not known; use %q (Azure Monitor Secure Webhook tokens), %q (the development issuer of serve -dev) or %q (no authentication).", a.Type, AuthEntraID, AuthDev, AuthNone),
		Subject:  b.LabelRanges[0].Ptr(),
	}}
}

// decodeEntraID overwrites entra.DefaultConfig() with the attributes the
// block sets, so that a default applies only to what is left out and an
// explicit zero stays zero. The values are checked by Validate, with
// entra.Config.Validate, the check serve's verifier runs too.
func (l *loader) decodeEntraID(b *hcl.Block) hcl.Diagnostics {
	var raw struct {
		TenantID         hcl.Expression `hcl:"tenant_id,optional"`
		Audiences        *[]string      `hcl:"audiences,optional"`
		AllowedAppIDs    *[]string      `hcl:"allowed_app_ids,optional"`
		RequiredRoles    *[]string      `hcl:"required_roles,optional"`
		Authority        *string        `hcl:"authority,optional"`
		TokenVersions    *[]string      `hcl:"token_versions,optional"`
		ClockSkew        *string        `hcl:"clock_skew,optional"`
		RefreshInterval  *string        `hcl:"refresh_interval,optional"`
		MaxTokenBytes    *int           `hcl:"max_token_bytes,optional"`
		CacheEntries     *int           `hcl:"cache_entries,optional"`
		MaxTokenLifetime *string        `hcl:"max_token_lifetime,optional"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	e := entra.DefaultConfig()
	l.cfg.Auth.EntraID = &e
	setValue(&e.Audiences, raw.Audiences)
	setValue(&e.AllowedAppIDs, raw.AllowedAppIDs)
	setValue(&e.RequiredRoles, raw.RequiredRoles)
	setValue(&e.Authority, raw.Authority)
	setValue(&e.TokenVersions, raw.TokenVersions)
	setValue(&e.MaxTokenBytes, raw.MaxTokenBytes)
	setValue(&e.CacheEntries, raw.CacheEntries)
	diags = append(diags, l.duration("auth.clock_skew", raw.ClockSkew, &e.ClockSkew)...)
	diags = append(diags, l.duration("auth.refresh_interval", raw.RefreshInterval, &e.RefreshEvery)...)
	diags = append(diags, l.duration("auth.max_token_lifetime", raw.MaxTokenLifetime, &e.MaxTokenLifetime)...)

	// tenant_id is one string or a list of strings.
	if raw.TenantID != nil {
		v, d := raw.TenantID.Value(l.ctx)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			if v.Type() == cty.String {
				e.TenantIDs = []string{v.AsString()}
			} else if lv, err := convert.Convert(v, cty.List(cty.String)); err == nil && lv.IsWhollyKnown() {
				for _, t := range lv.AsValueSlice() {
					if !t.IsNull() {
						e.TenantIDs = append(e.TenantIDs, t.AsString())
					}
				}
			} else {
				diags = append(diags, &hcl.Diagnostic{
					Severity:    hcl.DiagError,
					Summary:     "Invalid tenant_id",
					Detail:      "tenant_id is one tenant ID (a string) or a list of tenant IDs.",
					Subject:     raw.TenantID.Range().Ptr(),
					Expression:  raw.TenantID,
					EvalContext: l.ctx,
				})
			}
		}
	}
	return diags
}

// decodeAzure overwrites azure.DefaultConfig() with what the block sets;
// workload_identity's attributes left out come from the AZURE_* variables.
// The values are checked by Validate, with azure.Config.Validate, the
// check serve runs too.
func (l *loader) decodeAzure(b *hcl.Block) hcl.Diagnostics {
	l.record("azure", b)
	var raw struct {
		Credential *struct {
			Type            string  `hcl:"type,label"`
			TenantID        *string `hcl:"tenant_id,optional"`
			ClientID        *string `hcl:"client_id,optional"`
			Secret          *string `hcl:"secret,optional"`
			CertificateFile *string `hcl:"certificate_file,optional"`
			Password        *string `hcl:"password,optional"`
			TokenFile       *string `hcl:"token_file,optional"`
		} `hcl:"credential,block"`
		Authority         *string  `hcl:"authority,optional"`
		ARMEndpoint       *string  `hcl:"arm_endpoint,optional"`
		ARMAudience       *string  `hcl:"arm_audience,optional"`
		InstanceDiscovery *bool    `hcl:"instance_discovery,optional"`
		RateLimit         *float64 `hcl:"rate_limit,optional"`
		MaxInFlight       *int     `hcl:"max_in_flight,optional"`
		MaxAttempts       *int     `hcl:"max_attempts,optional"`
		MaxAge            *string  `hcl:"max_age,optional"`
	}
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		for _, nb := range sb.Blocks {
			if nb.Type == "credential" {
				l.record("azure.credential", nb.AsHCLBlock())
			}
		}
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	c := azure.DefaultConfig()
	l.cfg.Azure = &c
	if cr := raw.Credential; cr != nil {
		c.Credential.Type = cr.Type
		setValue(&c.Credential.TenantID, cr.TenantID)
		setValue(&c.Credential.ClientID, cr.ClientID)
		setValue(&c.Credential.Secret, cr.Secret)
		setValue(&c.Credential.CertificateFile, cr.CertificateFile)
		setValue(&c.Credential.Password, cr.Password)
		setValue(&c.Credential.TokenFile, cr.TokenFile)
	}
	setValue(&c.Authority, raw.Authority)
	setValue(&c.ARMEndpoint, raw.ARMEndpoint)
	setValue(&c.ARMAudience, raw.ARMAudience)
	setValue(&c.InstanceDiscovery, raw.InstanceDiscovery)
	setValue(&c.RateLimit, raw.RateLimit)
	setValue(&c.MaxInFlight, raw.MaxInFlight)
	setValue(&c.MaxAttempts, raw.MaxAttempts)
	diags = append(diags, l.duration("azure.max_age", raw.MaxAge, &c.MaxAge)...)
	c.ApplyEnv(os.Getenv)
	return diags
}

func (l *loader) decodePlugin(b *hcl.Block) hcl.Diagnostics {
	key := "plugin." + b.Labels[0]
	l.record(key, b)
	p := &Plugin{Name: b.Labels[0], Range: b.DefRange}
	l.ranges[key+".name"] = b.LabelRanges[0]
	var raw struct {
		SHA256  *string  `hcl:"sha256,optional"`
		Path    *string  `hcl:"path,optional"`
		PassEnv []string `hcl:"pass_env,optional"`
		RunAs   *string  `hcl:"run_as,optional"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	setValue(&p.SHA256, raw.SHA256)
	setValue(&p.RunAs, raw.RunAs)
	p.SHA256 = strings.ToLower(p.SHA256)
	setValue(&p.Path, raw.Path)
	p.PassEnv = raw.PassEnv
	l.cfg.Plugins = append(l.cfg.Plugins, p)
	return diags
}

func (l *loader) decodeBackend(b *hcl.Block) hcl.Diagnostics {
	be := &Backend{Type: b.Labels[0], Name: b.Labels[1], Range: b.DefRange,
		MaxInFlight: DefaultMaxInFlight, MaxAttempts: DefaultMaxAttempts, MaxAge: DefaultMaxAge, StatusPollInterval: DefaultStatusPollInterval}
	key := "backend." + be.Ref()
	l.record(key, b)
	l.ranges[key+".type"] = b.LabelRanges[0]
	l.ranges[key+".name"] = b.LabelRanges[1]
	var raw struct {
		Config *struct {
			Body hcl.Body `hcl:",remain"`
		} `hcl:"config,block"`
		MaxInFlight *int     `hcl:"max_in_flight,optional"`
		RateLimit   *float64 `hcl:"rate_limit,optional"`
		MaxAttempts *int     `hcl:"max_attempts,optional"`
		MaxAge      *string  `hcl:"max_age,optional"`
		// AdoptExisting needs the plugin's Lookup, which delivery checks.
		AdoptExisting      *bool   `hcl:"adopt_existing,optional"`
		StatusPollInterval *string `hcl:"status_poll_interval,optional"`
		Inbound            *struct {
			Scheme string `hcl:"scheme"`
			Secret string `hcl:"secret"`
		} `hcl:"inbound,block"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	if raw.Config != nil {
		be.Config = raw.Config.Body
		be.ConfigRange = l.ranges[key+".config"]
	} else {
		be.Config = hcl.EmptyBody()
		be.ConfigRange = b.DefRange
	}
	if raw.MaxInFlight != nil {
		be.MaxInFlight = *raw.MaxInFlight
	}
	if raw.RateLimit != nil {
		be.RateLimit = *raw.RateLimit
	}
	if raw.MaxAttempts != nil {
		be.MaxAttempts = *raw.MaxAttempts
	}
	if raw.AdoptExisting != nil {
		be.AdoptExisting = *raw.AdoptExisting
	}
	diags = append(diags, l.duration(key+".max_age", raw.MaxAge, &be.MaxAge)...)
	diags = append(diags, l.duration(key+".status_poll_interval", raw.StatusPollInterval, &be.StatusPollInterval)...)
	if raw.Inbound != nil {
		be.Inbound = &Inbound{Scheme: raw.Inbound.Scheme, Secret: raw.Inbound.Secret}
		if sb, ok := b.Body.(*hclsyntax.Body); ok {
			for _, nb := range sb.Blocks {
				if nb.Type == "inbound" {
					l.record(key+".inbound", nb.AsHCLBlock())
				}
			}
		}
	}
	l.cfg.Backends = append(l.cfg.Backends, be)
	return diags
}

func (l *loader) decodeRoute(b *hcl.Block) hcl.Diagnostics {
	r := &Route{Name: b.Labels[0], Range: b.DefRange, ReopenWindow: DefaultReopenWindow,
		OnResolvedWithoutItem: DefaultOnResolvedWithoutItem, MaxConfigurationItems: DefaultMaxConfigurationItems}
	key := "route." + r.Name
	present := l.record(key, b)
	l.ranges[key+".name"] = b.LabelRanges[0]
	var raw struct {
		When           hcl.Expression `hcl:"when,optional"`
		SendTo         hcl.Expression `hcl:"send_to"`
		CorrelationKey hcl.Expression `hcl:"correlation_key,optional"`
		Fields         hcl.Expression `hcl:"fields,optional"`
		ReopenWindow   *string        `hcl:"reopen_window,optional"`
		PerCI          *bool          `hcl:"per_ci,optional"`
		// MaxConfigurationItems is checked by Validate.
		MaxConfigurationItems *int  `hcl:"max_configuration_items,optional"`
		Continue              *bool `hcl:"continue,optional"`
		// OnResolvedWithoutItem is checked by Validate.
		OnResolvedWithoutItem *string `hcl:"on_resolved_without_item,optional"`
		// Flap's values are checked by Validate.
		Flap *struct {
			Window         string  `hcl:"window"`
			MaxTransitions int     `hcl:"max_transitions"`
			QuietPeriod    *string `hcl:"quiet_period,optional"`
		} `hcl:"flap,block"`
		// Storm's values are checked by Validate.
		Storm *struct {
			Window  string         `hcl:"window"`
			MaxNew  int            `hcl:"max_new"`
			GroupBy hcl.Expression `hcl:"group_by,optional"`
		} `hcl:"storm,block"`
		// FieldPolicy and FieldPolicyDefault are checked by Validate; the
		// names against the route's fields and its plugins' per-alert
		// attributes once the plugins run.
		FieldPolicy        map[string]string `hcl:"field_policy,optional"`
		FieldPolicyDefault *string           `hcl:"field_policy_default,optional"`
		WontFix            *struct {
			Resolutions []string `hcl:"resolutions"`
		} `hcl:"wont_fix,block"`
		AzureFeedback *struct {
			OnCreated       *string        `hcl:"on_created,optional"`
			OnHumanResolved *string        `hcl:"on_human_resolved,optional"`
			Comment         hcl.Expression `hcl:"comment,optional"`
			CloseComment    hcl.Expression `hcl:"close_comment,optional"`
		} `hcl:"azure_feedback,block"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	if present["when"] {
		r.When = raw.When
	}
	if present["correlation_key"] {
		r.CorrelationKey = raw.CorrelationKey
	}
	if present["fields"] {
		r.Fields = raw.Fields
	}
	if raw.PerCI != nil {
		r.PerCI = *raw.PerCI
	}
	if raw.MaxConfigurationItems != nil {
		r.MaxConfigurationItems = *raw.MaxConfigurationItems
	}
	if raw.Continue != nil {
		r.Continue = *raw.Continue
	}
	setValue(&r.OnResolvedWithoutItem, raw.OnResolvedWithoutItem)
	r.FieldPolicy = raw.FieldPolicy
	setValue(&r.FieldPolicyDefault, raw.FieldPolicyDefault)
	l.recordItems(key+".field_policy", b)
	if raw.WontFix != nil {
		r.WontFix = &WontFix{Resolutions: raw.WontFix.Resolutions}
		if wb := nestedBlock(b, "wont_fix"); wb != nil {
			l.record(key+".wont_fix", wb)
		}
	}
	diags = append(diags, l.duration(key+".reopen_window", raw.ReopenWindow, &r.ReopenWindow)...)
	if f := raw.Flap; f != nil {
		l.recordNested(key, b, "flap")
		r.Flap = &Flap{MaxTransitions: f.MaxTransitions}
		diags = append(diags, l.duration(key+".flap.window", &f.Window, &r.Flap.Window)...)
		r.Flap.QuietPeriod = r.Flap.Window
		diags = append(diags, l.duration(key+".flap.quiet_period", f.QuietPeriod, &r.Flap.QuietPeriod)...)
	}
	if st := raw.Storm; st != nil {
		r.Storm = &Storm{MaxNew: st.MaxNew}
		if sb, ok := b.Body.(*hclsyntax.Body); ok {
			for _, nb := range sb.Blocks {
				if nb.Type != "storm" {
					continue
				}
				r.Storm.Range = nb.DefRange()
				if in := l.record(key+".storm", nb.AsHCLBlock()); in["group_by"] {
					r.Storm.GroupBy = st.GroupBy
				}
			}
		}
		diags = append(diags, l.duration(key+".storm.window", &st.Window, &r.Storm.Window)...)
	}
	if fb := raw.AzureFeedback; fb != nil {
		af := &AzureFeedback{OnCreated: FeedbackAcknowledged, OnHumanResolved: FeedbackCloseAlert}
		setValue(&af.OnCreated, fb.OnCreated)
		setValue(&af.OnHumanResolved, fb.OnHumanResolved)
		if sb, ok := b.Body.(*hclsyntax.Body); ok {
			for _, nb := range sb.Blocks {
				if nb.Type != "azure_feedback" {
					continue
				}
				af.Range = nb.DefRange()
				in := l.record(key+".azure_feedback", nb.AsHCLBlock())
				if in["comment"] {
					af.Comment = fb.Comment
				}
				if in["close_comment"] {
					af.CloseComment = fb.CloseComment
				}
			}
		}
		r.AzureFeedback = af
	}
	if present["send_to"] {
		refs, d := parseSendTo(raw.SendTo)
		r.SendTo = refs
		diags = append(diags, d...)
	}
	l.cfg.Routes = append(l.cfg.Routes, r)
	return diags
}

// decodeMaintenance decodes a maintenance block. Values (times, days, the
// time zone) are parsed here, each error at its attribute; Validate checks
// how they go together.
func (l *loader) decodeMaintenance(b *hcl.Block) hcl.Diagnostics {
	m := &Maintenance{Name: b.Labels[0], Range: b.DefRange, OnEnd: DefaultOnEnd}
	key := "maintenance." + m.Name
	present := l.record(key, b)
	l.ranges[key+".name"] = b.LabelRanges[0]
	var raw struct {
		Start  *string        `hcl:"start,optional"`
		End    *string        `hcl:"end,optional"`
		When   hcl.Expression `hcl:"when,optional"`
		OnEnd  *string        `hcl:"on_end,optional"`
		Weekly *struct {
			Days     []string `hcl:"days"`
			Start    string   `hcl:"start"`
			Duration string   `hcl:"duration"`
			TimeZone *string  `hcl:"time_zone,optional"`
		} `hcl:"weekly,block"`
	}
	diags := gohcl.DecodeBody(b.Body, l.ctx, &raw)
	if present["when"] {
		m.When = raw.When
	}
	setValue(&m.OnEnd, raw.OnEnd)
	diags = append(diags, l.timestamp(key+".start", raw.Start, &m.Start)...)
	diags = append(diags, l.timestamp(key+".end", raw.End, &m.End)...)
	if w := raw.Weekly; w != nil {
		l.recordNested(key, b, "weekly")
		m.Weekly = &MaintenanceWeekly{}
		for _, d := range w.Days {
			day, ok := parseWeekday(d)
			if !ok {
				diags = append(diags, l.attrError(key+".weekly.days", "Invalid weekly.days",
					fmt.Sprintf("days = [%q, …]: %q is not a day; write \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\" or \"sun\" (or the full name).", d, d)))
				continue
			}
			m.Weekly.Days = append(m.Weekly.Days, day)
		}
		if min, ok := parseClock(w.Start); ok {
			m.Weekly.StartMinute = min
		} else {
			diags = append(diags, l.attrError(key+".weekly.start", "Invalid weekly.start",
				fmt.Sprintf("start = %q is not a time of day; write 24-hour \"HH:MM\", e.g. \"22:00\", local to time_zone.", w.Start)))
		}
		diags = append(diags, l.duration(key+".weekly.duration", &w.Duration, &m.Weekly.Duration)...)
		tz := DefaultMaintenanceTimeZone
		setValue(&tz, w.TimeZone)
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" || strings.EqualFold(tz, "Local") {
			diags = append(diags, l.attrError(key+".weekly.time_zone", "Invalid weekly.time_zone",
				fmt.Sprintf("time_zone = %q is not a time zone of the IANA database; write e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\" (the default).", tz)))
		} else {
			m.Weekly.Location = loc
		}
	}
	l.cfg.Maintenance = append(l.cfg.Maintenance, m)
	return diags
}

// timestamp parses an RFC 3339 time attribute; s nil leaves dst zero.
func (l *loader) timestamp(key string, s *string, dst *time.Time) hcl.Diagnostics {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err == nil {
		*dst = t
		return nil
	}
	attr := key[strings.LastIndexByte(key, '.')+1:]
	return hcl.Diagnostics{l.attrError(key, "Invalid time for "+attr,
		fmt.Sprintf("%s = %q is not an RFC 3339 time; write it with its offset, e.g. \"2026-03-01T22:00:00Z\" or \"2026-03-01T23:00:00+01:00\".", attr, *s))}
}

// attrError is an error diagnostic at the attribute recorded under key.
func (l *loader) attrError(key, summary, detail string) *hcl.Diagnostic {
	var subject *hcl.Range
	if r, ok := l.ranges[key]; ok {
		subject = r.Ptr()
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}

// parseSendTo reads send_to = [backend.<type>.<name>, ...] as references,
// without evaluating them.
func parseSendTo(expr hcl.Expression) ([]BackendRef, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		for _, d := range diags {
			d.Detail = "send_to is a list of backend references, e.g. send_to = [backend.servicenow.prod]."
		}
		return nil, diags
	}
	var refs []BackendRef
	for _, e := range exprs {
		trav, d := hcl.AbsTraversalForExpr(e)
		ok := !d.HasErrors() && len(trav) == 3 && trav.RootName() == "backend"
		var typ, name string
		if ok {
			a1, ok1 := trav[1].(hcl.TraverseAttr)
			a2, ok2 := trav[2].(hcl.TraverseAttr)
			ok = ok1 && ok2
			typ, name = a1.Name, a2.Name
		}
		if !ok {
			detail := "Each send_to entry names a backend block by type and name, as backend.<type>.<name>, e.g. backend.servicenow.prod."
			if _, quoted := e.(*hclsyntax.TemplateExpr); quoted {
				detail = "Each send_to entry is a reference, not a string: write backend.<type>.<name> without quotes, e.g. backend.servicenow.prod."
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid backend reference",
				Detail:   detail,
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		refs = append(refs, BackendRef{Type: typ, Name: name, Range: e.Range()})
	}
	return refs, diags
}

// record notes the ranges of b and of its attributes and nested blocks
// under key, and returns which attributes are present.
func (l *loader) record(key string, b *hcl.Block) map[string]bool {
	l.ranges[key] = b.DefRange
	present := map[string]bool{}
	sb, ok := b.Body.(*hclsyntax.Body)
	if !ok {
		return present
	}
	for name, a := range sb.Attributes {
		l.ranges[key+"."+name] = a.Expr.Range()
		present[name] = true
	}
	for _, nb := range sb.Blocks {
		l.ranges[key+"."+nb.Type] = nb.DefRange()
	}
	return present
}

// recordNested notes the ranges of the attributes of b's nested block
// typ under key.typ ("route.web.flap.window").
func (l *loader) recordNested(key string, b *hcl.Block, typ string) {
	sb, ok := b.Body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, nb := range sb.Blocks {
		if nb.Type != typ {
			continue
		}
		for name, a := range nb.Body.Attributes {
			l.ranges[key+"."+typ+"."+name] = a.Expr.Range()
		}
	}
}

// recordItems notes the range of each item of the object attribute key
// (e.g. "route.r.field_policy") of b under key.<name>, so that Validate
// points at the item at fault.
func (l *loader) recordItems(key string, b *hcl.Block) {
	sb, ok := b.Body.(*hclsyntax.Body)
	if !ok {
		return
	}
	attr := key[strings.LastIndexByte(key, '.')+1:]
	a, ok := sb.Attributes[attr]
	if !ok {
		return
	}
	obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return
	}
	for _, item := range obj.Items {
		if name, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && name.Type() == cty.String && name.IsKnown() && !name.IsNull() {
			l.ranges[key+"."+name.AsString()] = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
		}
	}
}

// nestedBlock returns the first block of type typ inside b, as a block
// record needs it.
func nestedBlock(b *hcl.Block, typ string) *hcl.Block {
	sb, ok := b.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	for _, nb := range sb.Blocks {
		if nb.Type == typ {
			return nb.AsHCLBlock()
		}
	}
	return nil
}

// duration parses a duration attribute written as a string ("90s", "24h",
// "7d"); s nil leaves dst at its default.
func (l *loader) duration(key string, s *string, dst *time.Duration) hcl.Diagnostics {
	if s == nil {
		return nil
	}
	d, err := ParseDuration(*s)
	if err == nil {
		*dst = d
		return nil
	}
	attr := key[strings.LastIndexByte(key, '.')+1:]
	var subject *hcl.Range
	if r, ok := l.ranges[key]; ok {
		subject = r.Ptr()
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid duration for %s", attr),
		Detail:   fmt.Sprintf("%s = %q: %s. Write a number with a unit, e.g. \"90s\", \"15m\", \"24h\" or \"7d\".", attr, *s, err),
		Subject:  subject,
	}}
}

// ParseDuration parses a configuration duration: Go's time.ParseDuration
// syntax ("1h30m", "90s") plus whole days as "d" ("7d", "1d12h").
// Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil && strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("negative duration")
		}
		if err != nil {
			return 0, fmt.Errorf("not a duration")
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration")
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration")
	}
	return days + d, nil
}

// dropFollowOns removes the "Unsuitable value type: value must be known"
// errors gohcl adds after an expression already failed (e.g. env() of an
// unset variable), so the operator sees the cause once.
func dropFollowOns(diags hcl.Diagnostics) hcl.Diagnostics {
	failed := map[hcl.Range]bool{}
	out := diags[:0]
	for _, d := range diags {
		if d.Subject != nil && d.Severity == hcl.DiagError {
			if failed[*d.Subject] && d.Summary == "Unsuitable value type" {
				continue
			}
			failed[*d.Subject] = true
		}
		out = append(out, d)
	}
	return out
}

// setValue sets *dst to *v when the attribute was set (v is not nil).
func setValue[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// keyFile is the ranges key of the file itself (its first position), used
// for diagnostics about something missing from the whole file.
const keyFile = "."
