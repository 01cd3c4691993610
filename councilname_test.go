package plenty

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func registration(id, name, place string, at time.Time) CouncilRegistration {
	return CouncilRegistration{ID: id, Name: name, Sector: "food", Place: place,
		Delegate: grant("d_"+id, id, 0, AllScopes, at.Add(MaxMandateTerm))}
}

// TestCouncilNameUniqueInPlace registers look-alikes of "Riverside
// Bakers" in Riverside: each is refused with a conflict naming the field
// name, and the refused event changes nothing; the same name elsewhere is
// another council.
func TestCouncilNameUniqueInPlace(t *testing.T) {
	w := &world{t: t, s: NewState(), now: t0}
	w.must(KindCouncilRegistered, ActorPublic, registration("c_1", "Riverside Bakers", "Riverside", w.now))
	for _, tc := range []struct{ test, name, place string }{
		{"ErrSameName", "Riverside Bakers", "Riverside"},
		{"ErrCase", "riverside BAKERS", "Riverside"},
		{"ErrSpaces", "  Riverside   Bakers ", "Riverside"},
		{"ErrPlaceCase", "Riverside Bakers", " riverside"},
		{"ErrKelvinSign", "Riverside Ba\u212Aers", "Riverside"},
	} {
		t.Run(tc.test, func(t *testing.T) {
			size, councils := w.s.Size(), len(w.s.Councils())
			err := w.apply(KindCouncilRegistered, ActorPublic, registration("c_x", tc.name, tc.place, w.now))
			pe, _ := err.(*Error)
			if pe == nil || pe.Code != ECONFLICT || len(pe.Fields) != 1 || pe.Fields[0].Field != "name" {
				t.Fatalf("registering %q in %q: %v, want a conflict naming the field name", tc.name, tc.place, err)
			}
			if w.s.Size() != size || len(w.s.Councils()) != councils {
				t.Fatalf("a refused registration changed the state: size %d → %d, councils %d → %d", size, w.s.Size(), councils, len(w.s.Councils()))
			}
		})
	}
	w.must(KindCouncilRegistered, ActorPublic, registration("c_2", "Riverside Bakers", "Hill", w.now))
	w.must(KindCouncilRegistered, ActorPublic, registration("c_3", "Riverside Bakery", "Riverside", w.now))

	// The index is rebuilt from the councils when a state starts without it.
	w.s.councilNames = nil
	if err := w.apply(KindCouncilRegistered, ActorPublic, registration("c_4", "RIVERSIDE BAKERY", "Riverside", w.now)); ErrorCode(err) != ECONFLICT {
		t.Fatalf("after rebuilding the index: %v, want a conflict with c_3", err)
	}
	if n := len(w.s.Councils()); n != 3 {
		t.Fatalf("%d councils, want 3", n)
	}
}

func TestFoldText(t *testing.T) {
	for in, want := range map[string]string{
		"Riverside Bakers":      "Riverside Bakers",
		"  riverside\tBAKERS  ": "Riverside Bakers",
		"STRASSE":               "STRASSE",
		"\u212A":                "K",
	} {
		if got, w := foldText(in), foldText(want); got != w {
			t.Errorf("foldText(%q) = %q, want the fold of %q, %q", in, got, want, w)
		}
	}
}

// FuzzFoldText: folding is idempotent, and two names strings.EqualFold
// calls equal (after trimming and collapsing spaces) have one key.
func FuzzFoldText(f *testing.F) {
	for _, s := range []string{"Riverside Bakers", "  riverside\tBAKERS ", "Ba\u212Aers", "Straße", "ǅ", "\xff"} {
		f.Add(s, strings.ToUpper(s))
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		fa := foldText(a)
		if foldText(fa) != fa {
			t.Fatalf("foldText is not idempotent on %q: %q then %q", a, fa, foldText(fa))
		}
		ca, cb := strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " ")
		if utf8.ValidString(a) && utf8.ValidString(b) && strings.EqualFold(ca, cb) && fa != foldText(b) {
			t.Fatalf("%q and %q are equal but for case, yet fold to %q and %q", a, b, fa, foldText(b))
		}
	})
}
