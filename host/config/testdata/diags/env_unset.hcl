auth "none" {}

store {
  driver = "postgres"
  dsn    = env("ITSM_CONFIG_TEST_NEVER_SET")
}

backend "file" "local" {}

route "all" {
  send_to = [backend.file.local]
}
