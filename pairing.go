package plenty

import (
	"iter"
	"slices"
	"strings"
	"time"
)

// The rules of pairing an offer with a need: the matching engine proposes
// only pairs that keep them, and the fold records an accepted proposal only
// if its pair keeps them at the acceptance, so a hub cannot record an
// exchange its engine would never have proposed.

// Usable reports whether the offer can be matched at now: open, something
// left, not expired, still available.
func (o *Offer) Usable(now time.Time) bool {
	return o.Status == StatusOpen && o.Remaining > 0 && !offerExpired(o, now)
}

// Usable reports whether the need can be matched at now: open, something
// lacking, not expired.
func (n *Need) Usable(now time.Time) bool {
	return n.Status == StatusOpen && n.Remaining > 0 && !needExpired(n, now)
}

// ReachKm is how far a posting with the given max_distance_km reaches:
// DefaultMaxKm when unset, never beyond MaxDistanceKm.
func ReachKm(maxKm float64) float64 {
	if maxKm <= 0 {
		return DefaultMaxKm
	}
	return min(maxKm, MaxDistanceKm)
}

// Pairable reports whether offer o may supply need n, with the distance
// between them; why is empty when it may, else the rule the pair breaks. A
// council never supplies itself (an exchange with oneself would move the
// public flow figures without anything changing hands); the offer must be
// available by the time the need is needed; a need smaller than the offer's
// smallest split can only take the whole rest of the offer; the distance
// must be within both postings' reach.
func Pairable(o *Offer, n *Need) (km float64, why string) {
	if o.Council == n.Council {
		return 0, "a council does not supply itself"
	}
	if !o.AvailableFrom.IsZero() && !n.NeededBy.IsZero() && o.AvailableFrom.After(n.NeededBy) {
		return 0, "the offer is available only after the need is needed"
	}
	if o.MinSplit > 0 && n.Remaining < o.MinSplit && n.Remaining < o.Remaining {
		return 0, "the need is smaller than the offer's smallest split"
	}
	km = o.Location.DistanceKm(n.Location)
	if km > ReachKm(o.MaxDistanceKm) || km > ReachKm(n.MaxDistanceKm) {
		return km, "the two are farther apart than one of them reaches"
	}
	return km, ""
}

// pairKey is the key of an offer and a need in State.closedPairs.
func pairKey(offer, need string) string { return offer + "\x00" + need }

// closePair records that offer and need are never proposed again, while
// both are live: once either leaves the state the engine cannot propose
// them and the fold refuses to agree them anyway, so the pair is dropped
// with it (bury) and the set follows what is live.
func (s *State) closePair(offer, need string) {
	if s.offers[offer] == nil || s.needs[need] == nil {
		return
	}
	k := pairKey(offer, need)
	if !s.closedPairs[k] {
		s.closedPairs[k] = true
		s.pairsOf["o:"+offer] = append(s.pairsOf["o:"+offer], k)
		s.pairsOf["n:"+need] = append(s.pairsOf["n:"+need], k)
	}
}

// dropPairs forgets the closed pairs of a posting that left the state
// (key "o:" or "n:" and its id).
func (s *State) dropPairs(key string) {
	for _, k := range s.pairsOf[key] {
		delete(s.closedPairs, k)
		offer, need, _ := strings.Cut(k, "\x00")
		other := "o:" + offer
		if other == key {
			other = "n:" + need
		}
		if rest := slices.DeleteFunc(s.pairsOf[other], func(x string) bool { return x == k }); len(rest) > 0 {
			s.pairsOf[other] = rest
		} else {
			delete(s.pairsOf, other)
		}
	}
	delete(s.pairsOf, key)
}

// ClosedPairs yields each offer and need that a council declined as a pair
// or whose agreement was cancelled: the engine never proposes them again,
// and the fold refuses to record their acceptance under a new proposal.
func (s *State) ClosedPairs() iter.Seq2[string, string] {
	return func(yield func(offer, need string) bool) {
		for k := range s.closedPairs {
			offer, need, _ := strings.Cut(k, "\x00")
			if !yield(offer, need) {
				return
			}
		}
	}
}

// Matchable returns the open offers and needs of the items that have both,
// ordered by id: all the engine can pair. Those of an item with offers
// only (or needs only) cannot make a proposal, so leaving them out changes
// no proposal, and spares copying them.
func (s *State) Matchable() ([]Offer, []Need) {
	offered, needed := map[string]bool{}, map[string]bool{}
	for _, o := range s.offers {
		if o.Status == StatusOpen {
			offered[o.Item] = true
		}
	}
	for _, n := range s.needs {
		if n.Status == StatusOpen {
			needed[n.Item] = true
		}
	}
	offers, needs := make([]Offer, 0, len(s.offers)), make([]Need, 0, len(s.needs))
	s.index.offers.after("", func(id string) bool {
		if o := s.offers[id]; o.Status == StatusOpen && needed[o.Item] {
			offers = append(offers, *o)
		}
		return true
	})
	s.index.needs.after("", func(id string) bool {
		if n := s.needs[id]; n.Status == StatusOpen && offered[n.Item] {
			needs = append(needs, *n)
		}
		return true
	})
	return offers, needs
}
