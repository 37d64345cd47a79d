package devissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/itsm-connector/itsm-connector/host/entra"
)

// Dev-mode defaults, fixed so that `serve -dev` and the `token` / `send`
// commands agree without any setup. They are not real tenants or apps.
const (
	// DevTenantID is the tenant of dev tokens.
	DevTenantID = "00000000-0000-4000-8000-00000000de00"
	// DevAudience is the App ID URI dev v1 tokens are minted for.
	DevAudience = "api://itsm-connector-dev"
	// DevClientID is the client ID dev v2 tokens are minted for.
	DevClientID = "00000000-0000-4000-8000-00000000de01"
	// DevServicePrincipalID is the object ID (oid, sub) of the calling
	// service principal in dev tokens.
	DevServicePrincipalID = "00000000-0000-4000-8000-00000000de02"
	// DefaultRole is the app role dev tokens carry.
	DefaultRole = "ActionGroupsSecureWebhook"
	// DefaultLifetime is how long a dev token is valid.
	DefaultLifetime = time.Hour
	// rsaBits is the size of the signing key.
	rsaBits = 2048
)

// Options configure a Minter and, through Start, an Issuer.
type Options struct {
	// KeyFile is a PEM (PKCS #8) RSA key, created with mode 0600 when
	// missing, so that separate processes sign with the same key. Empty
	// means a fresh key held in memory only.
	KeyFile string
	// TenantID defaults to DevTenantID.
	TenantID string
	// Audience (the App ID URI, aud of v1 tokens) defaults to DevAudience.
	Audience string
	// ClientID (aud of v2 tokens) defaults to DevClientID.
	ClientID string
	// Addr is the loopback address the issuer listens on; default
	// 127.0.0.1:0 (any free port). Start only.
	Addr string
}

func (o Options) withDefaults() Options {
	if o.TenantID == "" {
		o.TenantID = DevTenantID
	}
	if o.Audience == "" {
		o.Audience = DevAudience
	}
	if o.ClientID == "" {
		o.ClientID = DevClientID
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	return o
}

// Minter signs dev tokens shaped like the ones Entra ID issues to Azure
// Monitor action groups. It needs no running issuer: its issuers are
// fixed (see V1Issuer and V2Issuer), so a separate process sharing the key
// file mints tokens that `serve -dev` accepts.
type Minter struct {
	opts Options
	key  *rsa.PrivateKey
	kid  string
}

// NewMinter loads or creates the signing key of opts.KeyFile.
func NewMinter(opts Options) (*Minter, error) {
	opts = opts.withDefaults()
	var key *rsa.PrivateKey
	var err error
	if opts.KeyFile == "" {
		key, err = rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generating the dev signing key: %w", err)
		}
	} else if key, err = loadOrCreateKey(opts.KeyFile); err != nil {
		return nil, err
	}
	return &Minter{opts: opts, key: key, kid: thumbprint(&key.PublicKey)}, nil
}

// TenantID is the tenant of the tokens.
func (m *Minter) TenantID() string { return m.opts.TenantID }

// Audience is the App ID URI, the aud of v1 tokens.
func (m *Minter) Audience() string { return m.opts.Audience }

// ClientID is the client ID, the aud of v2 tokens.
func (m *Minter) ClientID() string { return m.opts.ClientID }

// KeyID is the kid (and x5t) of the signing key.
func (m *Minter) KeyID() string { return m.kid }

// V1Issuer is the iss of v1 tokens, as Entra ID publishes it.
func (m *Minter) V1Issuer() string { return "https://sts.windows.net/" + m.opts.TenantID + "/" }

// V2Issuer is the iss of v2 tokens, as Entra ID publishes it for the
// public cloud (the dev issuer publishes it whatever its own address).
func (m *Minter) V2Issuer() string {
	return entra.DefaultAuthority + "/" + m.opts.TenantID + "/v2.0"
}

// MintOptions shape one token. Zero fields take the defaults of an Azure
// Monitor action-group token.
type MintOptions struct {
	// Version is "1.0" (default, what action groups send unless the app
	// accepts v2 tokens) or "2.0".
	Version string
	// TenantID (tid) defaults to the minter's tenant.
	TenantID string
	// Audience (aud) defaults to the App ID URI for v1, the client ID for v2.
	Audience string
	// AppID (appid in v1, azp in v2) defaults to entra.AzureMonitorAppID.
	AppID string
	// Roles defaults to [DefaultRole] when nil; an empty non-nil slice
	// mints a token without roles.
	Roles []string
	// Issuer (iss) defaults to the issuer of Version.
	Issuer string
	// IssuedAt (iat, nbf) defaults to now.
	IssuedAt time.Time
	// Lifetime (exp - iat) defaults to DefaultLifetime.
	Lifetime time.Duration
	// Claims and Header set claims and header fields after the defaults;
	// a nil value removes the field. For deliberately wrong tokens.
	Claims map[string]any
	Header map[string]any
}

