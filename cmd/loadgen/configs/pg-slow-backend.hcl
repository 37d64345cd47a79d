# The same as slow-backend.hcl on PostgreSQL (ITSM_POSTGRES_DSN).
# Ack latency while the backend takes 2 s per call: the slow test plugin
# (cmd/loadgen/slowplugin) stands in for a sluggish ITSM API.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "postgres"
  dsn    = env("ITSM_POSTGRES_DSN")
}
log_level = "warn"

backend "slow" "api" {
  config {
    delay = "2s"
  }
  max_in_flight = 8
}

route "everything" {
  send_to       = [backend.slow.api]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
