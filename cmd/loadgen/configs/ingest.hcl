# Ingest throughput: the quickstart's shape (dev tokens, SQLite, one file
# backend reconciling while alerts arrive). Run with loadgen -spawn.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
log_level = "warn"

backend "file" "local" {
  config {
    directory = "data/workitems"
    pretty    = false
  }
}

route "everything" {
  send_to       = [backend.file.local]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
