package plenty

import (
	"fmt"
	"math/rand/v2"
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
		w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: 4 * time.Hour, AgreementTerm: 14 * 24 * time.Hour, DrawKey: testDrawKeyHex()})
		a := w.agree(terms("p1", "o1", "n1", 80_500))
		task := TaskID(a.ID)
		w.vouched("v1")
		w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
		until := w.now.Add(90 * time.Minute)
		w.must(KindOfferPosted, DelegateActor("d_m1"), Offer{ID: "o2", Council: "c_mill", Item: "wheat-flour",
			Quantity: 1000, Remaining: 1000, Status: StatusOpen, PostedAt: w.now, AvailableUntil: until, ExpiresAt: w.now.Add(3 * time.Hour), MaxDistanceKm: 50, AvailableFrom: w.now}.Posting())
		w.must(KindNeedPosted, DelegateActor("d_b1"), Need{ID: "n3", Council: "c_bak", Item: "wheat-flour",
			Quantity: 1000, Remaining: 1000, Priority: 1, Status: StatusOpen, PostedAt: w.now, ExpiresAt: w.now.Add(2 * time.Hour), MaxDistanceKm: 50, NeededBy: w.now.Add(2 * time.Minute)}.Posting())
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
		// agreement (unless a volunteer holds it), the mandates (d_b3 ends
		// with d_b1, who issued it: three times for four), the draw or the
		// claim, and the world's own postings o1 and n2 after 30 days.
		want := 9
		if drawn {
			want = 8
		}
		if seen != want {
			t.Errorf("drawn=%v: %d deadlines, want %d", drawn, seen, want)
		}
		if d := w.s.Due(now); len(d.Offers) != 2 || len(d.Needs) != 2 || len(d.Mandates) != 4 || len(d.Draws)+len(d.Claims) != 1 {
			t.Errorf("drawn=%v: after the last deadline, due %+v", drawn, d)
		}
	}
}

