package plenty

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// wantRefused checks an error's code and that its message says want.
func wantRefused(t *testing.T, err error, code, want string) {
	t.Helper()
	wantCode(t, err, code)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func (w *world) withdraw(kind, id, by string) error {
	return w.apply(kind, DelegateActor(by), PostingClosed{ID: id})
}

func TestClosedPostingsLeaveTheState(t *testing.T) {
	w := newWorld(t)
	if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
		t.Fatal(err)
	}
	if err := w.withdraw(KindNeedWithdrawn, "n1", "d_b1"); err != nil {
		t.Fatal(err)
	}
	if w.s.offers["o1"] != nil || w.s.needs["n1"] != nil {
		t.Fatal("a withdrawn posting with no agreement is still in the live maps")
	}
	if !w.s.Gone("offer", "o1") || !w.s.Gone("need", "n1") || w.s.Gone("need", "n2") || w.s.Gone("offer", "nope") {
		t.Fatalf("Gone: o1 %v n1 %v n2 %v nope %v, want true true false false",
			w.s.Gone("offer", "o1"), w.s.Gone("need", "n1"), w.s.Gone("need", "n2"), w.s.Gone("offer", "nope"))
	}
	if got := len(w.s.Offers()); got != 0 {
		t.Fatalf("Offers() holds %d, want 0", got)
	}
	if ns := w.s.Needs(); len(ns) != 1 || ns[0].ID != "n2" {
		t.Fatalf("Needs() = %v, want n2 only", ns)
	}
	// Without a store (no OnChange), nothing keeps their documents.
	if _, ok := w.s.Offer("o1"); ok || w.s.Closed() != 0 {
		t.Fatalf("Offer(o1) found, or %d closed documents kept, without OnChange", w.s.Closed())
	}
	// The figures still count every need ever posted.
	if f := w.s.Figures(w.now); f.Needs != 2 {
		t.Fatalf("figures count %d needs, want 2", f.Needs)
	}
	// One tuple (kind, council, item, status) per distinct kind of
	// posting that left.
	if w.s.gone.len() != 2 || len(w.s.goneAs) != 2 {
		t.Fatalf("gone %d, tuples %d, want 2 and 2", w.s.gone.len(), len(w.s.goneAs))
	}
}

// TestClosedPostingIDCannotBeReused is an operator (or a delegate) posting
// again under the id of a posting that closed and left the state.
func TestClosedPostingIDCannotBeReused(t *testing.T) {
	w := newWorld(t)
	if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
		t.Fatal(err)
	}
	again := func(kind string, data any) error { return w.apply(kind, DelegateActor("d_m1"), data) }
	loc := w.s.councils["c_mill"].Location
	wantRefused(t, again(KindOfferPosted, OfferPosting{ID: "o1", Council: "c_mill", Item: "wheat-flour", Quantity: 1000,
		Location: loc, AvailableFrom: w.now, AvailableUntil: w.now.Add(DefaultPostingTTL), MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)}), ECONFLICT, `posting id "o1" is taken`)
	wantRefused(t, again(KindNeedPosted, NeedPosting{ID: "o1", Council: "c_mill", Item: "wheat-flour", Quantity: 1000,
		Location: loc, NeededBy: w.now.Add(DefaultPostingTTL), Priority: 3, MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)}), ECONFLICT, `posting id "o1" is taken`)
	if w.s.offers["o1"] != nil || w.s.needs["o1"] != nil {
		t.Fatal("a refused re-post left a posting behind")
	}
}

