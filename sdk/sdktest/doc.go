// Package sdktest tests itsm-connector plugins the way the host uses them:
// over real gRPC, through the same protocol code as a plugin process.
//
// [Connect] serves a plugin in-process and returns the host's view of it, a
// [hostside.Client], for a plugin's own tests. [Run] is the conformance suite
// every plugin should pass: Info is sane, Configure accepts a valid
// configuration and rejects an invalid one with a diagnostic naming the
// attribute, the lifecycle create → lookup → update → resolve → reopen keeps
// one work item with consistent ids and states, repeated calls are
// idempotent, Lookup of an unknown key is (nil, nil), ReadStatus (when the
// plugin declares it) tells open, resolved and deleted items apart and reads
// a full batch, backend failures reach the host correctly classified, and
// no error message contains the value of a sensitive attribute.
//
// A typical plugin test starts a fake of its backend and hands the suite
// what it needs; checks whose inputs are missing are skipped with a message:
//
//	func TestConformance(t *testing.T) {
//		backend := newFakeBackend(t) // an httptest.Server with a switch for faults
//		sdktest.Run(t, sdktest.Suite{
//			New: func(t *testing.T) sdk.Plugin { return &Plugin{} },
//			Config: sdk.Config(`{"url": "` + backend.URL + `", "token": "s3cr3t-token"}`),
//
//			// Configure must reject this, naming the attribute "url".
//			InvalidConfig: sdk.Config(`{"url": "ftp://nope", "token": "s3cr3t-token"}`),
//			InvalidPath:   []string{"url"},
//
//			// Make every backend request fail until called with sdktest.Fault{}.
//			InjectFault: func(t *testing.T, f sdktest.Fault) {
//				switch f.Kind {
//				case sdk.KindRetryable: // 503 with Retry-After
//					backend.FailWith(http.StatusServiceUnavailable, f.RetryAfter)
//				case sdk.KindPermanent:
//					backend.FailWith(http.StatusBadRequest, 0)
//				default:
//					backend.FailWith(0, 0)
//				}
//			},
//		})
//	}
//
// Run `go test -run TestConformance -v` to see each check, skipped ones
// included.
//
// For a plugin's own tests against a fake of its tool, [ConfigOf],
// [Request], [Requests], [Create], [ReadStatus], [CheckError] and
// [RateLimited] do what every such test needs, and package fakehttp is the
// base of the fake.
//
// [Launch] builds a Go plugin's command and starts it as the host does;
// [LaunchCommand] starts any plugin executable that way, whatever its
// language, and [Suite].Start runs the suite against a new process of it
// for each check.
package sdktest
