auth "none" {}

backend "file" "local" {}

route "all" {
  send_to = [file.local, "backend.file.local"]
}
