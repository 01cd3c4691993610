package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/ledger"
)

// form is one HTML form's state: the values sent back into its fields and
// the refusals shown at them (by the field's name, as the API names it),
// or above the form when no field is to blame.
type form struct {
	Values map[string]string
	Errors map[string]string
	Error  string
}

func newForm() *form { return &form{Values: map[string]string{}, Errors: map[string]string{}} }

// fill keeps the sent values of the named fields.
func (f *form) fill(c *fiber.Ctx, names ...string) {
	for _, n := range names {
		f.Values[n] = c.FormValue(n)
	}
}

// refuse places err's field errors at their fields; the rest, and a
// refusal that names no field, goes above the form. fields maps an API
// field name to the form's input, when they differ.
func (f *form) refuse(err error, fields map[string]string) {
	var pe *plenty.Error
	if !errors.As(err, &pe) {
		f.Error = plenty.ErrorMessage(err)
		return
	}
	if len(pe.Fields) == 0 {
		f.Error = pe.Message
		return
	}
	var rest []string
	for _, fe := range pe.Fields {
		name := fe.Field
		if to, ok := fields[name]; ok {
			name = to
		}
		if _, ok := f.Values[name]; !ok {
			rest = append(rest, fe.Field+" "+fe.Message)
			continue
		}
		if f.Errors[name] == "" {
			f.Errors[name] = fe.Message
		}
	}
	if len(rest) > 0 {
		f.Error = strings.Join(rest, "; ")
	} else {
		f.Error = "Some fields need another look; see the messages at them."
	}
}

// isRefusal reports whether err is the caller's to fix (shown in the
// form) rather than the hub's fault (an error page).
func isRefusal(err error) bool {
	switch plenty.ErrorCode(err) {
	case plenty.EINVALID, plenty.ECONFLICT, plenty.EFORBIDDEN, plenty.ENOTFOUND:
		return true
	}
	return false
}

// formContext returns the request's context carrying the form's own
// idempotency key (the hidden field "idem", fresh on each page, together
// with the form's path), so that a form sent twice, by a double click or
// a reload, writes once.
func formContext(c *fiber.Ctx) context.Context {
	ctx := c.UserContext()
	key := c.FormValue("idem")
	if len(key) != 43 || !printableASCII(key) {
		return ctx
	}
	k := sha256.Sum256([]byte(key + " " + c.Path()))
	h := sha256.New()
	h.Write([]byte(c.Method() + " " + c.Path() + "\n"))
	h.Write(c.Body())
	return context.WithValue(ctx, idempotencyKey{}, ledger.Request{
		IdempotencyKey: "web:" + hex.EncodeToString(k[:16]), RequestHash: hex.EncodeToString(h.Sum(nil))})
}

// formRecorder records the events of a web form (see formContext).
func (w *web) formRecorder(c *fiber.Ctx) recordFunc {
	ctx := formContext(c)
	return func(kind string, actor plenty.Actor, data any, creds ...plenty.Credential) (plenty.Event, bool, error) {
		return w.s.write(ctx, kind, actor, data, creds...)
	}
}

// tagErrors returns the failures of v's struct tags, as decodeBody adds
// them for the API.
func (s *Server) tagErrors(v any) (fieldErrors, error) {
	err := s.check(v)
	var pe *plenty.Error
	if errors.As(err, &pe) && pe.Code == plenty.EINVALID {
		return pe.Fields, nil
	}
	return nil, err
}

// formTime reads a date input ("2026-12-20", the start of that day in
// UTC) or an RFC 3339 time, as the API's Timestamp.
func formTime(v string) Timestamp {
	v = strings.TrimSpace(v)
	if len(v) == len("2006-01-02") {
		if _, err := time.Parse("2006-01-02", v); err == nil {
			return Timestamp(v + "T00:00:00Z")
		}
	}
	return Timestamp(v)
}

// formFloat reads an optional number field.
func formFloat(fe *fieldErrors, field, v, what string) *float64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		fe.addf(field, "must be %s", what)
		return nil
	}
	return &f
}

// formInt reads an optional whole-number field.
func formInt(fe *fieldErrors, field, v, what string) *int {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fe.addf(field, "must be %s", what)
		return nil
	}
	return &n
}
