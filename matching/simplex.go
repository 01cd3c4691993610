package matching

import (
	"math"

	"github.com/plentyhub/plenty"
)

var errSupplyRange = plenty.Errorf(plenty.EINVALID, "matching: a node's supply, shifted by its arcs' lower bounds, exceeds %d", int64(MaxValue))

// The solver is the primal network simplex method on a strongly feasible
// spanning tree (Cunningham's rule prevents cycling), with block search
// pivoting, as in LEMON's NetworkSimplex (Kiraly and Kovacs, "Efficient
// implementations of minimum-cost flow algorithms", 2012). The tree is kept
// as parent/pred arrays plus a thread (preorder) list with reverse links,
// subtree sizes and last successors, so that a pivot costs time in the size
// of the subtree that moves, not of the whole tree.
//
// Internally the artificial root is node 0 and the caller's node u is u+1.
// Each node has an artificial arc to or from the root, with cost artCost and
// infinite capacity; a feasible instance ends with no flow on them.

const (
	stateUpper int8 = -1
	stateTree  int8 = 0
	stateLower int8 = 1

	dirUp   int8 = 1  // the pred arc goes from the node to its parent
	dirDown int8 = -1 // the pred arc goes from the parent to the node

	inf = math.MaxInt64
)

type simplex struct {
	// arcs: real ones first, then artificial ones (isArt marks them)
	src, tgt []int32
	cap      []int64 // upper - lower; inf for artificial arcs
	cost     []int64
	flow     []int64
	state    []int8
	nReal    int
	pos      []int32 // graph arc -> arc here

	// nodes
	supply    []int64
	pi        []int64
	parent    []int32
	pred      []int32
	predDir   []int8
	thread    []int32
	revThread []int32
	succNum   []int32
	lastSucc  []int32

	artCost   int64
	blockSize int
	nextArc   int
	pivots    int
	dirty     []int32

	// temp marks arcs added by the incremental engine to absorb a change
	// of a supply or a capacity: like artificial arcs, they must end
	// empty, and once out of the tree they never re-enter.
	temp       map[int32]bool
	pivotLimit int // 0: none

	// candidate-list pricing, used after a warm start (see
	// findEnteringFromList)
	useList   bool
	listValid bool
	cand      []int32
	inCand    []bool
	adj       [][]int32 // per node, its arcs (nil until the list is used)

	// track has changeFlow record the arcs whose flow it changed in
	// touched, so that the incremental engine copies only those back.
	track   bool
	touched []int32

	// tieName names each node (an offer's or need's ID; "" for the sink
	// and the root) and tiePair marks the pair arcs, for the tie rule
	// (tie.go); nil for graphs that are not an item's.
	tieName   []string
	tiePair   []bool
	tiePivots int
	// tieWatch has a warm start mark the nodes where the tie rule's
	// verdicts may have changed (tieMark, in tie.go); tieAll says they
	// are too many and every arc is examined.
	tieWatch  bool
	tieAll    bool
	tieMarked []bool
	tieNodes  []int32
	tieInQ    []bool

	// the current pivot
	inArc, join, uIn, vIn, uOut, vOut int32
	first, second                     int32
	delta                             int64
}

