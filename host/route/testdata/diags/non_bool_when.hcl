auth "none" {}
backend "file" "local" {}

route "not-a-condition" {
  when    = alert.rule
  send_to = [backend.file.local]
}
