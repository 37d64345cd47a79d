# Quickstart: dev mode, one file backend. `make run` starts the connector with
# this file; `itsm-connector send` posts alerts with a dev token.

server {
  listen = "127.0.0.1:8080" # plain HTTP is for dev mode only
}

admin {
  listen = "127.0.0.1:9464" # /metrics, /healthz, /readyz
}

# Dev mode's local issuer: tokens from `itsm-connector token` and `send`
# verify through the same checks as Entra ID tokens.
auth "dev" {}

store {
  driver = "sqlite"
  path   = "data/connector.db"
}

plugin_dir = "bin/plugins"

# Work items as JSON files, one per alert.
backend "file" "local" {
  config {
    directory = "data/workitems"
  }
}

route "everything" {
  send_to       = [backend.file.local]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
