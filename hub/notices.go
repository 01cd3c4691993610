package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plentyhub/plenty"
)

// notice is something a council or a volunteer is told, derived from
// public facts only: it goes into their Atom feeds and to the council's
// webhooks. Its id is stable, so a notice told twice is the same notice.
type notice struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Title     string    `json:"title"`
	At        time.Time `json:"at"`
	Councils  []string  `json:"councils,omitempty"`
	Volunteer string    `json:"volunteer,omitempty"`
	Proposal  string    `json:"proposal,omitempty"`
	Agreement string    `json:"agreement,omitempty"`
	Task      string    `json:"task,omitempty"`
	Subject   string    `json:"subject,omitempty"` // an offer, need or delegate about to expire
}

// Notice types: what a feed entry or a webhook is about.
const (
	NoticeProposal      = "proposal.new"           // the engine proposes an exchange
	NoticeOtherAccepted = "proposal.accepted"      // the other council accepted
	NoticeCosign        = "proposal.cosign_needed" // a second delegate must co-sign
	NoticeAgreement     = "agreement.formed"
	NoticeDrawn         = "task.drawn" // a volunteer was drawn to carry
	NoticePickedUp      = "task.picked_up"
	NoticeDelivered     = "task.delivered"
	NoticeReceiptDue    = "receipt.due" // the receiver should confirm receipt
	NoticeEnded         = "agreement.ended"
	NoticeExpiring      = "expiry.soon" // something expires within a day
)

// NoticeTypes lists every notice type, for webhook subscriptions.
var NoticeTypes = []string{NoticeProposal, NoticeOtherAccepted, NoticeCosign, NoticeAgreement, NoticeDrawn,
	NoticePickedUp, NoticeDelivered, NoticeReceiptDue, NoticeEnded, NoticeExpiring}

// expiryWarning is how long before a deadline people are warned of it.
const expiryWarning = 24 * time.Hour

// describe names an agreement's goods and councils, as "80.5 kg of Wheat
// flour from Mill (Riverside) to Bakers (Riverside)".
func describe(st *plenty.State, item string, q plenty.Amount, provider, receiver string) string {
	return goods(st, item, q) + " from " + councilLabel(st, provider) + " to " + councilLabel(st, receiver)
}

// goods names a quantity of an item, as "80.5 kg of Wheat flour".
func goods(st *plenty.State, item string, q plenty.Amount) string {
	it, _ := st.Item(item)
	name := it.Name
	if name == "" {
		name = item
	}
	return fmt.Sprintf("%s %s of %s", q, it.Unit, name)
}

func councilLabel(st *plenty.State, id string) string {
	c, ok := st.Council(id)
	if !ok {
		return id
	}
	if c.Place == "" {
		return c.Name
	}
	return c.Name + " (" + c.Place + ")"
}

