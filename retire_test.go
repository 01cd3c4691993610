package plenty

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// statusOf returns the status of an agreement or a task, live or left the
// state ("" when there is none).
func statusOf(s *State, kind, id string) string {
	switch kind {
	case "agreement":
		if a, ok := s.Agreement(id); ok {
			return a.Status
		}
	case "task":
		if t, ok := s.Task(id); ok {
			return t.Status
		}
	}
	st, _ := s.GoneStatus(kind, id)
	return st
}

// readings are what the figures, the accounts and the balances say: a
// finished agreement that leaves the state must change none of them.
type readings struct {
	Figures     Figures
	Accounts    []AccountLine
	Outstanding [2]Amount
	Flows       map[string]ItemFlow
}

func readingsOf(s *State, at time.Time) readings {
	return readings{s.Figures(at), s.Accounts(),
		[2]Amount{s.Outstanding("c_mill", "wheat-flour"), s.Outstanding("c_bak", "wheat-flour")}, s.ItemFlows()}
}

// correcting publishes terms with the default correction window, as a hub
// does (newWorld's terms, like those of logs written before the window
// existed, keep receipts open for ever).
func (w *world) correcting() {
	w.t.Helper()
	t, _ := w.s.Terms()
	t.CorrectionWindow = DefaultCorrectionWindow
	w.must(KindTermsSet, ActorHub, t)
}

// later moves the world's clock past the correction window and applies an
// event anyone may write (a volunteer's registration), at which the
// receipts that turned final retire.
func (w *world) later(d time.Duration, volunteer string) {
	w.t.Helper()
	w.now = w.now.Add(d)
	if err := w.volunteer(volunteer, "handle "+volunteer); err != nil {
		w.t.Fatal(err)
	}
}

func TestACancelledAgreementLeavesTheState(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	p := terms("p1", "o1", "n1", 80_500)
	a := w.agree(p)
	w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{a.ID, CancelWithdrawn})
	if _, ok := w.s.agreements[a.ID]; ok {
		t.Fatal("the cancelled agreement is still in the live map")
	}
	if w.s.tasks[TaskID(a.ID)] != nil || w.s.acceptances["p1"] != nil {
		t.Fatal("its task or acceptance is still in the live maps")
	}
	for kind, id := range map[string]string{"agreement": a.ID, "task": TaskID(a.ID), "acceptance": "p1"} {
		if !w.s.Gone(kind, id) {
			t.Errorf("%s %s is not recorded as gone", kind, id)
		}
	}
	// Every event naming them is refused, as it was while they were live.
	wantRefused(t, w.apply(KindAgreementCancelled, DelegateActor("d_b1"), AgreementCancellation{a.ID, CancelWithdrawn}), ECONFLICT, "is cancelled, not active")
	wantRefused(t, w.apply(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 1}), ECONFLICT, "is cancelled, not active")
	wantRefused(t, w.accept("d_b1", p), ECONFLICT, "already agreed")
	wantRefused(t, w.decline("d_b1", p), ECONFLICT, "already agreed")
	wantRefused(t, w.withdrawAcceptance("d_b1", "p1"), ECONFLICT, "already agreed")
	// Under a new proposal id the pair stays closed.
	wantRefused(t, w.accept("d_m1", terms("p2", "o1", "n1", 80_500)), ECONFLICT, "not proposed again")
	if f := w.s.Figures(w.now); f.Flows != 0 {
		t.Fatalf("flows %d after the cancellation, want 0", f.Flows)
	}
	if err := w.s.CheckBalances(); err != nil {
		t.Fatal(err)
	}
}

