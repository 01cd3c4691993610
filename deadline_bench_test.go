package plenty_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/fixtures"
)

// loadedState is a state holding a synthetic load of open postings (and
// their councils, each with a mandate), applied as the hub's events.
func loadedState(tb testing.TB, postings int) (*plenty.State, time.Time) {
	tb.Helper()
	syn := fixtures.Synthetic{Seed: 1, Offers: postings / 2, Needs: postings / 2}
	offers, needs := syn.Generate()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st := plenty.NewState()
	apply := func(kind string, data any) {
		raw, err := plenty.CanonicalJSON(data)
		if err != nil {
			tb.Fatal(err)
		}
		actor := plenty.ActorHub
		switch d := data.(type) {
		case plenty.OfferPosting:
			actor = plenty.DelegateActor("d-" + d.Council)
		case plenty.NeedPosting:
			actor = plenty.DelegateActor("d-" + d.Council)
		case plenty.CouncilRegistration:
			actor = plenty.ActorPublic
		}
		if err := st.Apply(plenty.Event{Seq: st.Size(), Time: now, Kind: kind, Actor: actor, Data: raw}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		apply(plenty.KindItemDefined, plenty.ItemDefinition{Code: fmt.Sprintf("item-%02d", i), Name: fmt.Sprintf("Item %d", i), Dimension: plenty.Mass, Unit: "kg"})
	}
	councils := map[string]bool{}
	for _, o := range offers {
		councils[o.Council] = true
	}
	for _, n := range needs {
		councils[n.Council] = true
	}
	for c := range councils {
		apply(plenty.KindCouncilRegistered, plenty.CouncilRegistration{ID: c, Name: "Council " + c, Sector: "food", Place: "Midlands",
			Delegate: plenty.MandateGrant{ID: "d-" + c, Council: c, Label: "first", Mandate: "trade",
				Scopes: plenty.AllScopes, ExpiresAt: now.Add(plenty.MaxMandateTerm)}})
	}
	for _, o := range offers {
		apply(plenty.KindOfferPosted, o.Posting())
	}
	for _, n := range needs {
		apply(plenty.KindNeedPosted, n.Posting())
	}
	return st, now
}

// BenchmarkTimers compares what the hub's timers cost: a write followed by
// a look at the next deadline (what the timers do after each burst of
// writes) against the write alone, and the first look (which builds the
// index) against the sweep the deadlines replace (Due, which the hub ran
// every 30 s). The writes add postings, so the write benchmarks run on a
// state somewhat larger than n.
func BenchmarkTimers(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		st, now := loadedState(b, n)
		o, _ := fixtures.Synthetic{Seed: 2, Offers: 1}.Generate()
		post := func(i int) {
			x := o[0]
			x.ID, x.Council = fmt.Sprintf("o-bench-%d", i), "c0001"
			raw, _ := plenty.CanonicalJSON(x.Posting())
			if err := st.Apply(plenty.Event{Seq: st.Size(), Time: now, Kind: plenty.KindOfferPosted, Actor: plenty.DelegateActor("d-c0001"), Data: raw}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("FirstLook/postings=%d", n), func(b *testing.B) {
			for b.Loop() {
				st.ForgetDeadlines()
				if _, ok := st.NextDeadline(now); !ok {
					b.Fatal("no deadline")
				}
			}
		})
		b.Run(fmt.Sprintf("Due/postings=%d", n), func(b *testing.B) {
			for b.Loop() {
				st.Due(now)
			}
		})
		i := 0
		b.Run(fmt.Sprintf("WriteAndLook/postings=%d", n), func(b *testing.B) {
			for b.Loop() {
				i++
				post(i)
				if _, ok := st.NextDeadline(now); !ok {
					b.Fatal("no deadline")
				}
			}
		})
		b.Run(fmt.Sprintf("Write/postings=%d", n), func(b *testing.B) {
			for b.Loop() {
				i++
				post(i)
			}
		})
	}
}
