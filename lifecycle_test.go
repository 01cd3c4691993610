package plenty

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// world is a ledger of two councils trading wheat flour: the mill (c_mill,
// delegate d_m1 with no co-sign threshold) offers 250 kg as o1; the bakery
// (c_bak, delegates d_b1 and d_b2 who must co-sign above 100 kg, and d_b3
// without the accept scope) needs 80.5 kg as n1 and 300 kg as n2.
type world struct {
	t   testing.TB
	s   *State
	now time.Time
	log []Event // every event applied, in order
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// testDrawKey is the hub's draw key in the fold's tests.
var testDrawKey, _ = NewVRFKey(DrawKeySeed([]byte("plenty test hub signing seed....")))

func testDrawKeyHex() string { return hex.EncodeToString(testDrawKey.Public()) }

// testWindow is the lottery window of the fold's tests: ten events.
const testWindow = 10 * time.Minute

func newWorld(t testing.TB) *world {
	w := &world{t: t, s: NewState(), now: t0}
	// Events are a minute apart: these terms let the hub lapse and expire
	// from the next event on. sunset_test.go checks the limits.
	w.now = w.now.Add(-time.Minute)
	w.must(KindTermsSet, ActorHub, Terms{LotteryWindow: testWindow, ClaimWindow: time.Minute, AgreementTerm: time.Minute,
		DrawKey: hex.EncodeToString(testDrawKey.Public())})
	w.must(KindItemDefined, ActorHub, ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: Mass, Unit: "kg"})
	w.council("c_mill", Location{Lat: 51.50, Lon: -0.10}, "d_m1", 0)
	w.council("c_bak", Location{Lat: 51.46, Lon: -0.12}, "d_b1", 100_000)
	// d_b2 is the bakery assembly's own mandate, outside d_b1's chain, so
	// the two co-sign; d_b3, issued by d_b1, only posts.
	w.delegateBy(AssemblyActor("c_bak"), "c_bak", "d_b2", 100_000, AllScopes)
	w.delegate("d_b1", "d_b3", 100_000, []string{ScopePost})
	w.offer("o1", "d_m1", 250_000)
	w.need("n1", "d_b1", 80_500)
	w.need("n2", "d_b1", 300_000)
	return w
}

func (w *world) event(kind string, actor Actor, data any) Event {
	w.t.Helper()
	raw, err := CanonicalJSON(data)
	if err != nil {
		w.t.Fatal(err)
	}
	w.now = w.now.Add(time.Minute)
	seq := w.s.Size()
	return Event{Seq: seq, Time: w.now, Kind: kind, Actor: actor, Data: raw,
		Body: EncodeEvent(seq, w.now, kind, actor, raw)}
}

func (w *world) apply(kind string, actor Actor, data any) error {
	w.t.Helper()
	return w.applyWith(kind, actor, data)
}

// applyWith applies an event that grants credentials.
func (w *world) applyWith(kind string, actor Actor, data any, creds ...Credential) error {
	w.t.Helper()
	ev := w.event(kind, actor, data)
	ev.Credentials = creds
	err := w.s.Apply(ev)
	if err == nil {
		w.log = append(w.log, ev)
	}
	return err
}

func (w *world) must(kind string, actor Actor, data any) {
	w.t.Helper()
	if err := w.apply(kind, actor, data); err != nil {
		w.t.Fatalf("%s by %s: %v", kind, actor, err)
	}
}

func grant(id, council string, cosign Amount, scopes []string, expires time.Time) MandateGrant {
	return MandateGrant{ID: id, Council: council, Label: id, Mandate: "trade flour", Scopes: scopes,
		CosignAbove: cosign, ExpiresAt: expires}
}

func (w *world) council(id string, at Location, first string, cosign Amount) {
	w.t.Helper()
	err := w.applyWith(KindCouncilRegistered, ActorPublic, CouncilRegistration{
		ID: id, Name: id, Sector: "food", Place: "Testville", Location: at,
		Delegate: grant(first, id, cosign, AllScopes, w.now.Add(MaxMandateTerm)),
	}, Credential{DelegateActor(first), HashToken("token-" + first)}, Credential{AssemblyActor(id), HashToken("assembly-" + id)})
	if err != nil {
		w.t.Fatalf("register %s: %v", id, err)
	}
}

