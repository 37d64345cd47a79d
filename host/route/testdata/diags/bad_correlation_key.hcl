auth "none" {}
backend "file" "local" {}

route "list-key" {
  send_to         = [backend.file.local]
  correlation_key = alert.targets
}
