package rest

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// Auth types.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthBearer = "bearer"
	AuthAPIKey = "api_key"
	AuthOAuth2 = "oauth2"
)

// Token endpoint client authentication styles.
const (
	clientAuthBasic = sdkhttp.ClientAuthBasic
	clientAuthBody  = sdkhttp.ClientAuthBody
)

// HMAC signature encodings.
const (
	encodingHex    = "hex"
	encodingBase64 = "base64"
)

const (
	defaultAPIKeyHeader = "X-API-Key"
	// headerSourcePrefix marks a result source read from a response header.
	headerSourcePrefix = "header:"
)

// Config is the backend's `config {}` block as the host decodes it against
// [Schema], without the per-alert attributes (they arrive in
// Request.Values, see [Values]). Zero values mean "use the default".
type Config struct {
	BaseURL           string            `json:"base_url"`
	Timeout           string            `json:"timeout"`
	Headers           map[string]string `json:"headers"`
	RetryableStatuses StatusList        `json:"retryable_statuses"`
	BodySecrets       map[string]string `json:"body_secrets"`
	Auth              *AuthConfig       `json:"auth"`
	HMAC              *HMACConfig       `json:"hmac"`
	TLS               *TLSConfig        `json:"tls"`
	Create            *ActionConfig     `json:"create"`
	Lookup            *ActionConfig     `json:"lookup"`
	Update            *ActionConfig     `json:"update"`
	Resolve           *ActionConfig     `json:"resolve"`
	Reopen            *ActionConfig     `json:"reopen"`
	FindCI            *ActionConfig     `json:"find_ci"`
	ReadStatus        *ReadStatusConfig `json:"read_status"`
}

// AuthConfig is the `auth {}` block, the HTTP plugins' shared one; the
// schema declares the attributes the REST plugin accepts.
type AuthConfig = sdkhttp.AuthBlock

// HMACConfig is the `hmac {}` block.
type HMACConfig struct {
	Secret   string `json:"secret"`
	Header   string `json:"header"`
	Encoding string `json:"encoding"`
	Prefix   string `json:"prefix"`
}

// TLSConfig is the `tls {}` block.
type TLSConfig = sdkhttp.TLSBlock

// ActionConfig is the load-time part of an action block.
type ActionConfig struct {
	Method           string        `json:"method"`
	SuccessStatuses  StatusList    `json:"success_statuses"`
	NotFoundStatuses StatusList    `json:"not_found_statuses"`
	Result           *ResultConfig `json:"result"`
	// BodyPath is find_ci's: where the found id goes in the create body.
	BodyPath string `json:"body_path,omitempty"`
	// BodyValue is find_ci's: what is written there, with ${find_ci.id}
	// replaced by the found id.
	BodyValue string `json:"body_value,omitempty"`
	// FieldsPath is update's and reopen's: the object in the body that
	// holds the route's fields, which the route's field policy filters.
	FieldsPath string `json:"fields_path,omitempty"`
	// CommentPath is update's and reopen's: the text in the body that the
	// new values of "comment" fields are appended to.
	CommentPath string `json:"comment_path,omitempty"`
}

// ResultConfig is an action's `result {}` block.
type ResultConfig struct {
	ID             string   `json:"id"`
	IDRegex        string   `json:"id_regex"`
	Key            string   `json:"key"`
	KeyRegex       string   `json:"key_regex"`
	URL            string   `json:"url"`
	URLRegex       string   `json:"url_regex"`
	State          string   `json:"state"`
	ResolvedStates []string `json:"resolved_states"`
	// Error and ErrorRegex name a failure a 2xx answer reports in its body.
	Error      string `json:"error"`
	ErrorRegex string `json:"error_regex"`
	// Attributes are further values kept on the work item, which later
	// templates read as work_item.attributes.<name>.
	Attributes map[string]string `json:"attributes"`
	// URLTemplate builds the work item's URL when the response has none.
	URLTemplate string `json:"url_template"`
}

// settings are a validated Config with defaults applied.
type settings struct {
	base        *url.URL
	timeout     time.Duration
	headers     http.Header
	retryable   statusSet
	bodySecrets []bodySecret
	auth        AuthConfig
	tokenURL    *url.URL
	hmac        *HMACConfig
	tls         *tls.Config
	insecure    bool
	actions     map[string]*action
	readStatus  *statusRead // the read_status block (readstatus.go); nil without it
}

