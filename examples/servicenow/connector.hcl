# ServiceNow: Azure Monitor alerts become incidents bound to the CMDB by ARM
# resource id, resolved when the alert resolves, reopened when it fires again
# within a day.
#
#   export SNOW_CLIENT_SECRET=... SNOW_PASSWORD=...
#   itsm-connector validate -config examples/servicenow/connector.hcl
#   itsm-connector serve    -config examples/servicenow/connector.hcl

server {
  listen = "0.0.0.0:8443"
  tls {
    cert_file = "/etc/itsm-connector/tls.crt"
    key_file  = "/etc/itsm-connector/tls.key"
  }
}

admin {
  listen = "127.0.0.1:9464"
}

auth "entra_id" {
  tenant_id      = "00000000-0000-0000-0000-000000000000"
  audiences      = ["api://itsm-connector"]
  required_roles = ["ActionGroupsSecureWebhook"]
}

store {
  driver = "sqlite"
  path   = "data/connector.db"
}

plugin_dir = "bin/plugins"

# sha256sum bin/plugins/itsm-connector-plugin-servicenow
plugin "servicenow" {
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

backend "servicenow" "prod" {
  config {
    instance_url = "https://contoso.service-now.com"

    # OAuth via oauth_token.do; the password grant gets a refresh token.
    auth {
      type          = "oauth"
      client_id     = "3f5c0c3a9e2a4a1d8c6b1f0e2d4c6a8b"
      client_secret = env("SNOW_CLIENT_SECRET")
      username      = "svc.itsm-connector"
      password      = env("SNOW_PASSWORD")
    }
    # Or: auth { type = "basic"  username = "..."  password = file("/run/secrets/snow") }
    # Or: auth { type = "api_key"  api_key = env("SNOW_API_KEY") }

    # tls {
    #   ca_cert     = file("/etc/ssl/corp-proxy-ca.pem")
    #   client_cert = file("/etc/itsm-connector/snow-client.crt")   # mutual TLS
    #   client_key  = file("/etc/itsm-connector/snow-client.key")
    # }

    incident {
      caller_id        = "6816f79cc0a8016401c5a33be04be441"  # the integration user
      assignment_group = "287ebd7da9fe198100f92cc8d1d2154e"  # Cloud Operations
      category         = "software"
      contact_type     = "monitoring"
      close_code       = "Solution provided"  # "Solved (Permanently)" before Utah
    }

    # Sev0 → P1 … Sev4 → P5 by default; override per severity.
    severity_map = {
      Sev1 = { urgency = 1, impact = 2 }
    }

    cmdb {
      table       = "cmdb_ci"
      match_order = ["object_id", "name"]
      cache_ttl   = "15m"
      miss_ttl    = "5m"
      # Every bound CI also goes into the incident's Affected CIs (task_ci);
      # the first stays in cmdb_ci. Needs write access to task_ci.
      affected_cis = true
    }
  }
  max_in_flight = 8
  rate_limit    = 20
}

# Event Management instead of incidents: ServiceNow's alert rules decide.
# backend "servicenow" "events" {
#   config {
#     instance_url = "https://contoso.service-now.com"
#     mode         = "event"
#     auth { type = "basic"  username = "svc.em"  password = env("SNOW_EM_PASSWORD") }
#     event { source = "Azure Monitor"  event_class = "itsm-connector" }
#   }
# }

route "prod" {
  when            = startswith(alert.resource_group, "prod-")
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  reopen_window   = "24h"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    u_subscription    = alert.subscription_id
  }
}
