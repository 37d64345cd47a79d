plugin_dir = "/opt/itsm/plugins"
log_level  = "debug"
log_format = "text"

server {
  listen          = "0.0.0.0:9443"
  max_body_bytes  = 524288
  max_connections = 2000
  tls {
    cert_file = "tls/cert.pem"
    key_file  = "tls/key.pem"
  }
}

admin {
  listen          = "127.0.0.1:9999"
  token           = env("ITSM_TEST_ADMIN_TOKEN")
  metrics_auth    = true
  allowed_hosts   = ["itsm-admin.example.com"]
  max_connections = 20
}

auth "entra_id" {
  tenant_id          = ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"]
  audiences          = ["api://itsm-connector"]
  required_roles     = ["ActionGroupsSecureWebhook"]
  authority          = "https://login.microsoftonline.us/"
  token_versions     = ["v2"]
  clock_skew         = "2m"
  refresh_interval   = "12h"
  max_token_bytes    = 8192
  cache_entries      = 500
  max_token_lifetime = "2h"
}

store {
  driver          = "postgres"
  dsn             = env("ITSM_TEST_DSN")
  audit_retention = "7d"
}

delivery {
  instance_id  = "connector-a"
  call_timeout = "20s"
  lease        = "2m"
}

plugin "servicenow" {
  sha256   = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
  path     = "/opt/snow/plugin"
  pass_env = ["HTTPS_PROXY", "NO_PROXY"]
  run_as   = "itsm-plugin:itsm-plugin"
}

backend "servicenow" "prod" {
  config {
    instance_url = "https://contoso.service-now.com"
    password     = file("secret.txt")
  }
  max_in_flight = 8
  rate_limit    = 2.5
  max_attempts  = 10
  max_age       = "7d"

  adopt_existing = true
}

backend "file" "local" {}

route "critical" {
  when            = alert.severity <= 1
  send_to         = [backend.servicenow.prod, backend.file.local]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  reopen_window   = "1h"
  per_ci          = true

  on_resolved_without_item = "create_and_resolve"
  continue        = true
  fields = {
    short_description = alert.rule
  }
}

route "rest" {
  send_to = [backend.file.local]
}
