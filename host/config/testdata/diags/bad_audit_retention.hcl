auth "none" {}

store {
  audit_retention = "-30d"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
