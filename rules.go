package plenty

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// checks gathers the field rules an event's payload breaks, named as the
// API spells the fields, so that one refusal lists every fault.
type checks struct{ fields []FieldError }

func (c *checks) add(field, message string) {
	c.fields = append(c.fields, FieldError{Field: field, Message: message})
}

func (c *checks) addf(field, format string, args ...any) { c.add(field, fmt.Sprintf(format, args...)) }

func (c *checks) has(field string) bool {
	for _, f := range c.fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// err returns nil when no rule was broken, and otherwise an EINVALID error
// whose message is the first fault and whose fields are all of them.
func (c *checks) err() error {
	if len(c.fields) == 0 {
		return nil
	}
	f := c.fields[0]
	return &Error{Code: EINVALID, Message: f.Field + " " + f.Message, Fields: c.fields}
}

// text checks printable text of at most max characters: valid UTF-8, no
// control characters but newlines and tabs, and, when required, not blank.
func (c *checks) text(field, v string, max int, required bool) {
	switch {
	case !utf8.ValidString(v):
		c.add(field, "must be valid UTF-8 text")
	case required && strings.TrimSpace(v) == "":
		c.add(field, "is required: printable text, not blank")
	case utf8.RuneCountInString(v) > max:
		c.addf(field, "must be at most %d characters (it has %d)", max, utf8.RuneCountInString(v))
	default:
		for _, r := range v {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				c.add(field, "must be printable text without control characters")
				return
			}
		}
	}
}

// location checks coordinates, naming the field's parts.
func (c *checks) location(field string, l Location) {
	if math.IsNaN(l.Lat) || l.Lat < -90 || l.Lat > 90 {
		c.add(field+".lat", "must be between -90 and 90")
	}
	if math.IsNaN(l.Lon) || l.Lon < -180 || l.Lon > 180 {
		c.add(field+".lon", "must be between -180 and 180")
	}
}

// distance checks a maximum delivery distance in kilometres.
func (c *checks) distance(field string, km float64) {
	if math.IsNaN(km) || km <= 0 || km > MaxDistanceKm {
		c.addf(field, "must be greater than 0 and at most %d", MaxDistanceKm)
	}
}

// quantity checks an amount that must be positive and in range.
func (c *checks) quantity(field string, q Amount) {
	if q <= 0 || q > MaxAmount {
		c.addf(field, "must be greater than 0 and at most %s", MaxAmount)
	}
}

// expiry checks that an end lies after now and at most limit after it.
func (c *checks) expiry(field string, t, now time.Time, limit time.Duration, limitText string) {
	switch {
	case !t.After(now):
		c.addf(field, "must be in the future (after %s)", now.Format(time.RFC3339))
	case t.Sub(now) > limit:
		c.addf(field, "must be at most %s from now (%s)", limitText, now.Add(limit).Format(time.RFC3339))
	}
}
