package plenty

import (
	"fmt"
	"strings"
	"unicode"
)

// Council names are unique within a place, compared case-folded and with
// runs of spaces as one, so that nobody can register a look-alike of a
// council ("riverside  BAKERS" beside "Riverside Bakers" in Riverside) to
// be mistaken for it. The rule decides what may be recorded, so it is the
// fold's: `plenty check` and `plenty verify` refuse a log that breaks it.

// councilNameKey is the key a council's name is unique under: its place
// and name, each folded (see foldText), joined by a byte neither holds.
func councilNameKey(name, place string) string {
	return foldText(place) + "\x00" + foldText(name)
}

// foldText returns s with surrounding space trimmed, each run of spaces made
// one space and every letter replaced by the smallest rune of its simple
// case-folding orbit, so that two texts that strings.EqualFold calls equal
// have the same fold ("K", "k" and the Kelvin sign alike). Texts that
// differ only in Unicode normalisation (a precomposed "é" against "e" and
// a combining accent) still differ.
func foldText(s string) string {
	var b strings.Builder
	for i, w := range strings.Fields(s) {
		if i > 0 {
			b.WriteByte(' ')
		}
		for _, r := range w {
			b.WriteRune(foldRune(r))
		}
	}
	return b.String()
}

func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// claimCouncilName checks that no council of c's place has c's name, and
// records c's claim to it. It returns ECONFLICT naming the field "name"
// and the council that holds it. The index is built from the councils on
// first use; registerCouncil calls this last, after every other check, so
// a refused registration leaves the index as it was.
func (s *State) claimCouncilName(c *Council) error {
	if s.councilNames == nil {
		s.councilNames = make(map[string]string, len(s.councils))
		for id, x := range s.councils {
			s.councilNames[councilNameKey(x.Name, x.Place)] = id
		}
	}
	key := councilNameKey(c.Name, c.Place)
	if id, taken := s.councilNames[key]; taken {
		return &Error{Code: ECONFLICT,
			Message: fmt.Sprintf("a council named %q is already registered in %q (%s)", s.councils[id].Name, s.councils[id].Place, id),
			Fields: []FieldError{{Field: "name",
				Message: "is taken in this place by council " + id + " (names are compared ignoring case and extra spaces); choose a name that tells the two councils apart"}}}
	}
	s.councilNames[key] = c.ID
	return nil
}
