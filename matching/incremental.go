package matching

import (
	"math"
	"sort"
	"time"

	"github.com/plentyhub/plenty"
)

// Incremental is a matching engine that remembers, per item, the last
// problem, its optimal flow and the simplex's spanning tree and potentials.
// On each call it re-solves only the items whose usable offers or needs
// changed. When an item only gained postings and its priority weight stays
// the same, the new nodes and arcs are appended to the solver's arrays in
// place and the simplex continues from the previous optimal basis (warm
// start); a posting that changed, was withdrawn or is gone makes the item
// solve from scratch (the documented fallback; see docs/matching.md). The
// optimum is the same either way; when several flows are optimal the two
// may pick different ones, so the hub publishes the from-scratch Propose as
// the recomputable reference and uses Incremental for the live page. An
// Incremental is not safe for concurrent use.
type Incremental struct {
	opt   Options
	items map[string]*incItem
}

// Stats says what the last Propose call did with each item.
type Stats struct {
	Reused, Warm, Cold int
}

type incItem struct {
	offerAt map[string]int // offer ID -> index in p.offers
	needAt  map[string]int // need ID -> index in p.needs
	p       *problem
	s       *simplex // nil after a min-split repair: the next change solves cold
	pos     []int32  // graph arc -> simplex arc
	res     *solved
	maxCost int64 // the largest cost magnitude of p.g
	dmax    int64 // the largest pair distance

	offerGrid, needGrid *grid
	// order lists the pairs by offer ID, then need ID: the proposals'
	// order. made caches, per pair with flow, the parts of its proposal
	// that cost time to compute (ID and reason), for the flow they were
	// made for.
	order []int32
	made  map[int32]madeProposal
}

type madeProposal struct {
	flow       int64
	id, reason string
}

// NewIncremental returns an engine with the given options.
func NewIncremental(opt Options) *Incremental {
	return &Incremental{opt: opt, items: map[string]*incItem{}}
}

// itemPostings are the indexes, into an Input, of one item's usable
// postings.
type itemPostings struct {
	offers, needs []int32
}

// Propose returns the proposals for in, as Propose does, reusing what it
// can from the previous call. in.Options is ignored: the engine's options
// apply. Errors are those of Propose. The cost of a call that adds one
// posting is a pass over in plus the work on the new arcs, not a rebuild
// of the problem.
func (e *Incremental) Propose(in Input) ([]plenty.Proposal, Stats, error) {
	in.Options = e.opt
	var st Stats
	byItem := map[string]*itemPostings{}
	for i := range in.Offers {
		if o := &in.Offers[i]; usableOffer(o, in.Now) {
			b := byItem[o.Item]
			if b == nil {
				b = &itemPostings{}
				byItem[o.Item] = b
			}
			b.offers = append(b.offers, int32(i))
		}
	}
	for i := range in.Needs {
		if n := &in.Needs[i]; usableNeed(n, in.Now) {
			if b := byItem[n.Item]; b != nil {
				b.needs = append(b.needs, int32(i))
			}
		}
	}
	var items []string
	for item, b := range byItem {
		if len(b.needs) > 0 {
			items = append(items, item)
		}
	}
	sort.Strings(items)
	next := make(map[string]*incItem, len(items))
	made := 0
	for _, it := range e.items {
		made += len(it.made)
	}
	out := make([]plenty.Proposal, 0, made+made/8)
	for _, item := range items {
		it, how, err := e.update(item, &in, byItem[item])
		if err != nil {
			return nil, st, err
		}
		switch how {
		case reused:
			st.Reused++
		case warmed:
			st.Warm++
		default:
			st.Cold++
		}
		next[item] = it
		out = it.proposals(out, &in)
	}
	e.items = next
	return out, st, nil
}

const (
	reused = iota
	warmed
	solvedCold
)

