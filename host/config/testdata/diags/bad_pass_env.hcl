auth "none" {}

plugin "file" {
  pass_env = ["HTTPS_PROXY", "NO PROXY"]
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
