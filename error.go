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
	// Event names the event the fold refused ("event 12 (offer.posted)"),
	// when the error is a refusal of a recorded or proposed event. It is
	// left out of Message, which the hub shows the client as it is.
	Event string
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 1 || (len(e.Fields) == 1 && e.Message != e.Fields[0].Field+" "+e.Fields[0].Message) {
		parts := make([]string, len(e.Fields))
		for i, f := range e.Fields {
			parts[i] = f.Field + " " + f.Message
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	if e.Event != "" {
		return e.Event + ": " + msg
	}
	return msg
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

// ErrorMessageWithFields returns ErrorMessage followed by every failed
// field, for messages that name all of a refusal's faults.
func ErrorMessageWithFields(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	c := *e
	c.Event = ""
	return c.Error()
}
