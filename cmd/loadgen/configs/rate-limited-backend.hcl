# A rate-limited ITSM API: the slow test plugin answering at once, at most
# 100 calls per second (rate_limit): new work items per second are 100
# divided by the calls each costs. Run with loadgen -spawn ... -drain 5m.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
log_level = "warn"

backend "slow" "limited" {
  config {
    delay = "0s"
  }
  max_in_flight = 16
  rate_limit    = 100
}

route "everything" {
  send_to       = [backend.slow.limited]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
