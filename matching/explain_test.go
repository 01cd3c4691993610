package matching

import (
	"math/rand/v2"
	"testing"
)

// TestExplainIsExact checks, on random loads, that what Explain says a
// pair left out would have had to gain is exact: making the pair's arc
// cheaper by one unit less leaves the optimum unchanged, and by one unit
// more improves it. The optima come from the independent reference solver.
func TestExplainIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	checked := 0
	for i := 0; i < 60; i++ {
		offers, needs := randomLoad(r, 2+r.IntN(5), 2+r.IntN(5))
		res, err := Match(Input{Offers: offers, Needs: needs, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		s := res.items["wheat-flour"]
		if s == nil {
			continue
		}
		base, ok := refSolve(s.p.g)
		if !ok {
			t.Fatal("reference found no flow")
		}
		for _, c := range s.p.pairs {
			o, n := s.p.offers[c.offer], s.p.needs[c.need]
			e, err := res.Explain(o.ID, n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.Proposed {
				continue
			}
			need := int64(e.CloserKm*decikm + 0.5) // in cost units
			cost := func(delta int64) int64 {
				g := *s.p.g
				g.Cost = append([]int64(nil), s.p.g.Cost...)
				g.Cost[c.arc] -= delta
				v, ok := refSolve(&g)
				if !ok {
					t.Fatal("reference found no flow")
				}
				return v
			}
			if need > 0 {
				if got := cost(need - 1); got != base {
					t.Fatalf("instance %d, %s-%s: %d cheaper (Explain says %d are needed) already changes the optimum from %d to %d", i, o.ID, n.ID, need-1, need, base, got)
				}
			}
			if got := cost(need + 1); got >= base {
				t.Fatalf("instance %d, %s-%s: %d cheaper (Explain says %d suffice) leaves the optimum at %d (was %d)", i, o.ID, n.ID, need+1, need, got, base)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d pairs left out were checked", checked)
	}
}
