auth "none" {}
backend "file" "local" {}

route "string-fields" {
  send_to = [backend.file.local]
  fields  = "short_description"
}
