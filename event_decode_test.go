package plenty

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeCanonical checks that the hand-written reading of a body
// agrees with encoding/json's: whatever decodeCanonical accepts,
// decodeEventJSON accepts with the same values.
func FuzzDecodeCanonical(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`))
	f.Add([]byte(`{"seq":0,"time":"2026-11-21T09:00:00.000000000Z","kind":"offer.posted","actor":"delegate:x","data":{"offer":{"id":"a","quantity":"1.5"}}}`))
	f.Add([]byte(`{"seq":12,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":"a \"b\" \u2028"}`))
	f.Add([]byte(`{"seq":12,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":[1, 2]}`))
	f.Add([]byte(`{"seq":01,"time":"2026-02-30T09:00:00.000000000Z","kind":"k","actor":"hub","data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeCanonical(body)
		if !ok {
			return
		}
		slow, err := decodeEventJSON(body)
		if err != nil {
			t.Fatalf("hand-written reading accepted what encoding/json refuses (%v): %q", err, body)
		}
		if fast.Seq != slow.Seq || !fast.Time.Equal(slow.Time) || fast.Time.Location() != slow.Time.Location() ||
			fast.Kind != slow.Kind || fast.Actor != slow.Actor || !bytes.Equal(fast.Data, slow.Data) {
			t.Fatalf("readings differ:\nfast %+v\nslow %+v", fast, slow)
		}
	})
}

// TestDecodeCanonicalTakesEncoded checks that bodies as EncodeEvent writes
// them take the hand-written path, and those it cannot show canonical do
// not.
func TestDecodeCanonicalTakesEncoded(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 5, time.UTC)
	for _, tt := range []struct {
		name, kind, actor, data string
		fast                    bool
	}{
		{"Offer", KindOfferPosted, "delegate:d1", `{"offer":{"id":"o1","note":"a \"quoted\" <b>"}}`, true},
		{"Null", "k", "hub", `null`, true},
		{"EscapedActor", "k", "delegate:\"x\"", `{}`, false},
		{"LineSeparatorActor", "k", "delegate:\u2028", `{}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := EncodeEvent(42, at, tt.kind, tt.actor, []byte(tt.data))
			_, ok := decodeCanonical(body)
			if ok != tt.fast {
				t.Fatalf("hand-written path took %s: %v, want %v", body, ok, tt.fast)
			}
			ev, err := DecodeEvent(body)
			if err != nil || ev.Seq != 42 || ev.Actor != tt.actor || ev.Kind != tt.kind || string(ev.Data) != tt.data || !ev.Time.Equal(at) {
				t.Fatalf("DecodeEvent(%s) = %+v, %v", body, ev, err)
			}
		})
	}
	for name, body := range map[string]string{
		"LeadingZero":   `{"seq":01,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"Space":         `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{"a": 1}}`,
		"BadDay":        `{"seq":1,"time":"2026-02-30T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"EmptyKind":     `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"","actor":"hub","data":{}}`,
		"Trailing":      `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}}`,
		"InvalidUTF8":   "{\"seq\":1,\"time\":\"2026-11-21T09:00:00.000000000Z\",\"kind\":\"k\",\"actor\":\"h\xff\",\"data\":{}}",
		"TooManyDigits": `{"seq":1234567890123456789,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
	} {
		if _, ok := decodeCanonical([]byte(body)); ok {
			t.Errorf("%s: hand-written path accepted %s", name, body)
		}
	}
}

// FuzzEncodeEvent checks that the direct writing of a body is what
// encoding the envelope with encoding/json gives.
func FuzzEncodeEvent(f *testing.F) {
	f.Add(int64(3), int64(1_700_000_000_123), "offer.posted", "delegate:d1", []byte(`{"id":"a"}`))
	f.Add(int64(0), int64(0), "k\u2028", "a\"b", []byte(`null`))
	f.Add(int64(-1), int64(-5), "k", "hub", []byte(` [1, "x y"] `))
	f.Fuzz(func(t *testing.T, seq, nanos int64, kind, actor string, data []byte) {
		if !json.Valid(data) {
			return // EncodeEvent's data is valid JSON by contract
		}
		at := time.Unix(0, nanos)
		got := EncodeEvent(seq, at, kind, actor, data)
		want := encodeEventJSON(seq, at, kind, actor, data)
		if !bytes.Equal(got, want) {
			t.Fatalf("direct %s\n  json %s", got, want)
		}
	})
}
