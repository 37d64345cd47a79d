// Package azure is the connector's Azure side: the `azure {}` block of
// connector.hcl (one Config, one Validate), the Entra ID credential the
// connector authenticates to Azure Resource Manager with (azidentity), and
// the ARM client that moves an Azure Monitor alert to Acknowledged or
// Closed (Alerts - Change State). Its [Feedback] is a delivery backend:
// every change it makes goes through the durable, retried, rate-limited
// delivery machinery as a work item of the reserved backend
// [FeedbackBackend], never fire-and-forget.
//
// Package azurefake holds test fakes of Entra ID's token endpoint and of
// ARM's changestate.
package azure

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Credential types of `credential "<type>" {}`.
const (
	CredManagedIdentity   = "managed_identity"
	CredWorkloadIdentity  = "workload_identity"
	CredClientSecret      = "client_secret"
	CredClientCertificate = "client_certificate"
)

// CredentialTypes lists the credential types, in the order the docs give them.
var CredentialTypes = []string{CredManagedIdentity, CredWorkloadIdentity, CredClientSecret, CredClientCertificate}

// Defaults of the `azure {}` block.
const (
	// DefaultAuthority is Entra ID's login endpoint of the public cloud.
	DefaultAuthority = "https://login.microsoftonline.com/"
	// DefaultARMEndpoint is Azure Resource Manager of the public cloud.
	DefaultARMEndpoint = "https://management.azure.com"
	// DefaultRateLimit is changestate calls per second. ARM's throttling
	// refills a principal's write budget at 10 requests a second per
	// subscription; the connector stays under it.
	DefaultRateLimit   = 5
	DefaultMaxInFlight = 4
	// DefaultMaxAge bounds how long one change is retried.
	DefaultMaxAge = 24 * time.Hour
)

// The environment variables the Azure workload identity webhook injects
// into a Kubernetes pod; workload_identity takes its defaults from them.
const (
	EnvClientID           = "AZURE_CLIENT_ID"
	EnvTenantID           = "AZURE_TENANT_ID"
	EnvFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// Config is the `azure {}` block: how the connector authenticates to Azure
// and where Azure Resource Manager is. Start from DefaultConfig and
// overwrite what the block sets, so an explicit zero stays zero. Field
// comments name the attributes; Validate reports problems by those names.
type Config struct {
	// Credential is the `credential "<type>" {}` block.
	Credential Credential
	// Authority is Entra ID's login endpoint (authority); default
	// DefaultAuthority. Sovereign clouds have their own, e.g.
	// https://login.microsoftonline.us/ (Azure Government).
	Authority string
	// ARMEndpoint is Azure Resource Manager (arm_endpoint); default
	// DefaultARMEndpoint, e.g. https://management.usgovcloudapi.net for
	// Azure Government. Tokens are requested for "<arm_endpoint>/.default".
	ARMEndpoint string
	// ARMAudience is the audience of Azure Resource Manager's tokens
	// (arm_audience); empty, the default, means arm_endpoint. Only a
	// private cloud whose Resource Manager has an audience of its own
	// (Azure Stack Hub) needs it.
	ARMAudience string
	// InstanceDiscovery (instance_discovery, default true) lets the
	// credential ask Entra ID whether authority is a known Entra instance
	// before it authenticates. Set it false only for a private cloud
	// (Azure Stack Hub) or a test issuer: the operator then vouches for
	// authority.
	InstanceDiscovery bool
	// RateLimit is changestate calls per second (rate_limit), 0 for none;
	// default DefaultRateLimit.
	RateLimit float64
	// MaxInFlight caps concurrent changestate calls (max_in_flight);
	// default DefaultMaxInFlight.
	MaxInFlight int
	// MaxAttempts dead-letters a change after this many failed attempts
	// (max_attempts); 0, the default, bounds retries by max_age alone.
	MaxAttempts int
	// MaxAge dead-letters a change still failing this long after it became
	// pending (max_age); default DefaultMaxAge.
	MaxAge time.Duration
}

// Credential is the `credential "<type>" {}` block inside `azure {}`.
// Which attributes a type takes: managed_identity { client_id } (optional,
// for a user-assigned identity); workload_identity { client_id, tenant_id,
// token_file } (defaults from AZURE_CLIENT_ID, AZURE_TENANT_ID and
// AZURE_FEDERATED_TOKEN_FILE); client_secret { tenant_id, client_id,
// secret }; client_certificate { tenant_id, client_id, certificate_file,
// password }.
type Credential struct {
	// Type is the block's label, one of CredentialTypes.
	Type     string
	TenantID string
	ClientID string
	// Secret is client_secret's secret; read it with env() or file().
	Secret string
	// CertificateFile is client_certificate's PEM or PKCS#12 file holding
	// the certificate and its private key.
	CertificateFile string
	// Password decrypts CertificateFile's key, when it is encrypted.
	Password string
	// TokenFile is workload_identity's projected service account token.
	TokenFile string
}

// DefaultConfig is the block with every attribute left out and no
// credential.
func DefaultConfig() Config {
	return Config{Authority: DefaultAuthority, ARMEndpoint: DefaultARMEndpoint, InstanceDiscovery: true,
		RateLimit: DefaultRateLimit, MaxInFlight: DefaultMaxInFlight, MaxAge: DefaultMaxAge}
}

// ApplyEnv fills the workload identity attributes the block leaves empty
// from the environment the Azure workload identity webhook injects
// (getenv is os.Getenv outside tests). Other types read no variables.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if c.Credential.Type != CredWorkloadIdentity {
		return
	}
	cr := &c.Credential
	if cr.ClientID == "" {
		cr.ClientID = getenv(EnvClientID)
	}
	if cr.TenantID == "" {
		cr.TenantID = getenv(EnvTenantID)
	}
	if cr.TokenFile == "" {
		cr.TokenFile = getenv(EnvFederatedTokenFile)
	}
}

