auth "none" {}
backend "file" "audit" {}

route "audit" {
  send_to  = [backend.file.audit]
  continue = true
}

route "catch-all" {
  send_to = [backend.file.audit]
}
