auth "none" {}

store {
  drvier = "sqlite"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
