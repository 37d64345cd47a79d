package azure

import (
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Cloud is the azcore cloud configuration of c: its authority and Azure
// Resource Manager's endpoint and audience, so that sovereign clouds and
// test fakes work alike.
func (c Config) Cloud() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: c.Authority,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Audience: c.Audience(), Endpoint: c.ARMEndpoint},
		},
	}
}

// NewCredential builds the credential c.Credential describes, with azidentity.
// transport, when not nil, carries its requests to Entra ID (tests point it
// at a fake that trusts its own certificate); nil uses azcore's default. It
// checks what can be checked without a request (the certificate file, the
// token file's presence is read at each token request); the first token is
// requested with the first change.
func NewCredential(c Config, transport policy.Transporter) (azcore.TokenCredential, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := azcore.ClientOptions{Cloud: c.Cloud()}
	if transport != nil {
		opts.Transport = transport
	}
	cr := c.Credential
	noDiscovery := !c.InstanceDiscovery
	switch cr.Type {
	case CredManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if cr.ClientID != "" {
			o.ID = azidentity.ClientID(cr.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case CredWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts,
			ClientID: cr.ClientID, TenantID: cr.TenantID, TokenFilePath: cr.TokenFile, DisableInstanceDiscovery: noDiscovery})
	case CredClientSecret:
		return azidentity.NewClientSecretCredential(cr.TenantID, cr.ClientID, cr.Secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	case CredClientCertificate:
		data, err := os.ReadFile(cr.CertificateFile)
		if err != nil {
			return nil, &FieldError{Attr: "credential.certificate_file", Msg: fmt.Sprintf("reading %s: %v", cr.CertificateFile, err)}
		}
		var password []byte
		if cr.Password != "" {
			password = []byte(cr.Password)
		}
		certs, key, err := azidentity.ParseCertificates(data, password)
		if err != nil {
			return nil, &FieldError{Attr: "credential.certificate_file", Msg: fmt.Sprintf("%s holds no usable certificate and private key (PEM or PKCS#12; is password right?): %v", cr.CertificateFile, err)}
		}
		return azidentity.NewClientCertificateCredential(cr.TenantID, cr.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	}
	return nil, fmt.Errorf("azure: credential type %q is not known", cr.Type)
}
