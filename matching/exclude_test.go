package matching

import (
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

// TestExcludeNeverProposed declines, on random loads, a pair the solver
// proposed, and checks that the pair is never proposed again and that the
// result is the optimum of the same problem without the pair's arc, as the
// independent reference computes it.
func TestExcludeNeverProposed(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	tested := 0
	for i := 0; i < 100; i++ {
		offers, needs := randomLoad(r, 2+r.IntN(5), 2+r.IntN(5))
		ps, err := Propose(Input{Offers: offers, Needs: needs, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			continue
		}
		tested++
		declined := ps[r.IntN(len(ps))]
		ex := map[Pair]bool{{declined.Offer, declined.Need}: true}
		res, err := Match(Input{Offers: offers, Needs: needs, Now: now, Options: Options{Exclude: ex}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Proposals {
			if p.Offer == declined.Offer && p.Need == declined.Need {
				t.Fatalf("instance %d: declined pair %s-%s proposed again", i, p.Offer, p.Need)
			}
		}
		if _, err := res.Explain(declined.Offer, declined.Need); plenty.ErrorCode(err) != plenty.ENOTFOUND {
			t.Errorf("instance %d: explain of a declined pair: %v, want ENOTFOUND", i, err)
		}

		wantP, wantT := lexOptimumWithout(offers, needs, ex)
		gotP, gotT := objective(res.Proposals, needs)
		if gotP != wantP || gotT != wantT {
			t.Fatalf("instance %d: with the pair excluded (%d, %d), reference without its arc (%d, %d)", i, gotP, gotT, wantP, wantT)
		}
		if fp, ft := objective(ps, needs); fp < gotP || (fp == gotP && ft > gotT) {
			t.Fatalf("instance %d: excluding a pair improved the objective", i)
		}
	}
	if tested < 50 {
		t.Fatalf("only %d instances had a proposal", tested)
	}
}

// TestProposalIDStable checks that a proposal keeps its ID when postings
// it does not involve come, change or go, and gets a new one when its own
// terms change.
func TestProposalIDStable(t *testing.T) {
	offers := []plenty.Offer{offer("o1", 10000, at(0, 0)), offer("o2", 4000, at(100, 0))}
	needs := []plenty.Need{need("n1", 6000, 3, at(5, 0)), need("n2", 3000, 2, at(102, 0))}
	ids := func(offers []plenty.Offer, needs []plenty.Need, size int64) map[flowKey]string {
		ps, err := Propose(Input{Offers: offers, Needs: needs, Now: now, LedgerSize: size})
		if err != nil {
			t.Fatal(err)
		}
		m := map[flowKey]string{}
		for _, p := range ps {
			m[flowKey{p.Offer, p.Need}] = p.ID
		}
		return m
	}
	before := ids(offers, needs, 10)
	a, b := before[flowKey{"o1", "n1"}], before[flowKey{"o2", "n2"}]
	if a == "" || b == "" || a == b {
		t.Fatalf("proposals %v", before)
	}
	if want := ProposalID("o1", 10000, "n1", 6000, 6000); a != want {
		t.Errorf("id %s, want ProposalID of the terms %s", a, want)
	}

	// Unrelated changes far away: o2 shrinks, a new need appears near o2,
	// and the ledger grows.
	offers2 := append([]plenty.Offer(nil), offers...)
	offers2[1].Remaining = 3500
	needs2 := append(append([]plenty.Need(nil), needs...), need("n3", 1000, 1, at(99, 0)))
	after := ids(offers2, needs2, 99)
	if after[flowKey{"o1", "n1"}] != a {
		t.Errorf("o1-n1 id changed from %s to %s although its terms stand", a, after[flowKey{"o1", "n1"}])
	}
	if after[flowKey{"o2", "n2"}] == b {
		t.Errorf("o2-n2 id stayed %s although o2's remaining changed", b)
	}

	// Removing the far pair's postings keeps o1-n1's id too.
	after = ids(offers[:1], needs[:1], 100)
	if len(after) != 1 || after[flowKey{"o1", "n1"}] != a {
		t.Errorf("after removals: %v, want o1-n1 with id %s", after, a)
	}

	// The need's remaining changes: the id changes.
	needs3 := append([]plenty.Need(nil), needs...)
	needs3[0].Remaining = 5000
	if got := ids(offers, needs3, 11)[flowKey{"o1", "n1"}]; got == a || got != ProposalID("o1", 10000, "n1", 5000, 5000) {
		t.Errorf("after n1 shrank: id %s (was %s)", got, a)
	}
}
