package matching

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/plentyhub/plenty"
)

// Result is the outcome of matching every item: the proposals, and per item
// the solved problem, which explains the pairs left out.
type Result struct {
	Proposals []plenty.Proposal
	items     map[string]*solved
	in        Input
}

// Propose returns the proposals for in: per item, the flow that first
// maximises the priority-weighted quantity delivered and then minimises
// distance times quantity, as one proposal per offer-need pair with a
// positive flow. The output is sorted by item, offer and need IDs and is
// the same for the same input. It returns an EINVALID *plenty.Error when
// an item's numbers are too large to be weighed exactly.
func Propose(in Input) ([]plenty.Proposal, error) {
	r, err := Match(in)
	if err != nil {
		return nil, err
	}
	return r.Proposals, nil
}

// Match is Propose keeping what Explain needs.
func Match(in Input) (*Result, error) {
	items, offers, needs := groupByItem(&in)
	r := &Result{items: map[string]*solved{}, in: in}
	for _, item := range items {
		p, err := buildProblem(item, offers[item], needs[item], &in.Options)
		if err != nil {
			return nil, err
		}
		s, err := solveProblem(p)
		if err != nil {
			return nil, err
		}
		r.items[item] = s
		r.Proposals = append(r.Proposals, s.proposals(&in)...)
	}
	return r, nil
}

// ProposalID derives a proposal's ID from its terms: the offer and the need
// with what each had remaining, and the quantity. It stays the same while
// those do, whatever else the ledger records meanwhile, so both councils
// accept the same proposal; anyone recomputing gets the same ID.
func ProposalID(offer string, offerRemaining plenty.Amount, need string, needRemaining, quantity plenty.Amount) string {
	h := sha256.New()
	for _, part := range []string{Engine, offer, offerRemaining.String(), need, needRemaining.String(), quantity.String()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "pr_" + hex.EncodeToString(h.Sum(nil)[:12])
}

// proposals turns an item's flows into proposals, in offer then need order.
func (s *solved) proposals(in *Input) []plenty.Proposal {
	ttl := in.Options.ProposalTTL
	if ttl <= 0 {
		ttl = defaultTTL
	}
	var out []plenty.Proposal
	for _, c := range s.p.pairs {
		f := s.sol.Flow[c.arc]
		if f <= 0 {
			continue
		}
		o, n := &s.p.offers[c.offer], &s.p.needs[c.need]
		exp := in.Now.Add(ttl)
		for _, t := range []time.Time{o.ExpiresAt, n.ExpiresAt, o.AvailableUntil} {
			if !t.IsZero() && t.Before(exp) {
				exp = t
			}
		}
		out = append(out, plenty.Proposal{
			ID:         ProposalID(o.ID, o.Remaining, n.ID, n.Remaining, plenty.Amount(f)),
			Offer:      o.ID,
			Need:       n.ID,
			Item:       s.p.item,
			Provider:   o.Council,
			Receiver:   n.Council,
			Quantity:   plenty.Amount(f),
			DistanceKm: math.Round(c.km*10) / 10,
			Score:      Score(n.Priority, c.dist),
			Reason:     Reason(c.km, n.Priority, plenty.Amount(f), n.Quantity, n.Remaining),
			ExpiresAt:  exp,
			LedgerSize: in.LedgerSize,
			Engine:     Engine,
		})
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Offer != out[b].Offer {
			return out[a].Offer < out[b].Offer
		}
		return out[a].Need < out[b].Need
	})
	return out
}

// Score ranks a proposal: the need's priority first, then nearness (a
// million per priority level, minus the distance in 0.1 km).
func Score(priority int, decikm int64) int64 {
	return int64(priority)*1_000_000 - decikm
}

// Reason is the sentence a person reads beside a proposal, such as "12 km
// away; need priority 5; covers 40% of the need". needRemaining is what
// the need still lacks: a proposal for all of it "covers all that is still
// needed" even when that is a small part of the need (what a short
// delivery left).
func Reason(km float64, priority int, quantity, needQuantity, needRemaining plenty.Amount) string {
	dist := fmt.Sprintf("%.0f km away", km)
	if km < 10 {
		dist = fmt.Sprintf("%.1f km away", km)
	}
	cover := "all of the need"
	switch {
	case needRemaining > 0 && needRemaining < needQuantity && quantity >= needRemaining:
		cover = "all that is still needed"
	case needQuantity > 0 && quantity < needQuantity:
		pct := int64(quantity) * 100 / int64(needQuantity)
		if pct < 1 {
			cover = "less than 1% of the need"
		} else {
			cover = fmt.Sprintf("%d%% of the need", pct)
		}
	}
	return fmt.Sprintf("%s; need priority %d; covers %s", dist, priority, cover)
}

// Explanation says why a compatible offer-need pair was not proposed, from
// the potentials of the optimal solution: the pair's reduced cost is how
// much cheaper, per unit, it would have had to be to enter.
type Explanation struct {
	Offer, Need string
	DistanceKm  float64
	Proposed    bool    // the pair is in a proposal after all
	CloserKm    float64 // how much closer it would have had to be
	MorePrior   int     // or how many priority levels more urgent the need (0: not enough even at 5)
	Reason      string
}

