package matching

import (
	"time"

	"github.com/plentyhub/plenty"
)

// HubOptions are the options a hub proposes with. They are part of what
// anyone needs to recompute a hub's proposals from its open data (see
// InputOf). Fairness: a need's demand is split into three segments, each
// 10 km per unit dearer than the last, so supply spreads across needs of
// equal priority (docs/matching.md).
var HubOptions = Options{FairSegments: 3, FairStepKm: 10}

// InputOf is the engine's input for the ledger state st at time now: the
// "recompute it yourself" protocol. It holds the open offers and needs of
// the items that have both (plenty.State.Matchable; the engine itself
// leaves out those run out or expired at now), the
// ledger's size, HubOptions, and the pairs a council declined or whose
// agreement was cancelled, which are never proposed again (State.ClosedPairs;
// the fold refuses their acceptance too). A proposal names its
// ledger size and the time it was computed; the state of that size at that
// time gives the same proposals.
func InputOf(st *plenty.State, now time.Time) Input {
	exclude := map[Pair]bool{}
	for offer, need := range st.ClosedPairs() {
		exclude[Pair{Offer: offer, Need: need}] = true
	}
	opt := HubOptions
	opt.Exclude = exclude
	offers, needs := st.Matchable()
	return Input{Offers: offers, Needs: needs, Now: now, LedgerSize: st.Size(), Options: opt}
}
