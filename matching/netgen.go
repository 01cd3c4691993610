package matching

import (
	"math/rand/v2"
)

// Netgen holds the parameters of a NETGEN-style instance, after the
// generator of Klingman, Napier and Stutz (1974): sources and sinks among
// the nodes, a skeleton of chains from each source through transshipment
// nodes to sinks that makes the instance feasible, a share of the skeleton
// at the highest cost, and random arcs up to the wanted count, a share of
// them capacitated. It follows the published description, not the original
// Fortran's random numbers, so instances are NETGEN-like, not identical.
type Netgen struct {
	Seed            uint64
	Nodes, Arcs     int
	Sources, Sinks  int
	MinCost         int64
	MaxCost         int64
	Supply          int64 // total supply
	HighCostPercent int   // share of skeleton arcs at MaxCost
	CapPercent      int   // share of arcs with a capacity below "infinity"
	MinCap, MaxCap  int64
}

// Generate returns the instance. Node 0..Sources-1 are sources, the last
// Sinks nodes are sinks, the rest are transshipment nodes.
func (p Netgen) Generate() *Graph {
	r := rand.New(rand.NewPCG(p.Seed, 0x6e657467656e))
	n := max(p.Nodes, p.Sources+p.Sinks)
	g := NewGraph(n, p.Arcs)
	sinks0 := n - p.Sinks
	trans := make([]int, 0, sinks0-p.Sources)
	for u := p.Sources; u < sinks0; u++ {
		trans = append(trans, u)
	}
	cost := func() int64 { return p.MinCost + r.Int64N(p.MaxCost-p.MinCost+1) }
	uncap := p.Supply
	capOf := func() int64 {
		if r.IntN(100) < p.CapPercent {
			return p.MinCap + r.Int64N(p.MaxCap-p.MinCap+1)
		}
		return uncap
	}
	// Split the supply among the sources: the first sources-1 cut points
	// are random.
	share := make([]int64, p.Sources)
	left := p.Supply
	for s := 0; s < p.Sources-1; s++ {
		share[s] = r.Int64N(left/int64(p.Sources-s)*2 + 1)
		if share[s] > left {
			share[s] = left
		}
		left -= share[s]
	}
	share[p.Sources-1] = left
	// Skeleton: from each source, a chain through a random slice of the
	// transshipment nodes, then arcs to a few sinks sharing the supply.
	perm := r.Perm(len(trans))
	chainLen := len(trans) / max(p.Sources, 1)
	for s := 0; s < p.Sources; s++ {
		g.Supply[s] += share[s]
		prev := s
		for _, k := range perm[s*chainLen : (s+1)*chainLen] {
			c := cost()
			if r.IntN(100) < p.HighCostPercent {
				c = p.MaxCost
			}
			g.AddArc(prev, trans[k], 0, uncap, c)
			prev = trans[k]
		}
		k := 1 + r.IntN(max(p.Sinks/p.Sources, 1)+1)
		amt := share[s]
		for i := 0; i < k; i++ {
			t := sinks0 + r.IntN(p.Sinks)
			a := amt / int64(k-i)
			if i == k-1 {
				a = amt
			}
			amt -= a
			g.Supply[t] -= a
			c := cost()
			if r.IntN(100) < p.HighCostPercent {
				c = p.MaxCost
			}
			g.AddArc(prev, t, 0, uncap, c)
		}
	}
	for g.Arcs() < p.Arcs {
		u := r.IntN(n)
		v := r.IntN(n)
		if u == v || v < p.Sources || u >= sinks0 {
			continue // arcs run into non-sources and out of non-sinks
		}
		g.AddArc(u, v, 0, capOf(), cost())
	}
	return g
}

// NetgenFamily returns the i-th instance of a classic family at size n:
// "8" (8 arcs per node), "sr" (n*sqrt(n) arcs) or "deg" (n*sqrt(n)/4 arcs)
// with sqrt(n) sources and sinks, costs 1..10000, capacities 1..1000 on
// 30% of the arcs, and total supply 1000*sqrt(n), as in the benchmarks of
// Kiraly and Kovacs (2012).
func NetgenFamily(family string, n int, seed uint64) Netgen {
	sq := 1
	for (sq+1)*(sq+1) <= n {
		sq++
	}
	m := 8 * n
	switch family {
	case "sr":
		m = n * sq
	case "deg":
		m = n * sq / 4
	}
	return Netgen{Seed: seed, Nodes: n, Arcs: m, Sources: sq, Sinks: sq,
		MinCost: 1, MaxCost: 10000, Supply: 1000 * int64(sq), HighCostPercent: 30,
		CapPercent: 30, MinCap: 1, MaxCap: 1000}
}
