// Package sdkhttp holds what every plugin that talks to an HTTP API needs
// and should not write again: an *http.Client built from a plugin's
// `tls {}` settings that never follows redirects, bounded body reads,
// recognising an HTML page where JSON was expected, classifying transport
// failures and HTTP statuses as the host's retryable or permanent errors
// (see [sdk.FromHTTPStatus]), and an OAuth 2.0 token source. The kit on top
// of them is what the ServiceNow, Jira and REST plugins are built from:
// the shared auth, tls and timeout attributes, [Configure] and [State]
// around a plugin's configuration, [Do] for each request, [Exchange] for
// its error messages and [StatusBatch] for ReadStatus.
//
// A plugin keeps what is specific to its backend: the error envelope it
// parses, the hints it gives operators, the calls it makes. The helpers
// here never put a credential into an error message or a log.
//
// A typical call path:
//
//	hc := sdkhttp.NewClient(sdkhttp.ClientOptions{Timeout: timeout, TLS: tlsConfig})
//	resp, err := hc.Do(req)
//	if err != nil {
//		return fmt.Errorf("acme: create ticket: %w", sdkhttp.TransportError(err))
//	}
//	body, err := sdkhttp.ReadBody(resp, 0)
//	...
//	if resp.StatusCode >= 300 {
//		return sdkhttp.Classify(resp.StatusCode, resp.Header, time.Now(), &myAPIError{...})
//	}
package sdkhttp