// TestActionsOnAGonePostingAreDecidedAsWhenLive checks that every event
// naming a posting that left is decided as if it were still there: o1
// leaves (no agreement holds it) while o2, withdrawn under an active
// agreement, stays; the same events are refused with the same codes and
// words for both.
func TestActionsOnAGonePostingAreDecidedAsWhenLive(t *testing.T) {
	w := newWorld(t)
	w.offer("o2", "d_m1", 100_000)
	w.agree(terms("p2", "o2", "n2", 50_000))
	for _, id := range []string{"o1", "o2"} {
		if err := w.withdraw(KindOfferWithdrawn, id, "d_m1"); err != nil {
			t.Fatal(err)
		}
	}
	if w.s.offers["o1"] != nil || w.s.offers["o2"] == nil {
		t.Fatalf("o1 live %v, o2 live %v; want o1 gone, o2 held by its agreement", w.s.offers["o1"] != nil, w.s.offers["o2"] != nil)
	}
	for _, id := range []string{"o1", "o2"} {
		t.Run(id, func(t *testing.T) {
			wantRefused(t, w.withdraw(KindOfferWithdrawn, id, "d_m1"), ECONFLICT, id+" is withdrawn, not open")
			wantRefused(t, w.apply(KindOfferExpired, ActorHub, PostingClosed{ID: id}), ECONFLICT, id+" is withdrawn, not open")
			// Named as a need, it does not exist, gone or not.
			wantRefused(t, w.withdraw(KindNeedWithdrawn, id, "d_m1"), ENOTFOUND, "need "+id+" does not exist")
			// A stranger without the post scope is refused before the
			// status is read.
			wantRefused(t, w.withdraw(KindOfferWithdrawn, id, "d_b3"), ECONFLICT, "is withdrawn, not open")
			wantRefused(t, w.accept("d_m1", terms("q"+id, id, "n1", 10_000)), ECONFLICT, "offer "+id+" is withdrawn; fetch fresh proposals")
			// A council of neither side may not decide.
			w.council("c_"+id, Location{Lat: 48.85, Lon: 2.35}, "d_"+id, 0)
			wantRefused(t, w.decline("d_"+id, terms("r"+id, id, "n1", 10_000)), EFORBIDDEN, "neither the offer's nor the need's")
			// A decline is recorded, and the pair is closed.
			if err := w.decline("d_b1", terms("d"+id, id, "n1", 10_000)); err != nil {
				t.Fatalf("decline of a proposal naming %s: %v", id, err)
			}
			// Its acceptance stays while both postings are live; naming
			// the gone o1, nothing can be agreed on it, and it leaves at
			// once with what each council decided.
			if id == "o2" {
				acc, ok := w.s.Acceptance("d" + id)
				if !ok || acc.Provider != "c_mill" || acc.Receiver != "c_bak" || acc.Item != "wheat-flour" || len(acc.Decisions) != 1 {
					t.Fatalf("acceptance = %+v, %v", acc, ok)
				}
			} else if x, ok := w.s.staleOf("d" + id); !ok || x != (stale{"c_mill", "c_bak", decidedNothing, decidedDeclined}) ||
				w.s.acceptances["d"+id] != nil {
				t.Fatalf("acceptance of d%s gone as %+v %v, live %v", id, x, ok, w.s.acceptances["d"+id] != nil)
			}
			// Decided again, gone or not, as when it was in the state.
			wantRefused(t, w.decline("d_b1", terms("d"+id, id, "n1", 10_000)), ECONFLICT, "council c_bak declined proposal d"+id)
			wantRefused(t, w.apply(KindAcceptanceWithdrawn, DelegateActor("d_b1"), AcceptanceWithdrawal{"d" + id}), ECONFLICT, "a refusal stands")
			wantRefused(t, w.apply(KindAcceptanceWithdrawn, DelegateActor("d_m1"), AcceptanceWithdrawal{"d" + id}), ECONFLICT, "c_mill has not accepted")
			wantRefused(t, w.apply(KindAcceptanceWithdrawn, DelegateActor("d_"+id), AcceptanceWithdrawal{"d" + id}), EFORBIDDEN, "neither the provider nor the receiver")
			wantRefused(t, w.accept("d_m1", terms("d"+id, id, "n1", 10_000)), ECONFLICT, "")
			if err := w.decline("d_m1", terms("d"+id, id, "n1", 10_000)); err != nil {
				t.Fatalf("the provider's decline of d%s: %v", id, err)
			}
			wantRefused(t, w.decline("d_m1", terms("d"+id, id, "n1", 10_000)), ECONFLICT, "council c_mill declined proposal d"+id)
			// The pair is kept closed while both postings are live: the
			// held o2's, not the gone o1's, which nothing can agree.
			if got, want := w.s.closedPairs[pairKey(id, "n1")], id == "o2"; got != want {
				t.Fatalf("the declined pair closed: %v, want %v", got, want)
			}
		})
	}
	// A proposal naming a posting that never existed is not found.
	wantRefused(t, w.decline("d_b1", terms("x", "o9", "n1", 10_000)), ENOTFOUND, "offer o9 does not exist")
	// Once o2 leaves too, its closed pairs go with it.
	w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{AgreementID("p2"), CancelWithdrawn})
	if w.s.offers["o2"] != nil || len(w.s.closedPairs) != 0 || len(w.s.pairsOf) != 0 {
		t.Fatalf("after o2 left: live %v, closed pairs %v, by posting %v; want none", w.s.offers["o2"] != nil, w.s.closedPairs, w.s.pairsOf)
	}
	// Its acceptances go with it: the stale one and the agreed one.
	if len(w.s.acceptances) != 0 || len(w.s.acceptancesOf) != 0 {
		t.Fatalf("after o2 left: acceptances %v, by posting %v; want none", w.s.acceptances, w.s.acceptancesOf)
	}
	if x, ok := w.s.staleOf("do2"); !ok || x.ByProvider != decidedDeclined || x.ByReceiver != decidedDeclined {
		t.Fatalf("do2 gone as %+v %v, want declined by both", x, ok)
	}
}

