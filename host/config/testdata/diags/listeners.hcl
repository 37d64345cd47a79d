server {
  listen          = "0.0.0.0:8443"
  max_connections = 0
}

admin {
  allowed_hosts = ["itsm-admin.example.com", "https://itsm-admin.example.com:9464/"]
}

auth "dev" {}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
