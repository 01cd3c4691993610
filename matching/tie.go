package matching

// The tie rule. An item often has several optimal flows (two needs of one
// priority at the same distance from an offer, say), and which one a
// simplex ends with depends on the path it took: a warm start from
// yesterday's basis and a cold start from the log would pick different
// ones. To keep proposals recomputable, the engine ends every item's solve
// at one flow that depends on the problem only: among the optimal flows,
// the one whose pair flows are lexicographically largest, pairs taken in
// (offer ID, need ID) order.
//
// That flow is the unique optimum of the same problem with each arc's cost
// lowered by δ^rank (δ infinitesimal, rank 0 the first pair): two different
// optimal flows differ first on some arc, and the first difference decides.
// The costs are not perturbed in numbers (δ^65000 fits no integer). In the
// simplex, a non-tree arc's reduced cost is the cost of the cycle it closes
// with the tree; under the perturbation it is the primary reduced cost and,
// when that is zero, the sign of δ^r of the cycle's lowest-ranked arc,
// which the cycle's walk finds. So the simplex first reaches the primary
// optimum as before, then pivots arcs of zero reduced cost whose cycle
// raises the flow of its lowest-ranked arc. Those pivots keep every
// potential (the reduced cost is 0), hence the primary optimum; they are
// simplex pivots on the perturbed problem, so Cunningham's rule keeps them
// finite on a strongly feasible tree; and when none is left the tree is
// optimal for the perturbed problem, whose optimum is unique. A warm and a
// cold solve of the same item therefore end at the same flow.
//
// Arcs other than pairs (unused supply, demand segments, the simplex's
// artificial and temporary arcs) rank after every pair, by index: a pair's
// flow fixes the rest up to equal-cost parallel arcs, so their order never
// changes a pair's flow, and the index may differ between a warm and a cold
// solve. Arcs of zero capacity (postings gone, kept by the incremental
// engine) carry nothing in any flow, so they never change which flow wins.

// nameItem names the simplex's nodes and marks its pair arcs for the tie
// rule; pos maps the problem's graph arcs to the simplex's.
func (s *simplex) nameItem(p *problem, pos []int32) {
	s.tieName = make([]string, len(s.pi))
	for i, u := range p.offerNode {
		s.tieName[u+1] = p.offers[i].ID
	}
	for j, u := range p.needNode {
		s.tieName[u+1] = p.needs[j].ID
	}
	s.tiePair = make([]bool, len(s.src))
	for _, c := range p.pairs {
		s.tiePair[pos[c.arc]] = true
	}
}

// tieLess reports whether arc a ranks before arc b.
func (s *simplex) tieLess(a, b int32) bool {
	pa, pb := s.tiePair[a], s.tiePair[b]
	if pa != pb {
		return pa
	}
	if pa {
		if x, y := s.tieName[s.src[a]], s.tieName[s.src[b]]; x != y {
			return x < y
		}
		if x, y := s.tieName[s.tgt[a]], s.tieName[s.tgt[b]]; x != y {
			return x < y
		}
	}
	return a < b
}

// tieImproves reports whether pushing flow round the cycle that non-tree
// arc e closes raises the flow of the cycle's lowest-ranked arc.
func (s *simplex) tieImproves(e int32) bool {
	u, v := s.src[e], s.tgt[e]
	for x, y := u, v; x != y; {
		if s.succNum[x] < s.succNum[y] {
			x = s.parent[x]
		} else {
			y = s.parent[y]
		}
		u, v = x, y
	}
	join := u
	dir := int64(s.state[e]) // +1: e's flow rises; -1: it falls
	best, up := e, dir > 0
	for x := s.src[e]; x != join; x = s.parent[x] {
		if a := s.pred[x]; s.tieLess(a, best) {
			best, up = a, -int64(s.predDir[x])*dir > 0
		}
	}
	for x := s.tgt[e]; x != join; x = s.parent[x] {
		if a := s.pred[x]; s.tieLess(a, best) {
			best, up = a, int64(s.predDir[x])*dir > 0
		}
	}
	return up
}

// findTieArc looks, from where the last search stopped, for a non-tree arc
// of zero reduced cost whose cycle the tie rule prefers; it returns false
// after a full pass finds none.
func (s *simplex) findTieArc() bool {
	m := len(s.src)
	src, tgt, cost, state, pi, cap := s.src, s.tgt, s.cost, s.state, s.pi, s.cap
	e := s.nextArc
	if e >= m {
		e = 0
	}
	for k := 0; k < m; k++ {
		if state[e] != stateTree && cap[e] > 0 && cost[e]+pi[src[e]]-pi[tgt[e]] == 0 && s.tieImproves(int32(e)) {
			s.inArc = int32(e)
			s.nextArc = e + 1
			return true
		}
		if e++; e == m {
			e = 0
		}
	}
	return false
}

