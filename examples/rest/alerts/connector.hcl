# Generic REST plugin, alerts API style (Opsgenie Alert API): an alert is
# created with an alias (the correlation key) and later acknowledged, noted
# and closed by that alias. The API answers 202 with a request id only, so
# the alias is the work item's identity; lookup reads the alert by alias.
#
# Two backends show the two ways to end an alert: "opsgenie" closes it when
# the Azure alert resolves; "opsgenie_review" only acknowledges it, for
# critical alerts a human closes after review.
#
#   export OPSGENIE_API_KEY=...   # an API integration's key
#   itsm-connector validate -config examples/rest/alerts/connector.hcl

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

plugin "rest" {
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

backend "rest" "opsgenie" {
  config {
    base_url = "https://api.opsgenie.com" # api.eu.opsgenie.com for the EU instance

    auth {
      type           = "api_key"
      api_key_header = "Authorization"
      api_key_prefix = "GenieKey "
      api_key        = env("OPSGENIE_API_KEY")
    }

    create {
      url = "/v2/alerts"
      body = jsonencode({
        message     = substr("[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}", 0, 130)
        alias       = correlation_key
        description = alert.description
        priority    = lookup({ Sev0 = "P1", Sev1 = "P2", Sev2 = "P3", Sev3 = "P4" }, alert.severity_label, "P5")
        entity      = alert.resource.id
        source      = "Azure Monitor"
        tags        = ["azure-monitor", lower(alert.signal_type)]
        details = merge({
          rule           = alert.rule
          resource_group = alert.resource_group
          subscription   = alert.subscription_id
        }, fields)
      })
      success_statuses = [202]
      # No result.id: the alias (the correlation key) identifies the alert.
    }

    lookup {
      url   = "/v2/alerts"
      path  = [correlation_key] # percent-encoded as one segment
      query = { identifierType = "alias" }
      result {
        id              = "data.alias"
        key             = "data.tinyId"
        state           = "data.status"
        resolved_states = ["closed"]
      }
    }

    update {
      url   = "/v2/alerts"
      path  = [correlation_key, "notes"]
      query = { identifierType = "alias" }
      body = jsonencode({
        note   = "Azure Monitor: ${alert.rule} fired again."
        source = "itsm-connector"
      })
      success_statuses = [202]
    }

    resolve {
      url   = "/v2/alerts"
      path  = [correlation_key, "close"]
      query = { identifierType = "alias" }
      body = jsonencode({
        note   = "Resolved in Azure Monitor."
        source = "itsm-connector"
      })
      success_statuses = [202]
    }

    # No reopen: a closed alert cannot be reopened. When the alert fires
    # again the host creates a new one, under the same alias.
  }
}

backend "rest" "opsgenie_review" {
  config {
    base_url = "https://api.opsgenie.com"

    auth {
      type           = "api_key"
      api_key_header = "Authorization"
      api_key_prefix = "GenieKey "
      api_key        = env("OPSGENIE_API_KEY")
    }

    create {
      url = "/v2/alerts"
      body = jsonencode({
        message  = substr("[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}", 0, 130)
        alias    = correlation_key
        priority = "P1"
        entity   = alert.resource.id
        source   = "Azure Monitor"
        tags     = ["azure-monitor", "needs-review"]
      })
      success_statuses = [202]
    }

    lookup {
      url   = "/v2/alerts"
      path  = [correlation_key]
      query = { identifierType = "alias" }
      result {
        id              = "data.alias"
        key             = "data.tinyId"
        state           = "data.status"
        resolved_states = ["closed"]
      }
    }

    # Acknowledge instead of close: the alert stays open for review.
    resolve {
      url   = "/v2/alerts"
      path  = [correlation_key, "acknowledge"]
      query = { identifierType = "alias" }
      body = jsonencode({
        note   = "Resolved in Azure Monitor; acknowledged for review."
        source = "itsm-connector"
      })
      success_statuses = [202]
    }

    # Fired again after review started: a note, not a new alert.
    reopen {
      url   = "/v2/alerts"
      path  = [correlation_key, "notes"]
      query = { identifierType = "alias" }
      body = jsonencode({
        note   = "Azure Monitor: ${alert.rule} fired again."
        source = "itsm-connector"
      })
      success_statuses = [202]
    }
  }
}

route "critical" {
  when            = try(alert.severity <= 1, false)
  send_to         = [backend.rest.opsgenie_review]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  reopen_window   = "7d"
}

route "everything-else" {
  send_to         = [backend.rest.opsgenie]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  fields = {
    team = "platform"
  }
}
