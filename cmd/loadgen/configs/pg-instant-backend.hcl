# The same as instant-backend.hcl on PostgreSQL (ITSM_POSTGRES_DSN); with
# loadgen -replicas N, N connectors share the database.
# Delivery rate and plugin calls per alert with an instant backend: the
# slow test plugin (cmd/loadgen/slowplugin) answering at once, 16 calls in
# flight. Run with loadgen -spawn ... -drain 5m.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "postgres"
  dsn    = env("ITSM_POSTGRES_DSN")
}
log_level = "warn"

backend "slow" "instant" {
  config {
    delay = "0s"
  }
  max_in_flight = 16
}

route "everything" {
  send_to       = [backend.slow.instant]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
