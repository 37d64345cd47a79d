// Package harness runs the real connector as an operator would, for the
// end-to-end tests in package e2e: it builds the host and plugin binaries
// once per test binary, starts `itsm-connector serve -dev` in a scratch
// directory, stops it, kills it with SIGKILL and restarts it, sends alerts
// with a dev token the way Azure Monitor does (retrying on connection
// errors and 503), polls conditions with deadlines, reads the file plugin's
// work items, and gives each test its own PostgreSQL database. It also
// runs several connectors as replicas of one deployment (one store, one
// configuration, an instance id of their own each, which names their
// leases) behind a round-robin load balancer.
//
// Every process it starts is killed when the test ends, also when the test
// fails or the test binary dies, and the connector's log is printed when a
// test fails. It needs Linux: it finds plugin processes through /proc.
package harness
