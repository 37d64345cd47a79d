auth "entra_id" {
  tenant_id          = "contoso.onmicrosoft.com"
  token_versions     = ["3.0"]
  clock_skew         = "2h"
  max_token_bytes    = 512
  max_token_lifetime = "0s"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
