auth "none" {}
backend "file" "local" {}
backend "jira" "ops" {}

route "prod" {
  send_to = [backend.servicenow.prod]
}
