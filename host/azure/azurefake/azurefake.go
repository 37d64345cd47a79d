// Package azurefake is a fake of the two Azure services the connector's
// Azure side talks to, on one real loopback HTTPS server (azidentity
// refuses an authority without https), for tests:
//
//   - Entra ID as MSAL reaches a tenant's authority with instance
//     discovery off: GET /{tenant}/v2.0/.well-known/openid-configuration
//     (the tenant's OpenID metadata, whose token_endpoint it then uses) and
//     POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials,
//     authenticated by a client secret, a federated token
//     (client_assertion_type jwt-bearer, what workload identity sends) or a
//     certificate (a JWT assertion signed with the registered certificate's
//     key). It answers Entra's error envelope ({"error", "error_description":
//     "AADSTS…", "error_codes"}) with its status codes: 400 for an unknown
//     tenant (AADSTS90002), client (AADSTS700016) or scope (AADSTS70011),
//     401 for a wrong secret (AADSTS7000215) or assertion;
//   - an App Service style managed identity endpoint: GET /msi/token
//     with api-version=2019-08-01, resource and the X-IDENTITY-HEADER
//     secret (IDENTITY_ENDPOINT and IDENTITY_HEADER point azidentity at
//     it);
//   - Azure Resource Manager's Alerts - Change State: POST
//     /subscriptions/{guid}/providers/Microsoft.AlertsManagement/alerts/{guid}/changestate
//     with api-version=2019-05-05-preview and newState New, Acknowledged or
//     Closed (ARM lets a caller move an alert between any of them), a
//     Comments body ({"comments": "…"}) and a bearer token the fake issued
//     for ARM's audience (https://management.azure.com unless set), not
//     expired. ARM's error envelope {"error":{"code","message"}}: 401
//     InvalidAuthenticationToken(Audience), 400 for a bad api-version,
//     state or body, 404 ResourceNotFound for an alert it does not hold
//     (Seed adds alerts; Options.AutoCreate holds every well-formed id),
//     and 403 AuthorizationFailed for a principal Deny names.
//
// Every request is recorded (Requests, Changes); faults injected with
// FailNext and FailAll answer ARM requests only, never the token
// endpoints. A Server is safe for concurrent use.
package azurefake

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// APIVersion is the changestate api-version the fake accepts.
const APIVersion = "2019-05-05-preview"

// DefaultAudience is Azure Resource Manager's token audience.
const DefaultAudience = "https://management.azure.com"

// Options configure the fake. Register the principals the tests use.
type Options struct {
	// Tenant is the directory the token endpoint serves; default
	// "00000000-0000-0000-0000-00000000aaaa".
	Tenant string
	// Secrets maps client ids to their client secrets.
	Secrets map[string]string
	// FederatedTokens maps client ids to the federated (service account)
	// token each accepts as its client assertion.
	FederatedTokens map[string]string
	// Certificates maps client ids to their uploaded certificate.
	Certificates map[string]*x509.Certificate
	// ManagedIdentities maps managed identity client ids to whether they
	// exist; "" is the system-assigned identity. IdentityHeader is the
	// secret App Service gives in IDENTITY_HEADER.
	ManagedIdentities map[string]bool
	IdentityHeader    string
	// Audience is ARM's token audience; default DefaultAudience.
	Audience string
	// TokenTTL is the access tokens' lifetime; default one hour.
	TokenTTL time.Duration
	// AutoCreate makes every well-formed alert id exist, New.
	AutoCreate bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Change is one changestate request ARM accepted.
type Change struct {
	AlertID  string
	State    string
	Comments string
	// Principal is the client id the token was issued to.
	Principal string
	At        time.Time
}

// Server is a running fake.
type Server struct {
	fakehttp.Base

	opts Options

	mu      sync.Mutex
	tokens  map[string]token
	alerts  map[string]string // lower-cased alert id → state
	changes []Change
	denied  map[string]bool
	issued  int
}

type token struct {
	aud, principal string
	expires        time.Time
}

// New starts a fake with opts.
func New(opts Options) *Server {
	if opts.Tenant == "" {
		opts.Tenant = "00000000-0000-0000-0000-00000000aaaa"
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, tokens: map[string]token{}, alerts: map[string]string{}, denied: map[string]bool{}}
	mux := http.HandlerFunc(s.route)
	s.Start(s.Logged(mux), fakehttp.ServeOptions{TLS: true, Now: opts.Now})
	return s
}

// route dispatches by path: the ARM paths begin with /subscriptions/, the
// token endpoints with the tenant.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/subscriptions/"):
		s.changeState(w, r)
	case p == "/msi/token" && r.Method == http.MethodGet:
		s.managedIdentity(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration") && r.Method == http.MethodGet:
		s.metadata(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/v2.0/.well-known/openid-configuration"))
	case strings.HasSuffix(p, "/oauth2/v2.0/token") && r.Method == http.MethodPost:
		s.token(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/oauth2/v2.0/token"))
	default:
		armError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("No HTTP resource was found that matches the request URI '%s %s'.", r.Method, p))
	}
}

// Tenant is the tenant the token endpoint serves.
func (s *Server) Tenant() string { return s.opts.Tenant }

// Authority is the fake's authority URL, for the azure block's authority.
func (s *Server) Authority() string { return s.URL + "/" }

// ManagedIdentityEndpoint is the value for IDENTITY_ENDPOINT.
func (s *Server) ManagedIdentityEndpoint() string { return s.URL + "/msi/token" }

// Seed makes alertID exist in state New.
func (s *Server) Seed(alertID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts[strings.ToLower(alertID)] = "New"
}

// State is alertID's state, "" when the fake does not hold it.
func (s *Server) State(alertID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alerts[strings.ToLower(alertID)]
}

// Changes lists the accepted changes, oldest first.
func (s *Server) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Change(nil), s.changes...)
}

