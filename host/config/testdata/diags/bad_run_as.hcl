auth "none" {}

plugin "file" {
  run_as = "itsm-plugin:"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
