package plenty

import (
	"slices"
	"strings"
)

// Taking back an acceptance: until both councils have consented, a council
// may withdraw its acceptance of a proposal, for instance when its
// assembly changed its mind or a delegate accepted by mistake. Nothing was
// reserved, so nothing needs releasing; once the agreement has formed, it
// can only be cancelled.

// KindAcceptanceWithdrawn records that a council withdrew its acceptance of
// a proposal before the agreement formed (data AcceptanceWithdrawal, by a
// delegate of that council with the accept scope).
const KindAcceptanceWithdrawn = "proposal.acceptance_withdrawn"

// AcceptanceWithdrawal is the data of a proposal.acceptance_withdrawn
// event: the proposal whose acceptance the acting delegate's council takes
// back.
type AcceptanceWithdrawal struct {
	Proposal string `json:"proposal"`
}

// applyAcceptance folds the events of this file; ok is false for another
// kind.
func (s *State) applyAcceptance(ev Event) (ok bool, err error) {
	if ev.Kind != KindAcceptanceWithdrawn {
		return false, nil
	}
	var d AcceptanceWithdrawal
	if err := decodeData(ev, &d); err != nil {
		return true, err
	}
	return true, s.withdrawAcceptance(ev, d)
}

// withdrawAcceptance removes every acceptance of the acting delegate's
// council from the proposal (a co-signature included): the council's
// consent is gone, the other council's stays.
func (s *State) withdrawAcceptance(ev Event, d AcceptanceWithdrawal) error {
	if d.Proposal == "" {
		return Invalid("proposal", "is required")
	}
	del, err := s.actingDelegate(ev)
	if err != nil {
		return err
	}
	acc := s.acceptances[d.Proposal]
	if _, gone := s.staleOf(d.Proposal); acc == nil && gone {
		return s.withdrawStale(ev, d.Proposal, del)
	}
	if acc == nil {
		if s.Gone("acceptance", d.Proposal) {
			return Errorf(ECONFLICT, "proposal %s is already agreed as %s, and that agreement is closed", d.Proposal, AgreementID(d.Proposal))
		}
		return Errorf(ENOTFOUND, "no council has decided proposal %s", d.Proposal)
	}
	if del.Council != acc.Provider && del.Council != acc.Receiver {
		return Errorf(EFORBIDDEN, "delegate %s acts for council %s, which is neither the provider nor the receiver of proposal %s", del.ID, del.Council, d.Proposal)
	}
	if err := s.authorize(ev, del.Council, ScopeAccept); err != nil {
		return err
	}
	if acc.Agreement != "" {
		return Errorf(ECONFLICT, "proposal %s is already agreed as %s; to end it, cancel the agreement", d.Proposal, acc.Agreement)
	}
	kept := acc.Decisions[:0:0]
	for _, x := range acc.Decisions {
		if x.Council == del.Council {
			if !x.Accepted {
				return Errorf(ECONFLICT, "council %s declined proposal %s; a refusal stands", del.Council, d.Proposal)
			}
			continue
		}
		kept = append(kept, x)
	}
	if len(kept) == len(acc.Decisions) {
		return Errorf(ECONFLICT, "council %s has not accepted proposal %s", del.Council, d.Proposal)
	}
	// The acceptance stays, with what the other council decided (perhaps
	// nothing now): projections keep one document per entity.
	acc.Decisions = kept
	s.touch("acceptance", d.Proposal)
	return nil
}

// Acceptances that can no longer form an agreement leave the state. An
// acceptance without an agreement names an offer and a need; once either
// has left the state (closed.go) nothing can be agreed on it, and it
// leaves with the first of them (a decision that names a posting already
// gone records its acceptance and lets it go at once). What the rules
// still ask of it is kept in the gone set, in staleAs: its two councils and
// what each decided, so that a decline or a withdrawal naming it is
// refused or recorded as when it was in the state, and an acceptance is
// refused (its posting is not open). Its document is in the projections,
// as it left: a later decline or withdrawal changes what the gone set
// keeps, not the document.

// The decisions a council's part of a stale acceptance records.
const (
	decidedNothing  = "-"
	decidedAccepted = "accepted"
	decidedDeclined = "declined"
)

// stale is what the gone set keeps of an acceptance that left without an
// agreement: its councils and what each decided.
type stale struct {
	Provider, Receiver     string
	ByProvider, ByReceiver string
}

func staleOfAcceptance(acc *Acceptance) stale {
	return stale{acc.Provider, acc.Receiver, decided(acc, acc.Provider), decided(acc, acc.Receiver)}
}

// by points at what council, one of the two, decided.
func (x *stale) by(council string) *string {
	if council == x.Receiver {
		return &x.ByReceiver
	}
	return &x.ByProvider
}

// as is its tuple in the gone set: Council the provider, Item (standing
// in) the receiver, and Status "stale" with what the provider, then the
// receiver, decided.
func (x stale) as() goneAs {
	return goneAs{Kind: "acceptance", Council: x.Provider, Item: x.Receiver, Status: "stale " + x.ByProvider + " " + x.ByReceiver}
}

