auth "none" {}

store {
  driver = "postgres"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