// TestAReceivedAgreementLeavesWhenItsReceiptIsFinal: corrections are
// accepted for DefaultCorrectionWindow after the receipt; at the first event after
// it the agreement, its task, its acceptance, its transfers and (once
// nothing else holds it) its need leave the state, and every figure, the
// accounts and the balances read the same before and after.
func TestAReceivedAgreementLeavesWhenItsReceiptIsFinal(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	w.s.OnChange(func(Change) {})
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 70_000})
	receipt := TransferID(a.ID)
	w.now = w.now.Add(DefaultCorrectionWindow - 3*time.Minute)
	// The bakery's assembly mandates a delegate in force a month on; the
	// correction is a minute before the window ends.
	w.delegateBy(AssemblyActor("c_bak"), "c_bak", "d_b9", 0, AllScopes)
	w.must(KindCorrectionRecorded, DelegateActor("d_b9"), CorrectionRecorded{receipt, 80_500})
	correction := CorrectionID(int64(len(w.log) - 1))
	if w.s.transfers[correction] == nil {
		t.Fatalf("no correction %s", correction)
	}
	before := readingsOf(w.s, w.now)
	if before.Figures.NeedsMet != 1 || before.Figures.Received != 1 || before.Accounts[0].Received != 80_500 || before.Accounts[1].Given != 80_500 {
		t.Fatalf("before: %+v", before)
	}
	// The window ends a minute after the correction: the next event is at
	// its end, and a correction then is refused as final.
	wantRefused(t, w.apply(KindCorrectionRecorded, DelegateActor("d_b9"), CorrectionRecorded{receipt, 80_000}), ECONFLICT, "is final")
	w.later(0, "v1")
	if w.s.agreements[a.ID] != nil || w.s.transfers[receipt] != nil || w.s.transfers[correction] != nil ||
		w.s.tasks[TaskID(a.ID)] != nil || w.s.acceptances["p1"] != nil {
		t.Fatal("the received agreement or one of its parts is still live")
	}
	if w.s.needs["n1"] != nil || !w.s.Gone("need", "n1") {
		t.Fatal("the fulfilled need n1 should have left with its last receipt")
	}
	if got := statusOf(w.s, "agreement", a.ID); got != AgreementReceived {
		t.Fatalf("gone agreement status %q", got)
	}
	after := readingsOf(w.s, w.now.Add(-time.Minute))
	before.Figures.AsOf, after.Figures.AsOf = time.Time{}, time.Time{}
	before.Figures.Tenures, after.Figures.Tenures = 0, 0
	before.Figures.MedianTenureDays, after.Figures.MedianTenureDays = 0, 0
	before.Figures.LongestTenureDays, after.Figures.LongestTenureDays = 0, 0
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("readings changed as the agreement left:\n before %+v\n after  %+v", before, after)
	}
	wantRefused(t, w.apply(KindCorrectionRecorded, DelegateActor("d_b9"), CorrectionRecorded{receipt, 80_000}), ECONFLICT, "is final")
	// The store still finds every document until it has written them.
	for _, c := range []Change{{"agreement", a.ID}, {"transfer", receipt}, {"transfer", correction}, {"task", TaskID(a.ID)}, {"acceptance", "p1"}, {"need", "n1"}} {
		if _, ok := w.s.Doc(c); !ok {
			t.Errorf("no document for %s %s before ForgetClosed", c.Kind, c.ID)
		}
	}
	// Until then the state still answers for it, in lists too.
	if got := w.s.AgreementReceived(a.ID); got != 80_500 {
		t.Errorf("received under the agreement that just left: %s, want 80.5", got)
	}
	if as := w.s.AgreementsNewest(nil, 10, nil); len(as) != 1 || as[0].ID != a.ID {
		t.Errorf("newest agreements before the store wrote it: %+v", as)
	}
	if ts := w.s.TasksAfter("", 10, nil); len(ts) != 1 || ts[0].ID != TaskID(a.ID) {
		t.Errorf("tasks before the store wrote it: %+v", ts)
	}
	w.s.ForgetClosed(w.s.Size())
	if as, ts := w.s.AgreementsNewest(nil, 10, nil), w.s.TasksAfter("", 10, nil); len(as)+len(ts) != 0 {
		t.Errorf("after ForgetClosed the state lists %d agreements, %d tasks", len(as), len(ts))
	}
	if _, ok := w.s.Doc(Change{"agreement", a.ID}); ok || w.s.Closed() != 0 {
		t.Fatalf("documents kept after ForgetClosed: %d", w.s.Closed())
	}
	if err := w.s.CheckBalances(); err != nil {
		t.Fatal(err)
	}
	// A replay of the same events, and a restart from a snapshot, evict the
	// same entities: the snapshots are equal byte for byte.
	replay := NewState()
	for _, ev := range w.log {
		if err := replay.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	b1, err := w.s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := replay.MarshalSnapshot()
	if !bytes.Equal(b1, b2) {
		t.Fatal("the live state and a replay differ after the retirement")
	}
}

