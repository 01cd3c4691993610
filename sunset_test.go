package plenty

import (
	"encoding/hex"
	"reflect"
	"testing"
	"time"
)

func TestSunset(t *testing.T) {
	w := newWorld(t)
	w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: time.Hour, AgreementTerm: 24 * time.Hour, DrawKey: hex.EncodeToString(testDrawKey.Public())})
	mill := w.s.councils["c_mill"].Location
	w.must(KindOfferPosted, DelegateActor("d_m1"), OfferPosting{ID: "o_exp", Council: "c_mill", Item: "wheat-flour",
		Quantity: 5_000, Location: mill, AvailableFrom: w.now, AvailableUntil: t0.Add(2 * time.Hour), MaxDistanceKm: 50, ExpiresAt: t0.Add(2 * time.Hour)})
	w.must(KindNeedPosted, DelegateActor("d_b1"), NeedPosting{ID: "n_exp", Council: "c_bak", Item: "wheat-flour",
		Quantity: 5_000, Location: mill, NeededBy: t0.Add(3 * time.Hour), Priority: 2, MaxDistanceKm: 50, ExpiresAt: t0.Add(3 * time.Hour)})
	if d := w.s.Due(w.now); !d.Empty() {
		t.Fatalf("due before anything ran out: %+v", d)
	}
	if err := w.apply(KindOfferExpired, ActorHub, PostingClosed{ID: "o_exp"}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("expiry before its time: %v, want ECONFLICT", err)
	}

	// The agreement forms, a volunteer offers to carry, and the window
	// closes: the draw is due, not before.
	ag := w.agree(terms("p1", "o1", "n1", 40_000))
	task := TaskID(ag.ID)
	w.vouched("v1")
	w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
	if d := w.s.Due(ag.FormedAt.Add(9 * time.Minute)); len(d.Draws) != 0 {
		t.Fatalf("draw due inside the window: %+v", d)
	}
	if d := w.s.Due(ag.FormedAt.Add(10 * time.Minute)); !reflect.DeepEqual(d.Draws, []string{task}) {
		t.Fatalf("draws = %v, want [%s]", d.Draws, task)
	}
	w.now = ag.FormedAt.Add(8 * time.Minute) // the next event is a minute later
	early := TaskAssignment{Task: task, Volunteer: "v1", Proof: hex.EncodeToString(make([]byte, 80))}
	if err := w.apply(KindTaskAssigned, ActorHub, early); ErrorCode(err) != ECONFLICT {
		t.Fatalf("a draw inside the window: %v, want ECONFLICT", err)
	}
	if _, err := w.draw(task); err != nil {
		t.Fatal(err)
	}
	tk, _ := w.s.Task(task)
	if d := w.s.Due(tk.AssignedAt.Add(time.Hour)); !reflect.DeepEqual(d.Claims, []string{task}) {
		t.Fatalf("claims = %v, want [%s]", d.Claims, task)
	}
	w.now = tk.AssignedAt.Add(time.Hour - 2*time.Minute)
	if err := w.apply(KindTaskLapsed, ActorHub, TaskRef{task}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("a lapse inside the claim window: %v, want ECONFLICT", err)
	}
	w.must(KindTaskLapsed, ActorHub, TaskRef{task})
	tk, _ = w.s.Task(task)
	if tk.Status != TaskOpen || tk.OpenedAt != w.now || len(tk.Candidates) != 0 {
		t.Fatalf("lapsed task = %+v, want open again from the lapse, without its volunteer", tk)
	}

	if err := w.apply(KindAgreementCancelled, ActorHub, AgreementCancellation{ag.ID, CancelExpired}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("an agreement expired inside its term: %v, want ECONFLICT", err)
	}
	if err := w.apply(KindTermsSet, DelegateActor("d_m1"), Terms{ClaimWindow: time.Second, AgreementTerm: time.Second, DrawKey: hex.EncodeToString(testDrawKey.Public())}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("terms set by a delegate: %v, want EFORBIDDEN", err)
	}
	if err := w.apply(KindTermsSet, ActorHub, Terms{DrawKey: hex.EncodeToString(testDrawKey.Public())}); ErrorCode(err) != EINVALID {
		t.Fatalf("zero claim window: %v, want EINVALID", err)
	}
	other, _ := NewVRFKey(DrawKeySeed([]byte("a key chosen later")))
	if err := w.apply(KindTermsSet, ActorHub, Terms{LotteryWindow: time.Minute, ClaimWindow: time.Hour, AgreementTerm: 24 * time.Hour,
		DrawKey: hex.EncodeToString(other.Public())}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("a new draw key: %v, want EFORBIDDEN", err)
	}

	// A day later: the postings, the agreement, nothing else.
	late := ag.FormedAt.Add(24 * time.Hour)
	d := w.s.Due(late)
	want := Due{Offers: []string{"o_exp"}, Needs: []string{"n_exp"}, Agreements: []string{ag.ID}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("due = %+v, want %+v", d, want)
	}
	w.now = late
	w.must(KindOfferExpired, ActorHub, PostingClosed{ID: "o_exp"})
	w.must(KindNeedExpired, ActorHub, PostingClosed{ID: "n_exp"})
	w.must(KindAgreementCancelled, ActorHub, AgreementCancellation{ag.ID, CancelExpired})
	o1, _ := w.s.Offer("o1")
	n1, _ := w.s.Need("n1")
	if o1.Remaining != 250_000 || n1.Remaining != 80_500 {
		t.Fatalf("expired agreement left remaining %s/%s, want all released", o1.Remaining, n1.Remaining)
	}
	if d := w.s.Due(late); !d.Empty() {
		t.Fatalf("due after recording: %+v", d)
	}

	// Mandates: only the hub, only at or after the expiry, only once.
	del, _ := w.s.Delegate("d_m1")
	w.now = del.ExpiresAt.Add(-time.Minute * 2)
	if err := w.apply(KindMandateExpired, ActorHub, MandateExpired{"d_m1"}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("mandate expiry before its time: %v, want ECONFLICT", err)
	}
	if d := w.s.Due(del.ExpiresAt); !reflect.DeepEqual(d.Mandates, []string{"d_m1"}) {
		t.Fatalf("mandates due = %v", d.Mandates)
	}
	w.now = del.ExpiresAt
	if err := w.apply(KindMandateExpired, DelegateActor("d_b1"), MandateExpired{"d_m1"}); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("mandate expiry by a delegate: %v, want EFORBIDDEN", err)
	}
	w.must(KindMandateExpired, ActorHub, MandateExpired{"d_m1"})
	if err := w.apply(KindMandateExpired, ActorHub, MandateExpired{"d_m1"}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("second mandate expiry: %v, want ECONFLICT", err)
	}
}

