# The same as stalled-backend.hcl on PostgreSQL (ITSM_POSTGRES_DSN).
# Memory with a deep queue: the backend never answers within the call
# timeout, so every alert stays queued.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "postgres"
  dsn    = env("ITSM_POSTGRES_DSN")
}
log_level = "warn"

backend "slow" "stalled" {
  config {
    delay = "1h"
  }
}

route "everything" {
  send_to       = [backend.slow.stalled]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
