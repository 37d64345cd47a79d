admin {
  listen = "0.0.0.0:9464"
}

auth "dev" {}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