// TestAPartlyMetNeedKeepsWhatItsRetiredReceiptsHold: an open need outlives
// its final receipt; the balance check still adds up.
func TestAPartlyMetNeedKeepsWhatItsRetiredReceiptsHold(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	a := w.agree(terms("p1", "o1", "n2", 100_000))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 90_000})
	w.later(DefaultCorrectionWindow, "v1")
	if w.s.agreements[a.ID] != nil {
		t.Fatal("agreement still live")
	}
	if w.s.needs["n2"] == nil || w.s.offers["o1"] == nil {
		t.Fatal("the open need and offer should stay")
	}
	if got := w.s.settled["n:n2"]; got != 90_000 {
		t.Fatalf("settled n2 %s, want 90", got)
	}
	if err := w.s.CheckBalances(); err != nil {
		t.Fatal(err)
	}
	if got := w.s.Outstanding("c_bak", "wheat-flour"); got != 10_000 {
		t.Fatalf("outstanding %s, want the 10 kg shortfall", got)
	}
	// Withdrawn, the need leaves; its retired receipt's figures stay.
	w.delegateBy(AssemblyActor("c_bak"), "c_bak", "d_b9", 0, AllScopes)
	if err := w.withdraw(KindNeedWithdrawn, "n2", "d_b9"); err != nil {
		t.Fatal(err)
	}
	if w.s.needs["n2"] != nil || len(w.s.settled) != 1 {
		t.Fatalf("n2 live %v, settled %v", w.s.needs["n2"] != nil, w.s.settled)
	}
	if f := w.s.Figures(w.now); f.Received != 1 || f.NeedsMet != 0 || f.Flows != 1 {
		t.Fatalf("figures %+v", f)
	}
}

// TestAFinishedAgreementWaitsForItsTaskOnTheWay: a receipt confirmed while
// the goods are still carried keeps the agreement (and task) until the
// drop-off, even past the correction window.
func TestAFinishedAgreementWaitsForItsTaskOnTheWay(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	w.vouched("v1")
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	task := TaskID(a.ID)
	w.must(KindTaskVolunteered, VolunteerActor("v1"), TaskRef{task})
	if _, err := w.draw(task); err != nil {
		t.Fatal(err)
	}
	w.must(KindTaskPickedUp, VolunteerActor("v1"), TaskRef{task})
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 80_500})
	w.later(DefaultCorrectionWindow, "v2")
	if w.s.agreements[a.ID] == nil || w.s.tasks[task] == nil || !w.s.lingering[a.ID] {
		t.Fatal("the agreement left while its goods are on the way")
	}
	w.must(KindTaskDroppedOff, VolunteerActor("v1"), TaskRef{task})
	if w.s.agreements[a.ID] != nil || w.s.tasks[task] != nil || len(w.s.lingering) != 0 {
		t.Fatal("the agreement did not leave at the drop-off")
	}
	if got := statusOf(w.s, "task", task); got != TaskDelivered {
		t.Fatalf("task %s, want delivered", got)
	}
	if f := w.s.Figures(w.now); f.Deliveries != 1 || f.Volunteers != 1 {
		t.Fatalf("figures %+v", f)
	}
	wantRefused(t, w.apply(KindTaskDroppedOff, VolunteerActor("v1"), TaskRef{task}), ECONFLICT, "is delivered and closed")
}

func countActive(s *State) int {
	n := 0
	for _, a := range s.agreements {
		if a.Status == AgreementActive {
			n++
		}
	}
	return n
}

