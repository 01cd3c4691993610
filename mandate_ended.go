package plenty

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Ended mandates leave the state, as closed postings (closed.go) and
// finished agreements (retire.go) do. A mandate ends when it is recalled or
// when its expiry is recorded (mandate.expired); no rule renews, recalls or
// acts by it after that. The rules of the chain of issue read a mandate's
// issuer, and the issuer's issuer, up to the assembly: so an ended mandate
// leaves once every mandate it issued has left, and the chain above a
// mandate in the state is always in the state. A recall ends a whole
// subtree at once, which then leaves at once; an expiry leaves when the
// mandates under it (which end no later) have had theirs recorded too.
//
// What the rules still ask of a mandate that left is in the gone set: that
// its id is taken, its council, and whether it was recalled or expired, so
// an event by it or naming it is refused as when it was in the state. Its
// credential stays in State.credentials (a credential is never reused).
// What the tenure figures read of it is kept by seat (seatHistory), and its
// document is in the ledger's projections.

// Why a mandate ended, as GoneStatus("delegate", id) gives it.
const (
	EndedByRecall = "recalled"
	EndedByExpiry = "expired"
)

// ended reports whether d's mandate was recalled or its expiry recorded.
func (s *State) ended(d *Delegate) bool { return d.RecalledAt != nil || s.mandateEnded[d.ID] }

// leaveSubtree lets d go with every mandate under it, from the bottom up;
// the caller has ended them all (a recall).
func (s *State) leaveSubtree(d *Delegate) {
	for _, id := range slices.Clone(s.issued[d.ID]) {
		s.leaveSubtree(s.delegates[id])
	}
	if s.ended(d) && len(s.issued[d.ID]) == 0 {
		s.retireDelegate(d)
	}
}

// leaveUp lets d go if it ended and nothing it issued is in the state, and
// then each mandate above it for which the same now holds.
func (s *State) leaveUp(d *Delegate) {
	for d != nil && s.ended(d) && len(s.issued[d.ID]) == 0 {
		up := s.delegates[d.IssuedBy]
		s.retireDelegate(d)
		d = up
	}
}

func (s *State) retireDelegate(d *Delegate) {
	status := EndedByExpiry
	if d.RecalledAt != nil {
		status = EndedByRecall
	}
	delete(s.delegates, d.ID)
	delete(s.mandateEnded, d.ID)
	delete(s.issued, d.ID)
	if kids := slices.DeleteFunc(s.issued[d.IssuedBy], func(id string) bool { return id == d.ID }); len(kids) > 0 {
		s.issued[d.IssuedBy] = kids
	} else {
		delete(s.issued, d.IssuedBy)
	}
	s.forget(goneAs{Kind: "delegate", Council: d.Council, Status: status}, d.ID, d)
	s.seatLeft(d)
}

// noDelegate is the refusal of an actor naming delegate id, which the
// state does not hold: it never existed, or its mandate ended and left.
// council, when not empty, is the council the actor would act for.
func (s *State) noDelegate(id, council string) error {
	g, ok := s.goneAsOf(id, "delegate")
	switch {
	case !ok:
		return Errorf(EFORBIDDEN, "delegate %s does not exist", id)
	case council != "" && g.Council != council:
		return Errorf(EFORBIDDEN, "delegate %s acts for council %s, not %s", id, g.Council, council)
	case g.Status == EndedByRecall:
		return Errorf(EFORBIDDEN, "delegate %s was recalled", id)
	default:
		return Errorf(EFORBIDDEN, "delegate %s's mandate expired", id)
	}
}

// goneMandate returns why the mandate of council's delegate id ended, when
// it left the state.
func (s *State) goneMandate(council, id string) (string, bool) {
	g, ok := s.goneAsOf(id, "delegate")
	if !ok || g.Council != council {
		return "", false
	}
	return g.Status, true
}

// A seat is one of a council's delegate labels: the mandates given under
// it one after another make its tenures (Figures).
type seat struct{ Council, Label string }

