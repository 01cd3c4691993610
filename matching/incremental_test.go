package matching

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

// objective returns the priority-weighted quantity and the transport of a
// set of proposals.
func objective(ps []plenty.Proposal, needs []plenty.Need) (int64, int64) {
	prio := map[string]int{}
	for _, n := range needs {
		prio[n.ID] = n.Priority
	}
	var p, t int64
	for _, x := range ps {
		p += int64(prio[x.Need]) * int64(x.Quantity)
		t += int64(x.DistanceKm*10+0.5) * int64(x.Quantity)
	}
	return p, t
}

func TestIncrementalEqualsFromScratch(t *testing.T) {
	for _, opt := range []Options{{}, {FairSegments: 3}} {
		t.Run(fmt.Sprintf("segments=%d", opt.FairSegments), func(t *testing.T) {
			r := rand.New(rand.NewPCG(21, 22))
			offers, needs := randomLoad(r, 40, 60)
			eng := NewIncremental(opt)
			var total Stats
			for step := 0; step < 60; step++ {
				// one new posting per step, sometimes a change to an old one
				if r.IntN(2) == 0 {
					o, _ := randomLoad(r, 1, 0)
					o[0].ID = fmt.Sprintf("o-new%02d", step)
					offers = append(offers, o[0])
				} else {
					_, n := randomLoad(r, 0, 1)
					n[0].ID = fmt.Sprintf("n-new%02d", step)
					needs = append(needs, n[0])
				}
				if step%15 == 14 {
					offers[r.IntN(len(offers))].Remaining /= 2
				}
				in := Input{Offers: offers, Needs: needs, Now: now, LedgerSize: int64(step), Options: opt}
				got, st, err := eng.Propose(in)
				if err != nil {
					t.Fatal(err)
				}
				total.Warm += st.Warm
				total.Cold += st.Cold
				res, err := Match(in)
				if err != nil {
					t.Fatal(err)
				}
				want := res.Proposals
				gp, gt := objective(got, needs)
				wp, wt := objective(want, needs)
				if gp != wp || (opt.FairSegments <= 1 && gt != wt) {
					t.Fatalf("step %d: incremental (%d, %d), from scratch (%d, %d)", step, gp, gt, wp, wt)
				}
				for item, it := range eng.items {
					ref := res.items[item]
					a, _ := it.p.g.Objective(it.res.sol.Flow)
					b, _ := ref.p.g.Objective(ref.sol.Flow)
					if it.p.w != ref.p.w || a != b {
						t.Fatalf("step %d: item %s objective %d (W %d), from scratch %d (W %d)", step, item, a, it.p.w, b, ref.p.w)
					}
					sol := *it.res.sol
					sol.Cost, _ = it.p.g.Objective(sol.Flow)
					if err := Check(it.p.g, &sol); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
				}
			}
			if total.Warm < 40 {
				t.Errorf("only %d warm starts in 60 steps (%d cold)", total.Warm, total.Cold)
			}
		})
	}
}
