auth "none" {}

backend "servicenow" "prod" {}
backend "jira" "ops" {}
backend "file" "audit" {}

# Every alert is also recorded in the audit backend; evaluation continues.
route "audit" {
  send_to  = [backend.file.audit]
  continue = true
}

route "prod-critical" {
  when            = alert.severity <= 1 && startswith(alert.resource_group, "prod-")
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  reopen_window   = "2h"

  on_resolved_without_item = "create_and_resolve"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    impact            = 2
    tags              = ["azure", lower(alert.signal_type)]
    team              = try(alert.custom_properties["team"], null)
    details           = { rule_id = alert.rule_id, stateless = alert.stateless }
  }
}

route "per-vm" {
  when    = alert.signal_type == "Log" && alert.custom_properties["fanout"] == "yes"
  send_to = [backend.jira.ops]
  per_ci  = true
}

route "everything-else" {
  when    = alert.condition != "ignored"
  send_to = [backend.jira.ops]
}