// nextDeadlineScan is NextDeadline by a pass over the whole state: the
// reference the index must agree with.
func nextDeadlineScan(s *State, now time.Time) (time.Time, bool) {
	var next time.Time
	for _, kind := range []string{"offer", "need", "delegate", "agreement", "task"} {
		var ids []string
		switch kind {
		case "offer":
			ids = sortedKeys(s.offers)
		case "need":
			ids = sortedKeys(s.needs)
		case "delegate":
			ids = sortedKeys(s.delegates)
		case "agreement":
			ids = sortedKeys(s.agreements)
		case "task":
			ids = sortedKeys(s.tasks)
		}
		for _, id := range ids {
			if at, ok := s.deadlineOf(Change{kind, id}); ok && at.After(now) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next, !next.IsZero()
}

// TestNextDeadlineIndexProperty drives a ledger through random postings,
// withdrawals, agreements, volunteers, draws, pickups, recalls, changes of
// terms and the hub's recording of what ran out, asking NextDeadline now
// and then (so changes pile up between looks), and checks each answer
// against a pass over the whole state.
func TestNextDeadlineIndexProperty(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		w := newWorld(t)
		for _, v := range []string{"v1", "v2", "v3"} {
			w.vouched(v)
		}
		minutes := func(n int) time.Duration { return time.Duration(1+r.IntN(n)) * time.Minute }
		open := func(kind string) []string {
			var ids []string
			if kind == "offer" {
				for _, id := range sortedKeys(w.s.offers) {
					if w.s.offers[id].Status == StatusOpen {
						ids = append(ids, id)
					}
				}
			} else {
				for _, id := range sortedKeys(w.s.needs) {
					if w.s.needs[id].Status == StatusOpen {
						ids = append(ids, id)
					}
				}
			}
			return ids
		}
		pick := func(ids []string) string {
			if len(ids) == 0 {
				return ""
			}
			return ids[r.IntN(len(ids))]
		}
		looks := 0
		for step := 0; step < 300; step++ {
			w.now = w.now.Add(minutes(30))
			switch r.IntN(10) {
			case 0:
				o := Offer{ID: fmt.Sprintf("o-%d", step), Council: "c_mill", Item: "wheat-flour", Quantity: 5000, Remaining: 5000,
					Status: StatusOpen, PostedAt: w.now, ExpiresAt: w.now.Add(minutes(600))}
				if r.IntN(2) == 0 {
					o.AvailableUntil = w.now.Add(minutes(600))
				}
				w.apply(KindOfferPosted, DelegateActor("d_m1"), o.Posting())
			case 1:
				w.apply(KindNeedPosted, DelegateActor("d_b1"), Need{ID: fmt.Sprintf("n-%d", step), Council: "c_bak", Item: "wheat-flour",
					Quantity: 5000, Remaining: 5000, Priority: 2, Status: StatusOpen, PostedAt: w.now, ExpiresAt: w.now.Add(minutes(600)), MaxDistanceKm: 50, NeededBy: w.now.Add(2 * time.Minute)}.Posting())
			case 2:
				if id := pick(open("offer")); id != "" {
					w.apply(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{id})
				} else if id := pick(open("need")); id != "" {
					w.apply(KindNeedWithdrawn, DelegateActor("d_b1"), PostingClosed{id})
				}
			case 3, 4:
				o, n := pick(open("offer")), pick(open("need"))
				if o == "" || n == "" {
					break
				}
				tm := ProposalTerms{ID: fmt.Sprintf("p-%d", step), Offer: o, Need: n, Quantity: 1000, DistanceKm: 4.7, LedgerSize: 1, Engine: "plenty-match/1"}
				w.accept("d_m1", tm)
				w.accept("d_b1", tm)
			case 5:
				var tasks []string
				for _, id := range sortedKeys(w.s.tasks) {
					if w.s.tasks[id].Status == TaskOpen {
						tasks = append(tasks, id)
					}
				}
				if id := pick(tasks); id != "" {
					w.apply(KindTaskVolunteered, VolunteerActor(pick([]string{"v1", "v2", "v3"})), TaskRef{id})
				}
			case 6:
				for _, id := range sortedKeys(w.s.tasks) {
					if tk := w.s.tasks[id]; tk.Status == TaskAssigned && r.IntN(2) == 0 {
						w.apply(KindTaskPickedUp, VolunteerActor(tk.Assignee), TaskRef{id})
					}
				}
			case 7:
				w.apply(KindTermsSet, ActorHub, Terms{LotteryWindow: minutes(60), ClaimWindow: minutes(240), AgreementTerm: minutes(600), DrawKey: testDrawKeyHex()})
			case 8:
				if r.IntN(4) == 0 {
					w.apply(KindDelegateRecalled, DelegateActor("d_b1"), MandateRecall{Council: "c_bak", Delegate: "d_b3"})
				}
			case 9:
				// The hub records what ran out, as Tick does.
				d := w.s.Due(w.now)
				for _, id := range d.Offers {
					w.apply(KindOfferExpired, ActorHub, PostingClosed{id})
				}
				for _, id := range d.Needs {
					w.apply(KindNeedExpired, ActorHub, PostingClosed{id})
				}
				for _, id := range d.Mandates {
					w.apply(KindMandateExpired, ActorHub, MandateExpired{id})
				}
				for _, id := range d.Agreements {
					w.apply(KindAgreementCancelled, ActorHub, AgreementCancellation{Agreement: id, Reason: CancelExpired})
				}
				for _, id := range d.Claims {
					w.apply(KindTaskLapsed, ActorHub, TaskRef{id})
				}
				for _, id := range d.Draws {
					w.draw(id)
				}
			}
			if r.IntN(3) > 0 {
				continue
			}
			looks++
			at := w.now.Add(time.Duration(r.IntN(120)-60) * time.Minute)
			got, gok := w.s.NextDeadline(at)
			want, wok := nextDeadlineScan(w.s, at)
			if gok != wok || !got.Equal(want) {
				t.Fatalf("seed %d, step %d: NextDeadline(%s) = %s, %v; a pass over the state says %s, %v", seed, step, at, got, gok, want, wok)
			}
			// And it is Due's next change: nothing more is due until it, something more at it.
			if gok {
				if before, atIt := w.s.Due(got.Add(-time.Nanosecond)), w.s.Due(got); !reflect.DeepEqual(before, w.s.Due(at)) || reflect.DeepEqual(atIt, before) {
					t.Fatalf("seed %d, step %d: deadline %s: due at %s %+v, just before %+v, at it %+v", seed, step, got, at, w.s.Due(at), before, atIt)
				}
			}
		}
		if looks < 50 {
			t.Fatalf("seed %d: only %d looks", seed, looks)
		}
	}
}