// newSimplex builds the initial tree for g, which must have been validated.
// It returns ErrInfeasible when the supplies do not sum to zero.
func newSimplex(g *Graph) (*simplex, error) {
	n := len(g.Supply)
	m := len(g.From)
	N := n + 1
	A := m + n
	s := &simplex{
		src: make([]int32, A), tgt: make([]int32, A),
		cap: make([]int64, A), cost: make([]int64, A),
		flow: make([]int64, A), state: make([]int8, A),
		nReal:  m,
		supply: make([]int64, N), pi: make([]int64, N),
		parent: make([]int32, N), pred: make([]int32, N), predDir: make([]int8, N),
		thread: make([]int32, N), revThread: make([]int32, N),
		succNum: make([]int32, N), lastSucc: make([]int32, N),
	}
	var maxCost int64
	for u := 0; u < n; u++ {
		s.supply[u+1] = g.Supply[u]
	}
	// Arcs are stored in a mixed order, with a stride of about the mean
	// degree, as LEMON does: block search then sees arcs from all over the
	// graph in each block instead of one region's, which measurably cuts
	// pivots on graphs whose arcs come grouped (such as the hub's, grouped
	// by item and offer). The order is fixed, so solving stays deterministic.
	s.pos = make([]int32, m)
	skip := max(m/max(n, 1), 3)
	for e, i, j := 0, 0, 0; e < m; e++ {
		s.pos[e] = int32(i)
		if i += skip; i >= m {
			j++
			i = j
		}
	}
	for ge := 0; ge < m; ge++ {
		e := s.pos[ge]
		u, v := g.From[ge]+1, g.To[ge]+1
		s.src[e], s.tgt[e] = u, v
		s.cap[e] = g.Upper[ge] - g.Lower[ge]
		s.cost[e] = g.Cost[ge]
		s.state[e] = stateLower
		if l := g.Lower[ge]; l != 0 && u != v {
			a, ok1 := addCheck(s.supply[u], -l)
			b, ok2 := addCheck(s.supply[v], l)
			if !ok1 || !ok2 {
				return nil, errSupplyRange
			}
			s.supply[u], s.supply[v] = a, b
		}
		c := g.Cost[ge]
		if c < 0 {
			c = -c
		}
		if c > maxCost {
			maxCost = c
		}
	}
	// Supplies shifted by lower bounds must stay within MaxValue so that
	// every flow the simplex computes does too.
	// The total positive supply bounds every flow on every arc, so it
	// must stay within MaxValue too.
	var sum, pos int64
	for u := 1; u < N; u++ {
		su := s.supply[u]
		if su > MaxValue || su < -MaxValue {
			return nil, errSupplyRange
		}
		sum += su // never leaves int64: |sum| <= pos + |neg| <= 2*MaxValue
		if su > 0 {
			pos += su
		}
		if pos > MaxValue || sum < -MaxValue {
			return nil, errSupplyRange
		}
	}
	if sum != 0 {
		return nil, ErrInfeasible
	}
	s.artCost = (maxCost + 1) * int64(N)
	s.blockSize = max(int(math.Sqrt(float64(A))), 10)

	if attached := s.initTree(); 2*attached >= n {
		// A transportation-shaped start (most nodes already routed to a
		// hub): improving arcs are spread thinly over many small cycles,
		// and short blocks find them for less scanning. Measured on the
		// hub's instances (hub-10000, hub-100000): sqrt(arcs)/16 took
		// half to a third of the time of sqrt(arcs), with more pivots;
		// on NETGEN, which never gets here, short blocks are slower.
		s.blockSize = max(s.blockSize/16, 10)
	}
	return s, nil
}

