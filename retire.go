package plenty

import (
	"math"
	"slices"
	"time"
)

// Finished agreements leave the state, as closed postings do (closed.go).
// An agreement is finished when it was cancelled, or when its receipt
// turned final: Terms.CorrectionWindow after the receipt no correction is
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

// DefaultCorrectionWindow is how long a hub keeps a receipt open to
// correction unless configured otherwise (Terms.CorrectionWindow). After
// it the receipt is final: a correction.recorded naming it is refused, and
// the agreement leaves the state.
const DefaultCorrectionWindow = 30 * 24 * time.Hour

// correctionDue returns when a receipt recorded at at turns final, under
// the terms in force then, and false when they keep it open for ever.
func (s *State) correctionDue(at time.Time) (time.Time, bool) {
	w := s.termsFor(at).CorrectionWindow
	return at.Add(w), w > 0
}

// finalDue is a receipt and when it turns final.
type finalDue struct {
	At        time.Time
	Agreement string
}

// AgreementKey places an agreement in the order agreements are listed
// in, the newest first: by when it formed (Unix nanoseconds), then by id,
// both descending.
type AgreementKey struct {
	FormedAt int64
	ID       string
}

// KeyOf returns an agreement's place in the order.
func KeyOf(a Agreement) AgreementKey { return AgreementKey{a.FormedAt.UnixNano(), a.ID} }

// Older reports whether k comes after o in the order: formed before it,
// or at the same time with a smaller id.
func (k AgreementKey) Older(o AgreementKey) bool {
	return k.FormedAt < o.FormedAt || (k.FormedAt == o.FormedAt && k.ID < o.ID)
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

	// The needs that left the state, by the UTC day they were posted and
	// (those met) the day they were met: the timeline's history.
	LeftPosted map[int64]int
	LeftMet    map[int64]int
}

func newTally() tally {
	return tally{Balances: map[councilItem]Balance{}, Shortfall: map[councilItem]Amount{},
		Pairs: map[councilPair]int{}, Items: map[string]ItemFlow{}, Delivered: map[string]int{},
		LeftPosted: map[int64]int{}, LeftMet: map[int64]int{}}
}

// formed counts a new agreement in the tally and the index of live ones.
func (s *State) countFormed(a *Agreement) {
	s.tally.Pairs[councilPair{a.Provider, a.Receiver}]++
	f := s.tally.Items[a.Item]
	f.Flows++
	s.tally.Items[a.Item] = f
	s.formed = append(s.formed, a.ID)
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
	s.tally.LeftPosted[dayOf(n.PostedAt)]++
	if at, ok := s.needMetAt[n.ID]; ok && s.needGot[n.ID] >= n.Quantity {
		s.tally.NeedsMet++
		s.tally.HoursToMeet = append(s.tally.HoursToMeet, at.Sub(n.PostedAt).Hours())
		s.tally.LeftMet[dayOf(at)]++
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
		s.formed = slices.DeleteFunc(s.formed, func(id string) bool { return s.agreements[id] == nil })
	}
	s.forget(goneAs{Kind: "agreement", Council: a.Provider, Item: a.Item, Status: a.Status}, a.ID, a)
	if t != nil {
		delete(s.tasks, tid)
		s.index.remove("task", tid)
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
		return Errorf(ECONFLICT, "agreement %s is %s, not active", id, g.Status)
	}
	return nil
}

