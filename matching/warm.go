package matching

import "math"

// This file holds how the incremental engine changes a solved item's
// simplex in place: new nodes and arcs, and changed supplies and
// capacities absorbed by temporary arcs.

// growNode appends a node to the simplex with the given supply.
func (s *simplex) growNode(supply int64) int32 {
	s.supply = append(s.supply, supply)
	s.pi = append(s.pi, 0)
	s.parent = append(s.parent, -1)
	s.pred = append(s.pred, -1)
	s.predDir = append(s.predDir, 0)
	s.thread = append(s.thread, 0)
	s.revThread = append(s.revThread, 0)
	s.succNum = append(s.succNum, 1)
	s.lastSucc = append(s.lastSucc, 0)
	x := int32(len(s.pi) - 1)
	s.lastSucc[x] = x
	if s.tieWatch {
		s.tieMark(x)
	}
	if s.adj != nil {
		s.adj = append(s.adj, nil)
	}
	if s.tieName != nil {
		s.tieName = append(s.tieName, "")
	}
	return x
}

// addArc appends a non-tree arc at its lower bound; for the tie rule it
// is not a pair's arc until the caller says so.
func (s *simplex) addArc(u, v int32, cap, cost int64) int32 {
	s.src = append(s.src, u)
	s.tgt = append(s.tgt, v)
	s.cap = append(s.cap, cap)
	s.cost = append(s.cost, cost)
	s.flow = append(s.flow, 0)
	s.state = append(s.state, stateLower)
	if s.tiePair != nil {
		s.tiePair = append(s.tiePair, false)
	}
	e := int32(len(s.src) - 1)
	if s.adj != nil {
		s.adj[u] = append(s.adj[u], e)
		s.adj[v] = append(s.adj[v], e)
	}
	if s.tieWatch {
		s.tieMark(u)
	}
	return e
}

// attachLeaf hangs the new node x under p by arc e carrying flow, which
// keeps the tree spanning, the flow balanced (x's supply goes to p, whose
// demand grew by as much) and, since e has room left towards p, strongly
// feasible.
func (s *simplex) attachLeaf(x, e, p int32, dir int8, flow int64) {
	s.flow[e] = flow
	s.state[e] = stateTree
	s.parent[x], s.pred[x], s.predDir[x] = p, e, dir
	s.pi[x] = s.pi[p] - int64(dir)*s.cost[e]
	after := s.thread[p]
	s.thread[x] = after
	s.revThread[after] = x
	s.thread[p] = x
	s.revThread[x] = p
	wasLeaf := s.lastSucc[p] == p
	for u := p; u != -1; u = s.parent[u] {
		s.succNum[u]++
		if wasLeaf && s.lastSucc[u] == p {
			s.lastSucc[u] = x
		}
	}
}

// absorb applies changed remainders to the graph and the tree. An offer's
// supply change, a demand segment's or a pair's new capacity, would leave
// a node out of balance or a non-tree arc off its bounds; each such
// imbalance is carried by a temporary arc at its upper bound, costing as
// much as an artificial arc, which the simplex then empties (the changed
// problem is always feasible: unused supply flows to T and unmet need is
// allowed). It returns false, before changing anything, when the temporary
// arcs could make potentials leave int64.
func (it *incItem) absorb(a delta) bool {
	if len(a.offerChange)+len(a.needChange) == 0 {
		return true
	}
	p, s := it.p, it.s
	n := int64(len(s.supply) + len(a.offers) + len(a.needs) + 1)
	tempCost, ok := mulCheck(it.maxCost+1, n)
	// Potentials are sums along a tree path, which can hold every
	// temporary arc: bound them all.
	k := int64(len(s.temp) + 2*(len(a.offerChange)+len(a.needChange)) + 4)
	if !ok || tempCost > math.MaxInt64/8/k {
		return false
	}
	// The total supply must stay within MaxValue, as for a cold solve.
	total := -p.g.Supply[0]
	for _, ch := range a.offerChange {
		if total, ok = addCheck(total, int64(ch.remaining)-int64(p.offers[ch.index].Remaining)); !ok || total > MaxValue {
			return false
		}
	}
	if s.temp == nil {
		s.temp = map[int32]bool{}
	}
	if it.dirty == nil {
		it.dirty = map[int32]bool{}
	}
	// imbalance carries d units from x to y on a temporary arc.
	imbalance := func(x, y int32, d int64) {
		if d < 0 {
			x, y, d = y, x, -d
		}
		if d == 0 {
			return
		}
		e := s.addArc(x, y, d, tempCost)
		s.flow[e] = d
		s.state[e] = stateUpper
		s.temp[e] = true
	}
	// setCap gives graph arc e the capacity c, keeping its flow within
	// bounds and every non-tree arc at a bound.
	setCap := func(e int, c int64) {
		ie := it.pos[e]
		p.g.Upper[e] = c
		u, v := s.src[ie], s.tgt[ie]
		f := s.flow[ie]
		var nf int64
		switch s.state[ie] {
		case stateLower:
			nf = 0
		case stateUpper:
			nf = c
		default:
			nf = min(f, c)
		}
		s.cap[ie] = c
		s.tieMark(u)
		if nf != f {
			s.flow[ie] = nf
			s.touched = append(s.touched, ie)
			// u sends nf-f more: it lacks that much, v has it in excess
			imbalance(v, u, nf-f)
		}
		if s.state[ie] == stateUpper && c == 0 {
			s.state[ie] = stateLower
		}
	}
	const tNode = 1
	for _, ch := range a.offerChange {
		o := &p.offers[ch.index]
		d := int64(ch.remaining) - int64(o.Remaining)
		u := p.offerNode[ch.index]
		p.g.Supply[u] += d
		p.g.Supply[0] -= d
		// the offer's node has d more to send than it sends
		imbalance(int32(u+1), tNode, d)
		o.Remaining = ch.remaining
		if ch.remaining == 0 {
			it.ghosts++
			delete(it.offerAt, o.ID)
		}
		for _, x := range it.offerPairs[ch.index] {
			c := &p.pairs[x]
			setCap(c.arc, min(int64(o.Remaining), int64(p.needs[c.need].Remaining)))
			it.dirty[x] = true
		}
	}
	for _, ch := range a.needChange {
		nd := &p.needs[ch.index]
		nd.Remaining = ch.remaining
		if ch.remaining == 0 {
			it.ghosts++
			delete(it.needAt, nd.ID)
		}
		r := int64(ch.remaining)
		base, extra := r/int64(p.segs), r%int64(p.segs)
		for seg := 0; seg < p.segs; seg++ {
			c := base
			if int64(seg) < extra {
				c++
			}
			if seg < len(p.demand[ch.index]) {
				setCap(p.demand[ch.index][seg], c)
			} else if c > 0 {
				u := p.needNode[ch.index]
				e := p.g.AddArc(u, 0, 0, c, -p.w*int64(nd.Priority)+int64(seg)*p.step)
				p.demand[ch.index] = append(p.demand[ch.index], e)
				it.pos = append(it.pos, s.addArc(int32(u+1), tNode, c, p.g.Cost[e]))
			}
		}
		for _, x := range it.needPairs[ch.index] {
			c := &p.pairs[x]
			setCap(c.arc, min(int64(p.offers[c.offer].Remaining), int64(nd.Remaining)))
			it.dirty[x] = true
		}
	}
	return true
}
