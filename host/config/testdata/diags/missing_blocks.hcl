# Only a server block: auth, backend and route are missing.
server {
  listen = "0.0.0.0:8443"
}
