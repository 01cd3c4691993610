package plenty

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// payloadTypes are the types the fold decodes event data into.
func payloadTypes() []any {
	return []any{
		&CouncilRegistration{}, &MandateGrant{}, &MandateRecall{}, &MandateRenewal{}, &AssemblyKeyReplaced{},
		&ItemDefinition{}, &OfferPosting{}, &NeedPosting{}, &PostingClosed{}, &ProposalDecision{},
		&AgreementCancellation{}, &TransferRecorded{}, &CorrectionRecorded{}, &VolunteerRegistration{},
		&VolunteerVouch{}, &TaskRef{}, &TaskAssignment{}, &MandateExpired{}, &Terms{},
	}
}

func decodeSeeds(tb testing.TB) [][]byte {
	at := time.Date(2026, 11, 21, 10, 0, 0, 5, time.UTC)
	values := []any{
		CouncilRegistration{ID: "c1", Name: "Mill", Location: Location{Lat: 51.5, Lon: -0.1},
			Delegate: grant("d1", "c1", 100_000, AllScopes, at)},
		MandateGrant{ID: "d2", Council: "c1", Scopes: []string{}, ExpiresAt: at},
		OfferPosting{ID: "o1", Council: "c1", Item: "wheat-flour", Quantity: 250_000, Note: "é ✓", MaxDistanceKm: 40.5, ExpiresAt: at},
		NeedPosting{ID: "n1", Priority: 3, Quantity: 1},
		PostingClosed{ID: "o1"},
		TaskAssignment{Task: "t1", Volunteer: "v1", Proof: "00ff"},
		ProposalDecision{terms("p1", "o1", "n1", 80_500)},
	}
	var out [][]byte
	for _, v := range values {
		b, err := CanonicalJSON(v)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	for _, v := range payloadTypes() {
		b, err := CanonicalJSON(v)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// strictJSON is what decodeData does without decodeFast.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// FuzzDecodeFast checks, for every payload type, that whatever decodeFast
// accepts, encoding/json accepts too, with the same value.
func FuzzDecodeFast(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, proto := range payloadTypes() {
			typ := reflect.TypeOf(proto).Elem()
			fast := reflect.New(typ)
			if !decodeFast(data, fast.Interface()) {
				continue
			}
			slow := reflect.New(typ)
			if err := strictJSON(data, slow.Interface()); err != nil {
				t.Fatalf("%s: decodeFast accepted what encoding/json refuses (%v): %s", typ, err, data)
			}
			if !reflect.DeepEqual(fast.Elem().Interface(), slow.Elem().Interface()) {
				t.Fatalf("%s: decodings differ for %s:\nfast %+v\nslow %+v", typ, data, fast.Elem().Interface(), slow.Elem().Interface())
			}
		}
	})
}

// TestDecodeFastTakesCanonical checks that the canonical data of every
// payload type takes the fast path, and what it steps aside for.
func TestDecodeFastTakesCanonical(t *testing.T) {
	for _, proto := range payloadTypes() {
		if planOf(reflect.TypeOf(proto).Elem()) == nil {
			t.Errorf("%T has no decoding plan: its events replay at encoding/json's speed", proto)
		}
	}
	for _, b := range decodeSeeds(t)[:7] {
		var ok bool
		for _, proto := range payloadTypes() {
			v := reflect.New(reflect.TypeOf(proto).Elem()).Interface()
			if decodeFast(b, v) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("no payload type took the fast path for %s", b)
		}
	}
	for name, data := range map[string]string{
		"UnknownKey":  `{"id":"o1","x":1}`,
		"OtherCase":   `{"ID":"o1"}`,
		"Repeated":    `{"id":"o1","id":"o2"}`,
		"Escape":      `{"id":"o\"1"}`,
		"Null":        `{"id":null}`,
		"Space":       `{"id": "o1"}`,
		"Trailing":    `{"id":"o1"}x`,
		"NotAnObject": `["o1"]`,
	} {
		var d PostingClosed
		if decodeFast([]byte(data), &d) {
			t.Errorf("%s: decodeFast took %s", name, data)
		}
		if d != (PostingClosed{}) {
			t.Errorf("%s: a refusal changed the value: %+v", name, d)
		}
	}
}
