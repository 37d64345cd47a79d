package commonschema

import "fmt"

// Reason classifies why a body was rejected. It has few values, so it is
// safe as a metric label.
type Reason string

// Rejection reasons.
const (
	// ReasonMalformed: the body is empty, not JSON, or not shaped like an
	// alert (e.g. data is not an object).
	ReasonMalformed Reason = "malformed"
	// ReasonNotCommonSchema: schemaId is missing or is not the common alert
	// schema; the action group must enable the common alert schema.
	ReasonNotCommonSchema Reason = "not_common_schema"
	// ReasonMissingField: a required field is absent, null or empty.
	ReasonMissingField Reason = "missing_field"
	// ReasonInvalidField: a required field has a value we cannot use.
	ReasonInvalidField Reason = "invalid_field"
)

// Error is why a body cannot be accepted as an alert. The webhook answers
// 400 with it: Field names the offending JSON path in the body (empty for
// the body as a whole) and Message says what is wrong in words an operator
// can act on.
type Error struct {
	// Reason classifies the error.
	Reason Reason
	// Field is the dotted JSON path, e.g. "data.essentials.alertId".
	Field string
	// Message explains the problem.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
