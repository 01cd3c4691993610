package plenty

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// snapshotWorld is a state with councils, delegates (one recalled),
// postings, an agreement and a volunteer.
func snapshotWorld(t *testing.T) *world {
	w := newWorld(t)
	w.agree(terms("p1", "o1", "n1", 80_500))
	w.must(KindDelegateRecalled, DelegateActor("d_b1"), MandateRecall{Council: "c_bak", Delegate: "d_b3"})
	if err := w.volunteer("v1", "rider"); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSnapshotRoundTrip(t *testing.T) {
	w := snapshotWorld(t)
	b, err := w.s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var changed []Change
	got := NewState()
	got.OnChange(func(c Change) { changed = append(changed, c) })
	if err := got.UnmarshalSnapshot(b); err != nil {
		t.Fatal(err)
	}
	// The same state, field by field (the callback aside; the gone set
	// as its sorted entries, as it encodes)...
	want := *w.s
	want.onChange = nil
	want.gone = goneSet{sorted: w.s.gone.all()}
	restored := *got
	restored.onChange = nil
	if !reflect.DeepEqual(want, restored) {
		t.Fatalf("restored state differs:\nwant %v\n got %v", w.s, got)
	}
	if why, _ := got.GoneStatus("delegate", "d_b3"); got.Size() != w.s.Size() || why != EndedByRecall || got.delegates["d_b1"].TokenHash == "" {
		t.Fatalf("restored size %d, d_b3 gone as %q, token hash %q", got.Size(), why, got.delegates["d_b1"].TokenHash)
	}
	// ...encoding to the same bytes, whatever the maps' order...
	again, err := got.MarshalSnapshot()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	// ...and folding the next event as the original does, the callback
	// kept.
	ev := w.event(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{ID: "o1"})
	if err := w.s.Apply(ev); err != nil {
		t.Fatal(err)
	}
	if err := got.Apply(ev); err != nil {
		t.Fatal(err)
	}
	if len(changed) == 0 || got.offers["o1"].Status != w.s.offers["o1"].Status {
		t.Fatalf("after the next event: changes %v, status %q vs %q", changed, got.offers["o1"].Status, w.s.offers["o1"].Status)
	}
}

// TestSnapshotSharedPointer checks that an entity two maps share stays
// shared after a round trip.
func TestSnapshotSharedPointer(t *testing.T) {
	s := NewState()
	o := &Offer{ID: "o1", Status: StatusOpen}
	s.offers["o1"] = o
	s.offers["alias"] = o
	b, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got := NewState()
	if err := got.UnmarshalSnapshot(b); err != nil {
		t.Fatal(err)
	}
	if got.offers["o1"] != got.offers["alias"] || got.offers["o1"].ID != "o1" {
		t.Fatal("a shared entity came back as two")
	}
}

func TestSnapshotRefusesDamage(t *testing.T) {
	w := snapshotWorld(t)
	b, err := w.s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	stale := bytes.Clone(b)
	stale[len(snapshotMagic)] ^= 1
	tests := map[string][]byte{
		"Empty":     nil,
		"NotOne":    []byte("hello"),
		"Truncated": b[:len(b)-7],
		"Trailing":  append(bytes.Clone(b), 0),
		"Stale":     stale,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewState()
			err := s.UnmarshalSnapshot(in)
			if err == nil {
				t.Fatal("accepted a damaged snapshot")
			}
			if name == "Stale" && !errors.Is(err, ErrSnapshotStale) {
				t.Fatalf("stale snapshot: %v", err)
			}
			if s.Size() != 0 || len(s.councils) != 0 {
				t.Fatal("a refused snapshot changed the state")
			}
		})
	}
}

// FuzzUnmarshalSnapshot checks that damaged snapshots are refused, never a
// panic, and that whatever is accepted is a state that encodes and decodes
// to itself. (Accepted bytes need not be the canonical encoding: a time
// has several binary forms. The hub only reads snapshots it wrote, behind
// a checksum, and `plenty check` compares them with a replay's bytes.)
func FuzzUnmarshalSnapshot(f *testing.F) {
	s := NewState()
	s.offers["o1"] = &Offer{ID: "o1", Quantity: 5, Status: StatusOpen}
	b, err := s.MarshalSnapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewState()
		if err := s.UnmarshalSnapshot(in); err != nil {
			return
		}
		out, err := s.MarshalSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		again := NewState()
		if err := again.UnmarshalSnapshot(out); err != nil {
			t.Fatalf("cannot read its own encoding: %v", err)
		}
		out2, err := again.MarshalSnapshot()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable (%v)", err)
		}
	})
}
