package matching

import (
	"math"
	"sort"
	"time"

	"github.com/plentyhub/plenty"
)

// This file keeps an incremental item's proposals: the pairs with flow in
// the proposals' order, and their proposals, remade only when their flow
// or terms change.

// resetLive lists the pairs with flow in the proposals' order.
func (it *incItem) resetLive() {
	it.live = it.live[:0]
	for x, c := range it.p.pairs {
		if it.res.sol.Flow[c.arc] > 0 {
			it.live = append(it.live, int32(x))
		}
	}
	sort.Slice(it.live, func(a, b int) bool { return it.pairLess(it.live[a], it.live[b]) })
	it.slab = make([]plenty.Proposal, len(it.live))
	it.bound = make([]time.Time, len(it.live))
	it.slot = make([]int32, len(it.live))
	for i := range it.slot {
		it.slot[i] = int32(i)
	}
	it.free = nil
	it.dirty = nil
}

// updateLive brings it.live up to date after the flow of the given graph
// arcs changed, without sorting it again.
func (it *incItem) updateLive(changed []int32) {
	moved := it.dirty
	if moved == nil {
		moved = map[int32]bool{}
	}
	it.dirty = nil
	for _, e := range changed {
		if int(e) < len(it.arcPair) {
			if x := it.arcPair[e]; x >= 0 {
				moved[x] = true
			}
		}
	}
	if len(moved) == 0 {
		return
	}
	var add []int32
	flow := it.res.sol.Flow
	for x := range moved {
		if flow[it.p.pairs[x].arc] > 0 {
			add = append(add, x)
		}
	}
	sort.Slice(add, func(a, b int) bool { return it.pairLess(add[a], add[b]) })
	// One merge of the old list, less the moved pairs, with the sorted
	// additions; the moved pairs still in the old list keep it sorted, so
	// positions are found there. Proposals stay in their slots.
	old, oldSlot := it.live, it.slot
	n := len(old) + len(add)
	live, slot := make([]int32, 0, n), make([]int32, 0, n)
	copyRun := func(from, to int) {
		for ; from < to; from++ {
			if moved[old[from]] {
				it.free = append(it.free, oldSlot[from])
				continue
			}
			live = append(live, old[from])
			slot = append(slot, oldSlot[from])
		}
	}
	k := 0
	for _, x := range add {
		at := k + sort.Search(len(old)-k, func(i int) bool { return it.pairLess(x, old[k+i]) })
		copyRun(k, at)
		k = at
		live = append(live, x)
		slot = append(slot, -1)
	}
	copyRun(k, len(old))
	for i := range slot {
		if slot[i] < 0 {
			if f := len(it.free); f > 0 {
				slot[i] = it.free[f-1]
				it.free = it.free[:f-1]
			} else {
				slot[i] = int32(len(it.slab))
				it.slab = append(it.slab, plenty.Proposal{})
				it.bound = append(it.bound, time.Time{})
			}
			it.slab[slot[i]].ID = "" // made by proposals
		}
	}
	it.live, it.slot = live, slot
}

// pairLess orders pairs by offer ID, then need ID.
func (it *incItem) pairLess(x, y int32) bool {
	a, b := &it.p.pairs[x], &it.p.pairs[y]
	oa, ob := it.p.offers[a.offer].ID, it.p.offers[b.offer].ID
	if oa != ob {
		return oa < ob
	}
	return it.p.needs[a.need].ID < it.p.needs[b.need].ID
}

// proposals appends the item's proposals to out, in offer then need order,
// as solved.proposals makes them.
func (it *incItem) proposals(out []plenty.Proposal, in *Input) []plenty.Proposal {
	p, flow := it.p, it.res.sol.Flow
	ttl := in.Options.ProposalTTL
	if ttl <= 0 {
		ttl = defaultTTL
	}
	exp0 := in.Now.Add(ttl)
	refresh := !exp0.Equal(it.propsExp)
	for i, x := range it.live {
		pr := &it.slab[it.slot[i]]
		if pr.ID != "" {
			if refresh {
				// only the expiry moves: the bound the pair's offer and
				// need set is kept, so they are not read again
				pr.ExpiresAt = exp0
				if b := it.bound[it.slot[i]]; !b.IsZero() && b.Before(exp0) {
					pr.ExpiresAt = b
				}
			}
			pr.LedgerSize = in.LedgerSize
			out = append(out, *pr)
			continue
		}
		pr.ExpiresAt = exp0
		c := &p.pairs[x]
		o, n := &p.offers[c.offer], &p.needs[c.need]
		f := plenty.Amount(flow[c.arc])
		var bound time.Time
		for _, t := range [...]time.Time{o.ExpiresAt, n.ExpiresAt, o.AvailableUntil} {
			if !t.IsZero() && (bound.IsZero() || t.Before(bound)) {
				bound = t
			}
		}
		it.bound[it.slot[i]] = bound
		if !bound.IsZero() && bound.Before(exp0) {
			pr.ExpiresAt = bound
		}
		*pr = plenty.Proposal{
			ID:         ProposalID(o.ID, o.Remaining, n.ID, n.Remaining, f),
			Offer:      o.ID,
			Need:       n.ID,
			Item:       p.item,
			Provider:   o.Council,
			Receiver:   n.Council,
			Quantity:   f,
			DistanceKm: math.Round(c.km*10) / 10,
			Score:      Score(n.Priority, c.dist),
			Reason:     Reason(c.km, n.Priority, f, n.Quantity, n.Remaining),
			ExpiresAt:  pr.ExpiresAt,
			Engine:     Engine,
		}
		pr.LedgerSize = in.LedgerSize
		out = append(out, *pr)
	}
	it.propsExp = exp0
	return out
}
