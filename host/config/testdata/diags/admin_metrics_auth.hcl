admin {
  metrics_auth = true
}

auth "dev" {}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
