package plenty

import "time"

// NextDeadline returns the earliest time after now at which something that
// is not yet due (see Due) will be, under the terms in force, and false when
// nothing will: the hub sleeps until then instead of polling, so a draw
// follows its window's close, and an expiry its time, within moments.
//
// A write can bring a deadline nearer (a new posting, mandate, agreement
// or candidate), so the hub asks again after each; what is already due at
// now is Due's, not this.
func (s *State) NextDeadline(now time.Time) (time.Time, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, o := range s.offers {
		if o.Status != StatusOpen {
			continue
		}
		// It runs out at the earlier of its expiry and the instant after
		// its availability ends (offerExpired); once run out, it is due
		// until recorded, so the later end is no deadline.
		end := o.ExpiresAt
		if u := o.AvailableUntil; !u.IsZero() && (end.IsZero() || u.Add(time.Nanosecond).Before(end)) {
			end = u.Add(time.Nanosecond)
		}
		if !end.IsZero() {
			consider(end)
		}
	}
	for _, n := range s.needs {
		if n.Status == StatusOpen && !n.ExpiresAt.IsZero() {
			consider(n.ExpiresAt)
		}
	}
	for id, d := range s.delegates {
		if d.RecalledAt == nil && !s.mandateEnded[id] {
			consider(d.ExpiresAt)
		}
	}
	if !s.termsSet {
		return next, !next.IsZero()
	}
	for _, a := range s.agreements {
		if a.Status != AgreementActive {
			continue
		}
		if t := s.tasks[TaskID(a.ID)]; t != nil && (t.Status == TaskAssigned || t.Status == TaskPickedUp || t.Status == TaskDelivered) {
			continue // a volunteer holds it (agreementExpired)
		}
		consider(a.FormedAt.Add(s.terms.AgreementTerm))
	}
	for _, t := range s.tasks {
		switch {
		case t.Status == TaskAssigned && t.AssignedAt != nil:
			consider(t.AssignedAt.Add(s.terms.ClaimWindow))
		case t.Status == TaskOpen && len(t.Candidates) > 0:
			consider(t.OpenedAt.Add(s.terms.LotteryWindow))
		}
	}
	return next, !next.IsZero()
}
