package matching

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

// weightedCost is the cost of a set of proposals in the from-scratch
// problem's own integer costs: transport per pair, and each need's
// received quantity poured into its demand segments cheapest first.
func weightedCost(t *testing.T, ps []plenty.Proposal, p *problem) int64 {
	t.Helper()
	got := map[string]int64{}
	var cost int64
	for _, x := range ps {
		got[x.Need] += int64(x.Quantity)
		cost += roundDist(x.DistanceKm) * int64(x.Quantity)
	}
	for j, n := range p.needs {
		left := got[n.ID]
		for _, e := range p.demand[j] {
			f := min(left, p.g.Upper[e])
			cost += f * p.g.Cost[e]
			left -= f
		}
		if left != 0 {
			t.Fatalf("need %s receives %d more than it asks", n.ID, left)
		}
	}
	return cost
}

// TestIncrementalRandomSequences drives the incremental engine through
// random sequences of new postings, changed remainders, withdrawals and
// postings that vanish, and checks after every step that its proposals are
// optimal for the from-scratch problem (equal cost in that problem's own
// integer costs) and that every item's state carries a valid certificate.
func TestIncrementalRandomSequences(t *testing.T) {
	for _, opt := range []Options{{}, {FairSegments: 3}} {
		for seed := uint64(1); seed <= 8; seed++ {
			t.Run(fmt.Sprintf("segments=%d/seed=%d", opt.FairSegments, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 77))
				offers, needs := randomLoad(r, 25, 35)
				eng := NewIncremental(opt)
				var total Stats
				for step := 0; step < 80; step++ {
					switch k := r.IntN(10); {
					case k < 3:
						o, _ := randomLoad(r, 1, 0)
						o[0].ID = fmt.Sprintf("o-new%03d", step)
						offers = append(offers, o[0])
					case k < 6:
						_, n := randomLoad(r, 0, 1)
						n[0].ID = fmt.Sprintf("n-new%03d", step)
						needs = append(needs, n[0])
					case k == 6:
						i := r.IntN(len(offers))
						offers[i].Remaining = plenty.Amount(r.IntN(int(offers[i].Quantity) + 2000))
					case k == 7:
						j := r.IntN(len(needs))
						needs[j].Remaining = plenty.Amount(r.IntN(int(needs[j].Quantity) + 2000))
					case k == 8:
						if r.IntN(2) == 0 {
							offers[r.IntN(len(offers))].Status = plenty.StatusWithdrawn
						} else {
							needs[r.IntN(len(needs))].Status = plenty.StatusWithdrawn
						}
					default:
						if r.IntN(2) == 0 && len(offers) > 1 {
							i := r.IntN(len(offers))
							offers = append(offers[:i:i], offers[i+1:]...)
						} else if len(needs) > 1 {
							j := r.IntN(len(needs))
							needs = append(needs[:j:j], needs[j+1:]...)
						}
					}
					in := Input{Offers: offers, Needs: needs, Now: now, LedgerSize: int64(step), Options: opt}
					got, st, err := eng.Propose(in)
					if err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					total.Warm += st.Warm
					total.Cold += st.Cold
					res, err := Match(in)
					if err != nil {
						t.Fatal(err)
					}
					ref := res.items["wheat-flour"]
					if ref == nil {
						if len(got) != 0 {
							t.Fatalf("step %d: %d proposals for nothing to match", step, len(got))
						}
						continue
					}
					want, err := ref.p.g.Objective(ref.sol.Flow)
					if err != nil {
						t.Fatal(err)
					}
					if c := weightedCost(t, got, ref.p); c != want {
						t.Fatalf("step %d (%+v): incremental cost %d, from scratch %d", step, st, c, want)
					}
					checkProposals(t, step, got, offers, needs)
					for _, it := range eng.items {
						sol := *it.res.sol
						sol.Cost, _ = it.p.g.Objective(sol.Flow)
						if err := Check(it.p.g, &sol); err != nil {
							t.Fatalf("step %d: %v", step, err)
						}
					}
				}
				t.Logf("warm %d, cold %d", total.Warm, total.Cold)
			})
		}
	}
}

// checkProposals checks what the cached parts of incremental proposals
// must still be: sorted by offer then need, with the ID and reason of
// their current terms.
func checkProposals(t *testing.T, step int, ps []plenty.Proposal, offers []plenty.Offer, needs []plenty.Need) {
	t.Helper()
	os, ns := map[string]plenty.Offer{}, map[string]plenty.Need{}
	for _, o := range offers {
		os[o.ID] = o
	}
	for _, n := range needs {
		ns[n.ID] = n
	}
	for i, p := range ps {
		if i > 0 && (ps[i-1].Offer > p.Offer || ps[i-1].Offer == p.Offer && ps[i-1].Need >= p.Need) {
			t.Fatalf("step %d: proposals out of order at %d: %s-%s after %s-%s", step, i, p.Offer, p.Need, ps[i-1].Offer, ps[i-1].Need)
		}
		o, n := os[p.Offer], ns[p.Need]
		if want := ProposalID(o.ID, o.Remaining, n.ID, n.Remaining, p.Quantity); p.ID != want {
			t.Fatalf("step %d: proposal %s-%s has id %s, its terms give %s", step, p.Offer, p.Need, p.ID, want)
		}
		if want := Reason(o.Location.DistanceKm(n.Location), n.Priority, p.Quantity, n.Quantity, n.Remaining); p.Reason != want {
			t.Fatalf("step %d: proposal %s-%s reason %q, want %q", step, p.Offer, p.Need, p.Reason, want)
		}
	}
}