// observe reads one event: what it changes in the private store, and what
// it tells whom. It reads the current state, which the follower trails by
// moments; what it tells is about the event's facts.
func (c *coord) observe(ev plenty.Event) ([]notice, error) {
	id := func(t string) string { return fmt.Sprintf("e%d.%s", ev.Seq, t) }
	var out []notice
	var err error
	switch ev.Kind {
	case plenty.KindOfferWithdrawn, plenty.KindOfferExpired, plenty.KindNeedWithdrawn, plenty.KindNeedExpired:
		var d plenty.PostingClosed
		if decode(ev, &d) == nil {
			// Agreements keep their own copy; the posting's is not needed.
			err = c.store.Delete(kindPostings, d.ID)
		}
	case plenty.KindProposalAccepted:
		var d plenty.ProposalDecision
		if decode(ev, &d) != nil {
			return nil, nil
		}
		acc, rerr := c.s.ledger.Acceptance(context.Background(), d.Proposal.ID)
		if rerr != nil || len(acc.Decisions) == 0 {
			return nil, nil
		}
		c.s.read(func(st *plenty.State) error {
			what := describe(st, acc.Item, d.Proposal.Quantity, acc.Provider, acc.Receiver)
			delegate, _ := strings.CutPrefix(ev.Actor, "delegate:")
			var council string
			mine := -1
			for i, dec := range acc.Decisions {
				if dec.Delegate == delegate && dec.At.Equal(ev.Time) {
					council, mine = dec.Council, i
				}
			}
			last := acc.Decisions[len(acc.Decisions)-1]
			if acc.Agreement != "" && last.Delegate == delegate && last.At.Equal(ev.Time) {
				out = append(out, notice{ID: id(NoticeAgreement), Type: NoticeAgreement, At: ev.Time,
					Title: "Agreement formed: " + what, Councils: []string{acc.Provider, acc.Receiver},
					Proposal: d.Proposal.ID, Agreement: acc.Agreement, Task: plenty.TaskID(acc.Agreement)})
				return nil
			}
			if council == "" {
				return nil
			}
			other := acc.Provider
			if council == acc.Provider {
				other = acc.Receiver
			}
			// Whether the council consented with this decision, not with
			// those that followed it by the time the follower reads: the
			// other council is told once it did, the council itself while
			// it waits for a co-signature.
			acc.Decisions = acc.Decisions[:mine+1]
			if st.Consents(acc, council, ev.Time) {
				out = append(out, notice{ID: id(NoticeOtherAccepted), Type: NoticeOtherAccepted, At: ev.Time,
					Title: councilLabel(st, council) + " accepted: " + what, Councils: []string{other}, Proposal: d.Proposal.ID})
			} else {
				out = append(out, notice{ID: id(NoticeCosign), Type: NoticeCosign, At: ev.Time,
					Title: "A second delegate must co-sign: " + what, Councils: []string{council}, Proposal: d.Proposal.ID})
			}
			return nil
		})
		for _, n := range out {
			if n.Type == NoticeAgreement {
				err = errors.Join(c.openThread(n.Agreement), c.postingsUsed(n.Agreement, ev.Time))
			}
		}
	case plenty.KindTaskAssigned, plenty.KindTaskPickedUp, plenty.KindTaskDroppedOff:
		var d plenty.TaskRef
		if decode(ev, &d) != nil {
			return nil, nil
		}
		t, a, ok := c.s.taskAndAgreement(d.Task, "")
		if !ok {
			return nil, nil
		}
		c.s.read(func(st *plenty.State) error {
			what := describe(st, a.Item, a.Quantity, a.Provider, a.Receiver)
			both := []string{a.Provider, a.Receiver}
			volunteer, _ := strings.CutPrefix(ev.Actor, "volunteer:")
			switch ev.Kind {
			case plenty.KindTaskAssigned:
				var ta plenty.TaskAssignment
				decode(ev, &ta)
				handle := ta.Volunteer
				if v, ok := st.Volunteer(ta.Volunteer); ok {
					handle = v.Handle
				}
				out = append(out, notice{ID: id(NoticeDrawn), Type: NoticeDrawn, At: ev.Time, Councils: both, Volunteer: ta.Volunteer,
					Title: handle + " was drawn to carry " + what, Agreement: a.ID, Task: t.ID})
			case plenty.KindTaskPickedUp:
				out = append(out, notice{ID: id(NoticePickedUp), Type: NoticePickedUp, At: ev.Time, Councils: both, Volunteer: volunteer,
					Title: "Picked up: " + what, Agreement: a.ID, Task: t.ID})
			case plenty.KindTaskDroppedOff:
				out = append(out, notice{ID: id(NoticeDelivered), Type: NoticeDelivered, At: ev.Time, Councils: both, Volunteer: volunteer,
					Title: "Delivered: " + what, Agreement: a.ID, Task: t.ID},
					notice{ID: id(NoticeReceiptDue), Type: NoticeReceiptDue, At: ev.Time, Councils: []string{a.Receiver},
						Title: "Confirm receipt of " + what, Agreement: a.ID, Task: t.ID})
			}
			return nil
		})
	case plenty.KindTransferRecorded, plenty.KindAgreementCancelled:
		var ref struct {
			Agreement string `json:"agreement"`
		}
		if decode(ev, &ref) != nil || ref.Agreement == "" {
			return nil, nil
		}
		how := "received"
		if ev.Kind == plenty.KindAgreementCancelled {
			var d plenty.AgreementCancellation
			decode(ev, &d)
			how = "cancelled (" + d.Reason + ")"
		}
		t, a, ok := c.s.taskAndAgreement(plenty.TaskID(ref.Agreement), ref.Agreement)
		if !ok {
			return nil, nil
		}
		c.s.read(func(st *plenty.State) error {
			out = append(out, notice{ID: id(NoticeEnded), Type: NoticeEnded, At: ev.Time, Councils: []string{a.Provider, a.Receiver},
				Volunteer: t.Assignee, Title: "Agreement " + how + ": " + describe(st, a.Item, a.Quantity, a.Provider, a.Receiver),
				Agreement: a.ID, Task: t.ID})
			return nil
		})
		err = errors.Join(c.endThread(ref.Agreement, ev.Time), c.postingsUsed(ref.Agreement, ev.Time))
	}
	return out, err
}

func decode(ev plenty.Event, v any) error { return jsonUnmarshal(ev.Data, v) }