// bodySecret is one body_secrets entry.
type bodySecret struct {
	path  jsonpath.Path
	value string
}

// action is a validated action block.
type action struct {
	name     string
	method   string
	success  statusSet
	notFound statusSet
	id       *source
	key      *source
	url      *source
	state    *source
	resolved map[string]bool
	// failure is where a 2xx answer reports an error (result.error).
	failure *source
	// attrs are further values kept on the work item (result.attributes).
	attrs map[string]*source
	// urlTemplate builds the URL when url gives none (result.url_template).
	urlTemplate *later
	bodyPath    jsonpath.Path // find_ci only
	bodyValue   *later        // find_ci only
	// fieldsPath and commentPath are update's and reopen's (fields_path,
	// comment_path); nil when not set.
	fieldsPath, commentPath *jsonpath.Path
}

// source is where one result value is read: a JSON path or a header, and
// an optional regexp.
type source struct {
	header string // canonical header name, or "" for the body
	path   jsonpath.Path
	re     *regexp.Regexp
}

func (s *source) String() string {
	if s.header != "" {
		return headerSourcePrefix + s.header
	}
	return s.path.String()
}

// methodRE is an HTTP method token, upper case by convention.
var methodRE = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*$`)

// resolveConfig validates cfg and applies defaults. Problems come back as
// diagnostics naming the attribute; warnings do not stop configuration. No
// diagnostic repeats a secret's value.
func resolveConfig(cfg Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	errf := func(summary, detail string, path ...string) {
		diags = append(diags, sdk.AttributeError(summary, detail, path...))
	}
	s := &settings{actions: map[string]*action{}}

	// base_url
	var urlDiags sdk.Diagnostics
	s.base, urlDiags = sdkhttp.BaseURL{Attr: "base_url", Example: "https://api.example.com", Exposes: "alert data"}.Parse(cfg.BaseURL)
	diags = append(diags, urlDiags...)

	s.timeout = sdktext.ParseDuration(cfg.Timeout, sdkhttp.DefaultTimeout, &diags, "timeout")

	s.headers = http.Header{}
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			errf("invalid header name", fmt.Sprintf("Got %q.", k), "headers", k)
			continue
		}
		if strings.ContainsAny(v, "\r\n") {
			errf("header value must not contain line breaks", "", "headers", k)
			continue
		}
		s.headers.Set(k, v)
	}

	retry := cfg.RetryableStatuses
	if retry == nil {
		retry = defaultRetryable
	}
	var err error
	if s.retryable, err = parseStatuses(retry); err != nil {
		errf("invalid retryable status", err.Error(), "retryable_statuses")
	}

	for p, v := range cfg.BodySecrets {
		jp, err := jsonpath.Parse(p)
		if err != nil || jp.IsRoot() {
			detail := "A secret must go under a key, e.g. routing_key or auth.token."
			if err != nil {
				detail = err.Error()
			}
			errf("invalid JSON path in body_secrets", fmt.Sprintf("Key %q: %s", p, detail), "body_secrets")
			continue
		}
		s.bodySecrets = append(s.bodySecrets, bodySecret{path: jp, value: v})
	}

	resolveTLS(s, cfg.TLS, &diags)
	resolveAuth(s, cfg.Auth, &diags)
	if cfg.HMAC != nil {
		h := *cfg.HMAC
		if h.Secret == "" {
			errf("secret is required", "The HMAC signing secret; load it with env() or file().", "hmac", "secret")
		}
		if !validHeaderName(h.Header) {
			errf("header must be a header name", fmt.Sprintf("Got %q, e.g. \"X-Signature-256\".", h.Header), "hmac", "header")
		}
		switch h.Encoding {
		case "":
			h.Encoding = encodingHex
		case encodingHex, encodingBase64:
		default:
			errf(`encoding must be "hex" or "base64"`, fmt.Sprintf("Got %q.", h.Encoding), "hmac", "encoding")
		}
		if strings.ContainsAny(h.Prefix, "\r\n") {
			errf("prefix must not contain line breaks", "", "hmac", "prefix")
		}
		s.hmac = &h
	}

	blocks := map[string]*ActionConfig{
		ActionCreate: cfg.Create, ActionLookup: cfg.Lookup, ActionUpdate: cfg.Update,
		ActionResolve: cfg.Resolve, ActionReopen: cfg.Reopen, ActionFindCI: cfg.FindCI,
	}
	for _, name := range actionNames {
		ac := blocks[name]
		if ac == nil {
			if name == ActionCreate {
				errf("create block is required", `Add create { url = "..." body = jsonencode({...}) }.`, ActionCreate)
			}
			continue
		}
		if a := resolveAction(name, *ac, &diags); a != nil {
			s.actions[name] = a
		}
	}
	checkURLTemplates(s.actions, &diags)
	s.readStatus = resolveReadStatus(cfg.ReadStatus, &diags)
	return s, diags
}

// checkURLTemplates reports a url_template reading an attribute that no
// action's result.attributes keeps.
func checkURLTemplates(actions map[string]*action, diags *sdk.Diagnostics) {
	kept := map[string]bool{}
	for _, a := range actions {
		for k := range a.attrs {
			kept[k] = true
		}
	}
	for _, name := range actionNames {
		a := actions[name]
		if a == nil || a.urlTemplate == nil {
			continue
		}
		for _, ref := range a.urlTemplate.refs {
			if attr, ok := strings.CutPrefix(ref, attributesRefPrefix); ok && !kept[attr] {
				*diags = append(*diags, sdk.AttributeError("url_template reads an attribute no result keeps",
					fmt.Sprintf("${%s}: add %s to a result block's attributes.", ref, attr), name, "result", "url_template"))
			}
		}
	}
}

// resolveAction validates one action block.
func resolveAction(name string, ac ActionConfig, diags *sdk.Diagnostics) *action {
	errf := func(summary, detail string, path ...string) {
		*diags = append(*diags, sdk.AttributeError(summary, detail, append([]string{name}, path...)...))
	}
	a := &action{name: name, method: ac.Method, resolved: map[string]bool{}}
	if a.method == "" {
		a.method = defaultMethods[name]
	}
	if !methodRE.MatchString(a.method) {
		errf("method is not an HTTP method", fmt.Sprintf("Got %q; use an upper-case method such as POST, PUT, PATCH or GET.", ac.Method), "method")
	}
	var err error
	succ := []string(ac.SuccessStatuses)
	if succ == nil {
		succ = defaultSuccess
	}
	if a.success, err = parseStatuses(succ); err != nil {
		errf("invalid success status", err.Error(), "success_statuses")
	}
	nf := []string(ac.NotFoundStatuses)
	if nf == nil {
		nf = defaultNotFound
	}
	if a.notFound, err = parseStatuses(nf); err != nil {
		errf("invalid not-found status", err.Error(), "not_found_statuses")
	}
	for code := range a.notFound.codes {
		if a.success.has(code) {
			errf("a status cannot mean both success and not found", fmt.Sprintf("%d is in success_statuses too.", code), "not_found_statuses")
		}
	}
	if name == ActionFindCI {
		if ac.BodyPath == "" {
			errf("body_path is required", `The JSON path in the create body where the configuration item's id goes, e.g. "ticket.asset_id".`, "body_path")
		} else if a.bodyPath, err = jsonpath.Parse(ac.BodyPath); err != nil {
			errf("invalid JSON path", err.Error(), "body_path")
		} else if a.bodyPath.IsRoot() {
			errf("body_path must name a key", `"$" would replace the whole create body.`, "body_path")
		}
		bv := ac.BodyValue
		if bv == "" {
			bv = "${find_ci.id}"
		}
		if a.bodyValue, err = parseLater(bv, func(ref string) bool { return ref == "find_ci.id" }); err != nil {
			errf("invalid body_value", err.Error()+`. Write the found id as "$${find_ci.id}" (HCL's escape for a literal "${"), e.g. "asset:$${find_ci.id}".`, "body_value")
		}
	} else if ac.BodyValue != "" {
		errf("body_value belongs to find_ci", "", "body_value")
	}
	policyPath := func(attr, src string) *jsonpath.Path {
		if src == "" {
			return nil
		}
		if name != ActionUpdate && name != ActionReopen {
			errf(attr+" belongs to update and reopen", "The route's field policy governs re-fires only: create writes every field, resolve none.", attr)
			return nil
		}
		path, err := jsonpath.Parse(src)
		if err != nil {
			errf("invalid JSON path", err.Error(), attr)
			return nil
		}
		return &path
	}
	a.fieldsPath = policyPath("fields_path", ac.FieldsPath)
	a.commentPath = policyPath("comment_path", ac.CommentPath)
	if a.commentPath != nil && a.commentPath.IsRoot() {
		errf("comment_path must name a key", `"$" would replace the whole body with the comment.`, "comment_path")
	}
	if ac.CommentPath != "" && ac.FieldsPath == "" {
		errf("comment_path needs fields_path", "comment_path says where the new values of the route fields whose policy is \"comment\" go; fields_path says where those fields are in the body.", "comment_path")
	}
	var r ResultConfig
	if ac.Result != nil {
		r = *ac.Result
	}
	a.id = resolveSource(r.ID, r.IDRegex, "id", name, diags)
	a.key = resolveSource(r.Key, r.KeyRegex, "key", name, diags)
	a.url = resolveSource(r.URL, r.URLRegex, "url", name, diags)
	a.state = resolveSource(r.State, "", "state", name, diags)
	for _, st := range r.ResolvedStates {
		a.resolved[st] = true
	}
	// Whether a source is set, not whether it resolved: a malformed one
	// was reported above, at its own line.
	if len(r.ResolvedStates) > 0 && r.State == "" {
		errf("resolved_states needs state", "Set state to where the response carries the item's status.", "result", "resolved_states")
	}
	a.failure = resolveSource(r.Error, r.ErrorRegex, "error", name, diags)
	if len(r.Attributes) > 0 {
		a.attrs = map[string]*source{}
	}
	for k, src := range r.Attributes {
		if !attributeNameRE.MatchString(k) {
			errf("invalid attribute name", fmt.Sprintf("Got %q; use letters, digits and _ (templates read it as work_item.attributes.%s).", k, k), "result", "attributes")
			continue
		}
		if s := resolveSourceAt(src, []string{name, "result", "attributes", k}, diags); s != nil {
			a.attrs[k] = s
		}
	}
	if r.URLTemplate != "" {
		if r.URL == "" {
			// Checked against the attribute names once every action is
			// known; see checkURLTemplates.
			var err error
			if a.urlTemplate, err = parseLater(r.URLTemplate, isWorkItemRef); err != nil {
				errf("invalid url_template", err.Error()+`. Write references as "$${work_item.id}" (HCL's escape for a literal "${").`, "result", "url_template")
			}
		} else {
			errf("url and url_template exclude each other", "url reads the link from the response; url_template builds it when the response has none. Keep one.", "result", "url_template")
		}
	}
	if (name == ActionResolve || name == ActionReopen) && len(r.ResolvedStates) == 0 && r.State != "" {
		errf("state needs resolved_states on "+name, "The answer's state is checked after "+name+": set the values that mean resolved, e.g. [\"solved\", \"closed\"].", "result", "resolved_states")
	}
	if name == ActionFindCI && r.ID == "" {
		errf("find_ci needs result.id", "Set it to where the response carries the configuration item's id.", "result", "id")
	}
	if name == ActionLookup && r.ID == "" {
		errf("lookup needs result.id", "Set it to where the response carries the found item's id; an empty result then means none was found.", "result", "id")
	}
	return a
}

