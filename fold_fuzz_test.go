package plenty

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFold folds one event of any data into the world of the fold's tests,
// as a hostile log or a neighbour's would bring it: the fold refuses or
// applies it without panicking, a refusal leaves the state as it was, and
// whatever it applies keeps every reservation balanced and every mandate
// within its issuer's. The seeds are the golden bodies of every kind, so
// the fuzzer starts from each payload type.
func FuzzFold(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.TrimSpace(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		if err != nil {
			return
		}
		w := newWorld(t)
		before := w.s.Root()
		ev.Seq = w.s.Size()
		if ev.Time.Before(w.s.LastTime()) {
			ev.Time = w.s.LastTime()
		}
		ev.Body = EncodeEvent(ev.Seq, ev.Time, ev.Kind, ev.Actor, ev.Data)
		if err := w.s.Apply(ev); err != nil {
			if w.s.Size() != ev.Seq || w.s.Root() != before {
				t.Fatalf("a refused event changed the state: %v", err)
			}
			if ErrorCode(err) == EINTERNAL || strings.Contains(err.Error(), "panic") {
				t.Fatalf("internal refusal: %v", err)
			}
			return
		}
		if err := w.s.CheckBalances(); err != nil {
			t.Fatalf("%s applied, then: %v", ev.Kind, err)
		}
		if err := w.s.CheckMandates(); err != nil {
			t.Fatalf("%s applied, then: %v", ev.Kind, err)
		}
	})
}

// A hostile body of 64 KiB of nesting is refused, neither crashing nor
// reaching the fold: the decoder's depth is bounded.
func TestDeeplyNestedBodyRefused(t *testing.T) {
	for _, open := range []string{"[", `{"a":`} {
		nest := strings.Repeat(open, 64<<10/len(open))
		body := []byte(`{"seq":0,"time":"2026-11-21T10:00:00.000000000Z","kind":"offer.posted","actor":"delegate:d","data":` + nest)
		if _, err := DecodeEvent(body); err == nil {
			t.Fatalf("a body of %d nested %q decoded", len(nest)/len(open), open)
		}
		ev := Event{Seq: 0, Kind: KindOfferPosted, Actor: DelegateActor("d"), Data: []byte(nest)}
		if err := NewState().Apply(ev); ErrorCode(err) != EINVALID {
			t.Fatalf("the fold took nested data: %v", err)
		}
	}
}
