package servicenow

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Modes of operation.
const (
	// ModeIncident writes incidents through the Table API (default).
	ModeIncident = "incident"
	// ModeEvent sends events to Event Management, whose alert rules make
	// the incidents.
	ModeEvent = "event"
)

// Auth types.
const (
	AuthBasic       = "basic"
	AuthOAuth       = "oauth"
	AuthAPIKey      = "api_key"
	AuthCertificate = "certificate"
)

// OAuth grants.
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
)

// CMDB match methods, in the order the operator lists them.
const (
	MatchObjectID = "object_id"
	MatchName     = "name"
)

// Config is the backend's `config {}` block as the host decodes it against
// [Schema]. Zero values mean "use the default".
type Config struct {
	InstanceURL string            `json:"instance_url"`
	Mode        string            `json:"mode"`
	Timeout     string            `json:"timeout"`
	SeverityMap map[string]Impact `json:"severity_map"`
	Auth        *AuthConfig       `json:"auth"`
	TLS         *TLSConfig        `json:"tls"`
	Incident    *IncidentConfig   `json:"incident"`
	CMDB        *CMDBConfig       `json:"cmdb"`
	Event       *EventConfig      `json:"event"`
}

// Impact is the urgency and impact an alert severity maps to (1 high … 3 low).
type Impact struct {
	Urgency int `json:"urgency"`
	Impact  int `json:"impact"`
}

// AuthConfig is the `auth {}` block, the HTTP plugins' shared one; the
// schema declares the attributes ServiceNow accepts.
type AuthConfig = sdkhttp.AuthBlock

// TLSConfig is the `tls {}` block.
type TLSConfig = sdkhttp.TLSBlock

// IncidentConfig is the `incident {}` block: defaults for new incidents.
type IncidentConfig struct {
	Table               string `json:"table"`
	CallerID            string `json:"caller_id"`
	AssignmentGroup     string `json:"assignment_group"`
	Category            string `json:"category"`
	Subcategory         string `json:"subcategory"`
	ContactType         string `json:"contact_type"`
	CloseCode           string `json:"close_code"`
	CorrelationDisplay  string `json:"correlation_display"`
	ShortDescriptionMax int    `json:"short_description_max"`
	CorrelationIDMax    int    `json:"correlation_id_max"`
}

// CMDBConfig is the `cmdb {}` block.
type CMDBConfig struct {
	Enabled    *bool    `json:"enabled"`
	Table      string   `json:"table"`
	MatchOrder []string `json:"match_order"`
	CacheTTL   string   `json:"cache_ttl"`
	MissTTL    string   `json:"miss_ttl"`
	// AffectedCIs records every bound CI in the incident's Affected CIs
	// (task_ci); nil means true.
	AffectedCIs *bool `json:"affected_cis"`
}

// EventConfig is the `event {}` block used when mode = "event".
type EventConfig struct {
	Source      string         `json:"source"`
	EventClass  string         `json:"event_class"`
	SeverityMap map[string]int `json:"severity_map"`
}

// Defaults.
const (
	defaultIncidentTable       = "incident"
	defaultCloseCode           = "Solution provided"
	defaultCorrelationDisplay  = "itsm-connector"
	defaultShortDescriptionMax = 160
	defaultCorrelationIDMax    = 100
	defaultCMDBTable           = "cmdb_ci"
	defaultCacheTTL            = 15 * time.Minute
	defaultMissTTL             = 5 * time.Minute
	defaultEventSource         = "Azure Monitor"
	defaultEventClass          = "itsm-connector"
	defaultAPIKeyHeader        = "x-sn-apikey"
	// sha256Hex is the length of a hashed correlation id.
	sha256Hex = 64
)

// severityLabels are the keys of both severity maps.
var severityLabels = []string{"Sev0", "Sev1", "Sev2", "Sev3", "Sev4"}

// DefaultSeverityMap maps Azure severities to urgency and impact; the
// instance computes priority from them (Sev0 → P1 … Sev4 → P5).
func DefaultSeverityMap() map[string]Impact {
	return map[string]Impact{
		"Sev0": {Urgency: 1, Impact: 1},
		"Sev1": {Urgency: 2, Impact: 1},
		"Sev2": {Urgency: 2, Impact: 2},
		"Sev3": {Urgency: 3, Impact: 2},
		"Sev4": {Urgency: 3, Impact: 3},
	}
}

