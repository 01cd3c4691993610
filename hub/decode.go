package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// decodeBody reads the request body strictly into v and validates it: the
// body must be one JSON object of valid UTF-8, with no unknown fields, no
// wrong types and nothing after it. Malformed bodies are 400; bodies that
// are JSON but do not fit are EINVALID (422) naming the fields.
//
// The struct tags' failures are added to fe, so that a handler reports
// them together with its own checks.
func (s *Server) decodeBody(c *fiber.Ctx, v any, fe *fieldErrors) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return malformed("the request body is empty; send a JSON object")
	}
	if err := requireJSON(c.Get(fiber.HeaderContentType)); err != nil {
		return err
	}
	if err := decodeStrict(c.Body(), v); err != nil {
		return err
	}
	err := s.check(v)
	var pe *plenty.Error
	if errors.As(err, &pe) && pe.Code == plenty.EINVALID {
		*fe = append(*fe, pe.Fields...)
		return nil
	}
	return err
}

// requireJSON refuses with 415 a body sent as anything but JSON. curl -d
// sends application/x-www-form-urlencoded unless told otherwise: that too
// is refused, with the header to add, rather than read as JSON.
func requireJSON(ct string) error {
	if ct == "" {
		return &statusError{http.StatusUnsupportedMediaType,
			plenty.Errorf(plenty.EINVALID, "the request has no Content-Type; send the body as JSON with Content-Type: application/json")}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &statusError{http.StatusUnsupportedMediaType,
			plenty.Errorf(plenty.EINVALID, "the body is sent as %q; send it as JSON with Content-Type: application/json", ct)}
	}
	return nil
}

func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("the request body is empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return malformed("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if kerr := checkKeys(body, reflect.TypeOf(v), ""); kerr != nil {
			return kerr // names a nested unknown field with its path
		}
		return decodeError(err, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("the request body has data after the JSON object; send exactly one object")
	}
	return checkKeys(body, reflect.TypeOf(v), "")
}

func decodeError(err error, v any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return malformed("the request body is not valid JSON: %s (at byte %d)", syn.Error(), syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the request body ends in the middle of the JSON object")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return malformed("the request body must be a JSON object, not %s", jsonKind(typ.Value))
		}
		return plenty.Invalid(typ.Field, fmt.Sprintf("must be %s, not %s", describeType(typ.Type), jsonKind(typ.Value)))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return plenty.Invalid(name, "is not a known field; accepted: "+strings.Join(fieldNames(reflect.TypeOf(v)), ", "))
	}
	var pe *plenty.Error
	if errors.As(err, &pe) {
		return pe
	}
	return malformed("the request body could not be read: %v", err)
}

// checkKeys refuses keys that encoding/json would match case-insensitively
// or that repeat: a strict reader takes only the names as documented,
// each once.
func checkKeys(body []byte, t reflect.Type, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	// Duplicates: a map keeps one; count the keys with a decoder.
	if dup := duplicateKey(body); dup != "" {
		return plenty.Invalid(prefix+dup, "appears more than once")
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name := jsonName(f); name != "" {
			fields[name] = f.Type
		}
	}
	for k, raw := range obj {
		ft, ok := fields[k]
		if !ok {
			return plenty.Invalid(prefix+k, "is not a known field; accepted: "+strings.Join(fieldNames(t), ", "))
		}
		if err := checkKeys(raw, ft, prefix+k+"."); err != nil {
			return err
		}
	}
	return nil
}

func duplicateKey(obj []byte) string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := jsonName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

func jsonKind(v string) string {
	switch v {
	case "string", "number", "object", "array":
		return "a " + strings.Replace(v, "a object", "an object", 1)
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(v, "number") {
		return "the number " + strings.TrimPrefix(v, "number ")
	}
	return v
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// newValidator returns a validator that names fields by their JSON names
// and knows the tag "text": printable text that is not blank.
func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return jsonName(f) })
	v.RegisterValidation("text", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		if strings.TrimSpace(s) == "" {
			return false
		}
		for _, r := range s {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				return false
			}
		}
		return true
	})
	return v
}

// check runs the struct tags and turns validator's errors into field
// errors a person can act on.
func (s *Server) check(v any) error {
	err := s.validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	out := &plenty.Error{Code: plenty.EINVALID}
	for _, fe := range verrs {
		// Namespace is "offerInput.location.lat": drop the struct's name.
		_, field, _ := strings.Cut(fe.Namespace(), ".")
		out.Fields = append(out.Fields, plenty.FieldError{Field: field, Message: tagMessage(fe)})
	}
	out.Message = joinFields(out.Fields)
	return out
}

func tagMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "text":
		return "must be printable text, not blank"
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		if fe.Kind() == reflect.Slice {
			return "must have at most " + fe.Param() + " entries"
		}
		return "must be at most " + fe.Param()
	case "min":
		if fe.Kind() == reflect.Slice {
			return "must have at least " + fe.Param() + " entries"
		}
		return "must be at least " + fe.Param()
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "unique":
		return "must not repeat an entry"
	}
	return "fails the " + fe.Tag() + " check"
}

// Decimal is a quantity as the client wrote it: a JSON string such as
// "80.5" or a JSON number, kept exactly as written and parsed with the
// unit it comes with.
type Decimal string

// UnmarshalJSON keeps the text of a string or number; other JSON types
// are kept as they are and refused by the field's check, with its name.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s, err := rawText(b)
	*d = Decimal(s)
	return err
}

// rawText returns the text of a JSON string, "" for null, and any other
// JSON value as written behind a NUL byte, which marks a non-string for
// the field's check to refuse with its name.
func rawText(b []byte) (string, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	if string(b) == "null" {
		return "", nil
	}
	return "\x00" + string(b), nil
}

// parse reads d in unit for an item of dimension dim.
func (d Decimal) parse(field, unit string, dim plenty.Dimension) (plenty.Amount, *plenty.FieldError) {
	s := string(d)
	if raw, ok := strings.CutPrefix(s, "\x00"); ok {
		if raw == "" || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return 0, &plenty.FieldError{Field: field, Message: "must be a decimal string such as \"80.5\""}
		}
		s = raw
	}
	if strings.HasPrefix(s, "-") {
		return 0, &plenty.FieldError{Field: field, Message: "must be greater than 0"}
	}
	// A wrong unit is the unit's fault, named as the unit field, in a
	// sentence that reads after the field's name ("unit \"l\" measures …").
	if u, ok := plenty.LookupUnit(unit); !ok {
		return 0, &plenty.FieldError{Field: "unit", Message: fmt.Sprintf("%q is an unknown unit; accepted for %s: %s",
			unit, dim, strings.Join(plenty.UnitCodes(dim), ", "))}
	} else if u.Dimension != dim {
		return 0, &plenty.FieldError{Field: "unit", Message: fmt.Sprintf("%q measures %s, but this item is measured by %s; use one of: %s",
			unit, u.Dimension, dim, strings.Join(plenty.UnitCodes(dim), ", "))}
	}
	a, err := plenty.ParseQuantity(s, unit, dim)
	if err != nil {
		return 0, &plenty.FieldError{Field: field, Message: plenty.ErrorMessage(err)}
	}
	return a, nil
}

// Timestamp is an RFC 3339 time as the client wrote it, parsed with its
// field's name.
type Timestamp string

// UnmarshalJSON keeps the text of a string; other JSON types are refused
// by the field's check.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s, err := rawText(b)
	*t = Timestamp(s)
	return err
}

func (t Timestamp) parse(field string) (time.Time, *plenty.FieldError) {
	v, err := time.Parse(time.RFC3339Nano, string(t))
	if err != nil || strings.HasPrefix(string(t), "\x00") {
		return time.Time{}, &plenty.FieldError{Field: field, Message: "must be an RFC 3339 time such as \"2026-12-20T00:00:00Z\""}
	}
	if v.Year() < 2000 || v.Year() > 9999 {
		return time.Time{}, &plenty.FieldError{Field: field, Message: "must be a time between the years 2000 and 9999"}
	}
	return v.UTC(), nil
}

// fieldErrors gathers the checks of one request.
type fieldErrors []plenty.FieldError

// has reports whether field already failed.
func (fs fieldErrors) has(field string) bool {
	for _, f := range fs {
		if f.Field == field || strings.HasPrefix(f.Field, field+".") {
			return true
		}
	}
	return false
}

func (fs *fieldErrors) add(f *plenty.FieldError) {
	if f != nil {
		*fs = append(*fs, *f)
	}
}

func (fs *fieldErrors) addf(field, format string, args ...any) {
	*fs = append(*fs, plenty.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (fs fieldErrors) err() error {
	if len(fs) == 0 {
		return nil
	}
	return &plenty.Error{Code: plenty.EINVALID, Message: joinFields(fs), Fields: fs}
}

func joinFields(fs []plenty.FieldError) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}

// withRules returns the request's faults: when parsing already failed, the
// fold's field rules (rules, from the payload's Check) are added for the
// fields that parsed, so one answer names every fault; a quantity is not
// judged when its item or unit failed. Without parse faults the fold
// itself judges the event when it is appended.
func (fs *fieldErrors) withRules(rules []plenty.FieldError) error {
	if len(*fs) == 0 {
		return nil
	}
	dependent := fs.has("item") || fs.has("unit") || fs.has("quantity")
	for _, r := range rules {
		if fs.has(r.Field) || (dependent && (r.Field == "quantity" || r.Field == "min_split")) {
			continue
		}
		fs.add(&plenty.FieldError{Field: r.Field, Message: r.Message})
	}
	return fs.err()
}
