package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// checkPayloads makes every append check, in test binaries, that the value
// the fold takes instead of decoding (plenty.Event.WithPayload) is exactly
// what decoding the stored data gives: a payload type that drops or
// reshapes a field would make the live state differ from a replay, and
// every test that appends then fails with the field's type named.
var checkPayloads = testing.Testing()

// checkPayload decodes data strictly into a new value of v's type and
// compares it with v.
func checkPayload(v any, data []byte) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil // the fold never takes it: it decodes into structs
	}
	got := reflect.New(rv.Type())
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(got.Interface()); err != nil {
		// The live fold would take v while a replay refuses its data.
		return fmt.Errorf("payload %T does not decode from its own JSON: %v", v, err)
	}
	if !reflect.DeepEqual(got.Elem().Interface(), rv.Interface()) {
		return fmt.Errorf("payload %T does not decode from its own JSON to itself: a replay would fold %+v, not %+v", v, got.Elem().Interface(), rv.Interface())
	}
	return nil
}
