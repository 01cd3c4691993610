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
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// decodeBody reads the request body strictly into v: the body must be
// one JSON object of valid UTF-8, with no unknown fields, no wrong types
// and nothing after it. Malformed bodies are 400; bodies that are JSON but
// do not fit are EINVALID (422) naming the fields. A use case's input is
// validated by the use case (usecase.Validate); the hub's own inputs
// (messages, webhooks, reflections) by decodeChecked.
func decodeBody(c *fiber.Ctx, v any) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return malformed("the request body is empty; send a JSON object")
	}
	if err := requireJSON(c.Get(fiber.HeaderContentType)); err != nil {
		return err
	}
	return decodeStrict(c.Body(), v)
}

// decodeChecked reads the body as decodeBody does and checks v's struct
// tags, EINVALID naming each field that fails.
func decodeChecked(c *fiber.Ctx, v any) error {
	if err := decodeBody(c, v); err != nil {
		return err
	}
	return usecase.Validate(v).Err()
}

// The use cases' types, as the handlers and forms fill them.
type (
	fieldErrors = usecase.FieldErrors
	details     = usecase.Details
)

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
		if name := usecase.JSONName(f); name != "" {
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

func fieldNames(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := usecase.JSONName(t.Field(i)); n != "" {
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
