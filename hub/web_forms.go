package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
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
		return
	}
	// Name the first field that failed, which decides the others.
	first := pe.Fields[0]
	name := strings.ReplaceAll(first.Field, "_", " ")
	f.Error = strings.ToUpper(name[:1]) + name[1:] + ": " + first.Message
	if n := len(pe.Fields) - 1; n == 1 {
		f.Error += " (and one more field below)"
	} else if n > 1 {
		f.Error += fmt.Sprintf(" (and %d more fields below)", n)
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

// formKey returns the use cases' idempotency key of a web form: the
// hidden field "idem" (fresh on each page) with the form's path, so that a
// form sent twice, by a double click or a reload, writes once. A form
// without one writes without a key.
//
// A form that writes a second event (the withdrawal after a changed
// posting) names it with step, so that each event has its own key.
func formKey(c *fiber.Ctx, step ...string) usecase.Key {
	key := c.FormValue("idem")
	if len(key) != 43 || !printableASCII(key) {
		return usecase.Key{}
	}
	k := sha256.Sum256([]byte(key + " " + c.Path() + strings.Join(step, " ")))
	h := sha256.New()
	h.Write([]byte(c.Method() + " " + c.Path() + strings.Join(step, " ") + "\n"))
	h.Write(c.Body())
	return usecase.Key{Name: "web:" + hex.EncodeToString(k[:16]), Request: hex.EncodeToString(h.Sum(nil))}
}

// formTime reads a date input ("2026-12-20": until the end of that day in
// the hub's zone) or an RFC 3339 time, as the API's Timestamp.
func formTime(v string, loc *time.Location) usecase.Timestamp {
	v = strings.TrimSpace(v)
	if len(v) == len("2006-01-02") {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			return usecase.Timestamp(d.AddDate(0, 0, 1).Add(-time.Second).Format(time.RFC3339))
		}
	}
	return usecase.Timestamp(v)
}

// formDecimal reads a decimal as people write it: a decimal comma ("12,5")
// is read as a point. A comma before exactly three digits ("1,000") could
// be either, so it is refused, naming the field.
func formDecimal(fe *fieldErrors, field, v string) usecase.Decimal {
	v = strings.TrimSpace(v)
	if strings.Count(v, ",") != 1 || strings.Contains(v, ".") {
		return usecase.Decimal(v)
	}
	whole, frac, _ := strings.Cut(v, ",")
	if len(frac) == 3 && strings.TrimLeft(whole, "0") != "" {
		fe.Addf(field, "%q could mean %s or %s.%s; write it without the comma, or with a point", v, whole+frac, whole, frac)
		return ""
	}
	return usecase.Decimal(whole + "." + frac)
}

// resolveItem reads an item field, which holds an item's name (as the
// list offers them) or its code, and returns the code. An unknown item
// is refused with the nearest names in the catalog.
func resolveItem(st *plenty.State, v string) (string, *plenty.FieldError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", &plenty.FieldError{Field: "item", Message: "is required: choose an item from the list"}
	}
	items := st.Items()
	for _, it := range items {
		if it.Code == v || strings.EqualFold(it.Name, v) || strings.EqualFold(it.Code, v) {
			return it.Code, nil
		}
	}
	var near []string
	lv := strings.ToLower(v)
	for _, it := range items {
		ln := strings.ToLower(it.Name)
		if strings.Contains(ln, lv) || strings.Contains(lv, strings.TrimSuffix(ln, "s")) ||
			strings.Contains(it.Code, lv) || editDistance(lv, ln) <= 2 {
			near = append(near, it.Name)
		}
	}
	msg := fmt.Sprintf("no item %q in the catalog; choose one from the list, or see the catalog", v)
	switch {
	case len(near) == 1:
		msg = fmt.Sprintf("no item %q; did you mean %s?", v, near[0])
	case len(near) > 1:
		if len(near) > 4 {
			near = near[:4]
		}
		msg = fmt.Sprintf("no item %q; did you mean %s or %s?", v, strings.Join(near[:len(near)-1], ", "), near[len(near)-1])
	}
	return "", &plenty.FieldError{Field: "item", Message: msg}
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// formFloat reads an optional number field.
func formFloat(fe *fieldErrors, field, v, what string) *float64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if strings.Count(v, ",") == 1 && !strings.Contains(v, ".") {
		v = strings.Replace(v, ",", ".", 1) // a decimal comma
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		fe.Addf(field, "must be %s", what)
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
		fe.Addf(field, "must be %s", what)
		return nil
	}
	return &n
}

// fieldError returns one field's refusal as an error, or nil.
func fieldError(f *plenty.FieldError) error {
	if f == nil {
		return nil
	}
	return &plenty.Error{Code: plenty.EINVALID, Message: f.Field + " " + f.Message, Fields: []plenty.FieldError{*f}}
}