// DefaultEventSeverityMap maps Azure severities to Event Management
// severities (1 critical, 2 major, 3 minor, 4 warning, 5 info; 0 clears).
func DefaultEventSeverityMap() map[string]int {
	return map[string]int{"Sev0": 1, "Sev1": 2, "Sev2": 3, "Sev3": 4, "Sev4": 5}
}

// settings are a validated Config with defaults applied: what the plugin
// runs on.
type settings struct {
	base          *url.URL
	mode          string
	timeout       time.Duration
	severity      map[string]Impact
	auth          AuthConfig
	tls           *tls.Config
	insecure      bool
	incident      IncidentConfig
	cmdbEnabled   bool
	affectedCIs   bool
	cmdbTable     string
	matchOrder    []string
	cacheTTL      time.Duration
	missTTL       time.Duration
	event         EventConfig
	tokenURL      string
	hasClientCert bool
}

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// resolve validates cfg and applies defaults. Problems come back as
// diagnostics naming the attribute; warnings do not stop configuration.
// No diagnostic ever repeats a secret's value.
func resolve(cfg Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	errf := func(summary, detail string, path ...string) {
		diags = append(diags, sdk.AttributeError(summary, detail, path...))
	}
	s := &settings{}

	// instance_url
	var urlDiags sdk.Diagnostics
	s.base, urlDiags = sdkhttp.BaseURL{Attr: "instance_url", Example: "https://contoso.service-now.com", Exposes: "incident data"}.Parse(cfg.InstanceURL)
	diags = append(diags, urlDiags...)

	// mode
	s.mode = cfg.Mode
	if s.mode == "" {
		s.mode = ModeIncident
	}
	if s.mode != ModeIncident && s.mode != ModeEvent {
		errf("mode must be \"incident\" or \"event\"", fmt.Sprintf("Got %q.", cfg.Mode), "mode")
	}

	s.timeout = sdktext.ParseDuration(cfg.Timeout, sdkhttp.DefaultTimeout, &diags, "timeout")

	// severity_map: operator entries override the defaults per severity.
	s.severity = DefaultSeverityMap()
	for k, v := range cfg.SeverityMap {
		if !slices.Contains(severityLabels, k) {
			errf("unknown severity", fmt.Sprintf("Got %q; keys are Sev0 … Sev4.", k), "severity_map", k)
			continue
		}
		if v.Urgency < 1 || v.Urgency > 3 {
			errf("urgency must be 1, 2 or 3", fmt.Sprintf("Got %d.", v.Urgency), "severity_map", k, "urgency")
		}
		if v.Impact < 1 || v.Impact > 3 {
			errf("impact must be 1, 2 or 3", fmt.Sprintf("Got %d.", v.Impact), "severity_map", k, "impact")
		}
		s.severity[k] = v
	}

	// tls
	var tlsDiags sdk.Diagnostics
	s.tls, tlsDiags = cfg.TLS.Config("incidents")
	diags = append(diags, tlsDiags...)
	s.insecure = s.tls.InsecureSkipVerify
	s.hasClientCert = len(s.tls.Certificates) > 0

	// auth
	if cfg.Auth == nil {
		errf("auth block is required", `Add auth { type = "basic" | "oauth" | "api_key" | "certificate" ... }.`, "auth")
	} else {
		s.auth = *cfg.Auth
		resolveAuth(s, &diags)
	}

	// incident
	if cfg.Incident != nil {
		s.incident = *cfg.Incident
	}
	inc := &s.incident
	if inc.Table == "" {
		inc.Table = defaultIncidentTable
	} else if !identRE.MatchString(inc.Table) {
		errf("table is not a table name", fmt.Sprintf("Got %q.", inc.Table), "incident", "table")
	}
	if inc.CloseCode == "" {
		inc.CloseCode = defaultCloseCode
	}
	if inc.CorrelationDisplay == "" {
		inc.CorrelationDisplay = defaultCorrelationDisplay
	}
	if inc.ShortDescriptionMax == 0 {
		inc.ShortDescriptionMax = defaultShortDescriptionMax
	} else if inc.ShortDescriptionMax < 10 {
		errf("short_description_max must be at least 10", fmt.Sprintf("Got %d.", inc.ShortDescriptionMax), "incident", "short_description_max")
	}
	if inc.CorrelationIDMax == 0 {
		inc.CorrelationIDMax = defaultCorrelationIDMax
	} else if inc.CorrelationIDMax < sha256Hex {
		errf("correlation_id_max must be at least 64",
			fmt.Sprintf("Got %d; longer keys are stored as a 64-character SHA-256.", inc.CorrelationIDMax), "incident", "correlation_id_max")
	}

	// cmdb
	var cm CMDBConfig
	if cfg.CMDB != nil {
		cm = *cfg.CMDB
	}
	s.cmdbEnabled = cm.Enabled == nil || *cm.Enabled
	s.affectedCIs = s.cmdbEnabled && (cm.AffectedCIs == nil || *cm.AffectedCIs)
	s.cmdbTable = cm.Table
	if s.cmdbTable == "" {
		s.cmdbTable = defaultCMDBTable
	} else if !identRE.MatchString(s.cmdbTable) {
		errf("table is not a table name", fmt.Sprintf("Got %q.", cm.Table), "cmdb", "table")
	}
	s.matchOrder = cm.MatchOrder
	if s.matchOrder == nil {
		s.matchOrder = []string{MatchObjectID, MatchName}
	}
	seen := map[string]bool{}
	for _, m := range s.matchOrder {
		if m != MatchObjectID && m != MatchName {
			errf("unknown match method", fmt.Sprintf("Got %q; use \"object_id\" and/or \"name\".", m), "cmdb", "match_order")
		}
		if seen[m] {
			errf("duplicate match method", fmt.Sprintf("%q is listed twice.", m), "cmdb", "match_order")
		}
		seen[m] = true
	}
	s.cacheTTL = sdktext.ParseDuration(cm.CacheTTL, defaultCacheTTL, &diags, "cmdb", "cache_ttl")
	s.missTTL = sdktext.ParseDuration(cm.MissTTL, defaultMissTTL, &diags, "cmdb", "miss_ttl")

	// event
	if cfg.Event != nil {
		s.event = *cfg.Event
	}
	if s.event.Source == "" {
		s.event.Source = defaultEventSource
	}
	if s.event.EventClass == "" {
		s.event.EventClass = defaultEventClass
	}
	sev := DefaultEventSeverityMap()
	for k, v := range s.event.SeverityMap {
		if !slices.Contains(severityLabels, k) {
			errf("unknown severity", fmt.Sprintf("Got %q; keys are Sev0 … Sev4.", k), "event", "severity_map", k)
			continue
		}
		if v < 1 || v > 5 {
			errf("event severity must be 1 (critical) … 5 (info)", fmt.Sprintf("Got %d; 0 (clear) is sent when the alert resolves.", v), "event", "severity_map", k)
		}
		sev[k] = v
	}
	s.event.SeverityMap = sev

	return s, diags
}