// delegate issues a mandate by delegate by, ending with by's own.
func (w *world) delegate(by, id string, cosign Amount, scopes []string) {
	w.t.Helper()
	d := w.s.delegates[by]
	if err := w.issue(DelegateActor(by), grant(id, d.Council, cosign, scopes, d.ExpiresAt)); err != nil {
		w.t.Fatalf("issue %s by %s: %v", id, by, err)
	}
}

// delegateBy issues a mandate by any actor for the longest term.
func (w *world) delegateBy(actor Actor, council, id string, cosign Amount, scopes []string) {
	w.t.Helper()
	if err := w.issue(actor, grant(id, council, cosign, scopes, w.now.Add(MaxMandateTerm))); err != nil {
		w.t.Fatalf("issue %s by %s: %v", id, actor, err)
	}
}

func (w *world) issue(actor Actor, g MandateGrant) error {
	return w.applyWith(KindDelegateIssued, actor, g, Credential{DelegateActor(g.ID), HashToken("token-" + g.ID)})
}

func (w *world) offer(id, by string, q Amount) {
	w.t.Helper()
	d := w.s.delegates[by]
	w.must(KindOfferPosted, DelegateActor(by), OfferPosting{ID: id, Council: d.Council, Item: "wheat-flour",
		Quantity: q, Location: w.s.councils[d.Council].Location, AvailableFrom: w.now, AvailableUntil: w.now.Add(DefaultPostingTTL),
		MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)})
}

func (w *world) need(id, by string, q Amount) {
	w.t.Helper()
	d := w.s.delegates[by]
	w.must(KindNeedPosted, DelegateActor(by), NeedPosting{ID: id, Council: d.Council, Item: "wheat-flour",
		Quantity: q, Location: w.s.councils[d.Council].Location, NeededBy: w.now.Add(DefaultPostingTTL), Priority: 3,
		MaxDistanceKm: DefaultMaxKm, ExpiresAt: w.now.Add(DefaultPostingTTL)})
}

func terms(id, offer, need string, q Amount) ProposalTerms {
	return ProposalTerms{ID: id, Offer: offer, Need: need, Quantity: q, DistanceKm: 4.7, LedgerSize: 1, Engine: "plenty-match/1"}
}

func (w *world) accept(by string, t ProposalTerms) error {
	return w.apply(KindProposalAccepted, DelegateActor(by), ProposalDecision{t})
}

func (w *world) decline(by string, t ProposalTerms) error {
	return w.apply(KindProposalDeclined, DelegateActor(by), ProposalDecision{t})
}

// agree forms an agreement on t with the mill's and d_b1's (and, when
// needed, d_b2's) acceptance.
func (w *world) agree(t ProposalTerms) Agreement {
	w.t.Helper()
	for _, by := range []string{"d_m1", "d_b1", "d_b2"} {
		if _, ok := w.s.Agreement(AgreementID(t.ID)); ok {
			break
		}
		if err := w.accept(by, t); err != nil {
			w.t.Fatalf("accept %s by %s: %v", t.ID, by, err)
		}
	}
	a, ok := w.s.Agreement(AgreementID(t.ID))
	if !ok {
		w.t.Fatalf("no agreement formed from %s", t.ID)
	}
	return a
}

func (w *world) remaining() (o1, n1, n2 Amount) {
	return w.s.offers["o1"].Remaining, w.s.needs["n1"].Remaining, w.s.needs["n2"].Remaining
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if ErrorCode(err) != code {
		t.Fatalf("error = %v (%s), want %s", err, ErrorCode(err), code)
	}
}

