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
// changed, and those from the previous optimal basis (warm start): new
// postings are appended to the solver's arrays in place; a remainder that
// changed, a withdrawal, an expiry or a posting that is gone changes
// supplies and capacities in place. Some changes make the item solve from
// scratch instead (a posting changed in anything but its remainder,
// smallest splits involved, a new priority weight; see docs/matching.md).
// Either way the flow is the one Propose finds: the tie rule (tie.go)
// makes every item's optimum unique, so the proposals are those anyone
// recomputes from scratch (TestIncrementalFlowsEqualFromScratch). The
// engine's Options are fixed when it is made, but Exclude, which grows as
// councils decline pairs, is replaced by SetExclude. An Incremental is not
// safe for concurrent use.
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
	bound    []time.Time // per slot: the earliest of its offer's and need's expiries and the offer's window (zero: none)
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

// SetExclude replaces the pairs never to propose. The items holding both
// ends of a pair that joined or left the set are solved cold on the next
// call; the others keep their solution. ex is kept, not copied.
func (e *Incremental) SetExclude(ex map[Pair]bool) {
	var changed []Pair
	for p := range ex {
		if !e.opt.Exclude[p] {
			changed = append(changed, p)
		}
	}
	for p := range e.opt.Exclude {
		if !ex[p] {
			changed = append(changed, p)
		}
	}
	e.opt.Exclude = ex
	for item, it := range e.items {
		for _, p := range changed {
			_, o := it.offerAt[p.Offer]
			_, n := it.needAt[p.Need]
			if o && n {
				delete(e.items, item)
				break
			}
		}
	}
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
		if o := &in.Offers[i]; o.Usable(in.Now) {
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
		if n := &in.Needs[i]; n.Usable(in.Now) {
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
	s.nameItem(p, s.pos)
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
	it.s.tieWatchStart()
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
		if km, why := plenty.Pairable(&offers[i], &needs[j]); why == "" && !exclude[Pair{offers[i].ID, needs[j].ID}] {
			cands = append(cands, pairArc{offer: i, need: j, km: km, dist: roundDist(km)})
		}
	}
	for j := mOld; j < len(needs); j++ {
		it.offerGrid.near(needs[j].Location, plenty.ReachKm(needs[j].MaxDistanceKm), func(i int) { consider(i, j) })
	}
	for i := nOld; i < len(offers); i++ {
		it.needGrid.near(offers[i].Location, plenty.ReachKm(offers[i].MaxDistanceKm), func(j int) {
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
	ok := true
	for _, o := range a.offers {
		if supply, ok = addCheck(supply, int64(o.Remaining)); !ok {
			break
		}
	}
	if !ok || supply > MaxValue || -p.g.Supply[0] > MaxValue-supply {
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
		s.tieName[x] = offers[i].ID
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
		s.tieName[x] = needs[j].ID
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
		ie := s.addArc(int32(p.g.From[arc]+1), int32(p.g.To[arc]+1), p.g.Upper[arc], p.g.Cost[arc])
		s.tiePair[ie] = true
		it.pos = append(it.pos, ie)
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
