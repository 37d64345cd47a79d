# Generic REST plugin, events API style (PagerDuty Events API v2): every
# alert is an event for a dedup key. A trigger opens an incident (or adds to
# the open one with the same key), a resolve event resolves it. The API
# deduplicates by the key the body carries, so no lookup is needed: the work
# item's id is the dedup key itself.
#
#   export PAGERDUTY_ROUTING_KEY=...   # the service's Events API v2 integration key
#   itsm-connector validate -config examples/rest/events/connector.hcl
#
# docs/plugins/rest.md explains every attribute.

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

# sha256sum bin/plugins/itsm-connector-plugin-rest
plugin "rest" {
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

backend "rest" "pagerduty" {
  config {
    base_url = "https://events.pagerduty.com" # events.eu.pagerduty.com for the EU service region

    # The Events API authenticates by the routing key in the body. Templates
    # cannot call env(), so the plugin writes the secret into every body.
    body_secrets = {
      routing_key = env("PAGERDUTY_ROUTING_KEY")
    }

    create {
      url = "/v2/enqueue"
      body = jsonencode({
        event_action = "trigger"
        dedup_key    = correlation_key # at most 255 characters
        payload = {
          summary   = substr("[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}", 0, 1024)
          source    = alert.resource_name != "" ? alert.resource_name : alert.rule
          severity  = lookup({ Sev0 = "critical", Sev1 = "error", Sev2 = "warning" }, alert.severity_label, "info")
          timestamp = alert.fired_at
          component = alert.resource_type
          group     = alert.resource_group
          class     = alert.signal_type
          custom_details = merge({
            rule         = alert.rule
            description  = alert.description
            resource_id  = alert.resource.id
            subscription = alert.subscription_id
          }, fields)
        }
        client = "Azure Monitor"
      })
      success_statuses = [202]
      result {
        id = "dedup_key" # the API echoes the key; it is the incident's identity
      }
    }

    resolve {
      url = "/v2/enqueue"
      body = jsonencode({
        event_action = "resolve"
        dedup_key    = correlation_key
      })
      success_statuses = [202]
    }

    # No lookup: the dedup key makes a repeated trigger harmless.
    # No update: a stateful Azure alert does not fire twice while it is open.
    # No reopen: when the alert fires again the host sends create again, and
    # the API opens a new incident under the same dedup key.
  }
  rate_limit = 100 # requests per second; PagerDuty throttles bursts with 429
}

route "everything" {
  send_to = [backend.rest.pagerduty]
  # The default correlation key, alert.id: one incident per Azure alert.
  fields = {
    team = "platform"
  }
}
