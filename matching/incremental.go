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
	// hints map a posting's position in the last input to its index in
	// its item's problem (-1: unknown), so that an input in the same
	// order as the last one is diffed without a map lookup per posting.
	offerHint, needHint []int32
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
	ghosts  int   // postings gone or used up, kept as nodes with nothing left
	// minSplit is set when an offer has a smallest split: a need's
	// remaining then decides which pairs are compatible.
	minSplit bool
	// the pairs of each offer and of each need
	offerPairs, needPairs [][]int32
	dmax                  int64 // the largest pair distance

	offerGrid, needGrid *grid
	// live lists the pairs with flow by offer ID, then need ID: the
	// proposals' order; slot[i] is where in slab live[i]'s proposal is
	// kept as last made (an empty ID: to be made), with expiries for
	// propsExp; free lists unused slots. dirty marks pairs whose terms
	// changed. arcPair maps a graph arc to its pair (-1: not a pair's
	// arc).
	live     []int32
	slot     []int32
	slab     []plenty.Proposal
	free     []int32
	propsExp time.Time
	dirty    map[int32]bool
	arcPair  []int32
	// graphOf maps the simplex's arcs to graph arcs (-1: artificial or
	// temporary), known for the graph arcs below graphKnown.
	graphOf    []int32
	graphKnown int
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
	var lastItem string
	var last *itemPostings
	for i := range in.Offers {
		if o := &in.Offers[i]; usableOffer(o, in.Now) {
			if last == nil || o.Item != lastItem {
				last = byItem[o.Item]
				if last == nil {
					last = &itemPostings{}
					byItem[o.Item] = last
				}
				lastItem = o.Item
			}
			last.offers = append(last.offers, int32(i))
		}
	}
	last = nil
	for i := range in.Needs {
		if n := &in.Needs[i]; usableNeed(n, in.Now) {
			if last == nil || n.Item != lastItem {
				last, lastItem = byItem[n.Item], n.Item
			}
			if last != nil {
				last.needs = append(last.needs, int32(i))
			}
		}
	}
	h := hints{oldOffer: e.offerHint, oldNeed: e.needHint,
		offer: make([]int32, len(in.Offers)), need: make([]int32, len(in.Needs))}
	for i := range h.offer {
		h.offer[i] = -1
	}
	for i := range h.need {
		h.need[i] = -1
	}
	var items []string
	for item, b := range byItem {
		if len(b.needs) > 0 {
			items = append(items, item)
		}
	}
	sort.Strings(items)
	next := make(map[string]*incItem, len(items))
	live := 0
	for _, it := range e.items {
		live += len(it.live)
	}
	out := make([]plenty.Proposal, 0, live+live/8)
	for _, item := range items {
		it, how, err := e.update(item, &in, byItem[item], &h)
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
	e.offerHint, e.needHint = h.offer, h.need
	return out, st, nil
}

const (
	reused = iota
	warmed
	solvedCold
)

