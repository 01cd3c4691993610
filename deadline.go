package plenty

import (
	"container/heap"
	"sync"
	"time"
)

// NextDeadline returns the earliest time after now at which something that
// is not yet due (see Due) will be, under the terms in force, and false when
// nothing will: the hub sleeps until then instead of polling, so a draw
// follows its window's close, and an expiry its time, within moments.
//
// A write can bring a deadline nearer (a new posting, mandate, agreement
// or candidate), so the hub asks again after each. The answer comes from
// an index kept from the entities the fold touched since the last call
// (a few heap operations per change, not a pass over the state); the
// first call builds it. NextDeadline may be called under a shared read
// lock: the index has its own.
func (s *State) NextDeadline(now time.Time) (time.Time, bool) {
	d := s.deadlines
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.built || d.terms != s.terms || d.termsSet != s.termsSet {
		d.rebuild(s)
	} else {
		for _, c := range d.dirty {
			d.index(s, c)
			if c.Kind == "task" {
				if t := s.tasks[c.ID]; t != nil {
					d.index(s, Change{"agreement", t.Agreement}) // whether a volunteer holds it
				}
			}
		}
	}
	d.dirty = d.dirty[:0]

	// Drop what is no longer current; set aside what is due already (Due's,
	// until the hub records it); the first entry left is the answer.
	var due []deadlineEntry
	defer func() {
		for _, e := range due {
			heap.Push(&d.heap, e)
		}
	}()
	for d.heap.Len() > 0 {
		e := d.heap[0]
		if at, ok := d.at[e.c]; !ok || !at.Equal(e.at) {
			heap.Pop(&d.heap)
			continue
		}
		if !e.at.After(now) {
			due = append(due, heap.Pop(&d.heap).(deadlineEntry))
			continue
		}
		return e.at, true
	}
	return time.Time{}, false
}

// deadlines indexes when each entity will run out.
type deadlines struct {
	mu       sync.Mutex
	built    bool
	terms    Terms // the terms the index was built under
	termsSet bool
	at       map[Change]time.Time // entity → its deadline, as indexed
	heap     deadlineHeap         // entries, some no longer current (checked against at)
	dirty    []Change             // entities the fold touched since the last look
}

// touched notes an entity the fold created or changed. Until the index is
// built nothing is kept, so a ledger that is only replayed pays nothing.
func (d *deadlines) touched(c Change) {
	if d.built {
		d.dirty = append(d.dirty, c)
	}
}

func (d *deadlines) rebuild(s *State) {
	d.built, d.terms, d.termsSet = true, s.terms, s.termsSet
	d.at = make(map[Change]time.Time, len(s.offers)+len(s.needs)+len(s.delegates))
	d.heap = d.heap[:0]
	add := func(kind, id string) {
		c := Change{kind, id}
		if at, ok := s.deadlineOf(c); ok {
			d.at[c] = at
			d.heap = append(d.heap, deadlineEntry{at, c})
		}
	}
	for id := range s.offers {
		add("offer", id)
	}
	for id := range s.needs {
		add("need", id)
	}
	for id := range s.delegates {
		add("delegate", id)
	}
	for id := range s.agreements {
		add("agreement", id)
	}
	for id := range s.tasks {
		add("task", id)
	}
	heap.Init(&d.heap)
}

// index brings the entry of c up to date.
func (d *deadlines) index(s *State, c Change) {
	at, ok := s.deadlineOf(c)
	old, had := d.at[c]
	switch {
	case !ok:
		delete(d.at, c) // its heap entry is dropped when it comes up
	case !had || !old.Equal(at):
		d.at[c] = at
		heap.Push(&d.heap, deadlineEntry{at, c})
	}
}

// deadlineOf returns when an entity runs out and awaits its event (see
// Due), and false when it will not.
func (s *State) deadlineOf(c Change) (time.Time, bool) {
	switch c.Kind {
	case "offer":
		o := s.offers[c.ID]
		if o == nil || o.Status != StatusOpen {
			return time.Time{}, false
		}
		// The earlier of its expiry and the instant after its availability
		// ends (offerExpired).
		end := o.ExpiresAt
		if u := o.AvailableUntil; !u.IsZero() && (end.IsZero() || u.Add(time.Nanosecond).Before(end)) {
			end = u.Add(time.Nanosecond)
		}
		return end, !end.IsZero()
	case "need":
		n := s.needs[c.ID]
		if n == nil || n.Status != StatusOpen || n.ExpiresAt.IsZero() {
			return time.Time{}, false
		}
		return n.ExpiresAt, true
	case "delegate":
		x := s.delegates[c.ID]
		if x == nil || x.RecalledAt != nil || s.mandateEnded[c.ID] {
			return time.Time{}, false
		}
		return x.ExpiresAt, true
	case "agreement":
		a := s.agreements[c.ID]
		if a == nil || a.Status != AgreementActive || !s.termsSet {
			return time.Time{}, false
		}
		if t := s.tasks[TaskID(a.ID)]; t != nil && (t.Status == TaskAssigned || t.Status == TaskPickedUp || t.Status == TaskDelivered) {
			return time.Time{}, false // a volunteer holds it (agreementExpired)
		}
		return s.AgreementDue(*a), true
	case "task":
		t := s.tasks[c.ID]
		switch {
		case t == nil || !s.termsSet:
		case t.Status == TaskAssigned && t.AssignedAt != nil:
			return s.ClaimDue(*t)
		case t.Status == TaskOpen && len(t.Candidates) > 0 && s.terms.DrawKey != "":
			return t.ClosesAt, true
		}
	}
	return time.Time{}, false
}

type deadlineEntry struct {
	at time.Time
	c  Change
}

type deadlineHeap []deadlineEntry

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadlineEntry)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
