package plenty

import (
	"time"
)

// Sunset: offers, needs, mandates, agreements and claims end on their own.
// Nothing expires silently: the hub writes an event for each, and the fold
// refuses an expiry recorded before its time, so the open data shows when
// and why everything ended. The hub's time limits are themselves facts
// (terms.set): the fold measures draws, lapses and agreement expiries
// against the terms in force, so the hub cannot draw early or take a claim
// away before its window closed. Proposals are not facts: one past its
// ExpiresAt can no longer be accepted (see checkTerms), and since nothing is
// reserved before an agreement forms, nothing needs releasing.

// Event kinds of the sunset.
const (
	// KindMandateExpired records that a delegate's mandate ran out (data
	// MandateExpired, by the hub, at or after its ExpiresAt).
	KindMandateExpired = "mandate.expired"
	// KindTermsSet publishes the hub's time limits (data Terms, by the
	// hub); they hold from that event on.
	KindTermsSet = "terms.set"
)

// MandateExpired is the data of a mandate.expired event.
type MandateExpired struct {
	Delegate string `json:"delegate"`
}

// Terms are the hub's published time limits of the delivery lifecycle,
// the data of a terms.set event. Until the first, every limit is zero and
// the hub may not draw, lapse a claim or expire an agreement at all.
type Terms struct {
	// LotteryWindow is how long a task collects volunteers after it opens
	// before the draw.
	LotteryWindow time.Duration `json:"lottery_window"`
	// ClaimWindow is how long a drawn volunteer has to pick a task up
	// before the claim lapses and the task opens again.
	ClaimWindow time.Duration `json:"claim_window"`
	// AgreementTerm is how long an agreement may wait for its goods to be
	// picked up before it expires and releases its reservation.
	AgreementTerm time.Duration `json:"agreement_term"`
	// CorrectionWindow is how long a receipt stays open to correction,
	// under the terms in force when it was recorded; after it the receipt
	// is final and its agreement leaves the state (retire.go). Zero, as in
	// terms set before it existed: open for ever.
	CorrectionWindow time.Duration `json:"correction_window,omitempty"`
	// DrawKey is the public key (hex) of the hub's verifiable random
	// function, which draws the lotteries (draw.go). Once published it
	// never changes: a hub that could change it could choose among seeds.
	DrawKey string `json:"draw_key"`
}

// Terms returns the hub's time limits in force, and whether any were set.
func (s *State) Terms() (Terms, bool) { return s.terms, s.termsSet }

func (s *State) setTerms(ev Event, t Terms) error {
	switch {
	case ev.Actor != ActorHub:
		return Errorf(EFORBIDDEN, "only the hub sets its terms")
	case t.LotteryWindow < 0 || t.ClaimWindow <= 0 || t.AgreementTerm <= 0 || t.CorrectionWindow < 0:
		return Errorf(EINVALID, "terms: the lottery window and the correction window must not be negative, the claim window and the agreement term must be positive")
	case s.terms.DrawKey != "" && t.DrawKey != s.terms.DrawKey:
		return Errorf(EFORBIDDEN, "terms: the draw key %s was published and never changes", s.terms.DrawKey)
	}
	if t.DrawKey != "" {
		if err := checkDrawKey(t.DrawKey); err != nil {
			return err
		}
	}
	s.terms, s.termsSet = t, true
	s.termsSince = append(s.termsSince, termsSince{From: ev.Time, Terms: t})
	return nil
}

// termsSince is a terms.set: the terms, and the time of the event.
type termsSince struct {
	From  time.Time
	Terms Terms
}

// termsFor returns the terms that govern an agreement formed or a claim
// drawn at at: those set before it. A change of terms holds for what begins
// after it, so the hub cannot shorten a running agreement or claim.
func (s *State) termsFor(at time.Time) Terms {
	for i := len(s.termsSince) - 1; i > 0; i-- {
		if s.termsSince[i].From.Before(at) {
			return s.termsSince[i].Terms
		}
	}
	if len(s.termsSince) > 0 {
		return s.termsSince[0].Terms
	}
	return s.terms
}

// AgreementDue returns when an agreement expires if its goods are not
// claimed: its term, under the terms it was formed under, from its forming.
func (s *State) AgreementDue(a Agreement) time.Time {
	return a.FormedAt.Add(s.termsFor(a.FormedAt).AgreementTerm)
}

// ClaimDue returns when an assigned task's claim lapses unless picked up,
// under the terms it was drawn under; false when the task is not drawn.
func (s *State) ClaimDue(t Task) (time.Time, bool) {
	if t.AssignedAt == nil {
		return time.Time{}, false
	}
	return t.AssignedAt.Add(s.termsFor(*t.AssignedAt).ClaimWindow), true
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
// for pickup at now under the terms in force: its term passed and no
// volunteer holds a claim on it or carries it.
func (s *State) agreementExpired(a *Agreement, now time.Time) bool {
	if t := s.tasks[TaskID(a.ID)]; t != nil && (t.Status == TaskAssigned || t.Status == TaskPickedUp || t.Status == TaskDelivered) {
		return false
	}
	return s.termsSet && !now.Before(s.AgreementDue(*a))
}

// claimLapsed reports whether an assigned task's claim ran out at now.
func (s *State) claimLapsed(t *Task, now time.Time) bool {
	due, ok := s.ClaimDue(*t)
	return t.Status == TaskAssigned && s.termsSet && ok && !now.Before(due)
}

// drawDue reports whether an open task's window closed at now with
// volunteers to draw from.
func (s *State) drawDue(t *Task, now time.Time) bool {
	return t.Status == TaskOpen && len(t.Candidates) > 0 && s.terms.DrawKey != "" && !now.Before(t.ClosesAt)
}

// Due returns what has run out at now under the terms in force and has no
// event yet.
func (s *State) Due(now time.Time) Due {
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
		if a := s.agreements[id]; a.Status == AgreementActive && s.agreementExpired(a, now) {
			d.Agreements = append(d.Agreements, id)
		}
	}
	for _, id := range sortedKeys(s.tasks) {
		switch t := s.tasks[id]; {
		case s.claimLapsed(t, now):
			d.Claims = append(d.Claims, id)
		case s.drawDue(t, now):
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
	case d == nil && s.Gone("delegate", m.Delegate):
		return Errorf(ECONFLICT, "delegate %s's mandate already ended", m.Delegate)
	case d == nil:
		return Errorf(ENOTFOUND, "delegate %s does not exist", m.Delegate)
	case d.RecalledAt != nil || s.mandateEnded[d.ID]:
		return Errorf(ECONFLICT, "delegate %s's mandate already ended", d.ID)
	case ev.Time.Before(d.ExpiresAt):
		return Errorf(ECONFLICT, "delegate %s's mandate runs until %s", d.ID, d.ExpiresAt.Format(time.RFC3339))
	}
	s.mandateEnded[d.ID] = true
	s.touch("delegate", d.ID)
	s.leaveUp(d)
	return nil
}