// ChangesOf lists the accepted changes of alertID, oldest first.
func (s *Server) ChangesOf(alertID string) []Change {
	var out []Change
	for _, c := range s.Changes() {
		if strings.EqualFold(c.AlertID, alertID) {
			out = append(out, c)
		}
	}
	return out
}

// Deny makes ARM answer 403 AuthorizationFailed to principal (a client id,
// or "" for the system-assigned managed identity), as for an identity
// without a role that has the changestate action; Allow undoes it.
func (s *Server) Deny(principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[principal] = true
}

// Allow undoes Deny.
func (s *Server) Allow(principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, principal)
}

// TokensIssued counts the access tokens issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

func (s *Server) tenantOK(w http.ResponseWriter, t string) bool {
	if !strings.EqualFold(t, s.opts.Tenant) {
		entraError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", t))
		return false
	}
	return true
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request, tenant string) {
	if !s.tenantOK(w, tenant) {
		return
	}
	base := s.URL + "/" + s.opts.Tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"tenant_region_scope":                   "EU",
	})
}

// clientAssertionType is the client_assertion_type of a JWT assertion.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if !s.tenantOK(w, tenant) {
		return
	}
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
		return
	}
	id := f.Get("client_id")
	if want := s.opts.Audience + "/.default"; !scopeFor(f.Get("scope"), want) {
		entraError(w, http.StatusBadRequest, "invalid_scope", 70011,
			fmt.Sprintf("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: %q (this tenant serves %q).", f.Get("scope"), want))
		return
	}
	secret, hasSecret := s.opts.Secrets[id]
	fed, hasFed := s.opts.FederatedTokens[id]
	cert, hasCert := s.opts.Certificates[id]
	if !hasSecret && !hasFed && !hasCert {
		entraError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, s.opts.Tenant))
		return
	}
	switch {
	case f.Get("client_secret") != "":
		if !hasSecret || f.Get("client_secret") != secret {
			entraError(w, http.StatusUnauthorized, "invalid_client", 7000215,
				"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+id+"'.")
			return
		}
	case f.Get("client_assertion_type") == clientAssertionType && f.Get("client_assertion") != "":
		a := f.Get("client_assertion")
		switch {
		case hasFed && a == fed:
		case hasCert && s.validAssertion(a, id, cert):
		default:
			entraError(w, http.StatusUnauthorized, "invalid_client", 700027,
				"Client assertion failed signature validation, or no federated credential of app '"+id+"' matches it.")
			return
		}
	default:
		entraError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	s.issue(w, id, false)
}

// scopeFor reports whether scope asks for resource (MSAL adds the OpenID
// scopes openid, offline_access and profile, which Entra ignores for
// client credentials).
func scopeFor(scope, resource string) bool {
	found := false
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case resource:
			found = true
		case "openid", "offline_access", "profile":
		default:
			return false
		}
	}
	return found
}

// validAssertion checks a certificate credential's assertion: a JWT
// signed with cert's key, for this token endpoint, by client id.
func (s *Server) validAssertion(a, id string, cert *x509.Certificate) bool {
	endpoint := s.URL + "/" + s.opts.Tenant + "/oauth2/v2.0/token"
	tok, err := jwt.Parse(a, func(*jwt.Token) (any, error) { return cert.PublicKey, nil },
		jwt.WithAudience(endpoint), jwt.WithIssuer(id), jwt.WithSubject(id), jwt.WithTimeFunc(s.opts.Now))
	return err == nil && tok.Valid
}