// attributeNameRE is a name templates can read as
// work_item.attributes.<name>.
var attributeNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolveSource validates a result source and its regexp.
func resolveSource(src, re, field, action string, diags *sdk.Diagnostics) *source {
	if src == "" {
		if re != "" {
			*diags = append(*diags, sdk.AttributeError(field+"_regex needs "+field, "", action, "result", field+"_regex"))
		}
		return nil
	}
	s := resolveSourceAt(src, []string{action, "result", field}, diags)
	if s == nil || re == "" {
		return s
	}
	compiled, err := regexp.Compile(re)
	switch {
	case err != nil:
		*diags = append(*diags, sdk.AttributeError("invalid regexp", err.Error(), action, "result", field+"_regex"))
		return nil
	case compiled.NumSubexp() > 1:
		*diags = append(*diags, sdk.AttributeError("regexp has more than one capture group",
			"The first group's match is used; make the others non-capturing with (?:...).", action, "result", field+"_regex"))
		return nil
	}
	s.re = compiled
	return s
}

// resolveSourceAt validates a source (a JSON path or header:<Name>) at the
// attribute path.
func resolveSourceAt(src string, path []string, diags *sdk.Diagnostics) *source {
	s := &source{}
	if name, ok := strings.CutPrefix(src, headerSourcePrefix); ok {
		name = strings.TrimSpace(name)
		if !validHeaderName(name) {
			*diags = append(*diags, sdk.AttributeError("invalid header name", fmt.Sprintf("Got %q; write \"header:Location\".", src), path...))
			return nil
		}
		s.header = textproto.CanonicalMIMEHeaderKey(name)
		return s
	}
	p, err := jsonpath.Parse(src)
	if err != nil {
		*diags = append(*diags, sdk.AttributeError("invalid JSON path", fmt.Sprintf("%q: %v.", src, err), path...))
		return nil
	}
	s.path = p
	return s
}