// update returns the item's state for its postings in in, and how it was
// reached.
func (e *Incremental) update(item string, in *Input, b *itemPostings, h *hints) (*incItem, int, error) {
	old := e.items[item]
	if old != nil {
		d, ok := old.diff(in, b, h)
		if ok && d.empty() {
			return old, reused, nil
		}
		if ok && old.s != nil && e.opt.KNearest == 0 {
			ok, err := old.warm(d, e.opt.Exclude)
			if err != nil {
				delete(e.items, item) // its tree was changed in place
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
	it := &incItem{offerAt: make(map[string]int, len(offers)), needAt: make(map[string]int, len(needs))}
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
	it.offerPairs = make([][]int32, len(it.p.offers))
	it.needPairs = make([][]int32, len(it.p.needs))
	for x, c := range it.p.pairs {
		it.dmax = max(it.dmax, c.dist)
		it.offerPairs[c.offer] = append(it.offerPairs[c.offer], int32(x))
		it.needPairs[c.need] = append(it.needPairs[c.need], int32(x))
	}
	for i := range offers {
		it.minSplit = it.minSplit || offers[i].MinSplit > 0
	}
	it.arcPair = make([]int32, it.p.g.Arcs())
	for e := range it.arcPair {
		it.arcPair[e] = -1
	}
	for x, c := range it.p.pairs {
		it.arcPair[c.arc] = int32(x)
	}
	it.resetLive()
	return it, nil
}

// hints carries the last call's hints and collects this call's.
type hints struct {
	oldOffer, oldNeed []int32
	offer, need       []int32
}

// delta is what changed in an item since the last call: new postings, and
// old ones whose remaining quantity changed (0 when withdrawn, expired or
// gone).
type delta struct {
	offers      []plenty.Offer
	needs       []plenty.Need
	offerChange []remainingChange
	needChange  []remainingChange
}

type remainingChange struct {
	index     int // into the problem's offers or needs
	remaining plenty.Amount
}

func (d *delta) empty() bool {
	return len(d.offers)+len(d.needs)+len(d.offerChange)+len(d.needChange) == 0
}

// diff compares the item's usable postings in in with the previous ones.
// It returns false when a posting changed in anything but its remaining
// quantity, or when a change touches smallest splits (which decide which
// pairs are compatible), so the item must be solved cold.
func (it *incItem) diff(in *Input, b *itemPostings, h *hints) (delta, bool) {
	var d delta
	p := it.p
	seenO := make([]bool, len(p.offers))
	for _, i := range b.offers {
		o := &in.Offers[i]
		k, ok := -1, false
		if int(i) < len(h.oldOffer) {
			// a ghost (nothing remaining) is never matched by its hint
			if x := int(h.oldOffer[i]); x >= 0 && x < len(p.offers) && p.offers[x].ID == o.ID && p.offers[x].Remaining > 0 {
				k, ok = x, true
			}
		}
		if !ok {
			k, ok = it.offerAt[o.ID]
		}
		if !ok {
			d.offers = append(d.offers, *o)
			continue
		}
		h.offer[i] = int32(k)
		seenO[k] = true
		if prev := &p.offers[k]; *prev != *o {
			x := *o
			x.Remaining = prev.Remaining
			if x != *prev || o.MinSplit > 0 {
				return d, false
			}
			d.offerChange = append(d.offerChange, remainingChange{k, o.Remaining})
		}
	}
	seenN := make([]bool, len(p.needs))
	for _, i := range b.needs {
		n := &in.Needs[i]
		k, ok := -1, false
		if int(i) < len(h.oldNeed) {
			if x := int(h.oldNeed[i]); x >= 0 && x < len(p.needs) && p.needs[x].ID == n.ID && p.needs[x].Remaining > 0 {
				k, ok = x, true
			}
		}
		if !ok {
			k, ok = it.needAt[n.ID]
		}
		if !ok {
			d.needs = append(d.needs, *n)
			continue
		}
		h.need[i] = int32(k)
		seenN[k] = true
		if prev := &p.needs[k]; *prev != *n {
			x := *n
			x.Remaining = prev.Remaining
			if x != *prev || it.minSplit {
				return d, false
			}
			d.needChange = append(d.needChange, remainingChange{k, n.Remaining})
		}
	}
	for k, seen := range seenO {
		if !seen && p.offers[k].Remaining > 0 {
			if p.offers[k].MinSplit > 0 {
				return d, false
			}
			d.offerChange = append(d.offerChange, remainingChange{k, 0})
		}
	}
	for k, seen := range seenN {
		if !seen && p.needs[k].Remaining > 0 {
			if it.minSplit {
				return d, false
			}
			d.needChange = append(d.needChange, remainingChange{k, 0})
		}
	}
	return d, true
}

// warm folds the changes and the new postings into the previous basis and
// re-optimises. It returns false, and leaves the item untouched, when the
// priority weight would change or the item holds too many ghosts (the
// caller then solves cold). After an error, or false once the tree has
// been changed, the item must be dropped; warm clears it.s then.
func (it *incItem) warm(a delta, exclude map[Pair]bool) (bool, error) {
	p := it.p
	if 2*(it.ghosts+len(a.offerChange)+len(a.needChange)) > len(p.offers)+len(p.needs) {
		return false, nil // mostly ghosts: a cold solve is smaller
	}
	it.s.track = true
	it.s.touched = it.s.touched[:0]
	if !it.absorb(a) {
		return false, nil
	}
	nOld, mOld := len(p.offers), len(p.needs)
	sort.Slice(a.offers, func(x, y int) bool { return a.offers[x].ID < a.offers[y].ID })
	sort.Slice(a.needs, func(x, y int) bool { return a.needs[x].ID < a.needs[y].ID })
	offers := append(p.offers, a.offers...)
	needs := append(p.needs, a.needs...)

	// New pairs, found with the grids: new offers with every need, old
	// offers with new needs.
	var cands []pairArc
	consider := func(i, j int) {
		if offers[i].Remaining == 0 || needs[j].Remaining == 0 {
			return // a ghost
		}
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
		it.s = nil // changes may have been absorbed: the item is dropped
		return false, nil
	}
	var supply int64
	for _, o := range a.offers {
		supply += int64(o.Remaining)
	}
	if supply > MaxValue || -p.g.Supply[0] > MaxValue-supply {
		it.s = nil
		return false, nil
	}

	s := it.s

	// The item's graph and tree are extended in place.
	p.offers, p.needs = offers, needs
	it.dmax = dmax
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
		it.offerPairs = append(it.offerPairs, nil)
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
		it.needPairs = append(it.needPairs, nil)
	}
	for _, o := range a.offers {
		it.minSplit = it.minSplit || o.MinSplit > 0
	}
	firstPair := len(p.pairs)
	for _, c := range cands {
		p.addPair(c)
		x := int32(len(p.pairs) - 1)
		it.offerPairs[c.offer] = append(it.offerPairs[c.offer], x)
		it.needPairs[c.need] = append(it.needPairs[c.need], x)
		arc := p.pairs[x].arc
		it.pos = append(it.pos, s.addArc(int32(p.g.From[arc]+1), int32(p.g.To[arc]+1), p.g.Upper[arc], p.g.Cost[arc]))
	}
	var err error
	if it.maxCost, err = p.g.validateFrom(firstArc, it.maxCost); err != nil {
		return false, err
	}
	s.blockSize = max(int(math.Sqrt(float64(len(s.src)))), 10)
	if firstArc < len(it.pos) {
		s.nextArc = int(it.pos[firstArc]) // price the new arcs first
	}
	// A change can leave the tree not strongly feasible, so Cunningham's
	// rule no longer rules out cycling: a generous limit on pivots turns
	// that case into a cold solve.
	s.useList = true
	s.pivotLimit = s.pivots + 20*len(s.src) + 1000
	if !s.run() || !s.feasible() {
		it.s = nil
		return false, nil
	}
	s.pivotLimit = 0
	for e := range s.temp {
		if s.state[e] != stateTree {
			// out of the tree and empty: it never enters again
			s.state[e] = stateTree
			delete(s.temp, e)
		}
	}
	for len(it.arcPair) < p.g.Arcs() {
		it.arcPair = append(it.arcPair, -1)
	}
	for x := firstPair; x < len(p.pairs); x++ {
		it.arcPair[p.pairs[x].arc] = int32(x)
	}
	changed := it.updateFlows()
	if it.minSplit && len(p.splitViolations(it.res.sol.Flow)) > 0 {
		it.s = nil // the repaired problem is solved cold next time
		res, err := solveProblem(p)
		if err != nil {
			return false, err
		}
		it.p, it.res = res.p, res
		it.resetLive()
		return true, nil
	}
	it.res.p = p
	it.updateLive(changed)
	return true, nil
}

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
		if pr.ID != "" && !refresh {
			pr.LedgerSize = in.LedgerSize
			out = append(out, *pr)
			continue
		}
		c := &p.pairs[x]
		o, n := &p.offers[c.offer], &p.needs[c.need]
		pr.ExpiresAt = exp0
		for _, t := range [...]time.Time{o.ExpiresAt, n.ExpiresAt, o.AvailableUntil} {
			if !t.IsZero() && t.Before(pr.ExpiresAt) {
				pr.ExpiresAt = t
			}
		}
		if pr.ID == "" {
			f := plenty.Amount(flow[c.arc])
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
				Reason:     Reason(c.km, n.Priority, f, n.Quantity),
				ExpiresAt:  pr.ExpiresAt,
				Engine:     Engine,
			}
		}
		pr.LedgerSize = in.LedgerSize
		out = append(out, *pr)
	}
	it.propsExp = exp0
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
	if s.adj != nil {
		s.adj = append(s.adj, nil)
	}
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
	e := int32(len(s.src) - 1)
	if s.adj != nil {
		s.adj[u] = append(s.adj[u], e)
		s.adj[v] = append(s.adj[v], e)
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

// updateFlows copies back to the item's solution the flows the warm start
// changed (the arcs changeFlow and absorb touched, and the new arcs) and
// all potentials, and returns the graph arcs whose flow changed.
func (it *incItem) updateFlows() []int32 {
	s, g, sol := it.s, it.p.g, it.res.sol
	m, n := g.Arcs(), g.Nodes()
	oldM := len(sol.Flow)
	for len(sol.Flow) < m {
		sol.Flow = append(sol.Flow, 0)
	}
	for len(sol.Potential) < n {
		sol.Potential = append(sol.Potential, 0)
	}
	for len(it.graphOf) < len(s.src) {
		it.graphOf = append(it.graphOf, -1)
	}
	for e := it.graphKnown; e < len(it.pos); e++ {
		it.graphOf[it.pos[e]] = int32(e)
	}
	it.graphKnown = len(it.pos)
	var changed []int32
	check := func(e int) {
		if f := s.flow[it.pos[e]] + g.Lower[e]; f != sol.Flow[e] {
			sol.Flow[e] = f
			changed = append(changed, int32(e))
		}
	}
	for _, ie := range s.touched {
		if e := it.graphOf[ie]; e >= 0 {
			check(int(e))
		}
	}
	for e := oldM; e < m; e++ {
		check(e)
	}
	s.touched = s.touched[:0]
	copy(sol.Potential, s.pi[1:])
	sol.Pivots = s.pivots
	return changed
}

// flowsInto is flows reusing sol's slices; it appends to changed the graph
// arcs whose flow differs from what sol held (new arcs count as 0).
func (s *simplex) flowsInto(sol *Solution, g *Graph, pos []int32, changed []int32) (*Solution, []int32) {
	m, n := len(g.From), len(g.Supply)
	if cap(sol.Flow) < m {
		sol.Flow = append(sol.Flow[:cap(sol.Flow)], make([]int64, m-cap(sol.Flow))...)
	}
	if cap(sol.Potential) < n {
		sol.Potential = append(sol.Potential[:cap(sol.Potential)], make([]int64, n-cap(sol.Potential))...)
	}
	sol.Flow, sol.Potential = sol.Flow[:m], sol.Potential[:n]
	for e := 0; e < m; e++ {
		if f := s.flow[pos[e]] + g.Lower[e]; f != sol.Flow[e] {
			sol.Flow[e] = f
			changed = append(changed, int32(e))
		}
	}
	copy(sol.Potential, s.pi[1:])
	sol.Pivots = s.pivots
	return sol, changed
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
