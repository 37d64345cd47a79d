// Package fakehttp is the common base of in-memory fakes of HTTP backends
// (an ITSM tool's REST API) that plugin tests run against on a real
// loopback server. A fake embeds [Base] and gets, with the same behaviour
// in every fake:
//
//   - a log of every request with its time, body and answered status
//     ([Log]: Requests, RequestsTo, ResetRequests);
//   - fault injection ([Faults]: FailNext, FailAll, Heal);
//   - HTTP or HTTPS with a self-signed certificate, optionally requiring
//     client certificates (mutual TLS), and CertPEM for the client's CA.
//
// A fake that models a request budget embeds [Budget] too (429 with
// Retry-After once the budget of a window is spent), and one that pushes
// changes to a webhook sends them with [Hooks] (signed with [SignSHA256]
// where the tool signs that way). [Clock], [CA] and [LogBuffer] are what
// the tests around a fake need: a manual clock shared by the plugin and
// the fake, a throwaway certificate authority, and a place to collect the
// plugin's logs ([LogBuffer.Logger]); [Call] sends a request to a fake in
// its own tests and [Receiver] is the endpoint its webhooks go to.
//
// The fake keeps what is specific to its backend: its routes, its error
// envelope, how it authenticates and how it writes a fault without a body.
package fakehttp
