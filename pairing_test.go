package plenty

import (
	"math"
	"strings"
	"testing"
	"time"
)

// A hub operator writes acceptances as a delegate would, for pairs its
// engine would never propose: the fold refuses each, so neither plenty
// verify nor a neighbour replaying the log accepts them either.
func TestAcceptedPairsKeepTheEngineRules(t *testing.T) {
	w := newWorld(t)
	mill := w.s.councils["c_mill"].Location
	bakery := w.s.councils["c_bak"].Location
	offer := func(id string, edit func(*OfferPosting)) {
		p := OfferPosting{ID: id, Council: "c_mill", Item: "wheat-flour", Quantity: 250_000, Location: mill,
			AvailableFrom: w.now, AvailableUntil: w.now.Add(DefaultPostingTTL), MaxDistanceKm: DefaultMaxKm,
			ExpiresAt: w.now.Add(DefaultPostingTTL)}
		edit(&p)
		w.must(KindOfferPosted, DelegateActor("d_m1"), p)
	}
	need := func(id string, edit func(*NeedPosting)) {
		p := NeedPosting{ID: id, Council: "c_bak", Item: "wheat-flour", Quantity: 100_000, Location: bakery,
			NeededBy: w.now.Add(DefaultPostingTTL), Priority: 3, MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)}
		edit(&p)
		w.must(KindNeedPosted, DelegateActor("d_b1"), p)
	}
	far := Location{Lat: 60.39, Lon: 5.32} // about 1,100 km from the mill
	need("n_far", func(p *NeedPosting) { p.Location = far; p.MaxDistanceKm = 2000 })
	offer("o_split", func(p *OfferPosting) { p.MinSplit = 200_000 })
	offer("o_late", func(p *OfferPosting) { p.AvailableFrom = w.now.Add(20 * 24 * time.Hour) })
	need("n_soon", func(p *NeedPosting) { p.NeededBy = w.now.Add(time.Hour) })
	offer("o_brief", func(p *OfferPosting) { p.ExpiresAt = w.now.Add(2 * time.Minute); p.AvailableUntil = p.ExpiresAt })
	w.now = w.now.Add(5 * time.Minute) // o_brief has expired; offer.expired is not yet recorded

	at := func(id, o, n string, q Amount) ProposalTerms {
		p := terms(id, o, n, q)
		p.DistanceKm = math.Round(w.s.offers[o].Location.DistanceKm(w.s.needs[n].Location)*10) / 10
		return p
	}
	lying := at("p_lie", "o1", "n1", 10_000)
	lying.DistanceKm = 0
	for _, c := range []struct {
		name string
		t    ProposalTerms
		want string
	}{
		{"a distance the locations do not give", lying, "are 0.0 km apart, but they are 4.7 km apart"},
		{"beyond the offer's reach", at("p_far", "o1", "n_far", 10_000), "farther apart than one of them reaches"},
		{"below the smallest split", at("p_chip", "o_split", "n1", 1_000), "less than its smallest split"},
		{"available only after it is needed", at("p_late", "o_late", "n_soon", 10_000), "available only after the need is needed"},
		{"an offer past its expiry", at("p_old", "o_brief", "n1", 10_000), "offer o_brief has expired"},
	} {
		size := w.s.Size()
		err := w.accept("d_m1", c.t)
		if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a conflict saying %q", c.name, err, c.want)
		}
		if w.s.Size() != size {
			t.Errorf("%s: recorded", c.name)
		}
	}
	// The same offers in pairs the engine would propose are accepted.
	w.agree(at("p_whole", "o_split", "n2", 200_000))
	ok := w.agree(at("p_ok", "o1", "n1", 10_000))

	// A pair declined, or whose agreement was cancelled, is never proposed
	// again: a new proposal id for it is refused too.
	if err := w.decline("d_b1", at("p_no", "o_late", "n1", 10_000)); err != nil {
		t.Fatal(err)
	}
	w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{ok.ID, CancelWithdrawn})
	for _, p := range []ProposalTerms{at("p_no_again", "o_late", "n1", 10_000), at("p_ok_again", "o1", "n1", 10_000)} {
		err := w.accept("d_m1", p)
		if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), "not proposed again") {
			t.Errorf("%s: %v, want a conflict: the pair is not proposed again", p.ID, err)
		}
	}
}

// Matchable leaves out what cannot pair: postings not open, and the
// postings of an item with no open posting of the other side.
func TestMatchable(t *testing.T) {
	w := newWorld(t) // o1 of flour; n1 and n2 of flour
	w.must(KindItemDefined, ActorHub, ItemDefinition{Code: "rye", Name: "Rye", Dimension: Mass, Unit: "kg"})
	d := w.s.delegates["d_m1"]
	w.must(KindOfferPosted, DelegateActor("d_m1"), OfferPosting{ID: "o_rye", Council: d.Council, Item: "rye",
		Quantity: 1000, Location: w.s.councils[d.Council].Location, AvailableFrom: w.now, AvailableUntil: w.now.Add(DefaultPostingTTL),
		MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)})
	if err := w.withdraw(KindNeedWithdrawn, "n2", "d_b1"); err != nil {
		t.Fatal(err)
	}
	ids := func() string {
		offers, needs := w.s.Matchable()
		var out []string
		for _, o := range offers {
			out = append(out, o.ID)
		}
		for _, n := range needs {
			out = append(out, n.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids(); got != "o1,n1" {
		t.Errorf("matchable %s, want o1,n1 (rye has no need, n2 is withdrawn)", got)
	}
	if err := w.withdraw(KindNeedWithdrawn, "n1", "d_b1"); err != nil {
		t.Fatal(err)
	}
	if got := ids(); got != "" {
		t.Errorf("matchable %q with no open need, want none", got)
	}
}