// update returns the item's state for its postings in in, and how it was
// reached.
func (e *Incremental) update(item string, in *Input, b *itemPostings) (*incItem, int, error) {
	old := e.items[item]
	if old != nil {
		var added additions
		same := len(b.offers) >= len(old.offerAt) && len(b.needs) >= len(old.needAt)
		for _, i := range b.offers {
			o := &in.Offers[i]
			if k, ok := old.offerAt[o.ID]; !ok {
				added.offers = append(added.offers, *o)
			} else if old.p.offers[k] != *o {
				same = false
				break
			}
		}
		for _, i := range b.needs {
			if !same {
				break
			}
			n := &in.Needs[i]
			if k, ok := old.needAt[n.ID]; !ok {
				added.needs = append(added.needs, *n)
			} else if old.p.needs[k] != *n {
				same = false
			}
		}
		// every old posting is still there when the counts add up
		same = same && len(b.offers)-len(added.offers) == len(old.offerAt) && len(b.needs)-len(added.needs) == len(old.needAt)
		if same && len(added.offers) == 0 && len(added.needs) == 0 {
			return old, reused, nil
		}
		if same && old.s != nil && e.opt.KNearest == 0 {
			ok, err := old.warm(added, e.opt.Exclude)
			if err != nil {
				delete(e.items, item) // its tree was extended in place
				return nil, 0, err
			}
			if ok {
				return old, warmed, nil
			}
		}
	}
	offers := make([]plenty.Offer, len(b.offers))
	for k, i := range b.offers {
		offers[k] = in.Offers[i]
	}
	needs := make([]plenty.Need, len(b.needs))
	for k, i := range b.needs {
		needs[k] = in.Needs[i]
	}
	sort.Slice(offers, func(a, b int) bool { return offers[a].ID < offers[b].ID })
	sort.Slice(needs, func(a, b int) bool { return needs[a].ID < needs[b].ID })
	it, err := e.cold(item, offers, needs)
	return it, solvedCold, err
}

func (e *Incremental) cold(item string, offers []plenty.Offer, needs []plenty.Need) (*incItem, error) {
	p, err := buildProblem(item, offers, needs, &e.opt)
	if err != nil {
		return nil, err
	}
	it := &incItem{offerAt: make(map[string]int, len(offers)), needAt: make(map[string]int, len(needs)), made: map[int32]madeProposal{}}
	for i, o := range offers {
		it.offerAt[o.ID] = i
	}
	for j, n := range needs {
		it.needAt[n.ID] = j
	}
	it.offerGrid = newGrid(offers)
	it.needGrid = newNeedGrid(needs)
	if it.maxCost, err = p.g.validateFrom(0, 0); err != nil {
		return nil, err
	}
	s, err := newSimplex(p.g)
	if err != nil {
		return nil, err
	}
	s.run()
	if !s.feasible() {
		return nil, ErrInfeasible
	}
	sol := s.flows(p.g, s.pos)
	if len(p.splitViolations(sol.Flow)) > 0 {
		res, err := solveProblem(p)
		if err != nil {
			return nil, err
		}
		it.p, it.res = res.p, res
	} else {
		it.p, it.s, it.res = p, s, &solved{p, sol}
		it.pos = append([]int32(nil), s.pos...)
	}
	for _, c := range it.p.pairs {
		it.dmax = max(it.dmax, c.dist)
	}
	// cold pairs come sorted by offer, then need: the proposals' order
	it.order = make([]int32, len(it.p.pairs))
	for i := range it.order {
		it.order[i] = int32(i)
	}
	return it, nil
}

type additions struct {
	offers []plenty.Offer
	needs  []plenty.Need
}

