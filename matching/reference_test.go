package matching

import (
	"math/rand/v2"
)

// refSolve is an independent reference: successive shortest paths with
// Bellman-Ford on a residual graph built from scratch. Lower bounds become
// supply shifts, negative-cost arcs are saturated first so the residual
// graph has no negative cycle, and a super source and sink carry the
// imbalances. It returns the optimal cost and whether a feasible flow
// exists. It is slow and meant for graphs of a few dozen arcs.
func refSolve(g *Graph) (int64, bool) {
	n := g.Nodes()
	excess := make([]int64, n)
	copy(excess, g.Supply)
	type rarc struct {
		to   int
		cap  int64
		cost int64
		rev  int
	}
	adj := make([][]rarc, n+2)
	add := func(u, v int, c, w int64) {
		adj[u] = append(adj[u], rarc{v, c, w, len(adj[v])})
		adj[v] = append(adj[v], rarc{u, 0, -w, len(adj[u]) - 1})
	}
	var cost int64
	for e := 0; e < g.Arcs(); e++ {
		u, v := int(g.From[e]), int(g.To[e])
		l, c, w := g.Lower[e], g.Upper[e]-g.Lower[e], g.Cost[e]
		cost += l * w
		excess[u] -= l
		excess[v] += l
		if w < 0 {
			// saturate: the residual arc is v->u with cost -w > 0
			cost += c * w
			excess[u] -= c
			excess[v] += c
			add(v, u, c, -w)
		} else {
			add(u, v, c, w)
		}
	}
	var total int64
	for _, x := range g.Supply {
		total += x
	}
	if total != 0 {
		return 0, false
	}
	S, T := n, n+1
	var need int64
	for u := 0; u < n; u++ {
		if excess[u] > 0 {
			add(S, u, excess[u], 0)
			need += excess[u]
		} else if excess[u] < 0 {
			add(u, T, -excess[u], 0)
		}
	}
	var sent int64
	for sent < need {
		dist := make([]int64, n+2)
		const unreached = int64(1) << 62
		for i := range dist {
			dist[i] = unreached
		}
		prevNode := make([]int, n+2)
		prevArc := make([]int, n+2)
		dist[S] = 0
		for it := 0; it < n+2; it++ {
			changed := false
			for u := range adj {
				if dist[u] == unreached {
					continue
				}
				for i, a := range adj[u] {
					if a.cap > 0 && dist[u]+a.cost < dist[a.to] {
						dist[a.to] = dist[u] + a.cost
						prevNode[a.to], prevArc[a.to] = u, i
						changed = true
					}
				}
			}
			if !changed {
				break
			}
		}
		if dist[T] == unreached {
			return 0, false
		}
		push := need - sent
		for v := T; v != S; v = prevNode[v] {
			a := adj[prevNode[v]][prevArc[v]]
			push = min(push, a.cap)
		}
		for v := T; v != S; v = prevNode[v] {
			a := &adj[prevNode[v]][prevArc[v]]
			a.cap -= push
			adj[v][a.rev].cap += push
		}
		cost += push * dist[T]
		sent += push
	}
	return cost, true
}

// randomGraph returns a small random instance: n nodes, m arcs, bounds and
// costs in small ranges (costs may be negative), and supplies that sum to
// zero unless unbalanced is set.
func randomGraph(r *rand.Rand, n, m int, maxCap, maxCost int64, unbalanced bool) *Graph {
	g := NewGraph(n, m)
	for e := 0; e < m; e++ {
		u := r.IntN(n)
		v := r.IntN(n)
		hi := r.Int64N(maxCap + 1)
		lo := int64(0)
		if r.IntN(4) == 0 {
			lo = r.Int64N(hi + 1)
		}
		g.AddArc(u, v, lo, hi, r.Int64N(2*maxCost+1)-maxCost)
	}
	var total int64
	for u := 0; u < n-1; u++ {
		s := r.Int64N(2*maxCap+1) - maxCap
		if r.IntN(3) == 0 {
			s = 0
		}
		g.Supply[u] = s
		total += s
	}
	g.Supply[n-1] = -total
	if unbalanced {
		g.Supply[n-1] += r.Int64N(3) - 1
	}
	return g
}

// connect adds, for every node, arcs to and from node 0 with ample capacity
// and a high cost, so that the instance is feasible whenever balanced.
func connect(g *Graph, cost int64) {
	var cap int64
	for _, s := range g.Supply {
		cap += max(s, -s)
	}
	for e := range g.Lower {
		cap += g.Upper[e]
	}
	for u := 1; u < g.Nodes(); u++ {
		g.AddArc(u, 0, 0, cap, cost)
		g.AddArc(0, u, 0, cap, cost)
	}
}
