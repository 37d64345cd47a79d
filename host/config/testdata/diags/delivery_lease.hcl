auth "none" {}

delivery {
  call_timeout = "2m"
  lease        = "90s"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
