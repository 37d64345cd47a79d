# A 50 ms ITSM API: the slow test plugin (cmd/loadgen/slowplugin) taking
# 50 ms per call, 100 calls in flight (1,000 alerts/s need 50). Time to
# ticket at a fixed rate: loadgen -spawn ... -rate 1000 -d 30s -n 0 -drain 5m.
server { listen = "127.0.0.1:8080" }
admin { listen = "127.0.0.1:9464" }
auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
log_level = "warn"

backend "slow" "api50ms" {
  config {
    delay = "50ms"
  }
  max_in_flight = 100
}

route "everything" {
  send_to       = [backend.slow.api50ms]
  reopen_window = "24h"
  fields = {
    summary = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