// breakTies runs the tie rule's pivots after the primary optimum. It
// returns false if it stopped at pivotLimit (when set).
func (s *simplex) breakTies() bool {
	for s.findTieArc() {
		if s.pivotLimit > 0 && s.pivots >= s.pivotLimit {
			return false
		}
		s.findJoinNode()
		change := s.findLeavingArc()
		s.changeFlow(change)
		if change {
			s.updateTreeStructure()
			s.updatePotential()
		}
		s.pivots++
		s.tiePivots++
	}
	return true
}

// After a warm start the tree was tie-optimal before the change, and an
// arc's verdict depends only on its reduced cost, its state and the tree
// paths of its two ends. Those change only at the nodes of a subtree a
// pivot moved (potentials and paths), at new nodes, and at the ends of an
// arc whose state or capacity changed: the incremental engine marks these
// (tieMark), and breakTiesNear re-examines only their arcs, as
// findEnteringFromList does for the primary pivots. When the marks grow
// large, a full pass (breakTies) is cheaper.

// tieMark marks node u for the tie rule's re-examination.
func (s *simplex) tieMark(u int32) {
	if s.tieAll {
		return
	}
	for len(s.tieMarked) < len(s.pi) {
		s.tieMarked = append(s.tieMarked, false)
	}
	if !s.tieMarked[u] {
		s.tieMarked[u] = true
		s.tieNodes = append(s.tieNodes, u)
		if len(s.tieNodes) > len(s.pi)/8+64 {
			s.tieAll = true
		}
	}
}

// tieMarkSubtree marks the nodes of u's subtree, which a pivot just moved.
func (s *simplex) tieMarkSubtree(u int32) {
	if s.tieAll {
		return
	}
	if int(s.succNum[u]) > len(s.pi)/8+64 {
		s.tieAll = true
		return
	}
	end := s.thread[s.lastSucc[u]]
	for x := u; x != end && !s.tieAll; x = s.thread[x] {
		s.tieMark(x)
	}
}

// tieWatchStart starts marking, for a warm start.
func (s *simplex) tieWatchStart() {
	for _, u := range s.tieNodes {
		s.tieMarked[u] = false
	}
	s.tieNodes = s.tieNodes[:0]
	s.tieWatch, s.tieAll = true, false
}

// breakTiesNear is breakTies examining only the arcs at marked nodes, and
// after each pivot the arcs at the nodes it moved.
func (s *simplex) breakTiesNear() bool {
	if len(s.adj) != len(s.pi) {
		s.buildAdjacency()
	}
	for len(s.tieInQ) < len(s.src) {
		s.tieInQ = append(s.tieInQ, false)
	}
	var queue []int32
	push := func(u int32) {
		for _, e := range s.adj[u] {
			if !s.tieInQ[e] {
				s.tieInQ[e] = true
				queue = append(queue, e)
			}
		}
	}
	for _, u := range s.tieNodes {
		push(u)
	}
	defer func() {
		for _, e := range queue {
			s.tieInQ[e] = false
		}
	}()
	src, tgt, cost, state, pi, cap := s.src, s.tgt, s.cost, s.state, s.pi, s.cap
	for len(queue) > 0 {
		e := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		s.tieInQ[e] = false
		if state[e] == stateTree || cap[e] == 0 || cost[e]+pi[src[e]]-pi[tgt[e]] != 0 || !s.tieImproves(e) {
			continue
		}
		if s.pivotLimit > 0 && s.pivots >= s.pivotLimit {
			return false
		}
		s.inArc = e
		s.findJoinNode()
		change := s.findLeavingArc()
		s.changeFlow(change)
		if change {
			s.updateTreeStructure()
			s.updatePotential()
			if int(s.succNum[s.uIn]) > len(s.pi)/8+64 {
				s.pivots++
				s.tiePivots++
				return s.breakTies()
			}
			end := s.thread[s.lastSucc[s.uIn]]
			for x := s.uIn; x != end; x = s.thread[x] {
				push(x)
			}
		} else {
			push(src[e])
		}
		s.pivots++
		s.tiePivots++
	}
	return true
}
