package plenty

import (
	"slices"
	"time"
)

// Finished agreements leave the state, as closed postings do (closed.go).
// An agreement is finished when it was cancelled, or when its receipt
// turned final: CorrectionWindow after the receipt no correction is
// accepted any more. At the first event at or after that moment (or at the
// cancellation) the agreement leaves the live maps with its delivery task
// (once the task ended: one on its way stays until dropped off), the
// acceptance that formed it and its transfers; the ledger reads them from
// their projection documents from then on. Like the postings' eviction it
// is part of the fold's definition: every fold of the same events retires
// the same agreements at the same events.
//
// What the rules still ask of them is kept compactly in the gone set (that
// the ids are taken, and each one's final status), and what the figures,
// the accounts and the pages sum over every agreement ever is kept as
// running totals in State.tally, updated as each agreement forms, is
// cancelled or received, so that no reader needs the agreements themselves.

// CorrectionWindow is how long a receipt stays open to correction. After
// it the receipt is final: a correction.recorded naming it is refused, and
// the agreement leaves the state.
const CorrectionWindow = 30 * 24 * time.Hour

// finalDue is a receipt and when it turns final.
type finalDue struct {
	At        time.Time
	Agreement string
}

// formedAgreement is an agreement and the seq of the event that formed it:
// State.formed lists the live ones in that order, for pages newest first.
type formedAgreement struct {
	Seq int64
	ID  string
}

type councilItem struct{ Council, Item string }

type councilPair struct{ Provider, Receiver string }

// Balance is what a council gave and received of an item, corrections
// included.
type Balance struct {
	Given, Received Amount
}

// ItemFlow sums an item's agreements not cancelled (Flows), those whose
// receipt was confirmed (Received), and the quantity received under them,
// corrections included.
type ItemFlow struct {
	Flows, Received int
	Quantity        Amount
}

// tally is the running totals of every agreement, transfer and delivery
// ever, which the figures and the accounts read (see the top of the file).
type tally struct {
	Balances  map[councilItem]Balance
	Shortfall map[councilItem]Amount // agreed − received, of received agreements
	Pairs     map[councilPair]int    // agreements not cancelled
	Items     map[string]ItemFlow
	Delivered map[string]int // volunteer → tasks dropped off

	Receipts, Local, Distant int
	DistanceKm               float64
	Kms                      []float64 // the distance of each receipt, for the median

	NeedsMet    int       // needs that left the state met
	HoursToMeet []float64 // posting to meeting, of each of them
}

func newTally() tally {
	return tally{Balances: map[councilItem]Balance{}, Shortfall: map[councilItem]Amount{},
		Pairs: map[councilPair]int{}, Items: map[string]ItemFlow{}, Delivered: map[string]int{}}
}

// formed counts a new agreement in the tally and the index of live ones.
func (s *State) countFormed(seq int64, a *Agreement) {
	s.tally.Pairs[councilPair{a.Provider, a.Receiver}]++
	f := s.tally.Items[a.Item]
	f.Flows++
	s.tally.Items[a.Item] = f
	s.formed = append(s.formed, formedAgreement{seq, a.ID})
}

// countCancelled takes a cancelled agreement out of the flows.
func (s *State) countCancelled(a *Agreement) {
	k := councilPair{a.Provider, a.Receiver}
	if s.tally.Pairs[k]--; s.tally.Pairs[k] <= 0 {
		delete(s.tally.Pairs, k)
	}
	f := s.tally.Items[a.Item]
	f.Flows--
	s.tally.Items[a.Item] = f
}

// countTransfer adds a transfer (a receipt, or a correction's difference)
// to the balances, the shortfall, the item's flow and the need's received
// total, at time at.
func (s *State) countTransfer(a *Agreement, tr *Transfer, at time.Time) {
	t := &s.tally
	for _, k := range []councilItem{{a.Provider, a.Item}, {a.Receiver, a.Item}} {
		b := t.Balances[k]
		if k.Council == a.Provider {
			b.Given += tr.Quantity
		} else {
			b.Received += tr.Quantity
		}
		t.Balances[k] = b
	}
	short := -tr.Quantity
	f := t.Items[a.Item]
	f.Quantity += tr.Quantity
	if tr.Corrects == "" {
		short += a.Quantity
		f.Received++
		t.Receipts++
		t.DistanceKm += a.DistanceKm
		t.Kms = append(t.Kms, a.DistanceKm)
		if a.DistanceKm <= LocalKm {
			t.Local++
		} else {
			t.Distant++
		}
	}
	t.Items[a.Item] = f
	for _, k := range []councilItem{{a.Provider, a.Item}, {a.Receiver, a.Item}} {
		if t.Shortfall[k] += short; t.Shortfall[k] == 0 {
			delete(t.Shortfall, k)
		}
	}
	n := s.needs[a.Need]
	s.needGot[n.ID] += tr.Quantity
	if _, ok := s.needMetAt[n.ID]; !ok && s.needGot[n.ID] >= n.Quantity {
		s.needMetAt[n.ID] = at
	}
}

