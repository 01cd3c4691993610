package plenty

import (
	"time"
)

// Sunset: offers, needs, mandates, agreements and claims end on their own.
// Nothing expires silently: the hub writes an event for each, and the fold
// refuses an expiry recorded before its time, so the open data shows when
// and why everything ended. Proposals are not facts: one past its
// ExpiresAt can no longer be accepted (see checkTerms), and since nothing is
// reserved before an agreement forms, nothing needs releasing.

// KindMandateExpired records that a delegate's mandate ran out (data
// MandateExpired, by the hub, at or after its ExpiresAt).
const KindMandateExpired = "mandate.expired"

// MandateExpired is the data of a mandate.expired event.
type MandateExpired struct {
	Delegate string `json:"delegate"`
}

// Terms are the hub's published time limits of the delivery lifecycle.
type Terms struct {
	// LotteryWindow is how long a task collects volunteers after it opens
	// before the draw.
	LotteryWindow time.Duration
	// ClaimWindow is how long a drawn volunteer has to pick a task up
	// before the claim lapses and the task opens again.
	ClaimWindow time.Duration
	// AgreementTerm is how long an agreement may wait for its goods to be
	// picked up before it expires and releases its reservation.
	AgreementTerm time.Duration
}

// Due is what has run out at a time and awaits its event, each list
// sorted by id.
type Due struct {
	Offers     []string // open offers past ExpiresAt or AvailableUntil: offer.expired
	Needs      []string // open needs past ExpiresAt: need.expired
	Mandates   []string // delegates past ExpiresAt, neither recalled nor recorded: mandate.expired
	Agreements []string // active agreements past AgreementTerm, goods not picked up: agreement.cancelled, expired
	Claims     []string // tasks assigned longer than ClaimWindow, not picked up: task.lapsed
	Draws      []string // open tasks with volunteers whose window closed: task.assigned
}

// Empty reports whether nothing is due.
func (d Due) Empty() bool {
	return len(d.Offers)+len(d.Needs)+len(d.Mandates)+len(d.Agreements)+len(d.Claims)+len(d.Draws) == 0
}

// offerExpired reports whether an open offer has run out at now.
func offerExpired(o *Offer, now time.Time) bool {
	return (!o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt)) ||
		(!o.AvailableUntil.IsZero() && now.After(o.AvailableUntil))
}

func needExpired(n *Need, now time.Time) bool {
	return !n.ExpiresAt.IsZero() && !now.Before(n.ExpiresAt)
}

// agreementExpired reports whether an active agreement's goods are overdue
// for pickup at now.
func (s *State) agreementExpired(a *Agreement, now time.Time, term time.Duration) bool {
	if t := s.tasks[TaskID(a.ID)]; t != nil && (t.Status == TaskPickedUp || t.Status == TaskDelivered) {
		return false
	}
	return term > 0 && !now.Before(a.FormedAt.Add(term))
}

// Due returns what has run out at now under the terms and has no event yet.
func (s *State) Due(now time.Time, terms Terms) Due {
	var d Due
	for _, id := range sortedKeys(s.offers) {
		if o := s.offers[id]; o.Status == StatusOpen && offerExpired(o, now) {
			d.Offers = append(d.Offers, id)
		}
	}
	for _, id := range sortedKeys(s.needs) {
		if n := s.needs[id]; n.Status == StatusOpen && needExpired(n, now) {
			d.Needs = append(d.Needs, id)
		}
	}
	for _, id := range sortedKeys(s.delegates) {
		if x := s.delegates[id]; x.RecalledAt == nil && !s.mandateEnded[id] && !now.Before(x.ExpiresAt) {
			d.Mandates = append(d.Mandates, id)
		}
	}
	for _, id := range sortedKeys(s.agreements) {
		if a := s.agreements[id]; a.Status == AgreementActive && s.agreementExpired(a, now, terms.AgreementTerm) {
			d.Agreements = append(d.Agreements, id)
		}
	}
	for _, id := range sortedKeys(s.tasks) {
		t := s.tasks[id]
		switch {
		case t.Status == TaskAssigned && terms.ClaimWindow > 0 && !now.Before(t.AssignedAt.Add(terms.ClaimWindow)):
			d.Claims = append(d.Claims, id)
		case t.Status == TaskOpen && len(t.Candidates) > 0 && !now.Before(t.OpenedAt.Add(terms.LotteryWindow)):
			d.Draws = append(d.Draws, id)
		}
	}
	return d
}

// expireMandate records a mandate's end at its expiry.
func (s *State) expireMandate(ev Event, m MandateExpired) error {
	d := s.delegates[m.Delegate]
	switch {
	case ev.Actor != ActorHub:
		return Errorf(EFORBIDDEN, "only the hub records expiries")
	case d == nil:
		return Errorf(ENOTFOUND, "delegate %s does not exist", m.Delegate)
	case d.RecalledAt != nil || s.mandateEnded[d.ID]:
		return Errorf(ECONFLICT, "delegate %s's mandate already ended", d.ID)
	case ev.Time.Before(d.ExpiresAt):
		return Errorf(ECONFLICT, "delegate %s's mandate runs until %s", d.ID, d.ExpiresAt.Format(time.RFC3339))
	}
	s.mandateEnded[d.ID] = true
	s.touch("delegate", d.ID)
	return nil
}
