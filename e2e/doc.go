// Package e2e holds the end-to-end tests: they build the real host and
// plugins, run `itsm-connector serve` as a subprocess on loopback and talk
// to it as Azure Monitor and an operator would (see package harness). The
// crash test kills the host with SIGKILL while alerts arrive; the outage
// test makes a ServiceNow backend fail with 503 and 429 while a second
// backend keeps working. All of them are skipped with -short.
package e2e