// settleNeedFigures moves what the figures read of a need that leaves the
// state into the tally.
func (s *State) settleNeedFigures(n *Need) {
	if at, ok := s.needMetAt[n.ID]; ok && s.needGot[n.ID] >= n.Quantity {
		s.tally.NeedsMet++
		s.tally.HoursToMeet = append(s.tally.HoursToMeet, at.Sub(n.PostedAt).Hours())
	}
	delete(s.needMetAt, n.ID)
	delete(s.needGot, n.ID)
}

// settle finalises the receipts whose correction window ended by now and
// retires their agreements. Apply calls it after each event.
func (s *State) settle(now time.Time) {
	n := 0
	for n < len(s.finals) && !now.Before(s.finals[n].At) {
		if a := s.agreements[s.finals[n].Agreement]; a != nil {
			s.retire(a)
		}
		n++
	}
	if n > 0 {
		s.finals = slices.Delete(s.finals, 0, n)
	}
}

// taskEnded reports whether a task can change no more.
func taskEnded(t *Task) bool {
	return t.Status == TaskDelivered || t.Status == TaskClosed || t.Status == TaskCancelled
}

// retire moves a finished agreement (cancelled, or received and final)
// out of the live maps, with its task, its acceptance and its transfers.
// An agreement whose task is still on its way waits for the drop-off.
func (s *State) retire(a *Agreement) {
	tid := TaskID(a.ID)
	t := s.tasks[tid]
	if t != nil && !taskEnded(t) {
		s.lingering[a.ID] = true
		return
	}
	delete(s.lingering, a.ID)
	delete(s.agreements, a.ID)
	if len(s.formed) > 2*len(s.agreements)+64 {
		s.formed = slices.DeleteFunc(s.formed, func(f formedAgreement) bool { return s.agreements[f.ID] == nil })
	}
	s.forget(goneAs{Kind: "agreement", Council: a.Provider, Item: a.Item, Status: a.Status}, a.ID, a)
	if t != nil {
		delete(s.tasks, tid)
		s.forget(goneAs{Kind: "task", Council: a.Provider, Item: a.Item, Status: t.Status}, tid, t)
	}
	if acc := s.acceptances[a.Proposal]; acc != nil {
		delete(s.acceptances, a.Proposal)
		s.forget(goneAs{Kind: "acceptance", Council: a.Provider, Item: a.Item, Status: "agreed"}, a.Proposal, acc)
	}
	if a.Status != AgreementReceived {
		return
	}
	rid := TransferID(a.ID)
	if tr := s.transfers[rid]; tr != nil {
		delete(s.transfers, rid)
		s.forget(goneAs{Kind: "transfer", Council: a.Receiver, Item: a.Item, Status: "final"}, rid, tr)
	}
	for _, id := range s.corrections[a.ID] {
		if tr := s.transfers[id]; tr != nil {
			delete(s.transfers, id)
			s.forget(goneAs{Kind: "transfer", Council: a.Receiver, Item: a.Item, Status: "final"}, id, tr)
		}
	}
	delete(s.corrections, a.ID)
	// The offer and the need may outlive it (one still open for more):
	// what it holds of them is kept for CheckBalances.
	if s.offers[a.Offer] != nil {
		s.settled["o:"+a.Offer] += a.Quantity
	}
	if s.needs[a.Need] != nil {
		s.settled["n:"+a.Need] += s.received[a.ID]
	}
	delete(s.received, a.ID)
	if s.receipts[a.Need]--; s.receipts[a.Need] <= 0 {
		delete(s.receipts, a.Need)
	}
	s.bury("offer", a.Offer)
	s.bury("need", a.Need)
}

// goneAgreement returns the error for an event that names an agreement
// which left the state, and nil when none left by that id.
func (s *State) goneAgreement(id string) error {
	if g, ok := s.goneAsOf(id, "agreement"); ok {
		return Errorf(ECONFLICT, "agreement %s is %s and closed", id, g.Status)
	}
	return nil
}

// AgreementsNewest returns up to n live agreements that formed before the
// event at seq before (all when before ≤ 0), the newest first, that keep
// returns true for, with the seq each formed at.
func (s *State) AgreementsNewest(before int64, n int, keep func(Agreement) bool) ([]Agreement, []int64) {
	var out []Agreement
	var seqs []int64
	i, _ := slices.BinarySearchFunc(s.formed, before, func(f formedAgreement, seq int64) int {
		switch {
		case f.Seq < seq:
			return -1
		case f.Seq > seq:
			return 1
		}
		return 0
	})
	if before <= 0 {
		i = len(s.formed)
	}
	for i--; i >= 0 && len(out) < n; i-- {
		a := s.agreements[s.formed[i].ID]
		if a != nil && (keep == nil || keep(*a)) {
			out, seqs = append(out, *a), append(seqs, s.formed[i].Seq)
		}
	}
	return out, seqs
}

// ItemFlows returns, per item, the agreements not cancelled, those
// received and the quantity received, over every agreement ever.
func (s *State) ItemFlows() map[string]ItemFlow {
	out := make(map[string]ItemFlow, len(s.tally.Items))
	for k, v := range s.tally.Items {
		out[k] = v
	}
	return out
}

// Retiring reports how many agreements are finished but wait for their
// task's drop-off, and how many receipts are still open to correction.
func (s *State) Retiring() (lingering, correctable int) {
	return len(s.lingering), len(s.finals)
}
