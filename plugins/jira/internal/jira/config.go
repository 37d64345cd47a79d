package jira

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Flavors of Jira.
const (
	// FlavorCloud is Jira Cloud: REST API v3, rich text in Atlassian
	// Document Format, search through /rest/api/3/search/jql.
	FlavorCloud = "cloud"
	// FlavorDataCenter is Jira Data Center (or Server): REST API v2, plain
	// text, search through /rest/api/2/search.
	FlavorDataCenter = "datacenter"
)

// Modes of operation.
const (
	// ModeIssue creates issues through the platform REST API (default).
	ModeIssue = "issue"
	// ModeServiceDesk creates requests through Jira Service Management's
	// /rest/servicedeskapi/request.
	ModeServiceDesk = "service_desk"
)

// Auth types.
const (
	// AuthBasic: Cloud e-mail + API token, or Data Center user + password.
	AuthBasic = "basic"
	// AuthBearer: a Data Center personal access token.
	AuthBearer = "bearer"
)

// PropertyKey is the issue property that stamps an issue with its
// correlation key.
const PropertyKey = "itsm-connector"

// Config is the backend's `config {}` block as the host decodes it against
// [Schema]. Zero values mean "use the default".
type Config struct {
	URL           string            `json:"url"`
	Flavor        string            `json:"flavor"`
	Mode          string            `json:"mode"`
	Timeout       string            `json:"timeout"`
	Project       string            `json:"project"`
	IssueType     string            `json:"issue_type"`
	Labels        []string          `json:"labels"`
	Components    []string          `json:"components"`
	PriorityMap   map[string]string `json:"priority_map"`
	FieldCacheTTL string            `json:"field_cache_ttl"`
	// SearchConsistencyDelay is how long Jira's search may lag behind a
	// create (see [Plugin.Info]).
	SearchConsistencyDelay string             `json:"search_consistency_delay"`
	Auth                   *AuthConfig        `json:"auth"`
	TLS                    *TLSConfig         `json:"tls"`
	Correlation            *CorrelationConfig `json:"correlation"`
	Comments               *CommentsConfig    `json:"comments"`
	Resolve                *ResolveConfig     `json:"resolve"`
	Reopen                 *ReopenConfig      `json:"reopen"`
	ServiceDesk            *ServiceDeskConfig `json:"service_desk"`
}

// AuthConfig is the `auth {}` block: the HTTP plugins' shared one (the
// schema declares the attributes Jira accepts) and Jira Cloud's e-mail and
// API token.
type AuthConfig struct {
	sdkhttp.AuthBlock
	Email    string `json:"email"`
	APIToken string `json:"api_token"`
}

// TLSConfig is the `tls {}` block; the schema declares only ca_cert and
// insecure_skip_verify.
type TLSConfig = sdkhttp.TLSBlock

// CorrelationConfig is the `correlation {}` block: how issues are stamped
// with their correlation key so that Lookup finds them again.
type CorrelationConfig struct {
	LabelPrefix string `json:"label_prefix"`
	Field       string `json:"field"`
}

// CommentsConfig is the `comments {}` block.
type CommentsConfig struct {
	MinInterval string `json:"min_interval"`
}

// ResolveConfig is the `resolve {}` block.
type ResolveConfig struct {
	Transition string `json:"transition"`
	Resolution string `json:"resolution"`
}

// ReopenConfig is the `reopen {}` block.
type ReopenConfig struct {
	Transition         string   `json:"transition"`
	WontFixResolutions []string `json:"wont_fix_resolutions"`
}

// ServiceDeskConfig is the `service_desk {}` block, used when
// mode = "service_desk".
type ServiceDeskConfig struct {
	ServiceDeskID   string `json:"service_desk_id"`
	RequestTypeID   string `json:"request_type_id"`
	RaiseOnBehalfOf string `json:"raise_on_behalf_of"`
}

// Defaults.
const (
	defaultIssueType       = "Task"
	defaultLabelPrefix     = "itsm-"
	defaultFieldCacheTTL   = time.Hour
	defaultCommentInterval = 10 * time.Minute
	defaultResolution      = "Done"
	// DefaultSearchConsistencyDelay is how long the host waits, after a
	// create whose answer was lost, before Lookup searches for it.
	// Atlassian documents that search (/search/jql) is eventually
	// consistent and that most changes show "within seconds", some take
	// minutes; Data Center's index is updated on the node at once and
	// replicated to the other nodes of a cluster within seconds. 10s covers
	// the usual lag; what it does not cover, Lookup heals (duplicates are
	// closed).
	DefaultSearchConsistencyDelay = 10 * time.Second
)

// DefaultWontFixResolutions are the resolutions that block reopening.
func DefaultWontFixResolutions() []string { return []string{"Won't Do", "Won't Fix"} }

// severityLabels are the keys of the priority map.
var severityLabels = []string{"Sev0", "Sev1", "Sev2", "Sev3", "Sev4"}

