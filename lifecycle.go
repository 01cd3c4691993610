package plenty

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The exchange lifecycle: offer and need posted → proposal → accepted by
// both councils → agreement → delivery task → transfer. The fold below
// enforces, for every event, that:
//
//   - only a delegate of the offer's or the need's council with the accept
//     scope, in force at the event's time, accepts or declines for that
//     council; the hub never accepts (no directives, only agreement);
//   - a council's acceptance counts once a delegate whose co-sign threshold
//     allows the quantity has accepted, or two different delegates of the
//     council have; an acceptance counts only while its delegate's mandate
//     is in force, so a recall voids an acceptance still waiting for its
//     co-signature;
//   - an agreement forms in the same event as the acceptance that completes
//     it, and reserves its quantity on the offer and the need; Remaining
//     never goes below zero: an acceptance that would over-commit the offer
//     or over-fill the need is refused with ECONFLICT;
//   - a cancelled agreement gives its whole quantity back to both the offer
//     and the need; a receipt of less than agreed gives the shortfall back
//     to the need only (see recordTransfer);
//   - for every offer, Quantity = Remaining + reserved by active agreements
//     + agreed in received agreements; for every need, Quantity = Remaining
//     + reserved by active agreements + received (corrections included) in
//     received agreements (see CheckBalances).

// Event kinds of the exchange lifecycle.
const (
	KindProposalAccepted    = "proposal.accepted"
	KindProposalDeclined    = "proposal.declined"
	KindAgreementCancelled  = "agreement.cancelled"
	KindTransferRecorded    = "transfer.recorded"
	KindCorrectionRecorded  = "correction.recorded"
	KindVolunteerRegistered = "volunteer.registered"
	KindTaskVolunteered     = "task.volunteered"
	KindTaskAssigned        = "task.assigned"
	KindTaskLapsed          = "task.lapsed"
	KindTaskPickedUp        = "task.picked_up"
	KindTaskDroppedOff      = "task.dropped_off"
)

