package plenty_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
)

func TestEncodeDecodeEvent(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123, time.FixedZone("x", 3600))
	data, err := plenty.CanonicalJSON(plenty.PostingClosed{ID: "of_<1>"})
	if err != nil {
		t.Fatal(err)
	}
	body := plenty.EncodeEvent(7, at, plenty.KindOfferWithdrawn, "delegate:d1", data)
	want := `{"seq":7,"time":"2026-11-21T09:00:00.000000123Z","kind":"offer.withdrawn","actor":"delegate:d1","data":{"id":"of_<1>"}}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	ev, err := plenty.DecodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != 7 || !ev.Time.Equal(at) || ev.Kind != plenty.KindOfferWithdrawn || string(ev.Data) != `{"id":"of_<1>"}` {
		t.Fatalf("decoded %+v", ev)
	}
}

func TestDecodeEventRefuses(t *testing.T) {
	good := `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`
	tests := map[string]string{
		"Empty":         ``,
		"NotObject":     `[]`,
		"UnknownField":  `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{},"x":1}`,
		"Trailing":      good + `{}`,
		"Spaces":        `{"seq": 1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"FieldOrder":    `{"time":"2026-11-21T09:00:00.000000000Z","seq":1,"kind":"k","actor":"hub","data":{}}`,
		"ShortTime":     `{"seq":1,"time":"2026-11-21T09:00:00Z","kind":"k","actor":"hub","data":{}}`,
		"NegativeSeq":   `{"seq":-1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"NoKind":        `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"","actor":"hub","data":{}}`,
		"InvalidUTF8":   "{\"seq\":1,\"time\":\"2026-11-21T09:00:00.000000000Z\",\"kind\":\"\xff\",\"actor\":\"hub\",\"data\":{}}",
		"NullData":      `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub"}`,
		"SpacedData":    `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{ }}`,
		"FloatSeq":      `{"seq":1.0,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"DuplicateKey":  `{"seq":1,"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`,
		"EscapedLetter": `{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"\u006b","actor":"hub","data":{}}`,
	}
	if _, err := plenty.DecodeEvent([]byte(good)); err != nil {
		t.Fatalf("good body refused: %v", err)
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if ev, err := plenty.DecodeEvent([]byte(body)); err == nil {
				t.Fatalf("accepted %q as %+v", body, ev)
			}
		})
	}
}

// FuzzDecodeEvent checks that whatever DecodeEvent accepts is canonical:
// encoding the decoded event gives back the same bytes.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":{}}`))
	f.Add([]byte(`{"seq":0,"time":"2026-11-21T09:00:00.000000000Z","kind":"offer.posted","actor":"delegate:x","data":{"offer":{"id":"a","quantity":"1.5"}}}`))
	f.Add([]byte(`{"seq":1,"time":"2026-11-21T09:00:00.000000000Z","kind":"k","actor":"hub","data":"\u00e9<"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := plenty.DecodeEvent(body)
		if err != nil {
			return
		}
		again := plenty.EncodeEvent(ev.Seq, ev.Time, ev.Kind, ev.Actor, ev.Data)
		if !bytes.Equal(again, body) {
			t.Fatalf("accepted a non-canonical body\n in: %q\nout: %q", body, again)
		}
		if !json.Valid(ev.Data) {
			t.Fatalf("data is not valid JSON: %q", ev.Data)
		}
	})
}
