auth "none" {}

delivery {
  workers     = 16
  instance_id = "connector-\u0007"
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