func (s *Server) issue(w http.ResponseWriter, principal string, managed bool) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	access := "fake-" + hex.EncodeToString(b)
	now := s.opts.Now()
	s.mu.Lock()
	s.tokens[access] = token{aud: s.opts.Audience, principal: principal, expires: now.Add(s.opts.TokenTTL)}
	s.issued++
	s.mu.Unlock()
	secs := int(s.opts.TokenTTL / time.Second)
	if managed {
		writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "resource": s.opts.Audience,
			"expires_on": strconv.FormatInt(now.Add(s.opts.TokenTTL).Unix(), 10), "client_id": principal})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": access})
}

func (s *Server) managedIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case s.opts.IdentityHeader == "" || r.Header.Get("X-IDENTITY-HEADER") != s.opts.IdentityHeader:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "Unauthorized: missing or wrong X-IDENTITY-HEADER"})
		return
	case q.Get("api-version") != "2019-08-01":
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "api-version 2019-08-01 is required"})
		return
	case q.Get("resource") != s.opts.Audience:
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": fmt.Sprintf("resource %q is not %q", q.Get("resource"), s.opts.Audience)})
		return
	}
	id := q.Get("client_id")
	if !s.opts.ManagedIdentities[id] {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": fmt.Sprintf("No managed identity with client_id %q is assigned to this resource.", id)})
		return
	}
	s.issue(w, id, true)
}

// changeStatePath is an alert's changestate path.
var changeStatePath = regexp.MustCompile(`(?i)^(/subscriptions/[0-9a-f-]{36}/providers/Microsoft\.AlertsManagement/alerts/[0-9a-f-]{36})/changestate$`)

func (s *Server) changeState(w http.ResponseWriter, r *http.Request) {
	m := changeStatePath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		armError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("No HTTP resource was found that matches the request URI '%s %s'.", r.Method, r.URL.Path))
		return
	}
	alertID := m[1]
	tok, ok := s.bearer(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != APIVersion {
		armError(w, http.StatusBadRequest, "NoRegisteredProviderFound",
			fmt.Sprintf("No registered resource provider found for location 'global' and API version '%s' for type 'alerts'. The supported api-versions are '%s'.", v, APIVersion))
		return
	}
	state := q.Get("newState")
	switch state {
	case "New", "Acknowledged", "Closed":
	default:
		armError(w, http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("The value '%s' is not valid for newState; use New, Acknowledged or Closed.", state))
		return
	}
	var body struct {
		Comments *string `json:"comments"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(strings.TrimSpace(string(raw))) > 0 {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			armError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("The content media type '%s' is not supported. Only 'application/json' is supported.", ct))
			return
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			armError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
			return
		}
	}
	if f, ok := s.NextFault(); ok {
		f.Write(w, "application/json", func(w http.ResponseWriter, status int) {
			armError(w, status, http.StatusText(status), "An injected fault.")
		})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[tok.principal] {
		armError(w, http.StatusForbidden, "AuthorizationFailed",
			fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action 'Microsoft.AlertsManagement/alerts/changestate/action' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
				tok.principal, tok.principal, alertID))
		return
	}
	key := strings.ToLower(alertID)
	if _, ok := s.alerts[key]; !ok {
		if !s.opts.AutoCreate {
			armError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The alert '%s' could not be found.", alertID))
			return
		}
		s.alerts[key] = "New"
	}
	s.alerts[key] = state
	c := Change{AlertID: alertID, State: state, Principal: tok.principal, At: s.opts.Now()}
	if body.Comments != nil {
		c.Comments = *body.Comments
	}
	s.changes = append(s.changes, c)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": alertID, "type": "Microsoft.AlertsManagement/alerts", "name": "alert",
		"properties": map[string]any{"essentials": map[string]any{"alertState": state, "monitorCondition": "Fired",
			"lastModifiedDateTime": s.opts.Now().UTC().Format(time.RFC3339), "lastModifiedUserName": tok.principal}},
	})
}

func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (token, bool) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.URL+`/`+s.opts.Tenant+`", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return token{}, false
	}
	s.mu.Lock()
	t, known := s.tokens[raw]
	s.mu.Unlock()
	switch {
	case !known:
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return token{}, false
	case t.aud != s.opts.Audience:
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.", t.aud, s.opts.Audience))
		return token{}, false
	case !s.opts.Now().Before(t.expires):
		armError(w, http.StatusUnauthorized, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.")
		return token{}, false
	}
	return t, true
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-failure-cause", "gateway")
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2025-01-01 00:00:00Z", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         "2025-01-01 00:00:00Z",
		"trace_id":          "00000000-0000-0000-0000-000000000000",
		"correlation_id":    "00000000-0000-0000-0000-000000000000",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
