package matching

// findEnteringFromList is pricing by a candidate list, for re-optimising
// after a small change, when the violating arcs are few and gathered
// around the change and block search would scan many blocks to find each
// one. The list holds every violating arc (and maybe others): a full scan
// fills it at the start, and after each pivot only the arcs at nodes whose
// potential changed can become violating, so those are priced
// (priceSubtree), or, when that subtree is large, the next call scans
// every arc again. Each call re-prices the list and takes its most
// violating arc; an empty list means no arc violates, so the optimum is
// the one block search would certify. Cunningham's leaving rule keeps the
// method finite whatever the entering arc.
func (s *simplex) findEnteringFromList() bool {
	m := len(s.src)
	src, tgt, cost, state, pi := s.src[:m], s.tgt[:m], s.cost[:m], s.state[:m], s.pi
	if len(s.inCand) < m {
		s.inCand = append(s.inCand, make([]bool, m-len(s.inCand))...)
	}
	if !s.listValid {
		for _, e := range s.cand {
			s.inCand[e] = false
		}
		s.cand = s.cand[:0]
		for e := 0; e < m; e++ {
			if int64(state[e])*(cost[e]+pi[src[e]]-pi[tgt[e]]) < 0 {
				s.inCand[e] = true
				s.cand = append(s.cand, int32(e))
			}
		}
		s.listValid = true
	}
	in, k := int32(-1), 0
	var min int64
	for _, e := range s.cand {
		c := int64(state[e]) * (cost[e] + pi[src[e]] - pi[tgt[e]])
		if c >= 0 {
			s.inCand[e] = false
			continue
		}
		s.cand[k] = e
		k++
		if c < min {
			min, in = c, e
		}
	}
	s.cand = s.cand[:k]
	if in < 0 {
		return false
	}
	s.inArc = in
	return true
}

// priceSubtree adds to the candidate list the violating arcs at the nodes
// of u's subtree, whose potentials just changed; when the subtree is large
// it marks the list for a full scan instead.
func (s *simplex) priceSubtree(u int32) {
	if !s.listValid {
		return
	}
	if int(s.succNum[u]) > len(s.adj)/8+64 {
		s.listValid = false
		return
	}
	src, tgt, cost, state, pi := s.src, s.tgt, s.cost, s.state, s.pi
	end := s.thread[s.lastSucc[u]]
	for x := u; x != end; x = s.thread[x] {
		for _, e := range s.adj[x] {
			if !s.inCand[e] && int64(state[e])*(cost[e]+pi[src[e]]-pi[tgt[e]]) < 0 {
				s.inCand[e] = true
				s.cand = append(s.cand, e)
			}
		}
	}
}

// buildAdjacency lists each node's arcs, for priceSubtree.
func (s *simplex) buildAdjacency() {
	s.adj = make([][]int32, len(s.pi))
	deg := make([]int32, len(s.pi))
	for e := range s.src {
		deg[s.src[e]]++
		deg[s.tgt[e]]++
	}
	flat := make([]int32, 0, 2*len(s.src))
	for u := range s.adj {
		s.adj[u] = flat[len(flat) : len(flat) : len(flat)+int(deg[u])]
		flat = flat[:len(flat)+int(deg[u])]
	}
	for e := range s.src {
		u, v := s.src[e], s.tgt[e]
		s.adj[u] = append(s.adj[u], int32(e))
		s.adj[v] = append(s.adj[v], int32(e))
	}
}