func TestAcceptance(t *testing.T) {
	type step struct {
		by     string
		accept bool
		terms  ProposalTerms
		code   string // expected error code, "" for success
	}
	small := terms("p1", "o1", "n1", 80_500)    // under the bakery's threshold
	large := terms("p2", "o1", "n2", 200_000)   // above it: needs two bakery delegates
	tooMuch := terms("p3", "o1", "n2", 260_000) // more than the offer holds
	tests := []struct {
		name      string
		steps     []step
		agreed    bool
		remaining [3]Amount // o1, n1, n2 after the steps
	}{
		{"BothAccept", []step{{"d_m1", true, small, ""}, {"d_b1", true, small, ""}}, true, [3]Amount{169_500, 0, 300_000}},
		{"OneSideOnly", []step{{"d_b1", true, small, ""}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"CosignRequired", []step{{"d_m1", true, large, ""}, {"d_b1", true, large, ""}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"Cosigned", []step{{"d_b1", true, large, ""}, {"d_m1", true, large, ""}, {"d_b2", true, large, ""}}, true, [3]Amount{50_000, 80_500, 100_000}},
		{"SameDelegateTwice", []step{{"d_b1", true, large, ""}, {"d_b1", true, large, ECONFLICT}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"NoAcceptScope", []step{{"d_b3", true, small, EFORBIDDEN}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"HubCannotAccept", []step{{"", true, small, EFORBIDDEN}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"OverCommit", []step{{"d_m1", true, tooMuch, ECONFLICT}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"DeclinedThenAccepted", []step{{"d_b1", false, small, ""}, {"d_b2", true, small, ECONFLICT}, {"d_m1", true, small, ""}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"DeclineVoidsPendingCosign", []step{{"d_b1", true, large, ""}, {"d_b2", false, large, ""}, {"d_m1", true, large, ""}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"ChangedTerms", []step{{"d_m1", true, small, ""}, {"d_b1", true, terms("p1", "o1", "n1", 80_000), ECONFLICT}}, false, [3]Amount{250_000, 80_500, 300_000}},
		{"AcceptAfterAgreement", []step{{"d_m1", true, small, ""}, {"d_b1", true, small, ""}, {"d_b2", true, small, ECONFLICT}}, true, [3]Amount{169_500, 0, 300_000}},
		{"OtherCouncil", []step{{"d_x1", true, small, EFORBIDDEN}}, false, [3]Amount{250_000, 80_500, 300_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.council("c_x", Location{Lat: 48.85, Lon: 2.35}, "d_x1", 0)
			for i, st := range tc.steps {
				actor, kind := ActorHub, KindProposalDeclined
				if st.by != "" {
					actor = DelegateActor(st.by)
				}
				if st.accept {
					kind = KindProposalAccepted
				}
				size := w.s.Size()
				err := w.apply(kind, actor, ProposalDecision{st.terms})
				if ErrorCode(err) != st.code {
					t.Fatalf("step %d (%s by %s): error %v, want code %q", i, kind, st.by, err, st.code)
				}
				if err != nil && w.s.Size() != size {
					t.Fatalf("step %d: a refused event changed the ledger size", i)
				}
			}
			o1, n1, n2 := w.remaining()
			if got := [3]Amount{o1, n1, n2}; got != tc.remaining {
				t.Fatalf("remaining o1, n1, n2 = %v, want %v", got, tc.remaining)
			}
			if got := len(w.s.agreements) == 1; got != tc.agreed {
				t.Fatalf("agreements = %d, want agreed %v", len(w.s.agreements), tc.agreed)
			}
			if err := w.s.CheckBalances(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAgreementFormed(t *testing.T) {
	w := newWorld(t)
	p := terms("p1", "o1", "n1", 80_500)
	var changes []Change
	w.s.OnChange(func(c Change) { changes = append(changes, c) })
	if err := w.accept("d_m1", p); err != nil {
		t.Fatal(err)
	}
	if err := w.accept("d_b1", p); err != nil {
		t.Fatal(err)
	}
	a, _ := w.s.Agreement(AgreementID("p1"))
	want := Agreement{ID: AgreementID("p1"), Proposal: "p1", Offer: "o1", Need: "n1", Item: "wheat-flour",
		Provider: "c_mill", Receiver: "c_bak", Quantity: 80_500, DistanceKm: 4.7, Status: AgreementActive, FormedAt: w.now}
	if a != want {
		t.Fatalf("agreement\n got %+v\nwant %+v", a, want)
	}
	if n, _ := w.s.Need("n1"); n.Status != StatusFulfilled {
		t.Fatalf("need n1 is %s, want fulfilled", n.Status)
	}
	task, ok := w.s.Task(TaskID(a.ID))
	if !ok || task.Status != TaskOpen || task.Quantity != 80_500 || task.From != (Location{51.50, -0.10}) {
		t.Fatalf("task = %+v", task)
	}
	acc, _ := w.s.Acceptance("p1")
	if len(acc.Decisions) != 2 || acc.Agreement != a.ID || acc.Decisions[1].Delegate != "d_b1" {
		t.Fatalf("acceptance = %+v", acc)
	}
	seen := map[Change]bool{}
	for _, c := range changes {
		seen[c] = true
		if _, ok := w.s.Doc(c); !ok {
			t.Fatalf("no document for changed %v", c)
		}
	}
	for _, c := range []Change{{"acceptance", "p1"}, {"agreement", a.ID}, {"offer", "o1"}, {"need", "n1"}, {"task", task.ID}} {
		if !seen[c] {
			t.Fatalf("change %v not reported; got %v", c, changes)
		}
	}
	if AgreementID("p1") != "ag_"+shortHash("agreement", "p1") || len(AgreementID("p1")) != 27 {
		t.Fatalf("AgreementID = %s", AgreementID("p1"))
	}
}

func TestRecallVoidsPendingCosignature(t *testing.T) {
	w := newWorld(t)
	p := terms("p2", "o1", "n2", 200_000)
	if err := w.accept("d_b1", p); err != nil {
		t.Fatal(err)
	}
	w.must(KindDelegateRecalled, AssemblyActor("c_bak"), MandateRecall{Council: "c_bak", Delegate: "d_b1"})
	w.delegateBy(AssemblyActor("c_bak"), "c_bak", "d_b4", 100_000, AllScopes)
	for _, by := range []string{"d_m1", "d_b2"} {
		if err := w.accept(by, p); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.s.agreements) != 0 {
		t.Fatal("a recalled delegate's acceptance counted as a co-signature")
	}
	if err := w.accept("d_b4", p); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.s.Agreement(AgreementID("p2")); !ok {
		t.Fatal("two delegates in force accepted, but no agreement formed")
	}
}

func TestConcurrentAcceptancesNeverOverCommit(t *testing.T) {
	w := newWorld(t)
	// Two proposals computed from the same ledger both want most of o1.
	a := terms("pa", "o1", "n2", 150_000)
	b := terms("pb", "o1", "n1", 80_500)
	c := terms("pc", "o1", "n2", 120_000)
	w.agree(a)
	w.agree(b)
	err := w.accept("d_m1", c)
	wantCode(t, err, ECONFLICT)
	if msg := ErrorMessage(err); msg != "offer o1 has 19.5 left, less than the 120 proposed: other agreements took it meanwhile; fetch fresh proposals" {
		t.Fatalf("message = %q", msg)
	}
	if o, _ := w.s.Offer("o1"); o.Remaining != 19_500 || o.Status != StatusOpen {
		t.Fatalf("o1 = %s %s", o.Remaining, o.Status)
	}
}

func TestCancelAgreement(t *testing.T) {
	tests := []struct {
		name   string
		actor  Actor
		reason string
		code   string
	}{
		{"WithdrawnByReceiver", DelegateActor("d_b1"), CancelWithdrawn, ""},
		{"WithdrawnByProvider", DelegateActor("d_m1"), CancelWithdrawn, ""},
		{"ExpiredByHub", ActorHub, CancelExpired, ""},
		{"ExpiredByDelegate", DelegateActor("d_m1"), CancelExpired, EFORBIDDEN},
		{"WithdrawnByStranger", DelegateActor("d_x1"), CancelWithdrawn, EFORBIDDEN},
		{"WithdrawnWithoutScope", DelegateActor("d_b3"), CancelWithdrawn, EFORBIDDEN},
		{"NoReason", ActorHub, "", EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.council("c_x", Location{Lat: 48.85, Lon: 2.35}, "d_x1", 0)
			a := w.agree(terms("p1", "o1", "n1", 80_500))
			err := w.apply(KindAgreementCancelled, tc.actor, AgreementCancellation{a.ID, tc.reason})
			wantCode(t, err, tc.code)
			o1, n1, _ := w.remaining()
			wantO, wantN, wantStatus := Amount(169_500), Amount(0), AgreementActive
			if tc.code == "" {
				wantO, wantN, wantStatus = 250_000, 80_500, AgreementCancelled
			}
			if o1 != wantO || n1 != wantN {
				t.Fatalf("remaining o1 %s n1 %s, want %s %s", o1, n1, wantO, wantN)
			}
			if got := statusOf(w.s, "agreement", a.ID); got != wantStatus {
				t.Fatalf("agreement is %s, want %s", got, wantStatus)
			}
			if tc.code == "" {
				if n, _ := w.s.Need("n1"); n.Status != StatusOpen {
					t.Fatalf("need n1 is %s after release, want open", n.Status)
				}
				if got := statusOf(w.s, "task", TaskID(a.ID)); got != TaskCancelled {
					t.Fatalf("task is %s, want cancelled", got)
				}
				wantCode(t, w.apply(KindAgreementCancelled, tc.actor, AgreementCancellation{a.ID, tc.reason}), ECONFLICT)
			}
		})
	}
}

func TestTransferAndCorrections(t *testing.T) {
	w := newWorld(t)
	a := w.agree(terms("p1", "o1", "n2", 100_000))
	rec := func(by string, q Amount) error {
		return w.apply(KindTransferRecorded, DelegateActor(by), TransferRecorded{a.ID, q})
	}
	wantCode(t, rec("d_m1", 90_000), EFORBIDDEN) // the provider cannot confirm receipt
	wantCode(t, rec("d_b3", 90_000), EFORBIDDEN) // no accept scope
	wantCode(t, rec("d_b1", 0), EINVALID)
	wantCode(t, rec("d_b1", 100_001), EINVALID)
	if err := rec("d_b1", 90_000); err != nil {
		t.Fatal(err)
	}
	wantCode(t, rec("d_b1", 10_000), ECONFLICT) // receipt is recorded once
	tr, ok := w.s.transfers[TransferID(a.ID)]
	if !ok || tr.Quantity != 90_000 || tr.Provider != "c_mill" || tr.Receiver != "c_bak" || tr.Corrects != "" {
		t.Fatalf("transfer = %+v", tr)
	}
	// The 10 kg shortfall goes back to the need, not the offer.
	if o1, _, n2 := w.remaining(); o1 != 150_000 || n2 != 210_000 {
		t.Fatalf("remaining o1 %s n2 %s, want 150 and 210", o1, n2)
	}
	if got := w.s.Outstanding("c_bak", "wheat-flour"); got != 10_000 {
		t.Fatalf("outstanding = %s, want 10", got)
	}

	fix := func(q Amount) error {
		return w.apply(KindCorrectionRecorded, DelegateActor("d_b2"), CorrectionRecorded{tr.ID, q})
	}
	steps := []struct {
		name      string
		q         Amount
		code      string
		received  Amount // on the accounts after the step
		needLeft  Amount
		transfers int
	}{
		{"Down", 85_000, "", 85_000, 215_000, 2},
		{"Same", 85_000, ECONFLICT, 85_000, 215_000, 2},
		{"Up", 100_000, "", 100_000, 200_000, 3},
		{"AboveAgreed", 100_001, EINVALID, 100_000, 200_000, 3},
		{"ToZero", 0, "", 0, 300_000, 4},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			seq := w.s.Size()
			wantCode(t, fix(st.q), st.code)
			if st.code == "" {
				c := w.s.transfers[CorrectionID(seq)]
				if c == nil || c.Corrects != tr.ID {
					t.Fatalf("correction transfer = %+v", c)
				}
			}
			var rec, given Amount
			for _, l := range w.s.Accounts() {
				if l.Council == "c_bak" {
					rec = l.Received
				} else {
					given = l.Given
				}
			}
			if given != rec {
				t.Fatalf("the mill gave %s but the bakery received %s", given, rec)
			}
			if rec != st.received || w.s.AgreementReceived(a.ID) != st.received {
				t.Fatalf("received = %s (agreement says %s), want %s", rec, w.s.AgreementReceived(a.ID), st.received)
			}
			if _, _, n2 := w.remaining(); n2 != st.needLeft {
				t.Fatalf("n2 remaining = %s, want %s", n2, st.needLeft)
			}
			if len(w.s.transfers) != st.transfers {
				t.Fatalf("%d transfers, want %d", len(w.s.transfers), st.transfers)
			}
			if err := w.s.CheckBalances(); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A correction of a correction is refused: correct the receipt.
	wantCode(t, w.apply(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{CorrectionID(w.s.Size() - 1), 5}), EINVALID)
}

func TestCorrectionCannotOverfill(t *testing.T) {
	w := newWorld(t)
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 50_000})
	// The 30.5 kg shortfall was matched again meanwhile.
	w.agree(terms("p2", "o1", "n1", 30_500))
	err := w.apply(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(a.ID), 80_500})
	wantCode(t, err, ECONFLICT)
	if err := w.s.CheckBalances(); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsAndOutstanding(t *testing.T) {
	w := newWorld(t)
	a := w.agree(terms("p1", "o1", "n1", 80_500))
	w.agree(terms("p2", "o1", "n2", 100_000))
	w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{a.ID, 80_000})
	w.must(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{TransferID(a.ID), 75_000})
	want := []AccountLine{
		{Council: "c_bak", Item: "wheat-flour", Given: 0, Received: 75_000, Committed: 100_000},
		{Council: "c_mill", Item: "wheat-flour", Given: 75_000, Received: 0, Committed: 100_000},
	}
	got := w.s.Accounts()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("accounts\n got %+v\nwant %+v", got, want)
	}
	for _, c := range []string{"c_bak", "c_mill"} {
		if o := w.s.Outstanding(c, "wheat-flour"); o != 105_500 {
			t.Fatalf("outstanding %s = %s, want 105.5", c, o)
		}
	}
}

func TestDrawVolunteer(t *testing.T) {
	seed := sha256.Sum256([]byte("root"))
	cands := []string{"v1", "v2", "v3", "v4"}
	// The winner is the candidate with the smallest hash, computed here
	// independently of DrawVolunteer.
	best, bestHex := "", ""
	for _, v := range cands {
		h := sha256.Sum256(append(append(append(seed[:0:0], seed[:]...), "tk_1\x00"...), v...))
		if x := hex.EncodeToString(h[:]); best == "" || x < bestHex {
			best, bestHex = v, x
		}
	}
	tests := []struct {
		name  string
		cands []string
		want  string
	}{
		{"None", nil, ""},
		{"One", []string{"v9"}, "v9"},
		{"Four", cands, best},
		{"OrderDoesNotMatter", []string{"v4", "v3", "v2", "v1"}, best},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DrawVolunteer(seed[:], "tk_1", tc.cands); got != tc.want {
				t.Fatalf("DrawVolunteer = %q, want %q", got, tc.want)
			}
		})
	}
	// Different seeds spread the draws.
	wins := map[string]int{}
	for i := 0; i < 400; i++ {
		s := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		wins[DrawVolunteer(s[:], "tk_1", cands)]++
	}
	for _, v := range cands {
		if wins[v] < 60 {
			t.Fatalf("volunteer %s won %d of 400 draws: %v", v, wins[v], wins)
		}
	}
}