// tallyMatchesDocs recomputes the accounts, the outstanding quantities and
// the item flows from the documents of every agreement and transfer the
// events made (the state keeps those that left while OnChange is set and
// ForgetClosed is not called), and returns what differs from the state's
// running totals, or "".
func tallyMatchesDocs(s *State) string {
	var ags []Agreement
	var trs []Transfer
	for _, c := range s.Entities() {
		doc, _ := s.Doc(c)
		switch c.Kind {
		case "agreement":
			var a Agreement
			mustUnmarshal(doc, &a)
			ags = append(ags, a)
		case "transfer":
			var tr Transfer
			mustUnmarshal(doc, &tr)
			trs = append(trs, tr)
		}
	}
	got := map[string]Amount{}
	lines := map[councilItem]AccountLine{}
	for _, tr := range trs {
		got[tr.Agreement] += tr.Quantity
		p, r := lines[councilItem{tr.Provider, tr.Item}], lines[councilItem{tr.Receiver, tr.Item}]
		p.Given += tr.Quantity
		r.Received += tr.Quantity
		lines[councilItem{tr.Provider, tr.Item}], lines[councilItem{tr.Receiver, tr.Item}] = p, r
	}
	outstanding := map[councilItem]Amount{}
	flows := map[string]ItemFlow{}
	for _, a := range ags {
		f := flows[a.Item]
		switch a.Status {
		case AgreementActive:
			for _, c := range []string{a.Provider, a.Receiver} {
				l := lines[councilItem{c, a.Item}]
				l.Committed += a.Quantity
				lines[councilItem{c, a.Item}] = l
				outstanding[councilItem{c, a.Item}] += a.Quantity
			}
			f.Flows++
		case AgreementReceived:
			for _, c := range []string{a.Provider, a.Receiver} {
				outstanding[councilItem{c, a.Item}] += a.Quantity - got[a.ID]
			}
			f.Flows++
			f.Received++
			f.Quantity += got[a.ID]
		}
		flows[a.Item] = f
	}
	for _, l := range s.Accounts() {
		want := lines[councilItem{l.Council, l.Item}]
		if l.Given != want.Given || l.Received != want.Received || l.Committed != want.Committed {
			return fmt.Sprintf("account %s %s: %+v, the documents say %+v", l.Council, l.Item, l, want)
		}
		if o := s.Outstanding(l.Council, l.Item); o != outstanding[councilItem{l.Council, l.Item}] {
			return fmt.Sprintf("outstanding %s %s: %s, the documents say %s", l.Council, l.Item, o, outstanding[councilItem{l.Council, l.Item}])
		}
	}
	for item, f := range s.ItemFlows() {
		if f != flows[item] {
			return fmt.Sprintf("flows of %s: %+v, the documents say %+v", item, f, flows[item])
		}
	}
	return ""
}

func mustUnmarshal(doc []byte, v any) {
	if err := json.Unmarshal(doc, v); err != nil {
		panic(err)
	}
}

