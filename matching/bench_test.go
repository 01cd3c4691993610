package matching

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

// bigLoad is one item spread over a square of side km, postings reaching
// reach km: about 65k nodes and 500k arcs for the defaults of the
// incremental benchmark.
func bigLoad(r *rand.Rand, nOffers, nNeeds int, side, reach float64) ([]plenty.Offer, []plenty.Need) {
	offers := make([]plenty.Offer, nOffers)
	for i := range offers {
		offers[i] = offer(fmt.Sprintf("o%06d", i), plenty.Amount(1+r.IntN(50))*1000, at(r.Float64()*side, r.Float64()*side))
		offers[i].MaxDistanceKm = reach
	}
	needs := make([]plenty.Need, nNeeds)
	for j := range needs {
		needs[j] = need(fmt.Sprintf("n%06d", j), plenty.Amount(1+r.IntN(50))*1000, 1+r.IntN(5), at(r.Float64()*side, r.Float64()*side))
		needs[j].MaxDistanceKm = reach
	}
	return offers, needs
}

// BenchmarkIncrementalPosting folds one new need (about 7 candidate
// arcs) into a solved item of about 65k nodes and 500k arcs.
func BenchmarkIncrementalPosting(b *testing.B) {
	r := rand.New(rand.NewPCG(31, 32))
	offers, needs := bigLoad(r, 32000, 33000, 1000, 12)
	eng := NewIncremental(Options{})
	if _, _, err := eng.Propose(Input{Offers: offers, Needs: needs, Now: now}); err != nil {
		b.Fatal(err)
	}
	item := eng.items["wheat-flour"]
	nodes, arcs := item.p.g.Nodes(), item.p.g.Arcs()
	i, pivots := 0, item.s.pivots
	cpu0 := cpuTime()
	for b.Loop() {
		_, n := bigLoad(r, 0, 1, 1000, 12)
		n[0].ID = fmt.Sprintf("x%06d", i)
		i++
		needs = append(needs, n[0])
		_, st, err := eng.Propose(Input{Offers: offers, Needs: needs, Now: now})
		if err != nil || st.Warm != 1 {
			b.Fatalf("%v %+v", err, st)
		}
	}
	b.ReportMetric(float64(nodes), "nodes")
	b.ReportMetric(float64(arcs), "arcs")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(i), "cpu-ms/op")
	b.ReportMetric(float64(eng.items["wheat-flour"].s.pivots-pivots)/float64(i), "pivots/op")
}

// BenchmarkIncrementalChange lowers the remaining quantity of one offer
// that has flow (as an accepted proposal does) in the same solved item,
// and on every second iteration withdraws a need.
func BenchmarkIncrementalChange(b *testing.B) {
	r := rand.New(rand.NewPCG(31, 32))
	offers, needs := bigLoad(r, 32000, 33000, 1000, 12)
	eng := NewIncremental(Options{})
	ps, _, err := eng.Propose(Input{Offers: offers, Needs: needs, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	at := map[string]int{}
	for i, o := range offers {
		at[o.ID] = i
	}
	item := eng.items["wheat-flour"]
	i, pivots := 0, item.s.pivots
	cpu0 := cpuTime()
	for b.Loop() {
		p := ps[r.IntN(len(ps))]
		o := &offers[at[p.Offer]]
		o.Remaining -= min(p.Quantity, o.Remaining-1)
		if i%2 == 1 {
			needs[r.IntN(len(needs))].Status = plenty.StatusWithdrawn
		}
		i++
		ps, _, err = eng.Propose(Input{Offers: offers, Needs: needs, Now: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	if it := eng.items["wheat-flour"]; it == item && it.s != nil {
		b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(i), "cpu-ms/op")
		b.ReportMetric(float64(it.s.pivots-pivots)/float64(i), "pivots/op")
	} else {
		b.Fatal("the item was solved cold")
	}
}

// BenchmarkProposeFromScratch solves the same item from scratch.
func BenchmarkProposeFromScratch(b *testing.B) {
	r := rand.New(rand.NewPCG(31, 32))
	offers, needs := bigLoad(r, 32000, 33000, 1000, 12)
	for b.Loop() {
		if _, err := Propose(Input{Offers: offers, Needs: needs, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}
