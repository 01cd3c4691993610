package matching

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// at returns a location x km east and y km north of a point on the equator,
// where a degree is close to 111.195 km in both directions.
func at(xKm, yKm float64) plenty.Location {
	return plenty.Location{Lat: yKm / 111.195, Lon: xKm / 111.195}
}

func offer(id string, q plenty.Amount, loc plenty.Location) plenty.Offer {
	return plenty.Offer{ID: id, Council: "c-" + id, Item: "wheat-flour", Quantity: q, Remaining: q,
		Location: loc, MaxDistanceKm: 50, Status: plenty.StatusOpen}
}

func need(id string, q plenty.Amount, prio int, loc plenty.Location) plenty.Need {
	return plenty.Need{ID: id, Council: "c-" + id, Item: "wheat-flour", Quantity: q, Remaining: q,
		Location: loc, Priority: prio, MaxDistanceKm: 50, Status: plenty.StatusOpen}
}

type flowKey struct{ offer, need string }

func flowsOf(ps []plenty.Proposal) map[flowKey]plenty.Amount {
	m := map[flowKey]plenty.Amount{}
	for _, p := range ps {
		m[flowKey{p.Offer, p.Need}] = p.Quantity
	}
	return m
}

func TestProposeSmall(t *testing.T) {
	expired := need("n-exp", 5000, 5, at(1, 0))
	expired.ExpiresAt = now.Add(-time.Hour)
	withdrawn := offer("o-w", 9000, at(0, 0))
	withdrawn.Status = plenty.StatusWithdrawn
	split := offer("o-split", 10000, at(0, 0))
	split.MinSplit = 4000
	late := offer("o-late", 10000, at(0, 0))
	late.AvailableFrom = now.Add(10 * 24 * time.Hour)
	soon := need("n-soon", 10000, 3, at(5, 0))
	soon.NeededBy = now.Add(24 * time.Hour)

	tests := []struct {
		name   string
		offers []plenty.Offer
		needs  []plenty.Need
		want   map[flowKey]plenty.Amount
	}{
		{"Nearest", []plenty.Offer{offer("o1", 10000, at(0, 0)), offer("o2", 10000, at(30, 0))},
			[]plenty.Need{need("n1", 10000, 3, at(25, 0))}, map[flowKey]plenty.Amount{{"o2", "n1"}: 10000}},
		{"PriorityBeatsDistance", []plenty.Offer{offer("o1", 10000, at(0, 0))},
			[]plenty.Need{need("n-near", 10000, 2, at(1, 0)), need("n-far", 10000, 3, at(45, 0))},
			map[flowKey]plenty.Amount{{"o1", "n-far"}: 10000}},
		{"QuantityBeforeDistance", []plenty.Offer{offer("o1", 10000, at(0, 0)), offer("o2", 10000, at(40, 0))},
			[]plenty.Need{need("n1", 10000, 3, at(1, 0)), need("n2", 10000, 3, at(-20, 0))},
			map[flowKey]plenty.Amount{{"o1", "n2"}: 10000, {"o2", "n1"}: 10000}},
		{"OutOfRange", []plenty.Offer{offer("o1", 10000, at(0, 0))},
			[]plenty.Need{need("n1", 10000, 5, at(60, 0))}, map[flowKey]plenty.Amount{}},
		{"ExpiredAndWithdrawn", []plenty.Offer{withdrawn, offer("o1", 3000, at(0, 0))},
			[]plenty.Need{expired, need("n1", 5000, 1, at(2, 0))}, map[flowKey]plenty.Amount{{"o1", "n1"}: 3000}},
		{"MinSplitExcludesSmallNeed", []plenty.Offer{split},
			[]plenty.Need{need("n-small", 1000, 5, at(1, 0)), need("n-big", 6000, 1, at(2, 0))},
			map[flowKey]plenty.Amount{{"o-split", "n-big"}: 6000}},
		{"WindowsMustOverlap", []plenty.Offer{late, offer("o-now", 2000, at(10, 0))},
			[]plenty.Need{soon}, map[flowKey]plenty.Amount{{"o-now", "n-soon"}: 2000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Propose(Input{Offers: tt.offers, Needs: tt.needs, Now: now, LedgerSize: 42})
			if err != nil {
				t.Fatal(err)
			}
			if got := flowsOf(ps); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("flows = %v, want %v", got, tt.want)
			}
			for _, p := range ps {
				if !strings.HasPrefix(p.ID, "pr_") || p.Engine != Engine || p.LedgerSize != 42 || p.Provider != "c-"+p.Offer || p.Receiver != "c-"+p.Need {
					t.Errorf("proposal fields %+v", p)
				}
				if !p.ExpiresAt.Equal(now.Add(defaultTTL)) {
					t.Errorf("expires %v, want %v", p.ExpiresAt, now.Add(defaultTTL))
				}
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		km            float64
		prio          int
		q, need, left plenty.Amount
		want          string
	}{
		{12.3, 5, 4000, 10000, 10000, "12 km away; need priority 5; covers 40% of the need"},
		{3.24, 2, 10000, 10000, 10000, "3.2 km away; need priority 2; covers all of the need"},
		{40, 1, 1, 100000, 100000, "40 km away; need priority 1; covers less than 1% of the need"},
		// 48 of 50 kg were received: the 2 kg proposed are all that is left.
		{8, 3, 2000, 50000, 2000, "8.0 km away; need priority 3; covers all that is still needed"},
		// 30 of 50 kg were received; 10 of the 20 left are proposed.
		{8, 3, 10000, 50000, 20000, "8.0 km away; need priority 3; covers 20% of the need"},
	}
	for _, tt := range tests {
		if got := Reason(tt.km, tt.prio, tt.q, tt.need, tt.left); got != tt.want {
			t.Errorf("Reason = %q, want %q", got, tt.want)
		}
	}
}

// randomLoad returns a small random load on a 60 km square, one item.
func randomLoad(r *rand.Rand, nOffers, nNeeds int) ([]plenty.Offer, []plenty.Need) {
	var offers []plenty.Offer
	var needs []plenty.Need
	for i := 0; i < nOffers; i++ {
		o := offer(fmt.Sprintf("o%02d", i), plenty.Amount(1+r.IntN(9))*1000, at(r.Float64()*60, r.Float64()*60))
		o.MaxDistanceKm = float64(20 + r.IntN(40))
		offers = append(offers, o)
	}
	for j := 0; j < nNeeds; j++ {
		n := need(fmt.Sprintf("n%02d", j), plenty.Amount(1+r.IntN(9))*1000, 1+r.IntN(5), at(r.Float64()*60, r.Float64()*60))
		n.MaxDistanceKm = float64(20 + r.IntN(40))
		needs = append(needs, n)
	}
	return offers, needs
}

// lexOptimum computes, with the reference solver and its own construction
// of the network, the best (priority-weighted quantity, transport) pair.
func lexOptimum(offers []plenty.Offer, needs []plenty.Need) (int64, int64) {
	return lexOptimumWithout(offers, needs, nil)
}

// lexOptimumWithout is lexOptimum without the pairs in exclude.
func lexOptimumWithout(offers []plenty.Offer, needs []plenty.Need, exclude map[Pair]bool) (int64, int64) {
	const big = 1 << 32 // far above (#offers)*(max transport per unit) here
	g := NewGraph(1+len(offers)+len(needs), 0)
	var total int64
	for i, o := range offers {
		g.Supply[1+i] = int64(o.Remaining)
		total += int64(o.Remaining)
		g.AddArc(1+i, 0, 0, int64(o.Remaining), 0)
		for j, n := range needs {
			d := o.Location.DistanceKm(n.Location)
			if d <= o.MaxDistanceKm && d <= n.MaxDistanceKm && !exclude[Pair{o.ID, n.ID}] {
				g.AddArc(1+i, 1+len(offers)+j, 0, int64(n.Remaining), int64(d*10+0.5))
			}
		}
	}
	for j, n := range needs {
		g.AddArc(1+len(offers)+j, 0, 0, int64(n.Remaining), -big*int64(n.Priority))
	}
	g.Supply[0] = -total
	c, _ := refSolve(g)
	// c = transport - big*P with 0 <= transport < big
	p := (-c + big - 1) / big
	return p, c + big*p
}

func TestProposeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 200; i++ {
		offers, needs := randomLoad(r, 1+r.IntN(6), 1+r.IntN(6))
		ps, err := Propose(Input{Offers: offers, Needs: needs, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]int{}
		for j, n := range needs {
			byID[n.ID] = j
		}
		var prio, transport int64
		sent := map[string]plenty.Amount{}
		got := map[string]plenty.Amount{}
		for _, p := range ps {
			n := needs[byID[p.Need]]
			prio += int64(n.Priority) * int64(p.Quantity)
			transport += int64(p.DistanceKm*10+0.5) * int64(p.Quantity)
			sent[p.Offer] += p.Quantity
			got[p.Need] += p.Quantity
		}
		for _, o := range offers {
			if sent[o.ID] > o.Remaining {
				t.Fatalf("instance %d: offer %s sends %d of %d", i, o.ID, sent[o.ID], o.Remaining)
			}
		}
		for _, n := range needs {
			if got[n.ID] > n.Remaining {
				t.Fatalf("instance %d: need %s gets %d of %d", i, n.ID, got[n.ID], n.Remaining)
			}
		}
		wantP, wantT := lexOptimum(offers, needs)
		if prio != wantP || transport != wantT {
			t.Fatalf("instance %d: (priority-weighted, transport) = (%d, %d), reference (%d, %d)", i, prio, transport, wantP, wantT)
		}
	}
}

func TestProposeDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	offers, needs := randomLoad(r, 30, 40)
	a, err := Propose(Input{Offers: offers, Needs: needs, Now: now, LedgerSize: 9})
	if err != nil {
		t.Fatal(err)
	}
	// the same postings in another order give the same proposals
	r.Shuffle(len(offers), func(i, j int) { offers[i], offers[j] = offers[j], offers[i] })
	r.Shuffle(len(needs), func(i, j int) { needs[i], needs[j] = needs[j], needs[i] })
	b, err := Propose(Input{Offers: offers, Needs: needs, Now: now, LedgerSize: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("proposals differ with input order (%d and %d)", len(a), len(b))
	}
}

func TestExplain(t *testing.T) {
	offers := []plenty.Offer{offer("o1", 10000, at(0, 0))}
	needs := []plenty.Need{need("n-near", 10000, 3, at(5, 0)), need("n-far", 10000, 3, at(20, 0))}
	r, err := Match(Input{Offers: offers, Needs: needs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.Explain("o1", "n-far")
	if err != nil {
		t.Fatal(err)
	}
	if e.Proposed || e.CloserKm != 15 || e.Reason != "would have had to be 15.0 km closer" {
		t.Errorf("explanation = %+v", e)
	}
	if e, _ := r.Explain("o1", "n-near"); !e.Proposed {
		t.Errorf("n-near should be proposed: %+v", e)
	}
	if _, err := r.Explain("o1", "nope"); plenty.ErrorCode(err) != plenty.ENOTFOUND {
		t.Errorf("err = %v, want ENOTFOUND", err)
	}
}
