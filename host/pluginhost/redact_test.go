package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

const tableSecret = "table-secret-0123456789"

func tableSecrets() *secretSet {
	s := &secretSet{}
	s.add(&DecodedConfig{sensitive: []sensitiveValue{{path: []string{"token"}, value: tableSecret}, {path: []string{"pin"}, value: "123"}}})
	return s
}

// TestRedactedErrorKeepsItsClass: a redacted plugin error is classified
// and tested with errors.Is as the original was, with none of its text.
func TestRedactedErrorKeepsItsClass(t *testing.T) {
	s := tableSecrets()
	tests := []struct {
		name  string
		err   error
		kind  sdk.ErrorKind
		after time.Duration
		is    error
	}{
		{"permanent", sdk.Permanent(errors.New("bad " + tableSecret)), sdk.KindPermanent, 0, nil},
		{"retryable after", sdk.RetryableAfter(errors.New("slow "+tableSecret), time.Minute), sdk.KindRetryable, time.Minute, nil},
		{"not found", sdk.NotFound(errors.New("gone " + tableSecret)), sdk.KindNotFound, 0, nil},
		{"unclassified", errors.New("what " + tableSecret), sdk.KindRetryable, 0, nil},
		{"cancelled", fmt.Errorf("call %s: %w", tableSecret, context.Canceled), sdk.KindRetryable, 0, context.Canceled},
		{"too large", sdk.Permanent(fmt.Errorf("%w: %s", sdk.ErrMessageTooLarge, tableSecret)), sdk.KindPermanent, 0, sdk.ErrMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.error(tt.err)
			if got := err.Error(); got == tt.err.Error() || errors.Is(err, tt.err) {
				t.Errorf("error %q was not redacted, or unwraps to the original", got)
			}
			if sdk.KindOf(err) != tt.kind || sdk.RetryAfterOf(err) != tt.after {
				t.Errorf("redacted error is %s after %v, want %s after %v", sdk.KindOf(err), sdk.RetryAfterOf(err), tt.kind, tt.after)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("redacted error is no longer %v", tt.is)
			}
			if errors.Is(err, context.DeadlineExceeded) && tt.is != context.DeadlineExceeded {
				t.Error("redacted error is a deadline it was not")
			}
		})
	}
	clean := sdk.Permanent(errors.New("HTTP 400: pin 123 is wrong"))
	if got := s.error(clean); got != clean {
		t.Errorf("an error without secrets was replaced: %v", got)
	}
}

func TestRedactedWorkItem(t *testing.T) {
	s := tableSecrets()
	wi := &sdk.WorkItem{ID: "1", Key: "K-" + tableSecret, URL: "https://x.test/?t=" + tableSecret, State: sdk.StateOpen,
		Note: "n " + tableSecret, Attributes: map[string]string{"a": tableSecret, tableSecret: "v"},
		Bindings: []sdk.CIBinding{{Reason: "r " + tableSecret, ConfigurationItem: sdk.ConfigurationItem{Name: tableSecret}}}}
	got := s.workItem(wi)
	want := &sdk.WorkItem{ID: "1", Key: "K-[redacted]", URL: "https://x.test/?t=[redacted]", State: sdk.StateOpen,
		Note: "n [redacted]", Attributes: map[string]string{"a": "[redacted]", "[redacted]": "v"},
		Bindings: []sdk.CIBinding{{Reason: "r [redacted]", ConfigurationItem: sdk.ConfigurationItem{Name: "[redacted]"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("workItem =\n%+v\nwant\n%+v", got, want)
	}
	if wi.Key != "K-"+tableSecret || wi.Bindings[0].Reason != "r "+tableSecret {
		t.Error("workItem changed the plugin's work item instead of a copy")
	}
}