func TestAgreementOnItsWayDoesNotExpire(t *testing.T) {
	w := newWorld(t)
	w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: testWindow, ClaimWindow: time.Hour, AgreementTerm: time.Hour, DrawKey: hex.EncodeToString(testDrawKey.Public())})
	ag := w.agree(terms("p1", "o1", "n1", 40_000))
	task := TaskID(ag.ID)
	w.vouched("v1")
	w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
	if _, err := w.draw(task); err != nil {
		t.Fatal(err)
	}
	w.must(KindTaskPickedUp, VolunteerActor("v1"), TaskRef{task})
	if d := w.s.Due(ag.FormedAt.Add(48 * time.Hour)); len(d.Agreements) != 0 {
		t.Fatalf("agreement on its way is due: %+v", d)
	}
	if err := w.apply(KindAgreementCancelled, ActorHub, AgreementCancellation{ag.ID, CancelExpired}); ErrorCode(err) != ECONFLICT {
		t.Fatalf("expiring an agreement on its way: %v, want ECONFLICT", err)
	}
}

// The hub operator shrinks its terms to a nanosecond to expire an agreement
// or take a drawn volunteer's claim away at once: the running agreement and
// claim keep the terms they began under; what begins after the change
// follows the new terms.
func TestShorterTermsHoldOnlyForWhatBeginsAfter(t *testing.T) {
	w := newWorld(t)
	key := hex.EncodeToString(testDrawKey.Public())
	w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: time.Hour, AgreementTerm: 24 * time.Hour, DrawKey: key})
	w.vouched("v1")
	running := w.agree(terms("p1", "o1", "n1", 40_000))
	drawn := w.agree(terms("p2", "o1", "n2", 40_000))
	w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{TaskID(drawn.ID)})
	if _, err := w.draw(TaskID(drawn.ID)); err != nil {
		t.Fatal(err)
	}
	w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: 10 * time.Minute, ClaimWindow: time.Nanosecond, AgreementTerm: time.Nanosecond, DrawKey: key})
	wantCode(t, w.apply(KindAgreementCancelled, ActorHub, AgreementCancellation{running.ID, CancelExpired}), ECONFLICT)
	wantCode(t, w.apply(KindTaskLapsed, ActorHub, TaskRef{TaskID(drawn.ID)}), ECONFLICT)
	if due := w.s.AgreementDue(running); !due.Equal(running.FormedAt.Add(24 * time.Hour)) {
		t.Fatalf("the running agreement is due %s, want a day after it formed", due)
	}
	if d := w.s.Due(w.now.Add(time.Minute)); len(d.Agreements)+len(d.Claims) != 0 {
		t.Fatalf("due after the change: %+v, want nothing", d)
	}
	// An agreement formed after the change has the new, short term.
	later := w.agree(terms("p3", "o1", "n2", 10_000))
	w.must(KindAgreementCancelled, ActorHub, AgreementCancellation{later.ID, CancelExpired})
}