// TestAHeldPostingLeavesWhenItsAgreementEnds: a posting closed under an
// agreement stays while the agreement can give quantity back, and leaves
// at the event that ends it; a need with a receipt stays for corrections.
func TestAHeldPostingLeavesWhenItsAgreementEnds(t *testing.T) {
	t.Run("Receipt", func(t *testing.T) {
		w := newWorld(t)
		a := w.agree(terms("p1", "o1", "n2", 100_000))
		if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
			t.Fatal(err)
		}
		if err := w.withdraw(KindNeedWithdrawn, "n2", "d_b1"); err != nil {
			t.Fatal(err)
		}
		if w.s.offers["o1"] == nil || w.s.holds["o1"] != 1 {
			t.Fatalf("o1 live %v, holds %d; want it held once", w.s.offers["o1"] != nil, w.s.holds["o1"])
		}
		if err := w.apply(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 90_000}); err != nil {
			t.Fatal(err)
		}
		if w.s.offers["o1"] != nil || !w.s.Gone("offer", "o1") || len(w.s.holds) != 0 {
			t.Fatalf("after the receipt: o1 live %v, gone %v, holds %v", w.s.offers["o1"] != nil, w.s.Gone("offer", "o1"), w.s.holds)
		}
		// The withdrawn need got the 10 kg shortfall back and stays, as a
		// correction may change it.
		n2 := w.s.needs["n2"]
		if n2 == nil || n2.Remaining != 210_000 || n2.Status != StatusWithdrawn || w.s.Gone("need", "n2") {
			t.Fatalf("n2 = %+v, gone %v", n2, w.s.Gone("need", "n2"))
		}
		if err := w.apply(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(a.ID), 95_000}); err != nil {
			t.Fatal(err)
		}
		if n2.Remaining != 205_000 {
			t.Fatalf("n2 remaining %s after the correction, want 205", n2.Remaining)
		}
		if err := w.s.CheckBalances(); err != nil {
			t.Fatal(err)
		}
		if f := w.s.Figures(w.now); f.Received != 1 || f.Needs != 2 {
			t.Fatalf("figures: %d received, %d needs; want 1 and 2", f.Received, f.Needs)
		}
	})
	t.Run("Cancellation", func(t *testing.T) {
		w := newWorld(t)
		w.s.OnChange(func(Change) {})
		a := w.agree(terms("p1", "o1", "n1", 80_500))
		if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
			t.Fatal(err)
		}
		if err := w.apply(KindAgreementCancelled, DelegateActor("d_b1"), AgreementCancellation{a.ID, CancelWithdrawn}); err != nil {
			t.Fatal(err)
		}
		// o1 left with its quantity given back; n1, open again, stays.
		if w.s.offers["o1"] != nil || w.s.needs["n1"] == nil || w.s.needs["n1"].Status != StatusOpen {
			t.Fatalf("o1 live %v, n1 %+v", w.s.offers["o1"] != nil, w.s.needs["n1"])
		}
		o1, ok := w.s.Offer("o1")
		if !ok || o1.Remaining != 250_000 || o1.Status != StatusWithdrawn {
			t.Fatalf("the last document of o1 = %+v, %v; want 250 kg left, withdrawn", o1, ok)
		}
	})
	t.Run("Fulfilled", func(t *testing.T) {
		w := newWorld(t)
		w.offer("o2", "d_m1", 50_000)
		a := w.agree(terms("p2", "o2", "n2", 50_000))
		if o := w.s.offers["o2"]; o == nil || o.Status != StatusFulfilled {
			t.Fatalf("o2 = %+v, want fulfilled and held", o)
		}
		if err := w.apply(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 50_000}); err != nil {
			t.Fatal(err)
		}
		if g, ok := w.s.goneAsOf("o2", "offer"); !ok || g.Status != StatusFulfilled || g.Council != "c_mill" {
			t.Fatalf("o2 gone as %+v, %v; want fulfilled, of c_mill", g, ok)
		}
		if st, ok := w.s.GoneStatus("offer", "o2"); !ok || st != StatusFulfilled {
			t.Fatalf("GoneStatus(o2) = %q, %v", st, ok)
		}
		if _, ok := w.s.GoneStatus("need", "o2"); ok {
			t.Fatal("o2 is gone as a need")
		}
		if err := w.s.CheckBalances(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestClosedDocumentsWaitForTheStore: with a store registered, a posting
// that left is still readable, as its last document, until the store says
// it holds it.
func TestClosedDocumentsWaitForTheStore(t *testing.T) {
	w := newWorld(t)
	var changed []Change
	w.s.OnChange(func(c Change) { changed = append(changed, c) })
	if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
		t.Fatal(err)
	}
	at := w.s.Size() - 1 // the withdrawal's seq
	o1, ok := w.s.Offer("o1")
	if !ok || o1.Status != StatusWithdrawn || o1.Quantity != 250_000 {
		t.Fatalf("Offer(o1) = %+v, %v right after it closed", o1, ok)
	}
	doc, ok := w.s.Doc(Change{"offer", "o1"})
	if !ok || !bytes.Contains(doc, []byte(`"status":"withdrawn"`)) {
		t.Fatalf("Doc(o1) = %s, %v", doc, ok)
	}
	if len(changed) != 1 || changed[0] != (Change{"offer", "o1"}) {
		t.Fatalf("changes %v, want offer o1", changed)
	}
	ents := w.s.Entities()
	found := false
	for _, c := range ents {
		found = found || c == Change{"offer", "o1"}
	}
	if !found {
		t.Fatal("Entities() leaves out a posting whose document the store has not written")
	}
	w.s.ForgetClosed(at) // the store holds the events before it only
	if _, ok := w.s.Offer("o1"); !ok {
		t.Fatal("dropped before the store held the withdrawal")
	}
	w.s.ForgetClosed(at + 1)
	if _, ok := w.s.Offer("o1"); ok || w.s.Closed() != 0 {
		t.Fatalf("still kept after the store held it (%d)", w.s.Closed())
	}
	if _, ok := w.s.Doc(Change{"offer", "o1"}); ok {
		t.Fatal("Doc(o1) after ForgetClosed")
	}
	if !w.s.Gone("offer", "o1") {
		t.Fatal("o1 is not gone")
	}
}

// TestTakeClosedHandsOverThenForgets: TakeClosed gives the entities that
// left before a size while they are still readable, drops them after, and
// keeps them when the caller fails.
func TestTakeClosedHandsOverThenForgets(t *testing.T) {
	w := newWorld(t)
	w.s.OnChange(func(Change) {})
	if err := w.withdraw(KindOfferWithdrawn, "o1", "d_m1"); err != nil {
		t.Fatal(err)
	}
	at := w.s.Size() - 1 // o1 left at this seq
	if err := w.withdraw(KindNeedWithdrawn, "n1", "d_b1"); err != nil {
		t.Fatal(err)
	}
	var got []Change
	var status string
	take := func(left []Change) error {
		got = append(got[:0], left...)
		o, _ := w.s.Offer("o1")
		status = o.Status
		return nil
	}
	if err := w.s.TakeClosed(at, take); err != nil || got != nil {
		t.Fatalf("TakeClosed(%d) = %v, handed %v: nothing left before it", at, err, got)
	}
	if err := w.s.TakeClosed(at+1, func([]Change) error { return fmt.Errorf("full") }); err == nil || err.Error() != "full" {
		t.Fatalf("TakeClosed with a failing fn = %v, want its error", err)
	}
	if w.s.Closed() != 2 {
		t.Fatalf("%d closed kept after a failed TakeClosed, want 2", w.s.Closed())
	}
	if err := w.s.TakeClosed(at+1, take); err != nil {
		t.Fatal(err)
	}
	if want := []Change{{"offer", "o1"}}; !slices.Equal(got, want) || status != StatusWithdrawn {
		t.Fatalf("TakeClosed(%d) handed %v (o1 %q), want %v (withdrawn)", at+1, got, status, want)
	}
	if _, ok := w.s.Offer("o1"); ok || w.s.Closed() != 1 {
		t.Fatalf("o1 still readable, or %d closed kept, after TakeClosed; want n1 only", w.s.Closed())
	}
	if err := w.s.TakeClosed(w.s.Size(), take); err != nil {
		t.Fatal(err)
	}
	if want := []Change{{"need", "n1"}}; !slices.Equal(got, want) || w.s.Closed() != 0 {
		t.Fatalf("TakeClosed(Size) handed %v, %d kept; want %v, 0", got, w.s.Closed(), want)
	}
	if !w.s.Gone("offer", "o1") || !w.s.Gone("need", "n1") {
		t.Fatal("taken entities are no longer gone")
	}
}

// TestAStaleAcceptanceKeepsItsTerms: once an acceptance left with its
// withdrawn offer, a council of neither side cannot decline it under
// other terms (naming its own need) to block the provider's withdrawal:
// a decision with other terms is refused as when it was in the state.
func TestAStaleAcceptanceKeepsItsTerms(t *testing.T) {
	w := newWorld(t)
	if err := w.accept("d_m1", terms("p1", "o1", "n1", 10_000)); err != nil {
		t.Fatal(err)
	}
	w.council("c_x", Location{Lat: 51.47, Lon: -0.11}, "d_x", 0)
	w.need("nx", "d_x", 10_000)
	w.must(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{ID: "o1"})
	if w.s.acceptances["p1"] != nil {
		t.Fatal("p1's acceptance stayed after its offer left")
	}
	wantRefused(t, w.decline("d_x", terms("p1", "o1", "nx", 10_000)), ECONFLICT, "decided with other terms")
	wantRefused(t, w.decline("d_b1", terms("p1", "o1", "n1", 9_000)), ECONFLICT, "decided with other terms")
	if err := w.apply(KindAcceptanceWithdrawn, DelegateActor("d_m1"), AcceptanceWithdrawal{"p1"}); err != nil {
		t.Fatalf("the mill's withdrawal: %v", err)
	}
	wantRefused(t, w.apply(KindAcceptanceWithdrawn, DelegateActor("d_m1"), AcceptanceWithdrawal{"p1"}), ECONFLICT, "has not accepted")
	if err := w.decline("d_b1", terms("p1", "o1", "n1", 10_000)); err != nil {
		t.Fatalf("the bakery's decline under the same terms: %v", err)
	}
}

// TestEvictionFoldsAlike replays one log with and without a store, and
// from a snapshot taken midway: the states encode to the same bytes.
func TestEvictionFoldsAlike(t *testing.T) {
	w := newWorld(t)
	w.offer("o2", "d_m1", 100_000)
	a := w.agree(terms("p2", "o2", "n2", 50_000))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.withdraw(KindOfferWithdrawn, "o1", "d_m1"))
	must(w.withdraw(KindOfferWithdrawn, "o2", "d_m1"))
	mid := len(w.log)
	must(w.apply(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 50_000}))
	must(w.withdraw(KindNeedWithdrawn, "n1", "d_b1"))
	must(w.decline("d_b1", terms("p9", "o1", "n2", 1000)))

	replay := func(st *State, evs []Event) *State {
		for _, ev := range evs {
			must(st.Apply(ev))
		}
		return st
	}
	want, err := w.s.MarshalSnapshot()
	must(err)
	stored := NewState()
	stored.OnChange(func(Change) {})
	replay(stored, w.log)
	got, err := stored.MarshalSnapshot()
	must(err)
	if !bytes.Equal(got, want) {
		t.Fatal("a fold with a store snapshots differently from one without")
	}
	if stored.Closed() != 4 {
		t.Fatalf("the store's fold keeps %d closed documents, want 4 (o1, o2, n1, and p9's acceptance, which names the gone o1)", stored.Closed())
	}
	half, err := replay(NewState(), w.log[:mid]).MarshalSnapshot()
	must(err)
	restored := NewState()
	must(restored.UnmarshalSnapshot(half))
	got, err = replay(restored, w.log[mid:]).MarshalSnapshot()
	must(err)
	if !bytes.Equal(got, want) {
		t.Fatal("a fold from a snapshot differs from the full replay")
	}
	if !restored.Gone("offer", "o1") || !restored.Gone("offer", "o2") || !restored.Gone("need", "n1") || restored.Gone("need", "n2") {
		t.Fatal("the restored state lost what left")
	}
}

