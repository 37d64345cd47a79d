package config

import (
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/azure"
)

func TestAzureFeedbackConfig(t *testing.T) {
	const azureBlock = `
azure {
  credential "client_secret" {
    tenant_id = "00000000-0000-0000-0000-000000000001"
    client_id = "11111111-1111-1111-1111-111111111111"
    secret    = "s3cret"
  }
  arm_endpoint = "https://management.usgovcloudapi.net"
  authority    = "https://login.microsoftonline.us/"
  rate_limit   = 2
}
`
	const backend = `
auth "none" {}
backend "servicenow" "prod" {
  status_poll_interval = "30s"
  inbound {
    scheme = "servicenow_hmac"
    secret = "0123456789abcdef0123"
  }
}
`
	const route = `
route "r" {
  send_to = [backend.servicenow.prod]
  azure_feedback {
    on_human_resolved = "leave"
    comment           = "${work_item.key} ${work_item.url}"
  }
}
`
	c, diags := Load([]byte(backend+azureBlock+route), "inline.hcl")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", diagText(c, diags))
	}
	a := c.Azure
	if a == nil || a.Credential.Type != azure.CredClientSecret || a.Credential.Secret != "s3cret" || a.ARMEndpoint != "https://management.usgovcloudapi.net" ||
		a.RateLimit != 2 || a.MaxInFlight != azure.DefaultMaxInFlight || !a.InstanceDiscovery {
		t.Errorf("azure %+v", a)
	}
	b := c.Backends[0]
	if b.StatusPollInterval != 30*time.Second || b.Inbound == nil || b.Inbound.Scheme != InboundServiceNowHMAC {
		t.Errorf("backend %+v", b)
	}
	fb := c.Routes[0].AzureFeedback
	if fb == nil || fb.OnCreated != FeedbackAcknowledged || fb.OnHumanResolved != FeedbackLeave || fb.Comment == nil || fb.CloseComment != nil {
		t.Errorf("azure_feedback %+v", fb)
	}

	errs := []struct {
		name, src, want string
	}{
		{"feedback without an azure block", backend + route, `route "r" has an azure_feedback block, but the configuration has no azure {} block`},
		{"no credential", backend + "azure {}\n" + route, "needs a credential"},
		{"a credential's missing attribute", backend + "azure {\n credential \"client_secret\" {\n tenant_id = \"t\"\n client_id = \"c\"\n }\n}\n" + route, "Invalid azure.credential.secret"},
		{"unknown on_created", backend + azureBlock + strings.Replace(route, `on_human_resolved = "leave"`, `on_created = "ack"`, 1), `on_created "ack" of route "r" is not known`},
		{"short inbound secret", strings.Replace(backend, "0123456789abcdef0123", "short", 1) + azureBlock + route, "inbound.secret of backend servicenow.prod must be at least 16"},
		{"unknown scheme", strings.Replace(backend, "servicenow_hmac", "basic", 1) + azureBlock + route, `inbound.scheme "basic"`},
		{"poll too often", strings.Replace(backend, `"30s"`, `"10ms"`, 1) + azureBlock + route, "status_poll_interval of backend servicenow.prod must be at least 1s"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := Load([]byte(tc.src), "inline.hcl")
			if text := diagText(c, diags); !diags.HasErrors() || !strings.Contains(text, tc.want) {
				t.Fatalf("want an error containing %q, got:\n%s", tc.want, text)
			}
		})
	}

	// workload_identity takes what the webhook injects.
	t.Setenv(azure.EnvClientID, "cid")
	t.Setenv(azure.EnvTenantID, "tid")
	t.Setenv(azure.EnvFederatedTokenFile, "/var/run/secrets/azure/tokens/azure-identity-token")
	c, diags = Load([]byte(backend+"azure {\n  credential \"workload_identity\" {}\n}\n"+route), "inline.hcl")
	if diags.HasErrors() {
		t.Fatalf("workload identity:\n%s", diagText(c, diags))
	}
	if cr := c.Azure.Credential; cr.ClientID != "cid" || cr.TenantID != "tid" {
		t.Errorf("workload identity %+v", cr)
	}
}
