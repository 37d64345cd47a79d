auth "entra_id" {
  tenant_id      = "contoso.onmicrosoft.com"
  token_versions = ["3.0"]
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
