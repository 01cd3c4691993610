package matching

import (
	"sort"

	"github.com/plentyhub/plenty"
)

// Incremental is a matching engine that remembers, per item, the last
// problem, its optimal flow and the simplex's spanning tree and potentials.
// On each call it re-solves only the items whose usable offers or needs
// changed. When an item only gained postings and its priority weight stays
// the same, the new nodes and arcs are folded into the previous optimal
// basis and the simplex continues from there (warm start); any other change
// solves the item from scratch. The optimum is the same either way; when
// several flows are optimal the two may pick different ones, so the hub
// publishes the from-scratch Propose as the recomputable reference and uses
// Incremental for the live page. An Incremental is not safe for concurrent
// use.
type Incremental struct {
	opt   Options
	items map[string]*incItem
}

// Stats says what the last Propose call did with each item.
type Stats struct {
	Reused, Warm, Cold int
}

type incItem struct {
	offers map[string]plenty.Offer
	needs  map[string]plenty.Need
	p      *problem
	s      *simplex // nil after a min-split repair: the next change solves cold
	pos    []int32  // graph arc -> simplex arc
	res    *solved
}

// NewIncremental returns an engine with the given options.
func NewIncremental(opt Options) *Incremental {
	return &Incremental{opt: opt, items: map[string]*incItem{}}
}

// Propose returns the proposals for in, as Propose does, reusing what it
// can from the previous call. in.Options is ignored: the engine's options
// apply. Errors are those of Propose.
func (e *Incremental) Propose(in Input) ([]plenty.Proposal, Stats, error) {
	in.Options = e.opt
	var st Stats
	items, offers, needs := groupByItem(&in)
	next := map[string]*incItem{}
	var out []plenty.Proposal
	for _, item := range items {
		it, warm, err := e.update(item, offers[item], needs[item])
		if err != nil {
			return nil, st, err
		}
		switch {
		case it == e.items[item]:
			st.Reused++
		case warm:
			st.Warm++
		default:
			st.Cold++
		}
		next[item] = it
		out = append(out, it.res.proposals(&in)...)
	}
	e.items = next
	return out, st, nil
}

// update returns the item's state for the given postings, and whether it
// was reached by a warm start.
func (e *Incremental) update(item string, offers []plenty.Offer, needs []plenty.Need) (*incItem, bool, error) {
	old := e.items[item]
	if old != nil {
		added, same := old.diff(offers, needs)
		if same && len(added.offers) == 0 && len(added.needs) == 0 {
			return old, false, nil
		}
		if same && old.s != nil && e.opt.KNearest == 0 {
			it, ok, err := old.warm(added, e.opt.Exclude)
			if err != nil {
				delete(e.items, item) // its tree was extended in place
				return nil, false, err
			}
			if ok {
				return it, true, nil
			}
		}
	}
	return e.cold(item, offers, needs)
}

func (e *Incremental) cold(item string, offers []plenty.Offer, needs []plenty.Need) (*incItem, bool, error) {
	p, err := buildProblem(item, offers, needs, &e.opt)
	if err != nil {
		return nil, false, err
	}
	it := &incItem{offers: map[string]plenty.Offer{}, needs: map[string]plenty.Need{}}
	for _, o := range offers {
		it.offers[o.ID] = o
	}
	for _, n := range needs {
		it.needs[n.ID] = n
	}
	if err := p.g.validate(); err != nil {
		return nil, false, err
	}
	s, err := newSimplex(p.g)
	if err != nil {
		return nil, false, err
	}
	s.run()
	if !s.feasible() {
		return nil, false, ErrInfeasible
	}
	sol := s.flows(p.g, s.pos)
	if len(p.splitViolations(sol.Flow)) > 0 {
		res, err := solveProblem(p)
		if err != nil {
			return nil, false, err
		}
		it.p, it.res = res.p, res
		return it, false, nil
	}
	it.p, it.s, it.res = p, s, &solved{p, sol}
	it.pos = append([]int32(nil), s.pos...)
	return it, false, nil
}

type additions struct {
	offers []plenty.Offer
	needs  []plenty.Need
}

// diff returns the postings that are new, and whether every old posting is
// still there unchanged.
func (it *incItem) diff(offers []plenty.Offer, needs []plenty.Need) (additions, bool) {
	var a additions
	seen := 0
	for _, o := range offers {
		prev, ok := it.offers[o.ID]
		switch {
		case !ok:
			a.offers = append(a.offers, o)
		case prev != o:
			return a, false
		default:
			seen++
		}
	}
	if seen != len(it.offers) {
		return a, false
	}
	seen = 0
	for _, n := range needs {
		prev, ok := it.needs[n.ID]
		switch {
		case !ok:
			a.needs = append(a.needs, n)
		case prev != n:
			return a, false
		default:
			seen++
		}
	}
	return a, seen == len(it.needs)
}