// TestAgreementsNewestPages: paging through the live agreements, a page
// of any size at a time, gives all of them once, the newest first, ties
// (agreements formed at one instant) by id; cancelled ones are gone.
func TestAgreementsNewestPages(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	var want []Agreement
	for i := 0; i < 9; i++ {
		w.need(fmt.Sprint("n", 10+i), "d_b1", 1000)
	}
	for i := 0; i < 9; i++ {
		id := fmt.Sprint("n", 10+i)
		p := terms("p"+id, "o1", id, 1000)
		for _, by := range []string{"d_m1", "d_b1"} {
			if i%3 != 0 || by == "d_b1" {
				w.now = w.now.Add(-time.Minute) // at the previous event's instant: three agreements at a time
			}
			w.must(KindProposalAccepted, DelegateActor(by), ProposalDecision{p})
		}
		a, ok := w.s.Agreement(AgreementID(p.ID))
		if !ok {
			t.Fatalf("no agreement from %s", p.ID)
		}
		if i == 4 {
			w.now = w.now.Add(-time.Minute)
			w.must(KindAgreementCancelled, DelegateActor("d_m1"), AgreementCancellation{a.ID, CancelWithdrawn})
			continue
		}
		want = append(want, a)
	}
	slices.SortFunc(want, func(a, b Agreement) int {
		if KeyOf(b).Older(KeyOf(a)) {
			return -1
		}
		return 1
	})
	ties := 0
	for i := 1; i < len(want); i++ {
		if want[i].FormedAt.Equal(want[i-1].FormedAt) {
			ties++
		}
	}
	if ties == 0 {
		t.Fatal("no two agreements formed at one instant: the test does not test ties")
	}
	for _, size := range []int{1, 2, 3, 100} {
		var got []string
		var before *AgreementKey
		for page := 0; page < 20; page++ {
			as := w.s.AgreementsNewest(before, size, nil)
			for _, a := range as {
				got = append(got, a.ID)
			}
			if len(as) < size {
				break
			}
			k := KeyOf(as[len(as)-1])
			before = &k
		}
		var ids []string
		for _, a := range want {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("pages of %d: %v, want %v", size, got, ids)
		}
	}
	// keep filters before the page is cut.
	if as := w.s.AgreementsNewest(nil, 2, func(a Agreement) bool { return a.Need == "n17" }); len(as) != 1 || as[0].Need != "n17" {
		t.Errorf("filtered page: %+v", as)
	}
}

// TestTheCorrectionWindowIsATerm: under terms without a correction window
// (those of logs written before it existed) a receipt stays open for ever
// and its agreement in the state, so such a log folds as it always did;
// a window published later holds only for the receipts after it.
func TestTheCorrectionWindowIsATerm(t *testing.T) {
	w := newWorld(t)
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 70_000})
	w.correcting()
	w.now = w.now.Add(40 * 24 * time.Hour)
	w.delegateBy(AssemblyActor("c_bak"), "c_bak", "d_b9", 0, AllScopes)
	w.must(KindCorrectionRecorded, DelegateActor("d_b9"), CorrectionRecorded{TransferID(a.ID), 80_500})
	if w.s.agreements[a.ID] == nil {
		t.Fatal("a receipt recorded without a correction window left the state")
	}
	// The next one falls under the window.
	w.delegateBy(AssemblyActor("c_mill"), "c_mill", "d_m9", 0, AllScopes)
	w.offer("o7", "d_m9", 1000)
	w.need("n7", "d_b9", 1000)
	p := terms("p7", "o7", "n7", 1000)
	w.must(KindProposalAccepted, DelegateActor("d_m9"), ProposalDecision{p})
	w.must(KindProposalAccepted, DelegateActor("d_b9"), ProposalDecision{p})
	w.must(KindTransferRecorded, DelegateActor("d_b9"), TransferRecorded{AgreementID("p7"), 1000})
	w.later(DefaultCorrectionWindow, "v1")
	if w.s.agreements[AgreementID("p7")] != nil {
		t.Fatal("a receipt under the window stayed past it")
	}
	wantCode(t, w.apply(KindTermsSet, ActorHub, Terms{LotteryWindow: testWindow, ClaimWindow: time.Minute, AgreementTerm: time.Minute,
		CorrectionWindow: -time.Hour, DrawKey: hex.EncodeToString(testDrawKey.Public())}), EINVALID)
}

// TestAShorterCorrectionWindowHoldsOnlyAfter: the hub operator cannot take
// a council's right to correct a receipt away by publishing a shorter
// window: the window in force when the receipt was recorded holds.
func TestAShorterCorrectionWindowHoldsOnlyAfter(t *testing.T) {
	w := newWorld(t)
	w.correcting()
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 70_000})
	short, _ := w.s.Terms()
	short.CorrectionWindow = time.Nanosecond
	w.must(KindTermsSet, ActorHub, short)
	w.later(24*time.Hour, "v1")
	if w.s.agreements[a.ID] == nil {
		t.Fatal("the shorter window finalised a receipt recorded before it")
	}
	w.must(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(a.ID), 80_500})
}
