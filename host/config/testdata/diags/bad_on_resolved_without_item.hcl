auth "none" {}

backend "file" "local" {}

route "all" {
  send_to                  = [backend.file.local]
  on_resolved_without_item = "create"
}