// warm folds the additions into the previous basis and re-optimises. It
// returns ok false, and leaves the item untouched, when the priority weight
// would change (the caller then solves cold).
func (it *incItem) warm(a additions, exclude map[Pair]bool) (*incItem, bool, error) {
	old := it.p
	offers := append(append([]plenty.Offer(nil), old.offers...), a.offers...)
	needs := append(append([]plenty.Need(nil), old.needs...), a.needs...)
	nOld, mOld := len(old.offers), len(old.needs)

	// New pairs: new offers with every need, old offers with new needs.
	var cands []pairArc
	for i := nOld; i < len(offers); i++ {
		for j := range needs {
			if km, ok := compatible(&offers[i], &needs[j]); ok && !exclude[Pair{offers[i].ID, needs[j].ID}] {
				cands = append(cands, pairArc{offer: i, need: j, km: km, dist: roundDist(km)})
			}
		}
	}
	for i := 0; i < nOld; i++ {
		for j := mOld; j < len(needs); j++ {
			if km, ok := compatible(&offers[i], &needs[j]); ok && !exclude[Pair{offers[i].ID, needs[j].ID}] {
				cands = append(cands, pairArc{offer: i, need: j, km: km, dist: roundDist(km)})
			}
		}
	}
	sort.Slice(cands, func(x, y int) bool {
		if cands[x].offer != cands[y].offer {
			return cands[x].offer < cands[y].offer
		}
		return cands[x].need < cands[y].need
	})
	dmax := int64(0)
	for _, c := range old.pairs {
		dmax = max(dmax, c.dist)
	}
	for _, c := range cands {
		dmax = max(dmax, c.dist)
	}
	if w, ok := priorityWeight(len(offers), len(needs), dmax, old.segs, old.step); !ok || w != old.w {
		return nil, false, nil
	}

	// The item's graph and tree are extended in place: the old state is
	// replaced by the new one.
	p := &problem{item: old.item, offers: offers, needs: needs, offerNode: old.offerNode, needNode: old.needNode,
		demand: old.demand, pairs: old.pairs, g: old.g, w: old.w, segs: old.segs, step: old.step}
	s := it.s
	pos := it.pos
	const tNode = 1 // the sink T, graph node 0
	for i := nOld; i < len(offers); i++ {
		sup := int64(offers[i].Remaining)
		u := p.g.AddNode(sup)
		p.offerNode = append(p.offerNode, u)
		p.g.Supply[0] -= sup
		p.g.AddArc(u, 0, 0, MaxValue, 0)
		x := s.growNode(sup)
		ie := s.addArc(x, tNode, MaxValue, 0)
		pos = append(pos, ie)
		s.attachLeaf(x, ie, tNode, dirUp, sup)
	}
	for j := mOld; j < len(needs); j++ {
		first := p.g.Arcs()
		p.addNeed(j)
		x := s.growNode(0)
		for e := first; e < p.g.Arcs(); e++ {
			ie := s.addArc(x, tNode, p.g.Upper[e], p.g.Cost[e])
			pos = append(pos, ie)
			if e == first {
				s.attachLeaf(x, ie, tNode, dirUp, 0)
			}
		}
	}
	for _, c := range cands {
		p.addPair(c)
		e := len(p.pairs) - 1
		arc := p.pairs[e].arc
		pos = append(pos, s.addArc(int32(p.g.From[arc]+1), int32(p.g.To[arc]+1), p.g.Upper[arc], p.g.Cost[arc]))
	}
	if err := p.g.validate(); err != nil {
		return nil, false, err
	}
	s.blockSize = max(int(sqrtInt(len(s.src))), 10)
	s.run()
	if !s.feasible() {
		return nil, false, ErrInfeasible
	}
	sol := s.flows(p.g, pos)
	if len(p.splitViolations(sol.Flow)) > 0 {
		return nil, false, nil
	}
	n := &incItem{offers: it.offers, needs: it.needs, p: p, s: s, pos: pos, res: &solved{p, sol}}
	for _, o := range a.offers {
		n.offers[o.ID] = o
	}
	for _, x := range a.needs {
		n.needs[x.ID] = x
	}
	return n, true, nil
}

func sqrtInt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

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
	return x
}

// addArc appends a non-tree arc at its lower bound.
func (s *simplex) addArc(u, v int32, cap, cost int64) int32 {
	s.src = append(s.src, u)
	s.tgt = append(s.tgt, v)
	s.cap = append(s.cap, cap)
	s.cost = append(s.cost, cost)
	s.flow = append(s.flow, 0)
	s.state = append(s.state, stateLower)
	return int32(len(s.src) - 1)
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