// initTree builds the first spanning tree. Every node with a demand (a
// "hub": the hub's sink T, a NETGEN sink) hangs from the root by its
// artificial arc; every other node that has a real arc of cost at most 0
// into a hub with room for the node's supply hangs from that hub by the
// cheapest such arc, carrying its supply; the rest hang from the root.
// (Allowing costly arcs too slowed NETGEN's dense family by half, measured;
// NETGEN's costs are all positive, so its start is the artificial tree.) The hub then passes
// what its children send to the root, or takes what it still lacks from
// it. For the hub's problem this starts from the tree in which every offer
// sends its supply to T unused and every need waits at T on its first
// demand arc: feasible with no artificial flow but T's, so the simplex
// skips the thousands of pivots that would build it from the artificial
// tree. The tree is strongly feasible (each child's arc points to its hub
// with room left, and a hub's arc to the root is artificial with infinite
// capacity), as Cunningham's rule needs; the artificial arcs of the
// children carry nothing and never enter.
//
// It returns how many nodes hang from a hub.
func (s *simplex) initTree() int {
	N := len(s.supply)
	m := s.nReal
	hubArc := make([]int32, N)
	for u := range hubArc {
		hubArc[u] = -1
	}
	for e := 0; e < m; e++ {
		u, v := s.src[e], s.tgt[e]
		if u == v || s.supply[u] < 0 || s.supply[v] >= 0 || s.cap[e] <= s.supply[u] || s.cost[e] > 0 {
			continue
		}
		if b := hubArc[u]; b < 0 || s.cost[e] < s.cost[b] || (s.cost[e] == s.cost[b] && int32(e) < b) {
			hubArc[u] = int32(e)
		}
	}
	// children of each hub, in node order (a counting sort on the hub)
	start := make([]int32, N+1)
	for u := 1; u < N; u++ {
		if e := hubArc[u]; e >= 0 {
			start[s.tgt[e]+1]++
		}
	}
	for u := 1; u <= N; u++ {
		start[u] += start[u-1]
	}
	kids := make([]int32, start[N])
	fill := append([]int32(nil), start[:N]...)
	balance := append([]int64(nil), s.supply...)
	for u := 1; u < N; u++ {
		if e := hubArc[u]; e >= 0 {
			h := s.tgt[e]
			kids[fill[h]] = int32(u)
			fill[h]++
			balance[h] += s.supply[u]
		}
	}

	s.parent[0] = -1
	s.pred[0] = -1
	s.succNum[0] = int32(N)
	last := int32(0) // the last node in thread order
	link := func(u int32) {
		s.thread[last] = u
		s.revThread[u] = last
		last = u
	}
	for u := int32(1); u < int32(N); u++ {
		a := int32(m) + u - 1 // u's artificial arc
		s.cap[a] = inf
		s.state[a] = stateTree
		if e := hubArc[u]; e >= 0 {
			// a child: its artificial arc stays out of the tree, empty
			s.src[a], s.tgt[a] = u, 0
			continue
		}
		s.parent[u] = 0
		s.pred[u] = a
		if b := balance[u]; b >= 0 {
			s.predDir[u] = dirUp
			s.src[a], s.tgt[a] = u, 0
			s.flow[a] = b
			s.cost[a] = 0
			s.pi[u] = 0
		} else {
			s.predDir[u] = dirDown
			s.src[a], s.tgt[a] = 0, u
			s.flow[a] = -b
			s.cost[a] = s.artCost
			s.pi[u] = s.artCost
		}
		link(u)
		k0, k1 := start[u], start[u+1]
		s.succNum[u] = 1 + k1 - k0
		for _, c := range kids[k0:k1] {
			e := hubArc[c]
			s.parent[c] = u
			s.pred[c] = e
			s.predDir[c] = dirUp
			s.state[e] = stateTree
			s.flow[e] = s.supply[c]
			s.pi[c] = s.pi[u] - s.cost[e]
			s.succNum[c] = 1
			s.lastSucc[c] = c
			link(c)
		}
		s.lastSucc[u] = last
	}
	s.thread[last] = 0
	s.revThread[0] = last
	s.lastSucc[0] = last
	return len(kids)
}

// findEnteringArc scans arcs in blocks from where the last scan stopped and
// picks the most violating arc of the first block that has one.
func (s *simplex) findEnteringArc() bool {
	m := len(s.src)
	src, tgt, cost, state, pi := s.src[:m], s.tgt[:m], s.cost[:m], s.state[:m], s.pi
	var min int64
	in := -1
	cnt := s.blockSize
	e := s.nextArc
	for pass := 0; pass < 2; pass++ {
		end := m
		if pass == 1 {
			e, end = 0, s.nextArc
		}
		for ; e < end; e++ {
			c := int64(state[e]) * (cost[e] + pi[src[e]] - pi[tgt[e]])
			if c < min {
				min = c
				in = e
			}
			cnt--
			if cnt == 0 {
				if min < 0 {
					s.inArc = int32(in)
					s.nextArc = e + 1
					if s.nextArc == m {
						s.nextArc = 0
					}
					return true
				}
				cnt = s.blockSize
			}
		}
	}
	if min >= 0 {
		return false
	}
	s.inArc = int32(in)
	s.nextArc = e
	if s.nextArc >= m {
		s.nextArc = 0
	}
	return true
}

func (s *simplex) findJoinNode() {
	u, v := s.src[s.inArc], s.tgt[s.inArc]
	for u != v {
		if s.succNum[u] < s.succNum[v] {
			u = s.parent[u]
		} else {
			v = s.parent[v]
		}
	}
	s.join = u
}

// findLeavingArc finds the blocking arc of the cycle closed by the entering
// arc; ties go to the last blocking arc in the cycle's direction, which
// keeps the tree strongly feasible. It returns false when the entering arc
// itself blocks (it moves to its other bound).
func (s *simplex) findLeavingArc() bool {
	in := s.inArc
	if s.state[in] == stateLower {
		s.first, s.second = s.src[in], s.tgt[in]
	} else {
		s.first, s.second = s.tgt[in], s.src[in]
	}
	s.delta = s.cap[in]
	result := 0
	for u := s.first; u != s.join; u = s.parent[u] {
		e := s.pred[u]
		d := s.flow[e]
		if s.predDir[u] == dirDown {
			c := s.cap[e]
			if c == inf {
				d = inf
			} else {
				d = c - d
			}
		}
		if d < s.delta {
			s.delta = d
			s.uOut = u
			result = 1
		}
	}
	for u := s.second; u != s.join; u = s.parent[u] {
		e := s.pred[u]
		d := s.flow[e]
		if s.predDir[u] == dirUp {
			c := s.cap[e]
			if c == inf {
				d = inf
			} else {
				d = c - d
			}
		}
		if d <= s.delta {
			s.delta = d
			s.uOut = u
			result = 2
		}
	}
	if result == 1 {
		s.uIn, s.vIn = s.first, s.second
	} else {
		s.uIn, s.vIn = s.second, s.first
	}
	return result != 0
}