// ProposalTerms is a proposal as the engine computed it and a delegate
// accepted or declined it: enough for anyone holding the open data of
// LedgerSize events to recompute it with Engine.
type ProposalTerms struct {
	ID         string    `json:"id"`
	Offer      string    `json:"offer"`
	Need       string    `json:"need"`
	Quantity   Amount    `json:"quantity"`
	DistanceKm float64   `json:"distance_km"`
	LedgerSize int64     `json:"ledger_size"`
	Engine     string    `json:"engine"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// TermsOf returns the terms of a proposal, as an acceptance records them.
func TermsOf(p Proposal) ProposalTerms {
	return ProposalTerms{ID: p.ID, Offer: p.Offer, Need: p.Need, Quantity: p.Quantity,
		DistanceKm: p.DistanceKm, LedgerSize: p.LedgerSize, Engine: p.Engine, ExpiresAt: p.ExpiresAt}
}

func (t ProposalTerms) sameAs(u ProposalTerms) bool {
	return t.ID == u.ID && t.Offer == u.Offer && t.Need == u.Need && t.Quantity == u.Quantity
}

// ProposalDecision is the data of proposal.accepted and proposal.declined
// events. The council is the acting delegate's.
type ProposalDecision struct {
	Proposal ProposalTerms `json:"proposal"`
}

// AgreementCancellation is the data of an agreement.cancelled event. Reason is
// "withdrawn" (by a delegate of either council, accept scope) or "expired"
// (by the hub).
type AgreementCancellation struct {
	Agreement string `json:"agreement"`
	Reason    string `json:"reason"`
}

// Cancellation reasons.
const (
	CancelWithdrawn = "withdrawn"
	CancelExpired   = "expired"
)

// TransferRecorded is the data of a transfer.recorded event: the receiving
// council confirms receipt of Quantity (> 0, at most the agreed quantity)
// under Agreement. The transfer's id is TransferID(Agreement).
type TransferRecorded struct {
	Agreement string `json:"agreement"`
	Quantity  Amount `json:"quantity"`
}

// CorrectionRecorded is the data of a correction.recorded event, by a
// delegate of the receiving council (accept scope): the receipt Transfer
// should have recorded Quantity (at most the agreed quantity; zero means
// nothing arrived). The fold records a new Transfer for the difference
// (negative or positive) with Corrects set; its id is CorrectionID(seq).
// Nothing is edited.
type CorrectionRecorded struct {
	Transfer string `json:"transfer"`
	Quantity Amount `json:"quantity"`
}

// Acceptance is what the councils decided on one proposal so far: a public
// record of who accepted or declined, and the agreement once formed.
type Acceptance struct {
	Proposal  ProposalTerms `json:"proposal"`
	Item      string        `json:"item"`
	Provider  string        `json:"provider"`
	Receiver  string        `json:"receiver"`
	Decisions []Decision    `json:"decisions"`
	Agreement string        `json:"agreement,omitempty"`
}

// Decision is one delegate's accept or decline of a proposal.
type Decision struct {
	Council  string    `json:"council"`
	Delegate string    `json:"delegate"`
	Accepted bool      `json:"accepted"`
	At       time.Time `json:"at"`
}

func (a *Acceptance) copy() Acceptance {
	c := *a
	c.Decisions = append([]Decision(nil), a.Decisions...)
	return c
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}

// AgreementID is the id of the agreement formed from a proposal.
func AgreementID(proposal string) string { return "ag_" + shortHash("agreement", proposal) }

// TransferID is the id of the transfer that confirms an agreement's receipt.
func TransferID(agreement string) string { return "tr_" + shortHash("transfer", agreement) }

// CorrectionID is the id of the transfer a correction.recorded event at seq
// creates.
func CorrectionID(seq int64) string {
	return "tr_" + shortHash("correction", strconv.FormatInt(seq, 10))
}

// actingDelegate returns the delegate an event's actor names, refusing the
// hub and anyone else: only a council's delegate can consent for it.
func (s *State) actingDelegate(ev Event) (*Delegate, error) {
	id, ok := strings.CutPrefix(ev.Actor, "delegate:")
	if !ok {
		return nil, Errorf(EFORBIDDEN, "only a council's delegate may do this, not %s", ev.Actor)
	}
	d := s.delegates[id]
	if d == nil {
		return nil, s.noDelegate(id, "")
	}
	return d, nil
}

func (s *State) decideProposal(ev Event, d ProposalDecision, accept bool) error {
	t := d.Proposal
	del, err := s.actingDelegate(ev)
	if err != nil {
		return err
	}
	if t.ID == "" {
		return Invalid("proposal.id", "is required")
	}
	o, n := s.offerOrGone(t.Offer), s.needOrGone(t.Need)
	if o == nil {
		return Errorf(ENOTFOUND, "offer %s does not exist", t.Offer)
	}
	if n == nil {
		return Errorf(ENOTFOUND, "need %s does not exist", t.Need)
	}
	if del.Council != o.Council && del.Council != n.Council {
		return Errorf(EFORBIDDEN, "delegate %s acts for council %s, which is neither the offer's nor the need's", del.ID, del.Council)
	}
	if err := s.authorize(ev, del.Council, ScopeAccept); err != nil {
		return err
	}
	acc := s.acceptances[t.ID]
	if _, gone := s.staleOf(t.ID); acc == nil && gone {
		return s.decideStale(t, del, accept)
	}
	if acc == nil && s.Gone("acceptance", t.ID) {
		return Errorf(ECONFLICT, "proposal %s is already agreed as %s, and that agreement is closed", t.ID, AgreementID(t.ID))
	}
	if acc != nil && !acc.Proposal.sameAs(t) {
		return Errorf(ECONFLICT, "proposal %s was decided with other terms; fetch fresh proposals", t.ID)
	}
	if acc != nil && acc.Agreement != "" {
		return Errorf(ECONFLICT, "proposal %s is already agreed as %s; to end it, cancel the agreement", t.ID, acc.Agreement)
	}
	if acc != nil {
		for _, x := range acc.Decisions {
			switch {
			case x.Council == del.Council && !x.Accepted:
				return Errorf(ECONFLICT, "council %s declined proposal %s", del.Council, t.ID)
			case x.Delegate == del.ID && accept:
				return Errorf(ECONFLICT, "delegate %s already accepted proposal %s; a co-signature must come from another delegate", del.ID, t.ID)
			case x.Council == del.Council && x.Accepted && accept && s.delegates[x.Delegate] != nil &&
				s.delegates[x.Delegate].Active(ev.Time) && s.inChain(s.delegates[x.Delegate], del):
				return Errorf(EFORBIDDEN, "delegate %s is in the chain of issue of %s, who accepted proposal %s: a co-signature counts only from a delegate outside it", del.ID, x.Delegate, t.ID)
			}
		}
	}
	if accept && acc == nil && s.closedPairs[pairKey(o.ID, n.ID)] {
		// A new proposal for a pair the engine never proposes again.
		return Errorf(ECONFLICT, "offer %s and need %s were declined as a pair, or their agreement was cancelled: they are not proposed again; fetch fresh proposals",
			o.ID, n.ID)
	}
	if accept {
		if err := s.checkTerms(ev, t, o, n); err != nil {
			return err
		}
	}
	created := acc == nil
	if created {
		acc = &Acceptance{Proposal: t, Item: o.Item, Provider: o.Council, Receiver: n.Council}
		s.acceptances[t.ID] = acc
	}
	acc.Decisions = append(acc.Decisions, Decision{Council: del.Council, Delegate: del.ID, Accepted: accept, At: ev.Time})
	if !accept {
		s.closePair(t.Offer, t.Need)
	}
	s.touch("acceptance", t.ID)
	if accept && s.councilConsents(ev, acc, o.Council) && s.councilConsents(ev, acc, n.Council) {
		s.unindexAcceptance(acc)
		s.formAgreement(ev, acc, o, n)
		return nil
	}
	if created {
		s.indexAcceptance(acc)
	}
	return nil
}

// checkTerms checks that an accepted proposal still fits its offer and need.
func (s *State) checkTerms(ev Event, t ProposalTerms, o *Offer, n *Need) error {
	if err := checkNotSelf(o.Council, n.Council); err != nil {
		return err
	}
	switch {
	case o.Item != n.Item:
		return Errorf(EINVALID, "proposal %s pairs offer %s of %s with need %s of %s", t.ID, o.ID, o.Item, n.ID, n.Item)
	case t.Quantity <= 0:
		return Invalid("proposal.quantity", "must be greater than 0")
	case t.LedgerSize < 0 || t.LedgerSize > s.size:
		return Errorf(EINVALID, "proposal %s claims ledger size %d, but the ledger has %d events", t.ID, t.LedgerSize, s.size)
	case math.IsNaN(t.DistanceKm) || t.DistanceKm < 0 || t.DistanceKm > MaxDistanceKm:
		return Invalid("proposal.distance_km", "must be between 0 and 20000")
	case !t.ExpiresAt.IsZero() && !ev.Time.Before(t.ExpiresAt):
		return Errorf(ECONFLICT, "proposal %s expired at %s; fetch fresh proposals", t.ID, t.ExpiresAt.Format(time.RFC3339))
	case o.Status != StatusOpen:
		return Errorf(ECONFLICT, "offer %s is %s; fetch fresh proposals", o.ID, o.Status)
	case n.Status != StatusOpen:
		return Errorf(ECONFLICT, "need %s is %s; fetch fresh proposals", n.ID, n.Status)
	case t.Quantity > o.Remaining:
		return Errorf(ECONFLICT, "offer %s has %s left, less than the %s proposed: other agreements took it meanwhile; fetch fresh proposals",
			o.ID, o.Remaining, t.Quantity)
	case t.Quantity > n.Remaining:
		return Errorf(ECONFLICT, "need %s lacks only %s, less than the %s proposed: other agreements filled it meanwhile; fetch fresh proposals",
			n.ID, n.Remaining, t.Quantity)
	case !o.Usable(ev.Time):
		return Errorf(ECONFLICT, "offer %s has expired or is no longer available; fetch fresh proposals", o.ID)
	case !n.Usable(ev.Time):
		return Errorf(ECONFLICT, "need %s has expired; fetch fresh proposals", n.ID)
	case o.MinSplit > 0 && t.Quantity < o.MinSplit && t.Quantity < o.Remaining:
		return Errorf(ECONFLICT, "proposal %s takes %s of offer %s, less than its smallest split of %s; fetch fresh proposals",
			t.ID, t.Quantity, o.ID, o.MinSplit)
	}
	// The pair must keep the engine's rules, and the distance the proposal
	// states is the engine's (rounded to 0.1 km).
	km, why := Pairable(o, n)
	if why != "" {
		return Errorf(ECONFLICT, "proposal %s pairs offer %s with need %s, which the engine would not propose: %s; fetch fresh proposals",
			t.ID, o.ID, n.ID, why)
	}
	if math.Abs(t.DistanceKm-km) > 0.05+1e-6 {
		return Errorf(ECONFLICT, "proposal %s says offer %s and need %s are %.1f km apart, but they are %.1f km apart; fetch fresh proposals",
			t.ID, o.ID, n.ID, t.DistanceKm, km)
	}
	return nil
}

// councilConsents reports whether council's acceptance of acc counts at the
// event's time: a delegate in force accepted with a threshold the quantity
// does not exceed (zero: no threshold), or two delegates in force accepted
// who are not in one chain of issue (neither issued the other, directly or
// through others): a second pair of hands, not a hand the first one made.
func (s *State) councilConsents(ev Event, acc *Acceptance, council string) bool {
	var signers []*Delegate
	for _, x := range acc.Decisions {
		if x.Council != council || !x.Accepted {
			continue
		}
		d := s.delegates[x.Delegate]
		if d == nil || !d.Active(ev.Time) {
			continue
		}
		if d.CosignAbove == 0 || acc.Proposal.Quantity <= d.CosignAbove {
			return true
		}
		for _, y := range signers {
			if !s.inChain(d, y) {
				return true
			}
		}
		signers = append(signers, d)
	}
	return false
}

// formAgreement records the agreement, reserves its quantity and opens its
// delivery task. The caller has checked that the quantity fits.
func (s *State) formAgreement(ev Event, acc *Acceptance, o *Offer, n *Need) {
	t := acc.Proposal
	a := &Agreement{
		ID: AgreementID(t.ID), Proposal: t.ID, Offer: o.ID, Need: n.ID, Item: o.Item,
		Provider: o.Council, Receiver: n.Council, Quantity: t.Quantity, DistanceKm: t.DistanceKm,
		Status: AgreementActive, FormedAt: ev.Time,
	}
	acc.Agreement = a.ID
	s.agreements[a.ID] = a
	s.countFormed(a)
	s.holds[o.ID]++
	s.holds[n.ID]++
	o.Remaining -= t.Quantity
	n.Remaining -= t.Quantity
	if o.Remaining == 0 {
		o.Status = StatusFulfilled
	}
	if n.Remaining == 0 {
		n.Status = StatusFulfilled
	}
	s.touch("agreement", a.ID)
	s.touch("offer", o.ID)
	s.touch("need", n.ID)
	s.openTask(ev, a, o, n)
}

// release gives q back to an offer or need; one that was fulfilled opens
// again, one that was withdrawn or expired stays closed.
func releaseTo(remaining *Amount, status *string, q Amount) {
	*remaining += q
	if *status == StatusFulfilled && *remaining > 0 {
		*status = StatusOpen
	}
}

func (s *State) cancelAgreement(ev Event, d AgreementCancellation) error {
	a := s.agreements[d.Agreement]
	if a == nil {
		if err := s.goneAgreement(d.Agreement); err != nil {
			return err
		}
		return Errorf(ENOTFOUND, "agreement %s does not exist", d.Agreement)
	}
	switch d.Reason {
	case CancelExpired:
		if ev.Actor != ActorHub {
			return Errorf(EFORBIDDEN, "only the hub records expiries")
		}
		if !s.agreementExpired(a, ev.Time) {
			return Errorf(ECONFLICT, "agreement %s has not run out: its term (until %s) has not passed, or its goods are claimed or on their way",
				a.ID, s.AgreementDue(*a).Format(time.RFC3339))
		}
	case CancelWithdrawn:
		del, err := s.actingDelegate(ev)
		if err != nil {
			return err
		}
		if del.Council != a.Provider && del.Council != a.Receiver {
			return Errorf(EFORBIDDEN, "delegate %s's council %s is not party to agreement %s", del.ID, del.Council, a.ID)
		}
		if err := s.authorize(ev, del.Council, ScopeAccept); err != nil {
			return err
		}
	default:
		return Invalid("reason", `must be "withdrawn" or "expired"`)
	}
	if a.Status != AgreementActive {
		return Errorf(ECONFLICT, "agreement %s is %s, not active", a.ID, a.Status)
	}
	o, n := s.offers[a.Offer], s.needs[a.Need]
	a.Status = AgreementCancelled
	s.closePair(a.Offer, a.Need)
	releaseTo(&o.Remaining, &o.Status, a.Quantity)
	releaseTo(&n.Remaining, &n.Status, a.Quantity)
	s.touch("agreement", a.ID)
	s.touch("offer", o.ID)
	s.touch("need", n.ID)
	s.endTask(a.ID, TaskCancelled)
	s.countCancelled(a)
	s.release(a)
	s.retire(a)
	return nil
}

// recordTransfer confirms receipt. The shortfall (agreed − received) goes
// back to the need's Remaining, so the need can be matched again; the
// offer keeps it spent, because the goods left the provider (or the
// provider can say what is left by posting again): giving it back to the
// offer would let the engine promise goods that may not exist.
func (s *State) recordTransfer(ev Event, d TransferRecorded) error {
	a := s.agreements[d.Agreement]
	if a == nil {
		if err := s.goneAgreement(d.Agreement); err != nil {
			return err
		}
		return Errorf(ENOTFOUND, "agreement %s does not exist", d.Agreement)
	}
	if err := s.receiverAct(ev, a); err != nil {
		return err
	}
	switch {
	case a.Status != AgreementActive:
		return Errorf(ECONFLICT, "agreement %s is %s; to fix a recorded receipt, record a correction", a.ID, a.Status)
	case d.Quantity <= 0:
		return Invalid("quantity", "must be greater than 0; if nothing arrived, cancel the agreement")
	case d.Quantity > a.Quantity:
		return Invalid("quantity", "must be at most the "+a.Quantity.String()+" agreed")
	}
	tr := &Transfer{ID: TransferID(a.ID), Agreement: a.ID, Item: a.Item, Provider: a.Provider,
		Receiver: a.Receiver, Quantity: d.Quantity, RecordedAt: ev.Time}
	s.transfers[tr.ID] = tr
	s.received[a.ID] = d.Quantity
	a.Status = AgreementReceived
	s.touch("transfer", tr.ID)
	s.touch("agreement", a.ID)
	if short := a.Quantity - d.Quantity; short > 0 {
		n := s.needs[a.Need]
		releaseTo(&n.Remaining, &n.Status, short)
		s.touch("need", n.ID)
	}
	s.countTransfer(a, tr, ev.Time)
	s.receipts[a.Need]++
	if due, ok := s.correctionDue(ev.Time); ok {
		s.finals = append(s.finals, finalDue{At: due, Agreement: a.ID})
	}
	s.endTask(a.ID, TaskClosed)
	s.release(a)
	return nil
}

// release ends an agreement's hold on its offer and need, which may then
// leave the state (closed.go).
func (s *State) release(a *Agreement) {
	for _, id := range []string{a.Offer, a.Need} {
		if s.holds[id]--; s.holds[id] <= 0 {
			delete(s.holds, id)
		}
	}
	s.bury("offer", a.Offer)
	s.bury("need", a.Need)
}

func (s *State) receiverAct(ev Event, a *Agreement) error {
	del, err := s.actingDelegate(ev)
	if err != nil {
		return err
	}
	if del.Council != a.Receiver {
		return Errorf(EFORBIDDEN, "only the receiving council %s confirms receipt of agreement %s", a.Receiver, a.ID)
	}
	return s.authorize(ev, a.Receiver, ScopeAccept)
}

func (s *State) recordCorrection(ev Event, d CorrectionRecorded) error {
	orig := s.transfers[d.Transfer]
	if orig == nil {
		if s.Gone("transfer", d.Transfer) {
			return Errorf(ECONFLICT, "transfer %s is final: its correction window has passed", d.Transfer)
		}
		return Errorf(ENOTFOUND, "transfer %s does not exist", d.Transfer)
	}
	if orig.Corrects != "" {
		return Errorf(EINVALID, "transfer %s is itself a correction; correct the receipt %s", orig.ID, orig.Corrects)
	}
	a := s.agreements[orig.Agreement]
	if err := s.receiverAct(ev, a); err != nil {
		return err
	}
	if due, ok := s.correctionDue(orig.RecordedAt); ok && !ev.Time.Before(due) {
		return Errorf(ECONFLICT, "transfer %s is final: it was recorded at %s, and the correction window ended at %s",
			orig.ID, orig.RecordedAt.Format(time.RFC3339), due.Format(time.RFC3339))
	}
	if d.Quantity < 0 || d.Quantity > a.Quantity {
		return Invalid("quantity", "must be between 0 and the "+a.Quantity.String()+" agreed")
	}
	delta := d.Quantity - s.received[a.ID]
	if delta == 0 {
		return Errorf(ECONFLICT, "transfer %s already stands at %s", orig.ID, d.Quantity)
	}
	n := s.needs[a.Need]
	if delta > n.Remaining {
		return Errorf(ECONFLICT, "need %s has only %s left open, less than the %s the correction adds: later agreements filled it",
			n.ID, n.Remaining, delta)
	}
	tr := &Transfer{ID: CorrectionID(ev.Seq), Agreement: a.ID, Item: a.Item, Provider: a.Provider,
		Receiver: a.Receiver, Quantity: delta, RecordedAt: ev.Time, Corrects: orig.ID}
	s.transfers[tr.ID] = tr
	s.received[a.ID] = d.Quantity
	s.corrections[a.ID] = append(s.corrections[a.ID], tr.ID)
	s.countTransfer(a, tr, ev.Time)
	if delta > 0 {
		n.Remaining -= delta
		if n.Remaining == 0 && n.Status == StatusOpen {
			n.Status = StatusFulfilled
		}
	} else {
		releaseTo(&n.Remaining, &n.Status, -delta)
	}
	s.touch("transfer", tr.ID)
	s.touch("need", n.ID)
	return nil
}

// Acceptance returns what the councils decided on a proposal so far, if
// the state holds it (see Agreement).
func (s *State) Acceptance(proposal string) (Acceptance, bool) {
	a := held(s, s.acceptances[proposal], "acceptance", proposal)
	if a == nil {
		return Acceptance{}, false
	}
	return a.copy(), true
}

// Agreement returns the agreement with the given id, if the state holds
// it: under way, or finished a moment ago and not yet dropped by
// ForgetClosed. Otherwise, when Gone("agreement", id), the store holds it
// (the ledger's Agreement reads it).
func (s *State) Agreement(id string) (Agreement, bool) {
	a := held(s, s.agreements[id], "agreement", id)
	if a == nil {
		return Agreement{}, false
	}
	return *a, true
}

// AgreementsUnderWay returns how many agreements the state holds live.
func (s *State) AgreementsUnderWay() int { return len(s.agreements) }

// Consents reports whether council's acceptance of a proposal counts at
// time at: the rule the fold applies before an agreement forms.
func (s *State) Consents(acc Acceptance, council string, at time.Time) bool {
	return s.councilConsents(Event{Time: at}, &acc, council)
}

// AgreementReceived returns the quantity received under an agreement the
// state holds (see Agreement), corrections included.
func (s *State) AgreementReceived(id string) Amount {
	if q, ok := s.received[id]; ok || s.agreements[id] != nil {
		return q
	}
	// Finished a moment ago: its transfers wait beside it for the store.
	var sum Amount
	for _, tr := range closedOf[Transfer](s.closedDocs, "transfer") {
		if tr.Agreement == id {
			sum += tr.Quantity
		}
	}
	return sum
}

// Outstanding returns what a council has agreed to give or receive of an
// item and that has not been received: the quantity of its active
// agreements plus the shortfall (agreed − received) of its received ones.
// It is Committed plus what was promised but never arrived.
func (s *State) Outstanding(council, item string) Amount {
	sum := s.tally.Shortfall[councilItem{council, item}]
	for _, a := range s.agreements {
		if a.Status == AgreementActive && a.Item == item && (a.Provider == council || a.Receiver == council) {
			sum += a.Quantity
		}
	}
	return sum
}

// CheckBalances checks the reservation invariants over the whole state:
// no Remaining is negative, and each offer's and need's quantity equals
// its Remaining plus what agreements hold of it (see the top of this
// file). It returns an EINTERNAL error naming the first posting that does
// not balance, ordered by id.
func (s *State) CheckBalances() error {
	held := map[string]Amount{}
	for k, q := range s.settled {
		held[k] = q
	}
	for _, a := range s.agreements {
		switch a.Status {
		case AgreementActive:
			held["o:"+a.Offer] += a.Quantity
			held["n:"+a.Need] += a.Quantity
		case AgreementReceived:
			held["o:"+a.Offer] += a.Quantity
			held["n:"+a.Need] += s.received[a.ID]
		}
	}
	for _, id := range sortedKeys(s.offers) {
		o := s.offers[id]
		if o.Remaining < 0 || o.Remaining+held["o:"+id] != o.Quantity {
			return Errorf(EINTERNAL, "offer %s: remaining %s + held %s ≠ quantity %s", id, o.Remaining, held["o:"+id], o.Quantity)
		}
	}
	for _, id := range sortedKeys(s.needs) {
		n := s.needs[id]
		if n.Remaining < 0 || n.Remaining+held["n:"+id] != n.Quantity {
			return Errorf(EINTERNAL, "need %s: remaining %s + held %s ≠ quantity %s", id, n.Remaining, held["n:"+id], n.Quantity)
		}
	}
	return nil
}

func sortedKeys[T any](m map[string]*T) []string {
	ks := keys(m)
	sort.Strings(ks)
	return ks
}

// applyLifecycle folds an event of the exchange lifecycle. ok is false
// when the kind is not one of them.
func (s *State) applyLifecycle(ev Event) (ok bool, err error) {
	decode := func(v any) error { return decodeData(ev, v) }
	switch ev.Kind {
	case KindProposalAccepted, KindProposalDeclined:
		var d ProposalDecision
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.decideProposal(ev, d, ev.Kind == KindProposalAccepted)
	case KindAgreementCancelled:
		var d AgreementCancellation
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.cancelAgreement(ev, d)
	case KindTransferRecorded:
		var d TransferRecorded
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.recordTransfer(ev, d)
	case KindCorrectionRecorded:
		var d CorrectionRecorded
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.recordCorrection(ev, d)
	case KindVolunteerRegistered:
		var d VolunteerRegistration
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.registerVolunteer(ev, d)
	case KindTaskVolunteered, KindTaskLapsed, KindTaskPickedUp, KindTaskDroppedOff:
		var d TaskRef
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.taskEvent(ev, d)
	case KindTaskAssigned:
		var d TaskAssignment
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.assignTask(ev, d)
	case KindTermsSet:
		var d Terms
		if err := decode(&d); err != nil {
			return true, err
		}
		return true, s.setTerms(ev, d)
	}
	return false, nil
}
