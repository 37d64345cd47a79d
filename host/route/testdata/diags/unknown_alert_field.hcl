auth "none" {}
backend "file" "local" {}

route "typo" {
  when    = alert.severty <= 1
  send_to = [backend.file.local]
}
