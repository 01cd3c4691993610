package plenty

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