func (s *simplex) changeFlow(change bool) {
	in := s.inArc
	if s.delta > 0 {
		val := int64(s.state[in]) * s.delta
		s.flow[in] += val
		for u := s.src[in]; u != s.join; u = s.parent[u] {
			s.flow[s.pred[u]] -= int64(s.predDir[u]) * val
		}
		for u := s.tgt[in]; u != s.join; u = s.parent[u] {
			s.flow[s.pred[u]] += int64(s.predDir[u]) * val
		}
		if s.track {
			s.touched = append(s.touched, in)
			for u := s.src[in]; u != s.join; u = s.parent[u] {
				s.touched = append(s.touched, s.pred[u])
			}
			for u := s.tgt[in]; u != s.join; u = s.parent[u] {
				s.touched = append(s.touched, s.pred[u])
			}
		}
	}
	if change {
		s.state[in] = stateTree
		out := s.pred[s.uOut]
		switch {
		case s.isArtificial(out):
			s.state[out] = stateTree // an artificial arc never re-enters
		case s.flow[out] == 0:
			s.state[out] = stateLower
		default:
			s.state[out] = stateUpper
		}
	} else {
		s.state[in] = -s.state[in]
	}
}

// isArtificial reports whether arc e is one of the root's arcs or a
// temporary arc that absorbed a change (see incremental.go).
func (s *simplex) isArtificial(e int32) bool {
	return s.src[e] == 0 || s.tgt[e] == 0 || (s.temp != nil && s.temp[e])
}

func (s *simplex) updateTreeStructure() {
	uIn, vIn, uOut := s.uIn, s.vIn, s.uOut
	oldRevThread := s.revThread[uOut]
	oldSuccNum := s.succNum[uOut]
	oldLastSucc := s.lastSucc[uOut]
	s.vOut = s.parent[uOut]
	vOut := s.vOut
	thread, revThread, parent := s.thread, s.revThread, s.parent

	if uIn == uOut {
		parent[uIn] = vIn
		s.pred[uIn] = s.inArc
		if uIn == s.src[s.inArc] {
			s.predDir[uIn] = dirUp
		} else {
			s.predDir[uIn] = dirDown
		}
		if thread[vIn] != uOut {
			after := thread[oldLastSucc]
			thread[oldRevThread] = after
			revThread[after] = oldRevThread
			after = thread[vIn]
			thread[vIn] = uOut
			revThread[uOut] = vIn
			thread[oldLastSucc] = after
			revThread[after] = oldLastSucc
		}
	} else {
		threadContinue := thread[vIn]
		if oldRevThread == vIn {
			threadContinue = thread[oldLastSucc]
		}
		stem := uIn
		parStem := vIn
		last := s.lastSucc[uIn]
		after := thread[last]
		thread[vIn] = uIn
		s.dirty = s.dirty[:0]
		s.dirty = append(s.dirty, vIn)
		for stem != uOut {
			nextStem := parent[stem]
			thread[last] = nextStem
			s.dirty = append(s.dirty, last)

			before := revThread[stem]
			thread[before] = after
			revThread[after] = before

			parent[stem] = parStem
			parStem = stem
			stem = nextStem

			if s.lastSucc[stem] == s.lastSucc[parStem] {
				last = revThread[parStem]
			} else {
				last = s.lastSucc[stem]
			}
			after = thread[last]
		}
		parent[uOut] = parStem
		thread[last] = threadContinue
		revThread[threadContinue] = last
		s.lastSucc[uOut] = last

		if oldRevThread != vIn {
			thread[oldRevThread] = after
			revThread[after] = oldRevThread
		}
		for _, u := range s.dirty {
			revThread[thread[u]] = u
		}

		var tmpSc int32
		tmpLs := s.lastSucc[uOut]
		for u := uOut; u != uIn; {
			p := parent[u]
			s.pred[u] = s.pred[p]
			s.predDir[u] = -s.predDir[p]
			tmpSc += s.succNum[u] - s.succNum[p]
			s.succNum[u] = tmpSc
			s.lastSucc[p] = tmpLs
			u = p
		}
		s.pred[uIn] = s.inArc
		if uIn == s.src[s.inArc] {
			s.predDir[uIn] = dirUp
		} else {
			s.predDir[uIn] = dirDown
		}
		s.succNum[uIn] = oldSuccNum
	}

	upLimitOut := int32(-1)
	if s.lastSucc[s.join] == vIn {
		upLimitOut = s.join
	}
	lastSuccOut := s.lastSucc[uOut]
	for u := vIn; u != -1 && s.lastSucc[u] == vIn; u = parent[u] {
		s.lastSucc[u] = lastSuccOut
	}
	if s.join != oldRevThread && vIn != oldRevThread {
		for u := vOut; u != upLimitOut && s.lastSucc[u] == oldLastSucc; u = parent[u] {
			s.lastSucc[u] = oldRevThread
		}
	} else if lastSuccOut != oldLastSucc {
		for u := vOut; u != upLimitOut && s.lastSucc[u] == oldLastSucc; u = parent[u] {
			s.lastSucc[u] = lastSuccOut
		}
	}
	for u := vIn; u != s.join; u = parent[u] {
		s.succNum[u] += oldSuccNum
	}
	for u := vOut; u != s.join; u = parent[u] {
		s.succNum[u] -= oldSuccNum
	}
}

