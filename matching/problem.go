package matching

import (
	"math"
	"math/bits"
	"sort"
	"time"

	"github.com/plentyhub/plenty"
)

// Engine names this engine and the version of its rules; it is carried by
// every proposal so that a recomputation can tell which rules made it.
// Version 2 adds the tie rule (tie.go): where several flows are optimal,
// version 1 took the one its simplex happened to reach.
const Engine = "plenty-match/2"

// Options tune the hub's problem. The zero Options are the defaults.
type Options struct {
	// ProposalTTL is how long a proposal stays open; 0 means 48 hours. A
	// proposal never outlives its offer or its need.
	ProposalTTL time.Duration
	// KNearest, when positive, keeps for each need only its k nearest
	// compatible offers and for each offer its k nearest compatible needs
	// (the union of both). This is an approximation: see docs/matching.md
	// for what it costs. 0 keeps every compatible pair, which is exact.
	KNearest int
	// FairSegments splits each need's demand into this many equal segments
	// of rising cost, FairStepKm apart, so that supply spreads across needs
	// of equal priority instead of filling the nearest completely. 0 or 1
	// is off.
	FairSegments int
	// FairStepKm is the extra transport, in km per unit, that each further
	// segment of a need costs; 0 means 10 km.
	FairStepKm float64
	// Exclude lists offer-need pairs never to propose: those a council
	// declined (proposal.declined events, so anyone can recompute).
	Exclude map[Pair]bool
}

// Pair names an offer-need pair.
type Pair struct{ Offer, Need string }

// Input is what the engine matches: the current offers and needs (those not
// open, with nothing remaining, expired or out of their window are left
// out), the time of the ledger's last event, and the ledger's size, which
// names the state the proposals were computed from.
type Input struct {
	Offers     []plenty.Offer
	Needs      []plenty.Need
	Now        time.Time
	LedgerSize int64
	Options    Options
}

const (
	defaultTTL    = 48 * time.Hour
	defaultStepKm = 10
	// decikm is the cost unit of transport: 0.1 km per unit of quantity.
	decikm = 10
)

// pairArc is one compatible offer-need pair of an item's problem.
type pairArc struct {
	offer, need int   // indexes into the problem's offers and needs
	arc         int   // index into the graph's arcs
	dist        int64 // transport cost per unit, in 0.1 km
	km          float64
}

// problem is one item's transportation problem as a min-cost flow: node 0
// is the sink T; each offer supplies its remaining quantity and sends it to
// needs or, unused, straight to T at no cost; each need passes what it
// receives to T through its demand arcs, whose negative cost -W*priority
// (plus a fairness step per segment) rewards delivery.
type problem struct {
	item      string
	offers    []plenty.Offer // sorted by ID
	needs     []plenty.Need  // sorted by ID
	offerNode []int
	needNode  []int
	demand    [][]int // per need, its demand arcs (segments), in order
	pairs     []pairArc
	g         *Graph
	w         int64 // the weight of one priority level per unit
	segs      int
	step      int64
}

// groupByItem returns the usable offers and needs of each item, sorted by
// item and then by ID.
func groupByItem(in *Input) (items []string, offers map[string][]plenty.Offer, needs map[string][]plenty.Need) {
	offers = map[string][]plenty.Offer{}
	needs = map[string][]plenty.Need{}
	for i := range in.Offers {
		if o := &in.Offers[i]; o.Usable(in.Now) {
			offers[o.Item] = append(offers[o.Item], *o)
		}
	}
	for i := range in.Needs {
		if n := &in.Needs[i]; n.Usable(in.Now) {
			needs[n.Item] = append(needs[n.Item], *n)
		}
	}
	for item := range offers {
		if len(needs[item]) > 0 {
			items = append(items, item)
		}
	}
	sort.Strings(items)
	for _, item := range items {
		os, ns := offers[item], needs[item]
		sort.Slice(os, func(a, b int) bool { return os[a].ID < os[b].ID })
		sort.Slice(ns, func(a, b int) bool { return ns[a].ID < ns[b].ID })
	}
	return items, offers, needs
}

// priorityWeight returns W, the cost of one priority level per unit. It
// must exceed the transport (and fairness) change of any cycle that could
// trade priority-weighted quantity for transport: a simple cycle crosses at
// most min(#offers, #needs) pair arcs and the sink once. Rounding up to
// powers of two keeps W stable while postings come and go, so the
// incremental engine can keep its costs.
func priorityWeight(offers, needs int, dmax int64, segs int, step int64) (int64, bool) {
	k := nextPow2(int64(min(offers, needs)) + 1)
	w, ok := mulCheck(k, nextPow2(dmax+1))
	if ok {
		w, ok = addCheck(w, int64(segs-1)*step+1)
	}
	if !ok || w > math.MaxInt64/16/plenty.MaxPriority {
		return 0, false
	}
	return w, true
}

func nextPow2(x int64) int64 {
	if x <= 1 {
		return 1
	}
	return 1 << (64 - bits.LeadingZeros64(uint64(x-1)))
}

