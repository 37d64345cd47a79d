server {
  tls {
    cert_file = "cert.pem"
  }
}

auth "none" {}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