// decided sums a council's decisions on an acceptance: a refusal stands
// over any acceptance.
func decided(acc *Acceptance, council string) string {
	out := decidedNothing
	for _, x := range acc.Decisions {
		switch {
		case x.Council != council:
		case !x.Accepted:
			return decidedDeclined
		default:
			out = decidedAccepted
		}
	}
	return out
}

// staleOf reads a stale acceptance from the gone set.
func (s *State) staleOf(proposal string) (stale, bool) {
	g, ok := s.goneAsOf(proposal, "acceptance")
	if !ok {
		return stale{}, false
	}
	f := strings.Fields(g.Status)
	if len(f) != 3 || f[0] != "stale" {
		return stale{}, false
	}
	return stale{g.Council, g.Item, f[1], f[2]}, true
}

// indexAcceptance notes a new acceptance under its two postings, so that
// it leaves with the first of them, or lets it go at once when one has
// left already.
func (s *State) indexAcceptance(acc *Acceptance) {
	o, n := "o:"+acc.Proposal.Offer, "n:"+acc.Proposal.Need
	if s.offers[acc.Proposal.Offer] == nil || s.needs[acc.Proposal.Need] == nil {
		s.retireStale(acc)
		return
	}
	s.acceptancesOf[o] = append(s.acceptancesOf[o], acc.Proposal.ID)
	s.acceptancesOf[n] = append(s.acceptancesOf[n], acc.Proposal.ID)
}

// unindexAcceptance takes an acceptance that formed its agreement out of
// the index: it leaves with the agreement (retire.go).
func (s *State) unindexAcceptance(acc *Acceptance) {
	for _, k := range []string{"o:" + acc.Proposal.Offer, "n:" + acc.Proposal.Need} {
		if rest := slices.DeleteFunc(s.acceptancesOf[k], func(id string) bool { return id == acc.Proposal.ID }); len(rest) > 0 {
			s.acceptancesOf[k] = rest
		} else {
			delete(s.acceptancesOf, k)
		}
	}
}

// dropAcceptances lets go the acceptances without an agreement of a
// posting that left the state (key "o:" or "n:" and its id).
func (s *State) dropAcceptances(key string) {
	for _, id := range slices.Clone(s.acceptancesOf[key]) {
		if acc := s.acceptances[id]; acc != nil {
			s.retireStale(acc)
		}
	}
}

func (s *State) retireStale(acc *Acceptance) {
	s.unindexAcceptance(acc)
	delete(s.acceptances, acc.Proposal.ID)
	s.forget(staleOfAcceptance(acc).as(), acc.Proposal.ID, acc)
	s.regone(staleTerms(acc.Proposal), goneAs{Kind: staleTermsKind})
}

// staleTermsKind keys, in the gone set, the terms a stale acceptance was
// decided with (staleTerms), so that a decision with other terms is
// refused as when it was in the state (ProposalTerms.sameAs).
const staleTermsKind = "acceptance terms"

func staleTerms(t ProposalTerms) string {
	return t.ID + "\x00" + t.Offer + "\x00" + t.Need + "\x00" + t.Quantity.String()
}

// decideStale decides on a proposal whose acceptance left the state
// without an agreement, by a delegate of one of its councils who holds the
// accept scope: nothing can be accepted; a decline is recorded unless the
// council declined already.
func (s *State) decideStale(t ProposalTerms, del *Delegate, accept bool) error {
	id := t.ID
	x, _ := s.staleOf(id)
	if !s.Gone(staleTermsKind, staleTerms(t)) {
		return Errorf(ECONFLICT, "proposal %s was decided with other terms; fetch fresh proposals", id)
	}
	if accept {
		return Errorf(ECONFLICT, "proposal %s can no longer be agreed: its offer or its need closed; fetch fresh proposals", id)
	}
	mine := x.by(del.Council)
	if *mine == decidedDeclined {
		return Errorf(ECONFLICT, "council %s declined proposal %s", del.Council, id)
	}
	*mine = decidedDeclined
	s.regone(id, x.as())
	return nil
}

// withdrawStale withdraws the acting delegate's council's acceptance of a
// proposal whose acceptance left the state without an agreement.
func (s *State) withdrawStale(ev Event, id string, del *Delegate) error {
	x, _ := s.staleOf(id)
	if del.Council != x.Provider && del.Council != x.Receiver {
		return Errorf(EFORBIDDEN, "delegate %s acts for council %s, which is neither the provider nor the receiver of proposal %s", del.ID, del.Council, id)
	}
	if err := s.authorize(ev, del.Council, ScopeAccept); err != nil {
		return err
	}
	mine := x.by(del.Council)
	switch *mine {
	case decidedDeclined:
		return Errorf(ECONFLICT, "council %s declined proposal %s; a refusal stands", del.Council, id)
	case decidedNothing:
		return Errorf(ECONFLICT, "council %s has not accepted proposal %s", del.Council, id)
	}
	*mine = decidedNothing
	s.regone(id, x.as())
	return nil
}