// FieldError is one problem Validate found, for one attribute of the
// `azure {}` block; Attr is its path inside the block, e.g.
// "credential.client_id".
type FieldError struct {
	Attr string
	Msg  string
}

func (e *FieldError) Error() string { return "azure." + e.Attr + ": " + e.Msg }

// Validate reports every problem in c as a *FieldError, joined. It is the
// only check of the block: `validate` shows its errors against the file,
// and serve refuses a Config that fails it.
func (c Config) Validate() error {
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, &FieldError{Attr: attr, Msg: fmt.Sprintf(format, args...)})
	}
	cr := c.Credential
	need := func(attr, value, why string) {
		if strings.TrimSpace(value) == "" {
			bad("credential."+attr, "credential %q needs %s: %s.", cr.Type, attr, why)
		}
	}
	switch cr.Type {
	case "":
		bad("credential", "the azure block needs a credential \"<type>\" {} block: %s.", strings.Join(CredentialTypes, ", "))
	case CredManagedIdentity:
		for attr, v := range map[string]string{"tenant_id": cr.TenantID, "secret": cr.Secret, "certificate_file": cr.CertificateFile, "password": cr.Password, "token_file": cr.TokenFile} {
			if v != "" {
				bad("credential."+attr, "credential %q takes only client_id (of a user-assigned identity; leave it out for the system-assigned one), not %s.", cr.Type, attr)
			}
		}
	case CredWorkloadIdentity:
		need("client_id", cr.ClientID, "the client ID of the identity federated with the pod's service account (default: the "+EnvClientID+" variable the workload identity webhook sets, which is empty)")
		need("tenant_id", cr.TenantID, "the directory (tenant) ID (default: "+EnvTenantID+", which is empty)")
		need("token_file", cr.TokenFile, "the projected service account token (default: "+EnvFederatedTokenFile+", which is empty)")
		for attr, v := range map[string]string{"secret": cr.Secret, "certificate_file": cr.CertificateFile, "password": cr.Password} {
			if v != "" {
				bad("credential."+attr, "credential %q takes client_id, tenant_id and token_file, not %s.", cr.Type, attr)
			}
		}
	case CredClientSecret:
		need("tenant_id", cr.TenantID, "the directory (tenant) ID of the app registration")
		need("client_id", cr.ClientID, "the app registration's application (client) ID")
		need("secret", cr.Secret, "a client secret of the app registration; read it with env() or file()")
		for attr, v := range map[string]string{"certificate_file": cr.CertificateFile, "password": cr.Password, "token_file": cr.TokenFile} {
			if v != "" {
				bad("credential."+attr, "credential %q takes tenant_id, client_id and secret, not %s.", cr.Type, attr)
			}
		}
	case CredClientCertificate:
		need("tenant_id", cr.TenantID, "the directory (tenant) ID of the app registration")
		need("client_id", cr.ClientID, "the app registration's application (client) ID")
		need("certificate_file", cr.CertificateFile, "a PEM or PKCS#12 file with the certificate uploaded to the app registration and its private key")
		for attr, v := range map[string]string{"secret": cr.Secret, "token_file": cr.TokenFile} {
			if v != "" {
				bad("credential."+attr, "credential %q takes tenant_id, client_id, certificate_file and password, not %s.", cr.Type, attr)
			}
		}
	default:
		bad("credential", "credential type %q is not known; use one of %s.", cr.Type, strings.Join(CredentialTypes, ", "))
	}
	if cr.TenantID != "" && !validTenant(cr.TenantID) {
		bad("credential.tenant_id", "tenant_id %q is not a tenant: give the directory (tenant) ID, a GUID, or a domain such as contoso.onmicrosoft.com.", cr.TenantID)
	}
	if err := checkHTTPS(c.Authority); err != nil {
		bad("authority", "authority %v; the default is %s.", err, DefaultAuthority)
	}
	if err := checkHTTPS(c.ARMEndpoint); err != nil {
		bad("arm_endpoint", "arm_endpoint %v; the default is %s.", err, DefaultARMEndpoint)
	} else if u, _ := url.Parse(c.ARMEndpoint); strings.Trim(u.Path, "/") != "" {
		bad("arm_endpoint", "arm_endpoint %q must be a host without a path, such as %s: alert ids are paths of their own.", c.ARMEndpoint, DefaultARMEndpoint)
	}
	if c.ARMAudience != "" {
		if u, err := url.Parse(c.ARMAudience); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("arm_audience", "arm_audience %q must be an https URL, the audience of the cloud's Resource Manager tokens; leave it out to use arm_endpoint.", c.ARMAudience)
		}
	}
	switch {
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		bad("rate_limit", "rate_limit is changestate calls per second and must be a positive number, or 0 for none; the default is %d.", DefaultRateLimit)
	}
	if c.MaxInFlight < 1 {
		bad("max_in_flight", "max_in_flight must be at least 1; the default is %d.", DefaultMaxInFlight)
	}
	if c.MaxAttempts < 0 {
		bad("max_attempts", "max_attempts must not be negative; 0 means retries are bounded by max_age only.")
	}
	if c.MaxAge <= 0 {
		bad("max_age", "max_age must be positive (default %s): it bounds how long a change of an alert's state is retried.", DefaultMaxAge)
	}
	return errors.Join(errs...)
}

// Audience is Azure Resource Manager's token audience: arm_audience, or
// arm_endpoint when it is not set.
func (c Config) Audience() string {
	if c.ARMAudience != "" {
		return strings.TrimRight(c.ARMAudience, "/")
	}
	return strings.TrimRight(c.ARMEndpoint, "/")
}

// Scope is the token scope for Azure Resource Manager: "<audience>/.default",
// e.g. https://management.azure.com/.default.
func (c Config) Scope() string { return c.Audience() + "/.default" }

// validTenant accepts a GUID or a domain name, what Entra ID takes in a
// token endpoint's path.
func validTenant(t string) bool {
	return t != "" && !strings.ContainsFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	})
}

// checkHTTPS accepts a plain https base URL: azidentity refuses any other
// authority, and a bearer token must not travel in clear text to ARM.
func checkHTTPS(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL: %w", s, err)
	case u.Scheme != "https":
		return fmt.Errorf("%q must use https", s)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%q must be a plain https base URL", s)
	}
	if h := u.Hostname(); strings.ContainsAny(h, " /") || (net.ParseIP(h) == nil && strings.Contains(h, "..")) {
		return fmt.Errorf("%q has an invalid host", s)
	}
	return nil
}
