auth "none" {}

backend "file" "local" {}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}

route "all" {
  send_to = [backend.file.local]
}
