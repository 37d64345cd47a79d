# Jira: Azure Monitor alerts become Jira issues, commented when the alert
# fires again, moved to Done when it resolves, and reopened when it fires
# again within a day. A second backend raises Jira Service Management
# requests for the service desk.
#
#   export JIRA_API_TOKEN=...
#   itsm-connector validate -config examples/jira/connector.hcl
#   itsm-connector serve    -config examples/jira/connector.hcl

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

# sha256sum bin/plugins/itsm-connector-plugin-jira
plugin "jira" {
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

backend "jira" "ops" {
  config {
    url    = "https://contoso.atlassian.net"
    flavor = "cloud" # REST v3, Atlassian Document Format

    # Jira Cloud: the account's e-mail address and an API token.
    auth {
      type      = "basic"
      email     = "azure-alerts@contoso.com"
      api_token = env("JIRA_API_TOKEN")
    }
    # Data Center instead:
    #   url    = "https://jira.contoso.com"
    #   flavor = "datacenter"
    #   auth { type = "bearer"  token = file("/run/secrets/jira_pat") }
    #   tls  { ca_cert = file("/etc/ssl/contoso-ca.pem") }

    project    = "OPS"
    issue_type = "Incident"
    labels     = ["azure-monitor"]
    components = ["Cloud"]

    # Sev0 → Highest … Sev4 → Lowest by default; "" sends no priority.
    priority_map = {
      Sev1 = "Highest"
    }

    # After a create whose answer was lost, wait this long for Jira's search
    # index before looking the issue up (so it is not created twice).
    search_consistency_delay = "10s"

    correlation {
      label_prefix = "itsm-" # label itsm-<16 hex of SHA-256(correlation key)>
      # field      = "Alert correlation key" # or a single-line text custom field
    }

    comments {
      min_interval = "10m" # at most one re-fire comment per issue every 10 minutes
    }

    resolve {
      # transition = "Resolve Issue" # default: first transition to a Done status
      resolution = "Done"
    }

    reopen {
      # transition         = "Reopen" # default: first transition to To Do, else In Progress
      wont_fix_resolutions = ["Won't Do", "Won't Fix", "Duplicate"]
    }
  }
  max_in_flight = 4
  rate_limit    = 10
}

# Jira Service Management: requests on the IT service desk.
backend "jira" "servicedesk" {
  config {
    url    = "https://contoso.atlassian.net"
    flavor = "cloud"
    mode   = "service_desk"
    auth {
      type      = "basic"
      email     = "azure-alerts@contoso.com"
      api_token = env("JIRA_API_TOKEN")
    }
    service_desk {
      service_desk_id = "2"
      request_type_id = "17" # "Report a system problem"
    }
  }
}

route "prod" {
  when            = startswith(alert.resource_group, "prod-")
  send_to         = [backend.jira.ops]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  reopen_window   = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    # Custom fields by name; the plugin resolves them to ids.
    "Team"           = "Platform"
    "Azure resource" = alert.resource.id
    labels           = ["sub-${alert.subscription_id}"]
  }
}

route "service-health" {
  when            = alert.monitoring_service == "ServiceHealth"
  send_to         = [backend.jira.servicedesk]
  correlation_key = alert.id
}
