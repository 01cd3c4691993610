package matching

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

// TestNoExchangeWithOneself: a council's own offer lies next to its own
// need, another council's offer far away; only the far one is proposed.
func TestNoExchangeWithOneself(t *testing.T) {
	own := offer("o-own", 5000, at(0, 0))
	own.Council = "c-mill"
	other := offer("o-other", 5000, at(30, 0))
	n := need("n1", 5000, 3, at(1, 0))
	n.Council = "c-mill"
	ps, err := Propose(Input{Offers: []plenty.Offer{own, other}, Needs: []plenty.Need{n}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Offer != "o-other" || ps[0].Provider != "c-o-other" || ps[0].Receiver != "c-mill" {
		t.Fatalf("proposals = %+v, want only o-other for n1", ps)
	}
	res, err := Match(Input{Offers: []plenty.Offer{own}, Needs: []plenty.Need{n}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Proposals) != 0 {
		t.Fatalf("a council's own offer alone was proposed for its own need: %+v", res.Proposals)
	}
	if _, err := res.Explain("o-own", "n1"); plenty.ErrorCode(err) != plenty.ENOTFOUND {
		t.Fatalf("explain of a self pair: %v, want ENOTFOUND (not a compatible pair)", err)
	}
}

// TestNoSelfPairOnRandomLoads gives random loads only three councils, so
// that many compatible pairs are a council with itself: neither engine
// proposes one, and both reach the optimum of the problem without those
// arcs, as the independent reference computes it.
func TestNoSelfPairOnRandomLoads(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	eng := NewIncremental(Options{})
	selfPairs := 0
	offers, needs := []plenty.Offer{}, []plenty.Need{}
	for step := 0; step < 60; step++ {
		o, n := randomLoad(r, 1, 1)
		o[0].ID, n[0].ID = fmt.Sprintf("o%02d", step), fmt.Sprintf("n%02d", step)
		o[0].Council, n[0].Council = fmt.Sprintf("c%d", r.IntN(3)), fmt.Sprintf("c%d", r.IntN(3))
		offers, needs = append(offers, o[0]), append(needs, n[0])

		self := map[Pair]bool{}
		for _, o := range offers {
			for _, n := range needs {
				if o.Council == n.Council {
					self[Pair{o.ID, n.ID}] = true
				}
			}
		}
		selfPairs = len(self)
		in := Input{Offers: offers, Needs: needs, Now: now, LedgerSize: int64(step)}
		res, err := Match(in)
		if err != nil {
			t.Fatal(err)
		}
		inc, _, err := eng.Propose(in)
		if err != nil {
			t.Fatal(err)
		}
		for name, ps := range map[string][]plenty.Proposal{"from scratch": res.Proposals, "incremental": inc} {
			for _, p := range ps {
				if p.Provider == p.Receiver {
					t.Fatalf("step %d, %s: proposal %s pairs council %s with itself", step, name, p.ID, p.Provider)
				}
			}
			wantP, wantT := lexOptimumWithout(offers, needs, self)
			if gotP, gotT := objective(ps, needs); gotP != wantP || gotT != wantT {
				t.Fatalf("step %d, %s: objective (%d, %d), reference without self pairs (%d, %d)", step, name, gotP, gotT, wantP, wantT)
			}
		}
	}
	if selfPairs < 500 {
		t.Fatalf("only %d self pairs in the last load; the test does not exercise the rule", selfPairs)
	}
}
