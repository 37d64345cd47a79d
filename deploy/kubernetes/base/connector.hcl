# itsm-connector on Kubernetes: several replicas sharing one PostgreSQL
# database. Replace this file in your overlay with your backends and routes;
# keep the store, delivery, admin and plugin blocks.
#
# Secrets come from the Kubernetes Secret "itsm-connector" as environment
# variables (deployment.yaml), read here with env(); POD_NAME comes from the
# downward API.

plugin_dir = "/usr/local/lib/itsm-connector/plugins"

server {
  listen = "0.0.0.0:8443" # plain HTTP: TLS ends at the ingress
}

admin {
  listen = "0.0.0.0:9464" # probes, /metrics; the rest needs the token
  token  = env("ITSM_ADMIN_TOKEN")
}

auth "entra_id" {
  tenant_id      = "00000000-0000-0000-0000-000000000000"
  audiences      = ["api://itsm-connector"]
  required_roles = ["ActionGroupsSecureWebhook"]
}

store {
  driver = "postgres"
  dsn    = env("ITSM_POSTGRES_DSN")
}

delivery {
  # Unique per replica and stable across its restarts: the pod name.
  instance_id = env("POD_NAME")
}

# The image is the pin: each plugin's checksum is read from the file the
# image build wrote beside it, so this file fits every image version.
# Reference the image by digest. To pin plugins independently of the image,
# paste the blocks `make release` prints instead.
plugin "servicenow" {
  sha256 = trimspace(file("/usr/local/lib/itsm-connector/checksums/servicenow.sha256"))
}

backend "servicenow" "prod" {
  config {
    instance_url = "https://contoso.service-now.com"
    auth {
      type     = "basic"
      username = env("SNOW_USERNAME")
      password = env("SNOW_PASSWORD")
    }
  }
}

route "everything" {
  send_to       = [backend.servicenow.prod]
  reopen_window = "24h"
  fields = {
    short_description = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
  }
}