func (s *simplex) updatePotential() {
	sigma := s.pi[s.vIn] - s.pi[s.uIn] - int64(s.predDir[s.uIn])*s.cost[s.inArc]
	end := s.thread[s.lastSucc[s.uIn]]
	for u := s.uIn; u != end; u = s.thread[u] {
		s.pi[u] += sigma
	}
}

// run pivots until no arc violates optimality, then, for an item's
// problem, applies the tie rule. It returns false if it stopped at
// pivotLimit (when set) instead.
func (s *simplex) run() bool {
	find := s.findEnteringArc
	if s.useList {
		find = s.findEnteringFromList
		if len(s.adj) != len(s.pi) {
			s.buildAdjacency()
		}
		s.listValid = false
	}
	for find() {
		if s.pivotLimit > 0 && s.pivots >= s.pivotLimit {
			return false
		}
		s.findJoinNode()
		change := s.findLeavingArc()
		s.changeFlow(change)
		if change {
			s.updateTreeStructure()
			s.updatePotential()
			if s.useList {
				s.priceSubtree(s.uIn)
			}
			if s.tieWatch {
				s.tieMarkSubtree(s.uIn)
			}
		} else if s.tieWatch {
			s.tieMark(s.src[s.inArc]) // its state changed
		}
		s.pivots++
	}
	if s.tieName != nil {
		if s.tieWatch && !s.tieAll {
			return s.breakTiesNear()
		}
		return s.breakTies()
	}
	return true
}

// feasible reports whether every artificial arc carries no flow.
func (s *simplex) feasible() bool {
	for e := s.nReal; e < len(s.src); e++ {
		if s.isArtificial(int32(e)) && s.flow[e] != 0 {
			return false
		}
	}
	return true
}

// Solve returns a minimum-cost flow of g with its certifying potentials.
// It returns ErrInfeasible when no flow meets the supplies and bounds, and
// an EINVALID *plenty.Error when g is malformed or its numbers are too
// large to be solved without overflow (see Graph's limits). Solve is
// deterministic: the same graph gives the same flow.
func Solve(g *Graph) (*Solution, error) {
	s, err := runSimplex(g)
	if err != nil {
		return nil, err
	}
	return s.solution(g)
}

// runSimplex runs the simplex on g to optimality, or reports why it cannot.
func runSimplex(g *Graph) (*simplex, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	s, err := newSimplex(g)
	if err != nil {
		return nil, err
	}
	s.run()
	if !s.feasible() {
		return nil, ErrInfeasible
	}
	return s, nil
}

// solution is flows plus the objective, checked for overflow.
func (s *simplex) solution(g *Graph) (*Solution, error) {
	sol := s.flows(g, s.pos)
	obj, err := g.Objective(sol.Flow)
	if err != nil {
		return nil, err
	}
	sol.Cost = obj
	return sol, nil
}
