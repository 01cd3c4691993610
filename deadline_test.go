package plenty

import (
	"reflect"
	"testing"
	"time"
)

// TestNextDeadline walks the deadlines of a ledger with something of every
// kind that runs out (postings with an expiry or an end of availability,
// mandates, an agreement waiting for its goods, a task collecting
// volunteers and, after its draw, a claim): nothing becomes due between
// one deadline and the next, and something does at each.
func TestNextDeadline(t *testing.T) {
	for _, drawn := range []bool{false, true} {
		w := newWorld(t)
		w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: 4 * time.Hour, AgreementTerm: 14 * 24 * time.Hour})
		a := w.agree(terms("p1", "o1", "n1", 80_500))
		task := TaskID(a.ID)
		if err := w.volunteer("v1", "Swift Heron"); err != nil {
			t.Fatal(err)
		}
		w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
		until := w.now.Add(90 * time.Minute)
		w.must(KindOfferPosted, DelegateActor("d_m1"), OfferPosted{Offer{ID: "o2", Council: "c_mill", Item: "wheat-flour",
			Quantity: 1000, Remaining: 1000, Status: StatusOpen, PostedAt: w.now, AvailableUntil: until, ExpiresAt: w.now.Add(3 * time.Hour)}})
		w.must(KindNeedPosted, DelegateActor("d_b1"), NeedPosted{Need{ID: "n3", Council: "c_bak", Item: "wheat-flour",
			Quantity: 1000, Remaining: 1000, Priority: 1, Status: StatusOpen, PostedAt: w.now, ExpiresAt: w.now.Add(2 * time.Hour)}})
		if drawn {
			w.now = w.now.Add(10 * time.Minute)
			if _, err := w.draw(task); err != nil {
				t.Fatal(err)
			}
		}

		now, seen := w.now, 0
		for {
			next, ok := w.s.NextDeadline(now)
			if !ok {
				break
			}
			if !next.After(now) {
				t.Fatalf("NextDeadline(%s) = %s, not after it", now, next)
			}
			if before, at := w.s.Due(next.Add(-time.Nanosecond)), w.s.Due(next); !reflect.DeepEqual(before, w.s.Due(now)) || reflect.DeepEqual(at, before) {
				t.Fatalf("deadline %s: due just before %+v, at it %+v, at %s %+v", next, before, at, now, w.s.Due(now))
			}
			now, seen = next, seen+1
		}
		// Offer o2's end of availability (before its expiry), need n3, the
		// agreement (unless a volunteer holds it), four mandates, and the draw
		// or the claim.
		want := 8
		if drawn {
			want = 7
		}
		if seen != want {
			t.Errorf("drawn=%v: %d deadlines, want %d", drawn, seen, want)
		}
		if d := w.s.Due(now); len(d.Offers) != 1 || len(d.Needs) != 1 || len(d.Mandates) != 4 || len(d.Draws)+len(d.Claims) != 1 {
			t.Errorf("drawn=%v: after the last deadline, due %+v", drawn, d)
		}
	}
}
