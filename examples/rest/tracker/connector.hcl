# The generic REST plugin against an issue tracker that answers as real
# open-source trackers do: failures inside a 2xx body, no link in its
# answers, assets referred to as "asset:<id>", and a comment endpoint that
# answers 400, not 404, for a deleted ticket.
#
# Run against the fake tracker by plugins/rest's tests (TestTrackerExample).

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

backend "rest" "tracker" {
  config {
    base_url = "https://tracker.example.com"

    auth {
      type  = "bearer"
      token = env("TRACKER_TOKEN")
    }

    # The tracker refers to an asset as "asset:<id>": body_value builds that
    # from the id found. $${...} is HCL's escape for a literal "${": the
    # plugin fills it in once find_ci has answered.
    find_ci {
      url        = "/api/v2/assets"
      query      = { external_id = alert.resource.id }
      body_path  = "ticket.asset_id"
      body_value = "asset:$${find_ci.id}"
      result {
        id = "assets[0].id"
      }
    }

    create {
      url = "/api/v2/tickets"
      body = jsonencode({
        ticket = merge({
          subject     = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
          description = alert.description
        }, fields, { external_id = correlation_key })
      })
      success_statuses = [201]
      result {
        id  = "ticket.id"
        key = "ticket.number"
        # The API gives no link: build it from the id.
        url_template = "https://tracker.example.com/agent/tickets/$${work_item.id}"
        # Kept on the work item; later templates read work_item.attributes.asset.
        attributes = { asset = "ticket.asset_id" }
        # A refusal arrives as 201 with ["<message>"]: a failure, not a ticket.
        error = "[0]"
      }
    }

    lookup {
      url   = "/api/v2/tickets"
      query = { external_id = correlation_key }
      result {
        id              = "tickets[-1].id"
        key             = "tickets[-1].number"
        state           = "tickets[-1].status"
        resolved_states = ["resolved", "closed"]
        url_template    = "https://tracker.example.com/agent/tickets/$${work_item.id}"
      }
    }

    # A comment. For a deleted ticket this endpoint answers 400, where the
    # ticket's own URL answers 404: both mean the ticket is gone.
    update {
      url  = "/api/v2/tickets"
      path = [work_item.id, "comments"]
      body = jsonencode({
        body = "Azure Monitor: ${alert.rule} fired again at ${alert.fired_at}."
      })
      success_statuses   = [201]
      not_found_statuses = [400, 404]
      result {
        error = "[0]"
      }
    }

    resolve {
      method = "PUT"
      url    = "/api/v2/tickets"
      path   = [work_item.id]
      body = jsonencode({
        ticket = {
          status  = "resolved"
          comment = { body = "Azure Monitor reports ${alert.rule} resolved on ${lookup(work_item.attributes, "asset", "no known asset")}." }
        }
      })
      result {
        error = "[0]"
        # Checked: the ticket must be resolved afterwards, or the call fails.
        state           = "ticket.status"
        resolved_states = ["resolved", "closed"]
      }
    }

    reopen {
      method = "PUT"
      url    = "/api/v2/tickets"
      path   = [work_item.id]
      body = jsonencode({
        ticket = {
          status  = "open"
          comment = { body = "Azure Monitor: ${alert.rule} fired again; reopened." }
        }
      })
      not_found_statuses = [404, 422]
      result {
        error           = "[0]"
        state           = "ticket.status"
        resolved_states = ["resolved", "closed"]
      }
    }
  }
}

route "everything" {
  send_to         = [backend.rest.tracker]
  correlation_key = "${alert.rule}|${alert.resource.id}"
  reopen_window   = "24h"
}
