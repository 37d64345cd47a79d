# Ten routes for BenchmarkRoute: nine team routes and a catch-all.
auth "none" {}

backend "servicenow" "prod" {}
backend "jira" "ops" {}

route "team-0" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-0"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-0"
  }
}

route "team-1" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-1"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-1"
  }
}

route "team-2" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-2"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-2"
  }
}

route "team-3" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-3"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-3"
  }
}

route "team-4" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-4"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-4"
  }
}

route "team-5" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-5"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-5"
  }
}

route "team-6" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-6"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-6"
  }
}

route "team-7" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-7"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-7"
  }
}

route "team-8" {
  when            = alert.severity <= 1 && alert.custom_properties["team"] == "team-8"
  send_to         = [backend.servicenow.prod]
  correlation_key = "${alert.rule}|${alert.resource_name}"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency           = alert.severity == 0 ? 1 : 2
    team              = "team-8"
  }
}

route "everything-else" {
  send_to = [backend.jira.ops]
  fields = {
    summary = "${alert.rule} (${alert.condition})"
  }
}
