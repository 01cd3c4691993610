package usecase

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/go-playground/validator/v10"

	"github.com/plentyhub/plenty"
)

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

// Parse reads d in unit for an item of dimension dim. A unit that is
// unknown or measures another dimension is the unit field's fault.
func (d Decimal) Parse(field, unit string, dim plenty.Dimension) (plenty.Amount, *plenty.FieldError) {
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

// Parse reads t, naming field in its fault.
func (t Timestamp) Parse(field string) (time.Time, *plenty.FieldError) {
	v, err := time.Parse(time.RFC3339Nano, string(t))
	if err != nil || strings.HasPrefix(string(t), "\x00") {
		return time.Time{}, &plenty.FieldError{Field: field, Message: "must be an RFC 3339 time such as \"2026-12-20T00:00:00Z\""}
	}
	if v.Year() < 2000 || v.Year() > 9999 {
		return time.Time{}, &plenty.FieldError{Field: field, Message: "must be a time between the years 2000 and 9999"}
	}
	return v.UTC(), nil
}

// Location is a place as the client sent it.
type Location struct {
	Lat *float64 `json:"lat" validate:"required,gte=-90,lte=90"`
	Lon *float64 `json:"lon" validate:"required,gte=-180,lte=180"`
}

func (l *Location) location() plenty.Location {
	if l == nil || l.Lat == nil || l.Lon == nil {
		return plenty.Location{} // refused by the struct tags
	}
	return plenty.Location{Lat: *l.Lat, Lon: *l.Lon}
}

// FieldErrors gathers the faults of one request, each naming its field as
// the API spells it.
type FieldErrors []plenty.FieldError

// Has reports whether field (or a field inside it) already failed.
func (fs FieldErrors) Has(field string) bool {
	for _, f := range fs {
		if f.Field == field || strings.HasPrefix(f.Field, field+".") {
			return true
		}
	}
	return false
}

// Add adds f, when it is a fault.
func (fs *FieldErrors) Add(f *plenty.FieldError) {
	if f != nil {
		*fs = append(*fs, *f)
	}
}

// Addf adds a fault of field.
func (fs *FieldErrors) Addf(field, format string, args ...any) {
	*fs = append(*fs, plenty.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is EINVALID naming every fault, or nil without one.
func (fs FieldErrors) Err() error {
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
func (fs *FieldErrors) withRules(rules []plenty.FieldError) error {
	if len(*fs) == 0 {
		return nil
	}
	dependent := fs.Has("item") || fs.Has("unit") || fs.Has("quantity")
	for _, r := range rules {
		if fs.Has(r.Field) || (dependent && (r.Field == "quantity" || r.Field == "min_split")) {
			continue
		}
		fs.Add(&plenty.FieldError{Field: r.Field, Message: r.Message})
	}
	return fs.Err()
}

// validate is safe for concurrent use; it names fields by their JSON names
// and knows the tag "text": printable text that is not blank.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return JSONName(f) })
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
}()

// JSONName is the name a struct field has in JSON, or "" when it has none.
func JSONName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// Validate returns the failures of v's struct tags (v a pointer to a
// struct), each as a fault a person can act on. The input of every use
// case is validated by the use case itself; the hub calls it for the
// inputs it reads for itself (messages, webhooks).
func Validate(v any) FieldErrors {
	err := validate.Struct(v)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return nil // a nil error, or v is no struct: a programming error the tests catch
	}
	var out FieldErrors
	for _, fe := range verrs {
		// Namespace is "Offer.location.lat": drop the struct's name.
		_, field, _ := strings.Cut(fe.Namespace(), ".")
		out = append(out, plenty.FieldError{Field: field, Message: tagMessage(fe)})
	}
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
