package sdkhttp

import (
	"crypto/tls"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// TLSBlock is the `tls {}` block of an HTTP plugin's configuration, as the
// host decodes it against [TLSSchema]. Certificates and keys are PEM text,
// so operators load them with file().
type TLSBlock struct {
	CACert             string `json:"ca_cert"`
	ClientCert         string `json:"client_cert"`
	ClientKey          string `json:"client_key"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

// Config builds the client TLS configuration from the block (nil: none
// written, the defaults) as [TLSOptions.Config] does, with diagnostics at
// tls.*; exposes names what travels besides credentials, for the warning
// about insecure_skip_verify.
func (b *TLSBlock) Config(exposes string) (*tls.Config, sdk.Diagnostics) {
	var t TLSBlock
	if b != nil {
		t = *b
	}
	return TLSOptions{
		CACert: t.CACert, ClientCert: t.ClientCert, ClientKey: t.ClientKey,
		InsecureSkipVerify: t.InsecureSkipVerify, Exposes: exposes,
	}.Config("tls")
}

// TLSSchemaOptions say what differs between plugins' `tls {}` blocks.
type TLSSchemaOptions struct {
	// Doc describes the block.
	Doc string
	// CAExample is the file in ca_cert's example, e.g.
	// "/etc/ssl/corp-ca.pem".
	CAExample string
	// ClientCert declares client_cert and client_key (mutual TLS).
	ClientCert bool
}

// TLSSchema declares the `tls {}` block that [TLSBlock] decodes.
func TLSSchema(o TLSSchemaOptions) sdk.Block {
	attrs := []sdk.Attribute{{Name: "ca_cert", Type: "string",
		Doc: `PEM CA bundle trusted in addition to the system roots, e.g. file("` + o.CAExample + `").`}}
	if o.ClientCert {
		attrs = append(attrs,
			sdk.Attribute{Name: "client_cert", Type: "string", Doc: "PEM client certificate presented for mutual TLS."},
			sdk.Attribute{Name: "client_key", Type: "string", Sensitive: true, Doc: "PEM private key of client_cert."})
	}
	attrs = append(attrs, sdk.Attribute{Name: "insecure_skip_verify", Type: "bool", Default: JSONOf(false),
		Doc: "Turns TLS certificate verification off. Never in production: a warning is returned and an error logged at every start."})
	return sdk.Block{Name: "tls", Nesting: sdk.NestingSingle, Doc: o.Doc, Schema: sdk.Schema{Attributes: attrs}}
}