func resolveAuth(s *settings, diags *sdk.Diagnostics) {
	a := &s.auth
	check := sdkhttp.AuthCheck{Diags: diags}
	errf, require := check.Errorf, check.Require
	switch a.Type {
	case AuthBasic:
		require(a.Username, "username", "Basic authentication needs a user name.")
		require(a.Password, "password", "Basic authentication needs a password.")
	case AuthOAuth:
		require(a.ClientID, "client_id", "OAuth needs the client id of the instance's OAuth application.")
		require(a.ClientSecret, "client_secret", "OAuth needs the client secret of the instance's OAuth application.")
		if a.GrantType == "" {
			a.GrantType = GrantClientCredentials
			if a.Username != "" {
				a.GrantType = GrantPassword
			}
		}
		switch a.GrantType {
		case GrantPassword:
			require(a.Username, "username", "The password grant needs a user name.")
			require(a.Password, "password", "The password grant needs a password.")
		case GrantClientCredentials:
		default:
			errf("grant_type must be \"password\" or \"client_credentials\"", fmt.Sprintf("Got %q.", a.GrantType), "grant_type")
		}
		if a.TokenURL != "" {
			check.TokenURL(a.TokenURL, "Leave it out to use <instance_url>/oauth_token.do.")
			s.tokenURL = a.TokenURL
		} else if s.base != nil {
			s.tokenURL = s.base.String() + "/oauth_token.do"
		}
	case AuthAPIKey:
		require(a.APIKey, "api_key", "API key authentication needs the REST API key's token.")
		if a.APIKeyHeader == "" {
			a.APIKeyHeader = defaultAPIKeyHeader
		}
	case AuthCertificate:
		if !s.hasClientCert {
			errf("certificate authentication needs tls.client_cert and tls.client_key", "", "type")
		}
	case "":
		errf("type is required", `One of "basic", "oauth", "api_key", "certificate".`, "type")
	default:
		errf("unknown auth type", fmt.Sprintf("Got %q; use \"basic\", \"oauth\", \"api_key\" or \"certificate\".", a.Type), "type")
	}
}
