package plenty

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// fillFields sets every field of the struct p points to a value of its
// own, so that a decoder that reads fields out of order, or misses one
// added later, cannot read the struct back.
func fillFields(t *testing.T, p any, seed int) {
	v := reflect.ValueOf(p).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		n := seed*100 + i + 1
		switch {
		case f.Type() == timeType:
			f.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)))
		case f.Type() == reflect.TypeFor[Location]():
			f.Set(reflect.ValueOf(Location{Lat: float64(n) / 7, Lon: -float64(n) / 9}))
		case f.Kind() == reflect.String:
			f.SetString(fmt.Sprintf("%s-%d", v.Type().Field(i).Name, n%3)) // repeats across postings
		case f.Kind() == reflect.Int64 || f.Kind() == reflect.Int:
			f.SetInt(int64(n))
		case f.Kind() == reflect.Float64:
			f.SetFloat(float64(n) + 0.25)
		default:
			t.Fatalf("fillFields does not know %s.%s (%s): teach it, and the typed decoder", v.Type().Name(), v.Type().Field(i).Name, f.Type())
		}
	}
}

// TestTypedSnapshotDecoding decodes one snapshot with the hand-written
// offer and need decoders and by reflection: both read back every field.
func TestTypedSnapshotDecoding(t *testing.T) {
	s := NewState()
	for i := 0; i < 5; i++ {
		o, n := &Offer{}, &Need{}
		fillFields(t, o, i)
		fillFields(t, n, i+10)
		o.ID, n.ID = fmt.Sprint("o", i), fmt.Sprint("n", i)
		s.offers[o.ID], s.needs[n.ID] = o, n
		s.index.add("offer", o.ID)
		s.index.add("need", n.ID)
	}
	b, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	decode := func(typed bool) *State {
		typedDecoding = typed
		defer func() { typedDecoding = true }()
		got := NewState()
		if err := got.UnmarshalSnapshot(b); err != nil {
			t.Fatalf("typed %v: %v", typed, err)
		}
		return got
	}
	typed, reflected := decode(true), decode(false)
	for id, want := range s.offers {
		if !reflect.DeepEqual(typed.offers[id], want) || !reflect.DeepEqual(reflected.offers[id], want) {
			t.Fatalf("offer %s:\n typed     %+v\n reflected %+v\n want      %+v", id, typed.offers[id], reflected.offers[id], want)
		}
	}
	for id, want := range s.needs {
		if !reflect.DeepEqual(typed.needs[id], want) || !reflect.DeepEqual(reflected.needs[id], want) {
			t.Fatalf("need %s:\n typed     %+v\n reflected %+v\n want      %+v", id, typed.needs[id], reflected.needs[id], want)
		}
	}
	// Names that repeat are kept once: o0's and o3's status are the same
	// string, read into one copy.
	if a, b := typed.offers["o0"].Status, typed.offers["o3"].Status; a != b || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("statuses %q and %q are two copies", a, b)
	}
}
