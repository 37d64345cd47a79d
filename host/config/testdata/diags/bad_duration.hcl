auth "none" {}

backend "file" "local" {
  max_age = "two days"
}

route "all" {
  send_to       = [backend.file.local]
  reopen_window = "1 day"
}