// warm folds the additions into the previous basis and re-optimises. It
// returns false, and leaves the item untouched, when the priority weight
// would change (the caller then solves cold). An error leaves the item
// unusable.
func (it *incItem) warm(a additions, exclude map[Pair]bool) (bool, error) {
	p := it.p
	nOld, mOld := len(p.offers), len(p.needs)
	sort.Slice(a.offers, func(x, y int) bool { return a.offers[x].ID < a.offers[y].ID })
	sort.Slice(a.needs, func(x, y int) bool { return a.needs[x].ID < a.needs[y].ID })
	offers := append(p.offers, a.offers...)
	needs := append(p.needs, a.needs...)

	// New pairs, found with the grids: new offers with every need, old
	// offers with new needs.
	var cands []pairArc
	consider := func(i, j int) {
		if km, ok := compatible(&offers[i], &needs[j]); ok && !exclude[Pair{offers[i].ID, needs[j].ID}] {
			cands = append(cands, pairArc{offer: i, need: j, km: km, dist: roundDist(km)})
		}
	}
	for j := mOld; j < len(needs); j++ {
		it.offerGrid.near(needs[j].Location, maxKm(needs[j].MaxDistanceKm), func(i int) { consider(i, j) })
	}
	for i := nOld; i < len(offers); i++ {
		it.needGrid.near(offers[i].Location, maxKm(offers[i].MaxDistanceKm), func(j int) {
			if j < mOld {
				consider(i, j)
			}
		})
		for j := mOld; j < len(needs); j++ {
			consider(i, j)
		}
	}
	sort.Slice(cands, func(x, y int) bool {
		if cands[x].offer != cands[y].offer {
			return cands[x].offer < cands[y].offer
		}
		return cands[x].need < cands[y].need
	})
	dmax := it.dmax
	for _, c := range cands {
		dmax = max(dmax, c.dist)
	}
	if w, ok := priorityWeight(len(offers), len(needs), dmax, p.segs, p.step); !ok || w != p.w {
		return false, nil
	}
	var supply int64
	for _, o := range a.offers {
		supply += int64(o.Remaining)
	}
	if supply > MaxValue || -p.g.Supply[0] > MaxValue-supply {
		return false, nil
	}

	// The item's graph and tree are extended in place.
	p.offers, p.needs = offers, needs
	it.dmax = dmax
	s := it.s
	firstArc := p.g.Arcs()
	const tNode = 1 // the sink T, graph node 0
	for i := nOld; i < len(offers); i++ {
		sup := int64(offers[i].Remaining)
		u := p.g.AddNode(sup)
		p.offerNode = append(p.offerNode, u)
		p.g.Supply[0] -= sup
		p.g.AddArc(u, 0, 0, MaxValue, 0)
		x := s.growNode(sup)
		s.supply[tNode] -= sup
		ie := s.addArc(x, tNode, MaxValue, 0)
		it.pos = append(it.pos, ie)
		s.attachLeaf(x, ie, tNode, dirUp, sup)
		it.offerAt[offers[i].ID] = i
		it.offerGrid.add(i, offers[i].Location)
	}
	for j := mOld; j < len(needs); j++ {
		first := p.g.Arcs()
		p.addNeed(j)
		x := s.growNode(0)
		for e := first; e < p.g.Arcs(); e++ {
			ie := s.addArc(x, tNode, p.g.Upper[e], p.g.Cost[e])
			it.pos = append(it.pos, ie)
			if e == first {
				s.attachLeaf(x, ie, tNode, dirUp, 0)
			}
		}
		it.needAt[needs[j].ID] = j
		it.needGrid.add(j, needs[j].Location)
	}
	firstPair := len(p.pairs)
	for _, c := range cands {
		p.addPair(c)
		arc := p.pairs[len(p.pairs)-1].arc
		it.pos = append(it.pos, s.addArc(int32(p.g.From[arc]+1), int32(p.g.To[arc]+1), p.g.Upper[arc], p.g.Cost[arc]))
	}
	var err error
	if it.maxCost, err = p.g.validateFrom(firstArc, it.maxCost); err != nil {
		return false, err
	}
	s.blockSize = max(int(math.Sqrt(float64(len(s.src)))), 10)
	s.nextArc = int(it.pos[firstArc]) // price the new arcs first
	s.run()
	if !s.feasible() {
		return false, ErrInfeasible
	}
	it.res.sol = s.flowsInto(it.res.sol, p.g, it.pos)
	if len(p.splitViolations(it.res.sol.Flow)) > 0 {
		it.s = nil // the repaired problem is solved cold next time
		res, err := solveProblem(p)
		if err != nil {
			return false, err
		}
		it.p, it.res = res.p, res
		it.made = map[int32]madeProposal{}
		it.order = it.order[:0]
		for i := range it.p.pairs {
			it.order = append(it.order, int32(i))
		}
		sort.Slice(it.order, func(x, y int) bool { return it.pairLess(it.order[x], it.order[y]) })
		return true, nil
	}
	it.res.p = p
	it.insertOrder(firstPair)
	return true, nil
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

// insertOrder inserts the pairs from index first on into it.order.
func (it *incItem) insertOrder(first int) {
	for x := int32(first); x < int32(len(it.p.pairs)); x++ {
		k := sort.Search(len(it.order), func(i int) bool { return it.pairLess(x, it.order[i]) })
		it.order = append(it.order, 0)
		copy(it.order[k+1:], it.order[k:])
		it.order[k] = x
	}
}

// proposals appends the item's proposals to out, in offer then need order,
// as solved.proposals makes them.
func (it *incItem) proposals(out []plenty.Proposal, in *Input) []plenty.Proposal {
	p, flow := it.p, it.res.sol.Flow
	ttl := in.Options.ProposalTTL
	if ttl <= 0 {
		ttl = defaultTTL
	}
	for _, x := range it.order {
		c := &p.pairs[x]
		f := flow[c.arc]
		if f <= 0 {
			// An entry left in made for a pair without flow is still
			// right if the flow comes back: a warm item's terms never
			// change.
			continue
		}
		o, n := &p.offers[c.offer], &p.needs[c.need]
		m, ok := it.made[x]
		if !ok || m.flow != f {
			m = madeProposal{flow: f,
				id:     ProposalID(o.ID, o.Remaining, n.ID, n.Remaining, plenty.Amount(f)),
				reason: Reason(c.km, n.Priority, plenty.Amount(f), n.Quantity)}
			it.made[x] = m
		}
		exp := in.Now.Add(ttl)
		for _, t := range [...]time.Time{o.ExpiresAt, n.ExpiresAt, o.AvailableUntil} {
			if !t.IsZero() && t.Before(exp) {
				exp = t
			}
		}
		out = append(out, plenty.Proposal{
			ID:         m.id,
			Offer:      o.ID,
			Need:       n.ID,
			Item:       p.item,
			Provider:   o.Council,
			Receiver:   n.Council,
			Quantity:   plenty.Amount(f),
			DistanceKm: math.Round(c.km*10) / 10,
			Score:      Score(n.Priority, c.dist),
			Reason:     m.reason,
			ExpiresAt:  exp,
			LedgerSize: in.LedgerSize,
			Engine:     Engine,
		})
	}
	return out
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

// flowsInto is flows reusing sol's slices.
func (s *simplex) flowsInto(sol *Solution, g *Graph, pos []int32) *Solution {
	m, n := len(g.From), len(g.Supply)
	if cap(sol.Flow) < m {
		sol.Flow = append(sol.Flow[:cap(sol.Flow)], make([]int64, m-cap(sol.Flow))...)
	}
	if cap(sol.Potential) < n {
		sol.Potential = append(sol.Potential[:cap(sol.Potential)], make([]int64, n-cap(sol.Potential))...)
	}
	sol.Flow, sol.Potential = sol.Flow[:m], sol.Potential[:n]
	for e := 0; e < m; e++ {
		sol.Flow[e] = s.flow[pos[e]] + g.Lower[e]
	}
	copy(sol.Potential, s.pi[1:])
	sol.Pivots = s.pivots
	return sol
}
