package plenty

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Each maps to one HTTP status in hub/, and to one exit code in
// cmd/plenty.
const (
	ECONFLICT     = "conflict"     // the request contradicts the current state
	EFORBIDDEN    = "forbidden"    // authenticated, but outside the mandate
	EINTERNAL     = "internal"     // a fault of the hub, not of the caller
	EINVALID      = "invalid"      // the input is malformed or out of range
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ERATELIMIT    = "rate_limited" // too many writes in too short a time
	ETOOLARGE     = "too_large"    // the request body is larger than allowed
	EUNAUTHORIZED = "unauthorized" // no valid credential was presented
	EUNAVAILABLE  = "unavailable"  // the hub is shutting down or degraded
)

// FieldError names one input field that failed and says what is accepted,
// using the field's name as the client spelled it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the project's error: a code, a message a person can act on and,
// for validation, the fields that failed.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error for one field, whose message is
// "FIELD MESSAGE".
func Invalid(field, message string) *Error {
	return &Error{
		Code:    EINVALID,
		Message: field + " " + message,
		Fields:  []FieldError{{Field: field, Message: message}},
	}
}

// ErrorCode returns the code of err when it is or wraps an *Error, and
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of an *Error, and "internal error"
// for anything else: unexpected errors are for the operator's log, not the
// client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
