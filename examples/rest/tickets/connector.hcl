# Generic REST plugin, ticket API style: create answers 201 Created with the
# ticket's id (read here from the Location header), later calls put that id
# in the URL, resolving is a status change and reopening sets the status
# back. Lookup searches by the external id the create body stamps, so a
# crash between "created remotely" and "recorded" never opens a duplicate.
# A CMDB search binds the ticket to the alert's resource first.
#
#   export TICKETS_CLIENT_SECRET=...
#   itsm-connector validate -config examples/rest/tickets/connector.hcl

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

backend "rest" "helpdesk" {
  config {
    base_url = "https://helpdesk.example.com"
    timeout  = "20s"
    headers = {
      "X-Api-Version" = "2"
    }

    # OAuth 2.0 client credentials; the token is cached until it expires.
    auth {
      type          = "oauth2"
      token_url     = "https://helpdesk.example.com/oauth/token"
      client_id     = "itsm-connector"
      client_secret = env("TICKETS_CLIENT_SECRET")
      scopes        = ["tickets:write", "assets:read"]
    }

    # tls {
    #   ca_cert     = file("/etc/ssl/corp-ca.pem")
    #   client_cert = file("/etc/itsm-connector/helpdesk.crt")   # mutual TLS
    #   client_key  = file("/etc/itsm-connector/helpdesk.key")
    # }

    # Before create: find the resource in the asset database; its id goes
    # into the create body at ticket.asset_id. Not found is not an error.
    find_ci {
      url       = "/api/v2/assets"
      query     = { external_id = alert.resource.id }
      body_path = "ticket.asset_id"
      result {
        id = "assets[0].id"
      }
    }

    create {
      url = "/api/v2/tickets"
      # Route fields override the defaults; external_id always carries the
      # correlation key, which lookup searches for.
      body = jsonencode({
        ticket = merge({
          subject     = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
          priority    = lookup({ Sev0 = "urgent", Sev1 = "high", Sev2 = "normal" }, alert.severity_label, "low")
          description = <<-EOT
            ${alert.rule} fired at ${alert.fired_at}.
            ${alert.description}

            Resource: ${alert.resource.id}
            Signal:   ${alert.signal_type} (${alert.monitoring_service})
            EOT
          tags        = ["azure-monitor", lower(alert.severity_label)]
        }, fields, { external_id = correlation_key })
      })
      success_statuses = [201]
      result {
        id       = "header:Location"
        id_regex = "([^/]+)$" # the last path segment
        key      = "ticket.number"
        url      = "ticket.url"
      }
    }

    lookup {
      url   = "/api/v2/tickets"
      query = { external_id = correlation_key }
      result {
        # Oldest first: the newest ticket is the last one.
        id              = "tickets[-1].id"
        key             = "tickets[-1].number"
        url             = "tickets[-1].url"
        state           = "tickets[-1].status"
        resolved_states = ["solved", "closed"]
      }
    }

    # work_item is the recorded ticket on update, resolve and reopen (its
    # attributes are empty strings on lookup and create).
    update {
      method = "PUT"
      url    = "/api/v2/tickets"
      path   = [work_item.id]
      body = jsonencode({
        ticket = {
          comment = { public = false, body = "Azure Monitor: ${alert.rule} fired again at ${alert.fired_at}." }
        }
      })
      result {
        state           = "ticket.status"
        resolved_states = ["solved", "closed"]
      }
    }

    resolve {
      method = "PUT"
      url    = "/api/v2/tickets"
      path   = [work_item.id]
      body = jsonencode({
        ticket = {
          status  = "solved"
          comment = { public = false, body = "Azure Monitor reports ${alert.rule} resolved." }
        }
      })
      result {
        state           = "ticket.status"
        resolved_states = ["solved", "closed"]
      }
    }

    reopen {
      method = "PUT"
      url    = "/api/v2/tickets"
      path   = [work_item.id]
      body = jsonencode({
        ticket = {
          status  = "open"
          comment = { public = false, body = "Azure Monitor: ${alert.rule} fired again; reopened." }
        }
      })
      # A closed ticket cannot change: the API answers 422, a permanent
      # error. Treat it as gone so that the host opens a new ticket.
      not_found_statuses = [404, 422]
      result {
        state           = "ticket.status"
        resolved_states = ["solved", "closed"]
      }
    }

    # The state people left tickets in, for the host's status reads: one
    # request per batch of up to 100 tickets; a ticket the answer leaves
    # out was deleted. Not rendered per alert: the plugin fills in
    # $${work_items.ids} (the ids, comma-separated).
    read_status {
      url   = "/api/v2/tickets/show_many"
      query = { ids = "$${work_items.ids}" }
      batch = 100
      result {
        items           = "tickets"
        id              = "id"
        state           = "status"
        resolved_states = ["solved", "closed"]
        resolved_by     = "solved_by"
        resolved_at     = "solved_at"
        resolution      = "resolution"
        fields          = { priority = "priority" }
      }
    }
  }
  max_in_flight = 4
  rate_limit    = 10
}

route "everything" {
  send_to         = [backend.rest.helpdesk]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  reopen_window   = "24h"
  fields = {
    group = "cloud-operations"
  }
}