// TestListingsPageAcrossWhatJustLeft pages through live offers and one that
// left the state a moment ago, whose document the store has not written:
// every page is in id order, and each offer is listed once.
func TestListingsPageAcrossWhatJustLeft(t *testing.T) {
	w := newWorld(t)
	w.s.OnChange(func(Change) {})
	for _, id := range []string{"o5", "o3", "o2", "o4"} {
		w.offer(id, "d_m1", 1000)
	}
	if err := w.withdraw(KindOfferWithdrawn, "o3", "d_m1"); err != nil {
		t.Fatal(err)
	}
	if err := w.withdraw(KindOfferWithdrawn, "o4", "d_m1"); err != nil {
		t.Fatal(err)
	}
	if got := w.s.index.offers.all(); strings.Join(got, ",") != "o1,o2,o5" {
		t.Fatalf("index %v, want o1,o2,o5", got)
	}
	var got []string
	f := PostingFilter{Council: "c_mill", Limit: 2}
	for pages := 0; ; pages++ {
		page, more := w.s.ListOffers(f)
		for _, o := range page {
			got = append(got, o.ID+":"+o.Status)
		}
		if !more {
			break
		}
		if pages > 5 {
			t.Fatal("no end of pages")
		}
		f.After = page[len(page)-1].ID
	}
	if want := "o1:open,o2:open,o3:withdrawn,o4:withdrawn,o5:open"; strings.Join(got, ",") != want {
		t.Fatalf("pages %v, want %s", got, want)
	}
	page, _ := w.s.ListOffers(PostingFilter{Status: StatusWithdrawn})
	if len(page) != 2 || page[0].ID != "o3" || page[1].ID != "o4" {
		t.Fatalf("withdrawn page %v, want o3 and o4", page)
	}
	// Once the store holds them, the state lists only what it holds.
	w.s.ForgetClosed(w.s.Size())
	page, more := w.s.ListOffers(PostingFilter{After: "o2", Limit: 1})
	if len(page) != 1 || page[0].ID != "o5" || more {
		t.Fatalf("after the store: page %v more %v, want o5 only", page, more)
	}
}