// resolveTLS builds the TLS client configuration.
func resolveTLS(s *settings, cfg *TLSConfig, diags *sdk.Diagnostics) {
	var tlsDiags sdk.Diagnostics
	s.tls, tlsDiags = cfg.Config("alert data")
	*diags = append(*diags, tlsDiags...)
	s.insecure = s.tls.InsecureSkipVerify
}

// resolveAuth validates the auth block.
func resolveAuth(s *settings, cfg *AuthConfig, diags *sdk.Diagnostics) {
	if cfg == nil {
		s.auth = AuthConfig{Type: AuthNone}
		return
	}
	s.auth = *cfg
	a := &s.auth
	check := sdkhttp.AuthCheck{Diags: diags}
	errf, require := check.Errorf, check.Require
	switch a.Type {
	case AuthNone:
	case AuthBasic:
		require(a.Username, "username", "Basic authentication needs a user name.")
		require(a.Password, "password", "Basic authentication needs a password.")
	case AuthBearer:
		require(a.Token, "token", "Bearer authentication needs a token; load it with env() or file().")
	case AuthAPIKey:
		require(a.APIKey, "api_key", "API key authentication needs the key; load it with env() or file().")
		if a.APIKeyHeader == "" {
			a.APIKeyHeader = defaultAPIKeyHeader
		}
		if !validHeaderName(a.APIKeyHeader) {
			errf("api_key_header must be a header name", fmt.Sprintf("Got %q.", a.APIKeyHeader), "api_key_header")
		}
		if strings.ContainsAny(a.APIKeyPrefix, "\r\n") {
			errf("api_key_prefix must not contain line breaks", "", "api_key_prefix")
		}
	case AuthOAuth2:
		require(a.ClientID, "client_id", "The client credentials grant needs a client id.")
		require(a.ClientSecret, "client_secret", "The client credentials grant needs a client secret.")
		if a.TokenURL == "" {
			require(a.TokenURL, "token_url", "The OAuth 2.0 token endpoint, e.g. \"https://login.example.com/oauth2/token\".")
		} else {
			s.tokenURL = check.TokenURL(a.TokenURL, fmt.Sprintf("Got %q.", a.TokenURL))
		}
		switch a.ClientAuth {
		case "":
			a.ClientAuth = clientAuthBasic
		case clientAuthBasic, clientAuthBody:
		default:
			errf(`client_auth must be "basic" or "body"`, fmt.Sprintf("Got %q.", a.ClientAuth), "client_auth")
		}
		for k := range a.TokenParams {
			switch k {
			case "grant_type", "client_id", "client_secret", "scope":
				errf("token_params must not set "+k, "The plugin sets it from the other auth attributes.", "token_params")
			}
		}
	case "":
		errf("type is required", `One of "none", "basic", "bearer", "api_key", "oauth2".`, "type")
	default:
		errf("unknown auth type", fmt.Sprintf("Got %q; use \"none\", \"basic\", \"bearer\", \"api_key\" or \"oauth2\".", a.Type), "type")
	}
}

// validHeaderName reports whether name is an HTTP header field name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// secrets lists the sensitive values of cfg, for redaction.
func (c Config) secrets() []string {
	var out []string
	if c.Auth != nil {
		out = append(out, c.Auth.Secrets()...)
	}
	if c.HMAC != nil {
		out = append(out, c.HMAC.Secret)
	}
	if c.TLS != nil {
		out = append(out, c.TLS.ClientKey)
	}
	for _, v := range c.BodySecrets {
		out = append(out, v)
	}
	return out
}
