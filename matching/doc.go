// Package matching is Plenty's matching engine: an exact minimum-cost-flow
// solver (primal network simplex with block search pivoting, on int64 with
// explicit overflow checks), its DIMACS reader and writer, a NETGEN-style
// instance generator, and the hub's per-item transportation problem.
//
// It owns computation only: it must never do I/O beyond the io.Reader and
// io.Writer it is handed, never use cgo, and import nothing but the standard
// library and the domain package plenty.
//
// The hub calls:
//
//	ps, err := matching.Propose(matching.Input{
//		Offers: offers, Needs: needs, // open ones with Remaining > 0 are used
//		Now: now, LedgerSize: size, Options: matching.Options{},
//	})
//
// which returns one plenty.Proposal per offer-need pair with a positive
// flow, sorted by offer and need ID, with a deterministic ID (ProposalID),
// Engine, Reason ("12 km away; need priority 5; covers 40% of the need"),
// Score, DistanceKm and ExpiresAt. Match does the same and keeps the
// solution, so that Result.Explain can say why a compatible pair was left
// out. NewIncremental(opts).Propose(in) gives the same proposals (the tie
// rule makes each item's optimum unique) while re-solving only the items
// whose postings changed; the hub matches through it.
//
// For tools: ReadDIMACS, Solve, Check (the optimality certificate) and
// WriteDIMACS. See docs/matching.md for the cost encoding, pruning and
// fairness rules.
package matching
