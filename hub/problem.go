package hub

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// Problem is an RFC 9457 problem document. Code repeats the error code,
// and Errors names the fields that failed, as the client spelled them.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []plenty.FieldError `json:"errors,omitempty"`
}

// statusError is a refusal whose HTTP status is not the one its code maps
// to, such as 400 for a body that is not JSON or 415 for another media
// type.
type statusError struct {
	status int
	err    *plenty.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// malformed returns a 400 refusal: the body could not be read at all.
func malformed(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, plenty.Errorf(plenty.EINVALID, format, args...)}
}

// rateLimited is a 429 refusal that says when to retry.
type rateLimited struct {
	retryAfter int // seconds
	err        *plenty.Error
}

func (e *rateLimited) Error() string { return e.err.Error() }
func (e *rateLimited) Unwrap() error { return e.err }

// refusal maps any error to its HTTP status and the project error it
// shows: the one place that does, for the API's problems and the web
// pages' error pages alike. It sets Retry-After on a rate limit, and logs
// an unexpected error in full (the client sees "internal error").
func (s *Server) refusal(c *fiber.Ctx, err error) (int, *plenty.Error) {
	var (
		pe  *plenty.Error
		se  *statusError
		rl  *rateLimited
		fe  *fiber.Error
		sts int
	)
	switch {
	case errors.As(err, &se):
		pe, sts = se.err, se.status
	case errors.As(err, &rl):
		pe = rl.err
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(rl.retryAfter))
	case errors.As(err, &pe):
	case errors.As(err, &fe):
		pe, sts = s.fiberProblem(c, fe)
	default:
		s.log.Error("internal error", "method", c.Method(), "path", c.Path(), "err", err)
		pe = plenty.Errorf(plenty.EINTERNAL, "internal error")
	}
	if sts == 0 {
		sts = statusOfErr(pe)
	}
	if sts == http.StatusInternalServerError && pe.Code != plenty.EINTERNAL {
		s.log.Error("internal error", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return sts, pe
}

// statusOfErr is the HTTP status of a refusal by its code.
func statusOfErr(err error) int {
	if st := statusOf[plenty.ErrorCode(err)]; st != 0 {
		return st
	}
	return http.StatusInternalServerError
}

// statusOf maps an error code to its HTTP status (see refusal).
var statusOf = map[string]int{
	plenty.EINVALID:      http.StatusUnprocessableEntity,
	plenty.ENOTFOUND:     http.StatusNotFound,
	plenty.ECONFLICT:     http.StatusConflict,
	plenty.EFORBIDDEN:    http.StatusForbidden,
	plenty.EUNAUTHORIZED: http.StatusUnauthorized,
	plenty.ERATELIMIT:    http.StatusTooManyRequests,
	plenty.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	plenty.EUNAVAILABLE:  http.StatusServiceUnavailable,
	plenty.EINTERNAL:     http.StatusInternalServerError,
}

var titleOf = map[string]string{
	plenty.EINVALID:      "Invalid request",
	plenty.ENOTFOUND:     "Not found",
	plenty.ECONFLICT:     "Conflict",
	plenty.EFORBIDDEN:    "Outside the mandate",
	plenty.EUNAUTHORIZED: "Not authenticated",
	plenty.ERATELIMIT:    "Too many requests",
	plenty.ETOOLARGE:     "Request too large",
	plenty.EUNAVAILABLE:  "Unavailable",
	plenty.EINTERNAL:     "Internal error",
}

// statusClass names the problems whose status is not their code's: each
// has its own type, title and code.
var statusClass = map[int]struct{ code, title string }{
	http.StatusBadRequest:           {"malformed", "Malformed request"},
	http.StatusMethodNotAllowed:     {"method_not_allowed", "Method not allowed"},
	http.StatusUnsupportedMediaType: {"unsupported_media_type", "Unsupported media type"},
}

// handleError answers every refusal as application/problem+json. An
// unexpected error is logged in full and reaches the client as "internal
// error".
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	sts, pe := s.refusal(c, err)
	p := Problem{
		Type:   "urn:plenty:problem:" + pe.Code,
		Title:  titleOf[pe.Code],
		Status: sts,
		Detail: pe.Message,
		Code:   pe.Code,
		Errors: pe.Fields,
	}
	// A body that cannot be read, a media type that is not JSON and a
	// method the route lacks are each their own class of problem, apart
	// from the 422 of a field that failed.
	if cl, ok := statusClass[sts]; ok {
		p.Type, p.Title, p.Code = "urn:plenty:problem:"+cl.code, cl.title, cl.code
	}
	if sts == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="plenty"`)
	}
	body, _ := json.Marshal(p)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(sts).Send(body)
}

// fiberProblem translates Fiber's own refusals (no route, body too large).
func (s *Server) fiberProblem(c *fiber.Ctx, fe *fiber.Error) (*plenty.Error, int) {
	switch fe.Code {
	case http.StatusNotFound:
		return plenty.Errorf(plenty.ENOTFOUND, "no such resource: %s %s; see /openapi.json", c.Method(), c.Path()), 0
	case http.StatusMethodNotAllowed:
		return plenty.Errorf(plenty.EINVALID, "%s is not allowed on %s", c.Method(), c.Path()), fe.Code
	case http.StatusRequestEntityTooLarge:
		return plenty.Errorf(plenty.ETOOLARGE, "the request body is larger than the %d bytes the hub accepts", s.cfg.BodyLimit), 0
	}
	if fe.Code >= 500 {
		return plenty.Errorf(plenty.EINTERNAL, "internal error"), fe.Code
	}
	return plenty.Errorf(plenty.EINVALID, "%s", fe.Message), fe.Code
}