// AgreementsNewest returns up to n live agreements older than before (the
// newest of all when before is nil) that keep returns true for, the newest
// first (see AgreementKey).
func (s *State) AgreementsNewest(before *AgreementKey, n int, keep func(Agreement) bool) []Agreement {
	// s.formed is in the order of the fold, so by FormedAt; agreements
	// formed at one instant are sorted by id below.
	end := len(s.formed)
	if before != nil {
		end, _ = slices.BinarySearchFunc(s.formed, before.FormedAt, func(id string, at int64) int {
			if f := s.formedAt(id); f <= at {
				return -1
			}
			return 1
		})
	}
	var out []Agreement
	for i := end - 1; i >= 0; i-- {
		a := s.agreements[s.formed[i]]
		if a == nil {
			continue
		}
		if len(out) >= n && a.FormedAt.UnixNano() < out[len(out)-1].FormedAt.UnixNano() {
			break
		}
		if (before == nil || KeyOf(*a).Older(*before)) && (keep == nil || keep(*a)) {
			out = append(out, *a)
		}
	}
	// Those that finished a moment ago wait for the store beside the
	// live ones: a reader finds them in one or the other.
	for _, a := range closedOf[Agreement](s.closedDocs, "agreement") {
		if (before == nil || KeyOf(*a).Older(*before)) && (keep == nil || keep(*a)) {
			out = append(out, *a)
		}
	}
	slices.SortStableFunc(out, func(x, y Agreement) int {
		switch kx, ky := KeyOf(x), KeyOf(y); {
		case ky.Older(kx):
			return -1
		case kx.Older(ky):
			return 1
		}
		return 0
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// formedAt returns when an agreement of s.formed formed, in Unix
// nanoseconds; a retired one (not yet compacted away) counts as formed at
// the start of time. That breaks the search's order, but only ever moves
// the end it finds later, never earlier: the walk then skips more.
func (s *State) formedAt(id string) int64 {
	if a := s.agreements[id]; a != nil {
		return a.FormedAt.UnixNano()
	}
	return math.MinInt64
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

func dayOf(t time.Time) int64 { return t.Unix() / 86400 } // whole UTC days since 1970 (after it)

// NeedTimeline counts the needs posted and the needs met up to any time:
// exactly for the needs the state holds, to the UTC day for those that
// left it (at least a correction window ago, for any with a receipt).
type NeedTimeline struct {
	posted, met         []time.Time // of the needs held, sorted
	leftPosted, leftMet []dayCount  // of those that left, by day, running totals
}

type dayCount struct {
	day   int64
	total int // needs up to and including the day
}

// NeedTimeline returns the timeline of the needs, as the figures count
// them: a need is met once its receipts (corrections included) add up to
// its quantity, at the receipt that first did.
func (s *State) NeedTimeline() NeedTimeline {
	var tl NeedTimeline
	for _, n := range s.needs {
		tl.posted = append(tl.posted, n.PostedAt)
		if at, ok := s.needMetAt[n.ID]; ok && s.needGot[n.ID] >= n.Quantity {
			tl.met = append(tl.met, at)
		}
	}
	byTime := func(a, b time.Time) int { return a.Compare(b) }
	slices.SortFunc(tl.posted, byTime)
	slices.SortFunc(tl.met, byTime)
	tl.leftPosted, tl.leftMet = runningTotals(s.tally.LeftPosted), runningTotals(s.tally.LeftMet)
	return tl
}

func runningTotals(by map[int64]int) []dayCount {
	out := make([]dayCount, 0, len(by))
	for d, n := range by {
		out = append(out, dayCount{d, n})
	}
	slices.SortFunc(out, func(a, b dayCount) int { return int(a.day - b.day) })
	for i := 1; i < len(out); i++ {
		out[i].total += out[i-1].total
	}
	return out
}

// Posted counts the needs posted at or before t.
func (tl NeedTimeline) Posted(t time.Time) int { return countBy(tl.posted, tl.leftPosted, t) }

// Met counts the needs met at or before t.
func (tl NeedTimeline) Met(t time.Time) int { return countBy(tl.met, tl.leftMet, t) }

// First returns when the first need was posted (the start of its day for
// one that left the state), and false when there is none.
func (tl NeedTimeline) First() (time.Time, bool) {
	var first time.Time
	if len(tl.posted) > 0 {
		first = tl.posted[0]
	}
	if len(tl.leftPosted) > 0 {
		if d := time.Unix(tl.leftPosted[0].day*86400, 0).UTC(); first.IsZero() || d.Before(first) {
			first = d
		}
	}
	return first, !first.IsZero()
}

func countBy(exact []time.Time, days []dayCount, t time.Time) int {
	n, _ := slices.BinarySearchFunc(exact, t, func(x, t time.Time) int {
		if x.After(t) {
			return 1
		}
		return -1
	})
	d := dayOf(t)
	i, _ := slices.BinarySearchFunc(days, d, func(x dayCount, d int64) int {
		if x.day > d {
			return 1
		}
		return -1
	})
	if i > 0 {
		n += days[i-1].total
	}
	return n
}