// Mint signs a token with RS256.
func (m *Minter) Mint(o MintOptions) (string, error) {
	ver := o.Version
	if ver == "" {
		ver = entra.Version1
	}
	if ver != entra.Version1 && ver != entra.Version2 {
		return "", fmt.Errorf("mint: version %q is not \"1.0\" or \"2.0\"", ver)
	}
	tid := or(o.TenantID, m.opts.TenantID)
	iat := o.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	life := o.Lifetime
	if life == 0 {
		life = DefaultLifetime
	}
	roles := o.Roles
	if roles == nil {
		roles = []string{DefaultRole}
	}
	app := or(o.AppID, entra.AzureMonitorAppID)

	header := map[string]any{"typ": "JWT", "alg": "RS256", "kid": m.kid}
	claims := map[string]any{
		"iat":   iat.Unix(),
		"nbf":   iat.Unix(),
		"exp":   iat.Add(life).Unix(),
		"aio":   "dev",
		"oid":   DevServicePrincipalID,
		"sub":   DevServicePrincipalID,
		"rh":    "dev",
		"tid":   tid,
		"uti":   newUTI(),
		"ver":   ver,
		"roles": roles,
	}
	if ver == entra.Version1 {
		header["x5t"] = m.kid
		iss := or(o.Issuer, "https://sts.windows.net/"+tid+"/")
		claims["iss"] = iss
		claims["idp"] = iss
		claims["aud"] = or(o.Audience, m.opts.Audience)
		claims["appid"] = app
		claims["appidacr"] = "2"
	} else {
		claims["iss"] = or(o.Issuer, entra.DefaultAuthority+"/"+tid+"/v2.0")
		claims["aud"] = or(o.Audience, m.opts.ClientID)
		claims["azp"] = app
		claims["azpacr"] = "2"
		claims["idtyp"] = "app"
	}
	if len(roles) == 0 {
		delete(claims, "roles")
	}
	override(header, o.Header)
	override(claims, o.Claims)
	return Sign(m.key, header, claims)
}

// Sign encodes header and claims and signs them with RS256, whatever the
// header's alg says (tests use it to mint tokens that lie about it).
func Sign(key *rsa.PrivateKey, header, claims map[string]any) (string, error) {
	signed, err := EncodeUnsigned(header, claims)
	if err != nil {
		return "", err
	}
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the token: %w", err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// EncodeUnsigned returns the JWT signing input: base64url(header) "."
// base64url(claims).
func EncodeUnsigned(header, claims map[string]any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encoding the token header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding the token claims: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb), nil
}

// PublicKey is the key tokens verify with.
func (m *Minter) PublicKey() *rsa.PublicKey { return &m.key.PublicKey }

// jwk is the key as published in the JWKS, shaped like Entra's entries.
func (m *Minter) jwk() map[string]any {
	return JWK(&m.key.PublicKey, m.kid)
}

// JWK renders pub as an Entra-style JWKS entry with kid and x5t set to kid.
func JWK(pub *rsa.PublicKey, kid string) map[string]any {
	return map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": kid,
		"x5t": kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// thumbprint is the RFC 7638 JWK thumbprint of pub, used as its kid.
func thumbprint(pub *rsa.PublicKey) string {
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// loadOrCreateKey reads path, or creates it atomically (so two processes
// starting together end up with the same key).
func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if key, err := readKey(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of the dev signing key: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generating the dev signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the dev signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".devkey-*")
	if err != nil {
		return nil, fmt.Errorf("writing the dev signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing the dev signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing the dev signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing the dev signing key: %w", err)
	}
	// Link fails if another process created the file first: use theirs.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readKey(path)
		}
		return nil, fmt.Errorf("writing the dev signing key %s: %w", path, err)
	}
	return key, nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the dev signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("dev signing key %s: not a PEM \"PRIVATE KEY\" block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev signing key %s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dev signing key %s: not an RSA key", path)
	}
	if key.N.BitLen() < rsaBits {
		return nil, fmt.Errorf("dev signing key %s: %d-bit RSA key, at least %d required", path, key.N.BitLen(), rsaBits)
	}
	return key, nil
}

func newUTI() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func override(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}
