auth "none" {}
backend "file" "local" {}

route "secret" {
  send_to = [backend.file.local]
  fields = {
    token = env("HOME")
  }
}
