package matching

import (
	"testing"
	"time"

	"github.com/plentyhub/plenty/fixtures"
)

// fairness summarises a set of proposals over the demo region.
type fairness struct {
	weighted  int64 // priority-weighted quantity delivered (units x priority)
	delivered int64 // quantity delivered, in thousandths
	transport int64 // 0.1 km x thousandths
	served    int   // needs receiving something
	full      int   // needs filled completely
	partial   int   // needs receiving part of what they ask
	contested int   // needs that a compatible offer could serve
	fillShare int64 // over contested needs, the sum of fill fractions, in 1/1000
}

func measureFairness(t *testing.T, d fixtures.DemoRegion, now time.Time, opt Options) fairness {
	t.Helper()
	in := Input{Offers: d.Offers, Needs: d.Needs, Now: now, Options: opt}
	r, err := Match(in)
	if err != nil {
		t.Fatal(err)
	}
	var f fairness
	got := map[string]int64{}
	prio := map[string]int64{}
	for _, n := range d.Needs {
		prio[n.ID] = int64(n.Priority)
	}
	for _, p := range r.Proposals {
		got[p.Need] += int64(p.Quantity)
		f.delivered += int64(p.Quantity)
		f.weighted += prio[p.Need] * int64(p.Quantity)
		f.transport += roundDist(p.DistanceKm) * int64(p.Quantity)
	}
	for _, s := range r.items {
		for j, n := range s.p.needs {
			if len(s.p.demand[j]) == 0 {
				continue
			}
			has := false
			for _, c := range s.p.pairs {
				has = has || c.need == j
			}
			if !has {
				continue
			}
			f.contested++
			g := got[n.ID]
			f.fillShare += g * 1000 / int64(n.Remaining)
			switch {
			case g == int64(n.Remaining):
				f.full++
				f.served++
			case g > 0:
				f.partial++
				f.served++
			}
		}
	}
	return f
}

// TestFairSegmentsOnDemo measures what FairSegments does on the demo
// region as it is and with every offer cut to a third (scarce supply); the
// figures are in docs/matching.md. Priorities stay first, so the
// priority-weighted quantity is the same, while supply spreads over at
// least as many needs at some cost in transport.
func TestFairSegmentsOnDemo(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, scarce := range []bool{false, true} {
		d := fixtures.Demo(now)
		if scarce {
			for i := range d.Offers {
				d.Offers[i].Remaining = max(d.Offers[i].Remaining/3, 1)
			}
		}
		off := measureFairness(t, d, now, Options{})
		t.Logf("scarce %v segments 1: %+v", scarce, off)
		for _, opt := range []Options{{FairSegments: 2}, {FairSegments: 4}, {FairSegments: 4, FairStepKm: 30}} {
			on := measureFairness(t, d, now, opt)
			t.Logf("scarce %v segments %d step %v: %+v", scarce, opt.FairSegments, opt.FairStepKm, on)
			if on.weighted != off.weighted {
				t.Errorf("%+v: priority-weighted quantity %d, without %d", opt, on.weighted, off.weighted)
			}
			if on.served < off.served || on.transport < off.transport || on.contested != off.contested {
				t.Errorf("%+v: served %d (without %d), transport %d (without %d)", opt, on.served, off.served, on.transport, off.transport)
			}
		}
	}
}