// Explain tells why the pair (offer, need) got no proposal. It returns an
// ENOTFOUND *plenty.Error when the two are not a compatible pair of one
// item in the matched input.
func (r *Result) Explain(offerID, needID string) (Explanation, error) {
	for _, s := range r.items {
		for _, c := range s.p.pairs {
			o, n := &s.p.offers[c.offer], &s.p.needs[c.need]
			if o.ID != offerID || n.ID != needID {
				continue
			}
			return s.explain(c), nil
		}
	}
	return Explanation{}, plenty.Errorf(plenty.ENOTFOUND, "offer %s and need %s are not a compatible pair", offerID, needID)
}

func (s *solved) explain(c pairArc) Explanation {
	o, n := &s.p.offers[c.offer], &s.p.needs[c.need]
	e := Explanation{Offer: o.ID, Need: n.ID, DistanceKm: c.km}
	if s.sol.Flow[c.arc] > 0 {
		e.Proposed = true
		e.Reason = "proposed"
		return e
	}
	pi := s.sol.Potential
	u, v := s.p.offerNode[c.offer], s.p.needNode[c.need]
	rc := c.dist + pi[u] - pi[v]
	if d, ok := s.residualDistance(v, u); ok {
		rc += d
	}
	e.CloserKm = float64(rc) / decikm
	switch {
	case rc == 0:
		e.Reason = "tied with the proposals made: an equally good alternative"
	case rc <= c.dist:
		e.Reason = fmt.Sprintf("would have had to be %.1f km closer", e.CloserKm)
	default:
		levels := (rc + s.p.w - 1) / s.p.w
		if int64(n.Priority)+levels <= plenty.MaxPriority {
			e.MorePrior = int(levels)
			e.Reason = fmt.Sprintf("would have had to be %.1f km closer, or the need %d priority level(s) more urgent", e.CloserKm, levels)
		} else {
			e.Reason = fmt.Sprintf("would have had to be %.1f km closer; the offer is fully used by needs it serves better", e.CloserKm)
		}
	}
	return e
}

// residualDistance returns the length, in reduced costs, of a shortest
// path from node a to node b in the residual network of the optimal flow,
// and false when there is none. The reduced cost of the pair (o, n) alone
// depends on which of the optimal potentials the simplex ended with (they
// are not unique); the pair's reduced cost plus this distance is the cost
// of the cheapest cycle that would route flow through the pair, which is
// exactly how much cheaper, per unit, the pair would have to be to get
// flow. Reduced costs of residual arcs are non-negative at the optimum, so
// Dijkstra's algorithm applies.
func (s *solved) residualDistance(a, b int) (int64, bool) {
	g, flow, pi := s.p.g, s.sol.Flow, s.sol.Potential
	n := g.Nodes()
	type rarc struct {
		to int32
		rc int64
	}
	adj := make([][]rarc, n)
	for e := range g.From {
		u, v := g.From[e], g.To[e]
		rc := g.Cost[e] + pi[u] - pi[v]
		if flow[e] < g.Upper[e] {
			adj[u] = append(adj[u], rarc{v, rc})
		}
		if flow[e] > g.Lower[e] {
			adj[v] = append(adj[v], rarc{u, -rc})
		}
	}
	dist := make([]int64, n)
	for i := range dist {
		dist[i] = -1
	}
	done := make([]bool, n)
	h := &distHeap{}
	dist[a] = 0
	heap.Push(h, distItem{int32(a), 0})
	for h.Len() > 0 {
		it := heap.Pop(h).(distItem)
		if done[it.node] {
			continue
		}
		done[it.node] = true
		if int(it.node) == b {
			return it.dist, true
		}
		for _, r := range adj[it.node] {
			d := it.dist + max(r.rc, 0)
			if !done[r.to] && (dist[r.to] < 0 || d < dist[r.to]) {
				dist[r.to] = d
				heap.Push(h, distItem{r.to, d})
			}
		}
	}
	return 0, false
}

type distItem struct {
	node int32
	dist int64
}

type distHeap []distItem

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(i, j int) bool { return h[i].dist < h[j].dist }
func (h distHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// ItemGraph is one item's problem as a plain min-cost-flow graph, for
// benchmarks and for checking the engine with other solvers.
type ItemGraph struct {
	Item  string
	Graph *Graph
}

// ItemGraphs returns the graph Propose solves for each item of in, sorted
// by item, before any smallest-split repair.
func ItemGraphs(in Input) ([]ItemGraph, error) {
	items, offers, needs := groupByItem(&in)
	var out []ItemGraph
	for _, item := range items {
		p, err := buildProblem(item, offers[item], needs[item], &in.Options)
		if err != nil {
			return nil, err
		}
		out = append(out, ItemGraph{item, p.g})
	}
	return out, nil
}

// Union returns one graph holding the given graphs side by side.
func Union(gs ...*Graph) *Graph {
	var n, m int
	for _, g := range gs {
		n += g.Nodes()
		m += g.Arcs()
	}
	u := NewGraph(0, m)
	for _, g := range gs {
		base := int32(u.Nodes())
		u.Supply = append(u.Supply, g.Supply...)
		for e := range g.From {
			u.AddArc(int(g.From[e]+base), int(g.To[e]+base), g.Lower[e], g.Upper[e], g.Cost[e])
		}
	}
	return u
}