// DefaultPriorityMap maps Azure severities to Jira's default priority
// scheme.
func DefaultPriorityMap() map[string]string {
	return map[string]string{"Sev0": "Highest", "Sev1": "High", "Sev2": "Medium", "Sev3": "Low", "Sev4": "Lowest"}
}

// settings are a validated Config with defaults applied: what the plugin
// runs on.
type settings struct {
	base            *url.URL
	flavor          string
	api             string // "/rest/api/3" or "/rest/api/2" below the base path
	mode            string
	timeout         time.Duration
	project         string
	issueType       string
	labels          []string
	components      []string
	priority        map[string]string
	fieldTTL        time.Duration
	searchDelay     time.Duration
	auth            AuthConfig
	tls             *tls.Config
	insecure        bool
	labelPrefix     string
	corrField       string
	commentInterval time.Duration
	resolveName     string
	resolution      string
	reopenName      string
	wontFix         []string
	desk            ServiceDeskConfig
}

var (
	projectKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)
	labelRE      = regexp.MustCompile(`^\S{1,255}$`)
	labelPfxRE   = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,32}$`)
	numericRE    = regexp.MustCompile(`^[0-9]+$`)
)

// resolve validates cfg and applies defaults. Problems come back as
// diagnostics naming the attribute; warnings do not stop configuration.
// No diagnostic ever repeats a secret's value.
func resolve(cfg Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	errf := func(summary, detail string, path ...string) {
		diags = append(diags, sdk.AttributeError(summary, detail, path...))
	}
	s := &settings{}

	base, urlDiags := sdkhttp.BaseURL{Attr: "url", Example: "https://contoso.atlassian.net", Exposes: "issue data"}.Parse(cfg.URL)
	diags = append(diags, urlDiags...)
	if base != nil && strings.Contains(base.Path+"/", "/rest/") {
		errf("url must be the site's base URL, not an API URL", fmt.Sprintf("Got path %q; the plugin adds /rest/api/… itself.", base.Path), "url")
		base = nil
	}
	s.base = base

	s.flavor = cfg.Flavor
	switch s.flavor {
	case FlavorCloud:
		s.api = "/rest/api/3"
	case FlavorDataCenter:
		s.api = "/rest/api/2"
	case "":
		errf("flavor is required", `"cloud" for Jira Cloud (REST v3, Atlassian Document Format), "datacenter" for Jira Data Center or Server (REST v2).`, "flavor")
	default:
		errf(`flavor must be "cloud" or "datacenter"`, fmt.Sprintf("Got %q.", cfg.Flavor), "flavor")
	}

	s.mode = cfg.Mode
	if s.mode == "" {
		s.mode = ModeIssue
	}
	if s.mode != ModeIssue && s.mode != ModeServiceDesk {
		errf(`mode must be "issue" or "service_desk"`, fmt.Sprintf("Got %q.", cfg.Mode), "mode")
	}

	s.timeout = sdktext.ParseDuration(cfg.Timeout, sdkhttp.DefaultTimeout, &diags, "timeout")
	s.fieldTTL = sdktext.ParseDuration(cfg.FieldCacheTTL, defaultFieldCacheTTL, &diags, "field_cache_ttl")

	s.project = strings.TrimSpace(cfg.Project)
	switch {
	case s.project == "" && s.mode == ModeIssue:
		errf("project is required", `Set it to the key of the project issues are created in, e.g. "OPS".`, "project")
	case s.project != "" && !projectKeyRE.MatchString(s.project) && !numericRE.MatchString(s.project):
		errf("project is not a project key", fmt.Sprintf("Got %q; a key is upper case, e.g. \"OPS\" (or use the numeric project id).", cfg.Project), "project")
	}
	s.issueType = cfg.IssueType
	if s.issueType == "" {
		s.issueType = defaultIssueType
	}
	for i, l := range cfg.Labels {
		if !labelRE.MatchString(l) {
			errf("labels must not contain spaces", fmt.Sprintf("Label %d is %q; Jira rejects labels with spaces or longer than 255 characters.", i+1, l), "labels")
		}
	}
	s.labels = cfg.Labels
	s.components = cfg.Components

	s.priority = DefaultPriorityMap()
	for k, v := range cfg.PriorityMap {
		if !slices.Contains(severityLabels, k) {
			errf("unknown severity", fmt.Sprintf("Got %q; keys are Sev0 … Sev4.", k), "priority_map", k)
			continue
		}
		s.priority[k] = v
	}

	resolveTLS(s, cfg.TLS, &diags)
	if cfg.Auth == nil {
		errf("auth block is required", `Add auth { type = "basic" … } (Cloud: email and api_token) or auth { type = "bearer"  token = … } (Data Center personal access token).`, "auth")
	} else {
		s.auth = *cfg.Auth
		resolveAuth(s, &diags)
	}

	var corr CorrelationConfig
	if cfg.Correlation != nil {
		corr = *cfg.Correlation
	}
	s.labelPrefix = corr.LabelPrefix
	if s.labelPrefix == "" {
		s.labelPrefix = defaultLabelPrefix
	} else if !labelPfxRE.MatchString(s.labelPrefix) {
		errf("label_prefix must be 1 to 32 letters, digits or _ . : -", fmt.Sprintf("Got %q; it starts the correlation label, which Jira stores without spaces.", corr.LabelPrefix), "correlation", "label_prefix")
	}
	s.corrField = strings.TrimSpace(corr.Field)

	var com CommentsConfig
	if cfg.Comments != nil {
		com = *cfg.Comments
	}
	s.commentInterval = defaultCommentInterval
	if com.MinInterval != "" {
		d, err := time.ParseDuration(com.MinInterval)
		if err != nil || d < 0 {
			errf("min_interval must be a duration of zero or more",
				fmt.Sprintf("Got %q; use e.g. \"10m\", or \"0s\" to comment on every re-fire.", com.MinInterval), "comments", "min_interval")
		} else {
			s.commentInterval = d
		}
	}

	s.searchDelay = DefaultSearchConsistencyDelay
	if cfg.SearchConsistencyDelay != "" {
		d, err := time.ParseDuration(cfg.SearchConsistencyDelay)
		if err != nil || d < 0 {
			errf("search_consistency_delay must be a duration of zero or more",
				fmt.Sprintf("Got %q; use e.g. \"10s\", or \"0s\" when search sees new issues at once.", cfg.SearchConsistencyDelay), "search_consistency_delay")
		} else {
			s.searchDelay = d
		}
	}

	var res ResolveConfig
	if cfg.Resolve != nil {
		res = *cfg.Resolve
	}
	s.resolveName = strings.TrimSpace(res.Transition)
	s.resolution = strings.TrimSpace(res.Resolution)
	if s.resolution == "" {
		s.resolution = defaultResolution
	}

	var reo ReopenConfig
	if cfg.Reopen != nil {
		reo = *cfg.Reopen
	}
	s.reopenName = strings.TrimSpace(reo.Transition)
	s.wontFix = reo.WontFixResolutions
	if s.wontFix == nil {
		s.wontFix = DefaultWontFixResolutions()
	}

	if cfg.ServiceDesk != nil {
		s.desk = *cfg.ServiceDesk
	}
	if s.mode == ModeServiceDesk {
		if cfg.ServiceDesk == nil {
			errf("service_desk block is required with mode = \"service_desk\"", "Add service_desk { service_desk_id = \"…\"  request_type_id = \"…\" }.", "service_desk")
		} else {
			if !numericRE.MatchString(s.desk.ServiceDeskID) {
				errf("service_desk_id must be the numeric id of the service desk", fmt.Sprintf("Got %q; find it with GET /rest/servicedeskapi/servicedesk.", s.desk.ServiceDeskID), "service_desk", "service_desk_id")
			}
			if !numericRE.MatchString(s.desk.RequestTypeID) {
				errf("request_type_id must be the numeric id of the request type", fmt.Sprintf("Got %q; find it with GET /rest/servicedeskapi/servicedesk/{id}/requesttype.", s.desk.RequestTypeID), "service_desk", "request_type_id")
			}
		}
	}
	return s, diags
}

func resolveTLS(s *settings, cfg *TLSConfig, diags *sdk.Diagnostics) {
	var tlsDiags sdk.Diagnostics
	s.tls, tlsDiags = cfg.Config("issues")
	*diags = append(*diags, tlsDiags...)
	s.insecure = s.tls.InsecureSkipVerify
}

func resolveAuth(s *settings, diags *sdk.Diagnostics) {
	a := &s.auth
	check := sdkhttp.AuthCheck{Diags: diags}
	errf, require := check.Errorf, check.Require
	switch a.Type {
	case AuthBasic:
		if s.flavor == FlavorCloud {
			require(a.Email, "email", "Jira Cloud authenticates with the account's e-mail address and an API token.")
			require(a.APIToken, "api_token", "Create one at https://id.atlassian.com/manage-profile/security/api-tokens.")
			if a.Password != "" {
				errf("password is not accepted by Jira Cloud", "Jira Cloud's REST API takes an API token, not the account password: set api_token.", "password")
			}
			return
		}
		if a.Username == "" && a.Email != "" {
			a.Username = a.Email
		}
		require(a.Username, "username", "Basic authentication on Data Center needs a user name.")
		if a.Password == "" && a.APIToken != "" {
			a.Password = a.APIToken
		}
		require(a.Password, "password", "Basic authentication on Data Center needs the user's password.")
	case AuthBearer:
		if s.flavor == FlavorCloud {
			errf("bearer authentication is for Data Center personal access tokens", `On Jira Cloud use type = "basic" with email and api_token.`, "type")
			return
		}
		require(a.Token, "token", "Create a personal access token in Jira: Profile > Personal Access Tokens.")
	case "":
		errf("type is required", `"basic" (Cloud: email + api_token; Data Center: username + password) or "bearer" (Data Center personal access token).`, "type")
	default:
		errf("unknown auth type", fmt.Sprintf("Got %q; use \"basic\" or \"bearer\".", a.Type), "type")
	}
}
