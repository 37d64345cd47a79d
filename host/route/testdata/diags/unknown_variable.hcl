auth "none" {}
backend "file" "local" {}

route "no-such-variable" {
  when    = event.severity == 1
  send_to = [backend.file.local]
}