// TestGoneSet fills two sets with the same entries in opposite orders, so
// that they merge at different moments: both find every entry and encode
// to the same bytes; a decoded copy finds them too; keys out of order are
// refused as damage.
func TestGoneSet(t *testing.T) {
	const n = 5000
	var a, b goneSet
	for i := 0; i < n; i++ {
		a.put(goneKeyOf("offer", fmt.Sprint("of_", i)), uint32(i%7))
		j := n - 1 - i
		b.put(goneKeyOf("offer", fmt.Sprint("of_", j)), uint32(j%7))
	}
	if a.len() != n || b.len() != n || len(a.sorted) == 0 {
		t.Fatalf("len %d and %d (sorted %d), want %d and some merged", a.len(), b.len(), len(a.sorted), n)
	}
	ea, eb := a.appendSnapshot(nil), b.appendSnapshot(nil)
	if !bytes.Equal(ea, eb) {
		t.Fatal("equal sets encode differently")
	}
	// An entry put again, merged or not, is changed, not held twice.
	for _, i := range []int{0, n - 1} {
		k := goneKeyOf("offer", fmt.Sprint("of_", i))
		a.put(k, 99)
		b.put(k, 99)
		if v, _ := a.get(k); v != 99 || a.len() != n || b.len() != n {
			t.Fatalf("of_%d put again: %d, len %d and %d; want 99, %d", i, v, a.len(), b.len(), n)
		}
	}
	if !bytes.Equal(a.appendSnapshot(nil), b.appendSnapshot(nil)) {
		t.Fatal("equal sets encode differently after entries were put again")
	}
	for _, i := range []int{0, n - 1} {
		a.put(goneKeyOf("offer", fmt.Sprint("of_", i)), uint32(i%7))
		b.put(goneKeyOf("offer", fmt.Sprint("of_", i)), uint32(i%7))
	}
	var c goneSet
	rest, err := c.readSnapshot(append(ea, 0xAB))
	if err != nil || !bytes.Equal(rest, []byte{0xAB}) {
		t.Fatalf("decode: rest %x, %v", rest, err)
	}
	for _, g := range []*goneSet{&a, &b, &c} {
		for i := 0; i < n; i++ {
			if v, ok := g.get(goneKeyOf("offer", fmt.Sprint("of_", i))); !ok || v != uint32(i%7) {
				t.Fatalf("of_%d: %d, %v", i, v, ok)
			}
		}
		if _, ok := g.get(goneKeyOf("offer", "of_5000")); ok {
			t.Fatal("found an id never added")
		}
	}
	damaged := slices.Clone(ea)
	w := len(damaged) - n*20 // the entries start after the count
	copy(damaged[w:w+20], ea[w+20:w+40])
	if _, err := c.readSnapshot(damaged); err == nil {
		t.Fatal("a repeated key was accepted")
	}
	if _, err := c.readSnapshot(ea[:len(ea)-1]); err == nil {
		t.Fatal("a short set was accepted")
	}
}