// buildProblem builds one item's problem. Offers and needs must be usable
// and sorted by ID.
func buildProblem(item string, offers []plenty.Offer, needs []plenty.Need, opt *Options) (*problem, error) {
	p := &problem{item: item, offers: offers, needs: needs}
	cands := candidates(offers, needs, opt.KNearest, opt.Exclude)
	p.segs = max(opt.FairSegments, 1)
	stepKm := opt.FairStepKm
	if stepKm <= 0 {
		stepKm = defaultStepKm
	}
	p.step = int64(math.Round(stepKm * decikm))
	if p.segs == 1 {
		p.step = 0
	}

	var dmax int64
	for _, c := range cands {
		dmax = max(dmax, c.dist)
	}
	w, ok := priorityWeight(len(offers), len(needs), dmax, p.segs, p.step)
	if !ok {
		return nil, plenty.Errorf(plenty.EINVALID, "matching: item %s is too large to weigh priorities exactly", item)
	}
	p.w = w

	var supply int64
	ok = true
	for _, o := range offers {
		supply, ok = addCheck(supply, int64(o.Remaining))
		if !ok {
			break
		}
	}
	if !ok || supply > MaxValue {
		return nil, plenty.Errorf(plenty.EINVALID, "matching: item %s offers more than %d in total", item, int64(MaxValue))
	}
	g := NewGraph(1, len(cands)+len(offers)+len(needs)*p.segs)
	p.g = g
	for _, o := range offers {
		u := g.AddNode(int64(o.Remaining))
		p.offerNode = append(p.offerNode, u)
		g.Supply[0] -= int64(o.Remaining)
		g.AddArc(u, 0, 0, MaxValue, 0) // unused supply
	}
	for j := range needs {
		p.addNeed(j)
	}
	for _, c := range cands {
		p.addPair(c)
	}
	return p, nil
}

// addNeed adds need j's node and demand segments.
func (p *problem) addNeed(j int) {
	n := &p.needs[j]
	u := p.g.AddNode(0)
	p.needNode = append(p.needNode, u)
	r := int64(n.Remaining)
	arcs := make([]int, 0, p.segs)
	base, extra := r/int64(p.segs), r%int64(p.segs)
	for s := 0; s < p.segs; s++ {
		c := base
		if int64(s) < extra {
			c++
		}
		if c == 0 {
			continue
		}
		arcs = append(arcs, p.g.AddArc(u, 0, 0, c, -p.w*int64(n.Priority)+int64(s)*p.step))
	}
	p.demand = append(p.demand, arcs)
}

// addPair adds the arc of a compatible pair.
func (p *problem) addPair(c pairArc) {
	o, n := &p.offers[c.offer], &p.needs[c.need]
	cap := min(int64(o.Remaining), int64(n.Remaining))
	c.arc = p.g.AddArc(p.offerNode[c.offer], p.needNode[c.need], 0, cap, c.dist)
	p.pairs = append(p.pairs, c)
}

// pairFlow is the solved flow of a pair.
type pairFlow struct {
	pair pairArc
	flow int64
}

// splitViolations lists the pairs whose flow is a part of the offer
// smaller than its smallest acceptable split; the caller removes them and
// solves again. This is a heuristic: an optimum under split constraints is
// a harder (integer) problem.
func (p *problem) splitViolations(flow []int64) []int {
	var bad []int
	for i, c := range p.pairs {
		f := flow[c.arc]
		o := &p.offers[c.offer]
		if f > 0 && o.MinSplit > 0 && f < int64(o.MinSplit) && f < int64(o.Remaining) {
			bad = append(bad, i)
		}
	}
	return bad
}

// withoutPairs rebuilds the problem without the given pairs.
func (p *problem) withoutPairs(drop []int) *problem {
	q := &problem{item: p.item, offers: p.offers, needs: p.needs, w: p.w, segs: p.segs, step: p.step}
	q.g = NewGraph(1, p.g.Arcs())
	for _, o := range p.offers {
		u := q.g.AddNode(int64(o.Remaining))
		q.offerNode = append(q.offerNode, u)
		q.g.Supply[0] -= int64(o.Remaining)
		q.g.AddArc(u, 0, 0, MaxValue, 0)
	}
	for j := range p.needs {
		q.addNeed(j)
	}
	k := 0
	for i, c := range p.pairs {
		if k < len(drop) && drop[k] == i {
			k++
			continue
		}
		q.addPair(c)
	}
	return q
}

// solved is one item's problem with its optimal solution.
type solved struct {
	p   *problem
	sol *Solution
}

// solveProblem solves an item's problem, removing pairs that break an
// offer's smallest split until none does (at most a few rounds).
func solveProblem(p *problem) (*solved, error) {
	for round := 0; ; round++ {
		sol, err := solveItem(p)
		if err != nil {
			return nil, err
		}
		bad := p.splitViolations(sol.Flow)
		if len(bad) == 0 || round == 8 {
			return &solved{p, sol}, nil
		}
		p = p.withoutPairs(bad)
	}
}

// solveItem solves an item's problem under the tie rule (tie.go). Unlike
// Solve it does not compute the objective, which for the hub's weighted
// costs may not fit in int64 even though every flow and potential does.
func solveItem(p *problem) (*Solution, error) {
	g := p.g
	if err := g.validate(); err != nil {
		return nil, err
	}
	s, err := newSimplex(g)
	if err != nil {
		return nil, err
	}
	s.nameItem(p, s.pos)
	s.run()
	if !s.feasible() {
		return nil, ErrInfeasible
	}
	return s.flows(g, s.pos), nil
}

// flows maps the internal state back to the caller's graph; pos, when
// given, maps each graph arc to its internal index.
func (s *simplex) flows(g *Graph, pos []int32) *Solution {
	m := len(g.From)
	sol := &Solution{Flow: make([]int64, m), Potential: make([]int64, len(g.Supply)), Pivots: s.pivots}
	for e := 0; e < m; e++ {
		i := e
		if pos != nil {
			i = int(pos[e])
		}
		sol.Flow[e] = s.flow[i] + g.Lower[e]
	}
	for u := range sol.Potential {
		sol.Potential[u] = s.pi[u+1]
	}
	return sol
}