// proposalNotices tells both councils of each proposal of a run that was
// not told before, once; proposals that expired are forgotten.
func (c *coord) proposalNotices(set *proposalSet, now time.Time) error {
	var tp toldProposals
	if _, err := c.store.Get(kindState, "proposals", &tp); err != nil {
		return err
	}
	if tp.Told == nil {
		tp.Told = map[string]time.Time{}
	}
	changed := false
	for id, exp := range tp.Told {
		if !now.Before(exp) {
			delete(tp.Told, id)
			changed = true
		}
	}
	var out []notice
	c.s.read(func(st *plenty.State) error {
		for _, p := range set.list {
			if _, told := tp.Told[p.ID]; told || !now.Before(p.ExpiresAt) {
				continue
			}
			tp.Told[p.ID], changed = p.ExpiresAt, true
			out = append(out, notice{ID: "p." + p.ID, Type: NoticeProposal, At: set.at, Proposal: p.ID,
				Councils: []string{p.Provider, p.Receiver},
				Title:    "Proposed: " + describe(st, p.Item, p.Quantity, p.Provider, p.Receiver)})
		}
		return nil
	})
	if !changed {
		return nil
	}
	if err := c.tell(out); err != nil {
		return err
	}
	return c.store.Put(kindState, "proposals", tp)
}

// expiryNotices warns, once each, of offers, needs, mandates and
// agreements that run out within expiryWarning, and volunteers whose
// claim lapses within half the claim window.
func (c *coord) expiryNotices(fs *followState, now time.Time) (out []notice, changed bool) {
	for k, at := range fs.Warned {
		if now.After(at) {
			delete(fs.Warned, k)
			changed = true
		}
	}
	warn := func(kind, id string, at time.Time, within time.Duration, n notice) {
		key := kind + ":" + id
		if _, done := fs.Warned[key]; done || !now.Before(at) || at.Sub(now) > within {
			return
		}
		fs.Warned[key], changed = at, true
		n.ID, n.Type, n.At, n.Subject = fmt.Sprintf("x.%s.%s.%d", kind, id, at.Unix()), NoticeExpiring, now, id
		n.Title += " on " + at.UTC().Format("2 Jan 2006 15:04 UTC")
		out = append(out, n)
	}
	c.s.read(func(st *plenty.State) error {
		_, termsSet := st.Terms()
		st.OpenOffers(func(o plenty.Offer) bool {
			at := o.ExpiresAt
			if !o.AvailableUntil.IsZero() && o.AvailableUntil.Before(at) {
				at = o.AvailableUntil
			}
			warn("offer", o.ID, at, expiryWarning, notice{Councils: []string{o.Council},
				Title: "Your offer of " + goods(st, o.Item, o.Remaining) + " (" + o.ID + ") expires"})
			return true
		})
		st.OpenNeeds(func(n plenty.Need) bool {
			warn("need", n.ID, n.ExpiresAt, expiryWarning, notice{Councils: []string{n.Council},
				Title: "Your need of " + goods(st, n.Item, n.Remaining) + " (" + n.ID + ") expires"})
			return true
		})
		for _, d := range st.Delegates() {
			if d.RecalledAt == nil {
				warn("mandate", d.ID, d.ExpiresAt, expiryWarning, notice{Councils: []string{d.Council},
					Title: "The mandate of delegate " + d.Label + " (" + d.ID + ") expires"})
			}
		}
		if !termsSet {
			return nil
		}
		for _, a := range st.Agreements() {
			if a.Status != plenty.AgreementActive {
				continue
			}
			t, _ := st.Task(plenty.TaskID(a.ID))
			switch t.Status {
			case plenty.TaskOpen, "":
				warn("agreement", a.ID, st.AgreementDue(a), expiryWarning, notice{Councils: []string{a.Provider, a.Receiver},
					Agreement: a.ID, Task: t.ID, Title: "Not picked up, agreement " + a.ID + " expires"})
			case plenty.TaskAssigned:
				due, _ := st.ClaimDue(t)
				warn("claim."+t.Assignee, t.ID, due, due.Sub(*t.AssignedAt)/2, notice{Volunteer: t.Assignee,
					Agreement: a.ID, Task: t.ID, Title: "Pick up task " + t.ID + " or your claim lapses"})
			}
		}
		return nil
	})
	return out, changed
}

// tell adds notices to the feeds of those they concern and queues them
// for the councils' webhooks.
func (c *coord) tell(notices []notice) error {
	if len(notices) == 0 {
		return nil
	}
	byFeed := map[string][]notice{}
	var order []string
	for _, n := range notices {
		for _, to := range append(append([]string(nil), n.Councils...), n.Volunteer) {
			if to == "" {
				continue
			}
			if _, ok := byFeed[to]; !ok {
				order = append(order, to)
			}
			byFeed[to] = append(byFeed[to], n)
		}
	}
	for _, to := range order {
		if err := c.addToFeed(to, byFeed[to]); err != nil {
			return err
		}
	}
	return c.hooks.enqueue(notices)
}
