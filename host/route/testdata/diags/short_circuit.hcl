auth "none" {}
backend "file" "local" {}

route "and" {
  when    = alert.severity <= 1 && startswith(alert.resourcegroup, "prod-")
  send_to = [backend.file.local]
}

route "or" {
  when    = alert.severity <= 1 || alert.sevrity == 2
  send_to = [backend.file.local]
}

route "conditional" {
  when    = alert.severity == 0 ? alert.rulle == "x" : false
  send_to = [backend.file.local]
}