// State.seats keeps one entry per seat ever used and State.tenures one
// number per tenure ever: the figures' history, a few bytes each.
//
// seatHistory is what the tenure figures keep of a seat: its mandates in
// the state (Live, in the order they were issued) and the spans of those
// that left (Left, by issue) while the tenures they belong to can still
// grow. A tenure that can change no more is folded into State.tenures.
type seatHistory struct {
	Live []string
	Left []mandateSpan
}

// mandateSpan is a mandate that left, or a run of them in one tenure:
// when the first was issued and when the last ended (its recall, else its
// expiry), in Unix nanoseconds, and how many mandates it stands for.
type mandateSpan struct {
	Issued, Ended int64
	Mandates      int
}

// tenures sums the tenures that can change no more, over every seat.
type tenures struct {
	Days     []float64 // the length of each, for the median
	Longest  float64
	Mandates int // the most mandates in one
}

func (t *tenures) add(days float64, mandates int) {
	t.Days = append(t.Days, days)
	t.Longest = max(t.Longest, days)
	t.Mandates = max(t.Mandates, mandates)
}

// mandateEnd is when d's tenure in its seat ended, or ends: its recall,
// else its expiry.
func mandateEnd(d *Delegate) time.Time {
	if d.RecalledAt != nil && d.RecalledAt.Before(d.ExpiresAt) {
		return *d.RecalledAt
	}
	return d.ExpiresAt
}

func (s *State) seatOf(d *Delegate) *seatHistory {
	k := seat{d.Council, d.Label}
	h := s.seats[k]
	if h == nil {
		h = &seatHistory{}
		s.seats[k] = h
	}
	return h
}

// seatIssued adds a new mandate to its seat.
func (s *State) seatIssued(d *Delegate) {
	h := s.seatOf(d)
	h.Live = append(h.Live, d.ID)
}

// seatLeft moves a mandate that left from its seat's live ones to its
// spans, and folds the tenures that can no longer change: every one that
// began before the first live mandate of the seat was issued, but the
// last such (a live mandate, or one issued later, may still join it).
func (s *State) seatLeft(d *Delegate) {
	h := s.seatOf(d)
	h.Live = slices.DeleteFunc(h.Live, func(id string) bool { return id == d.ID })
	sp := mandateSpan{d.IssuedAt.UnixNano(), mandateEnd(d).UnixNano(), 1}
	at, _ := slices.BinarySearchFunc(h.Left, sp.Issued+1, func(x mandateSpan, t int64) int { return cmp.Compare(x.Issued, t) })
	h.Left = slices.Insert(h.Left, at, sp)
	before := int64(math.MaxInt64)
	if len(h.Live) > 0 {
		before = s.delegates[h.Live[0]].IssuedAt.UnixNano()
	}
	k := 1 // the spans issued before it: h.Left[:k]
	for k < len(h.Left) && h.Left[k].Issued < before {
		k++
	}
	rs := runs(h.Left[:k], math.MaxInt64)
	for _, r := range rs[:len(rs)-1] {
		s.tenures.add(spanDays(r.Issued, r.Ended), r.Mandates)
	}
	// The last of those runs is kept as one span that stands for its
	// mandates: the runs read only its first issue and its latest end.
	h.Left = append([]mandateSpan{rs[len(rs)-1]}, h.Left[k:]...)
}

// runs groups spans, ordered by issue, into tenures, each given as one
// span: a span issued more than TenureGap after the latest end so far
// starts the next. Ends are cut at asOf.
func runs(spans []mandateSpan, asOf int64) []mandateSpan {
	var out []mandateSpan
	for _, x := range spans {
		x.Ended = min(x.Ended, asOf)
		if len(out) == 0 || x.Issued > out[len(out)-1].Ended+int64(TenureGap) {
			out = append(out, x)
			continue
		}
		r := &out[len(out)-1]
		r.Ended, r.Mandates = max(r.Ended, x.Ended), r.Mandates+x.Mandates
	}
	return out
}

// spanDays is the length in days of a tenure from issued to ended (Unix
// nanoseconds), never below 0.
func spanDays(issued, ended int64) float64 {
	return max(0, time.Duration(ended-issued).Hours()/24)
}
