package matching

import (
	"errors"
	"math"

	"github.com/plentyhub/plenty"
)

// ErrInfeasible is returned by Solve when no flow meets every supply,
// demand and bound.
var ErrInfeasible = errors.New("matching: infeasible")

// Graph is a minimum-cost-flow instance: nodes with supplies (positive) or
// demands (negative), and arcs with a lower bound, an upper bound and a cost
// per unit of flow. Nodes are numbered from 0. The zero Graph has no nodes.
type Graph struct {
	Supply []int64
	From   []int32
	To     []int32
	Lower  []int64
	Upper  []int64
	Cost   []int64
}

// NewGraph returns a graph with n nodes of zero supply and room for m arcs.
func NewGraph(n, m int) *Graph {
	return &Graph{
		Supply: make([]int64, n),
		From:   make([]int32, 0, m),
		To:     make([]int32, 0, m),
		Lower:  make([]int64, 0, m),
		Upper:  make([]int64, 0, m),
		Cost:   make([]int64, 0, m),
	}
}

// Nodes returns the number of nodes.
func (g *Graph) Nodes() int { return len(g.Supply) }

// Arcs returns the number of arcs.
func (g *Graph) Arcs() int { return len(g.From) }

// AddNode appends a node with the given supply and returns its index.
func (g *Graph) AddNode(supply int64) int {
	g.Supply = append(g.Supply, supply)
	return len(g.Supply) - 1
}

// AddArc appends an arc and returns its index. Bounds and endpoints are
// checked by Solve, not here.
func (g *Graph) AddArc(from, to int, lower, upper, cost int64) int {
	g.From = append(g.From, int32(from))
	g.To = append(g.To, int32(to))
	g.Lower = append(g.Lower, lower)
	g.Upper = append(g.Upper, upper)
	g.Cost = append(g.Cost, cost)
	return len(g.From) - 1
}

// Solution is an optimal flow with the node potentials that certify it: for
// every arc the reduced cost Cost + Potential[From] - Potential[To] is
// non-negative when the flow is below the upper bound and non-positive when
// it is above the lower bound.
type Solution struct {
	Cost      int64   // the objective, sum of Flow*Cost over the arcs
	Flow      []int64 // per arc
	Potential []int64 // per node
	Pivots    int     // simplex pivots performed, for benchmarks
}

// Limits on the numbers a Graph may hold, so that no intermediate value of
// the solver can leave int64: every cost's magnitude times (nodes+1) times
// 8 must fit, and supplies and bounds are at most MaxValue.
const (
	MaxValue = math.MaxInt64 / 4
)

// validate checks endpoints, bounds and magnitudes. It returns an EINVALID
// *plenty.Error naming the first fault.
func (g *Graph) validate() error {
	_, err := g.validateFrom(0, 0)
	return err
}

// validateFrom is validate for the arcs from e0 on, the earlier ones
// having been checked already and their largest cost magnitude being
// maxCost; it returns the largest cost magnitude of all arcs. Supplies are
// checked only when e0 is 0.
func (g *Graph) validateFrom(e0 int, maxCost int64) (int64, error) {
	n := len(g.Supply)
	m := len(g.From)
	if n >= math.MaxInt32-1 || m >= math.MaxInt32-int(n)-1 {
		return 0, plenty.Errorf(plenty.EINVALID, "matching: graph too large: %d nodes, %d arcs", n, m)
	}
	if len(g.To) != m || len(g.Lower) != m || len(g.Upper) != m || len(g.Cost) != m {
		return 0, plenty.Errorf(plenty.EINVALID, "matching: arc slices of unequal length")
	}
	for e := e0; e < m; e++ {
		if g.From[e] < 0 || int(g.From[e]) >= n || g.To[e] < 0 || int(g.To[e]) >= n {
			return 0, plenty.Errorf(plenty.EINVALID, "matching: arc %d has an endpoint outside 0..%d", e, n-1)
		}
		if g.Lower[e] < 0 || g.Lower[e] > g.Upper[e] || g.Upper[e] > MaxValue {
			return 0, plenty.Errorf(plenty.EINVALID, "matching: arc %d bounds [%d, %d] must satisfy 0 <= lower <= upper <= %d", e, g.Lower[e], g.Upper[e], int64(MaxValue))
		}
		c := g.Cost[e]
		if c == math.MinInt64 {
			return 0, plenty.Errorf(plenty.EINVALID, "matching: arc %d cost out of range", e)
		}
		if c < 0 {
			c = -c
		}
		if c > maxCost {
			maxCost = c
		}
	}
	// Potentials are sums of at most n costs plus one artificial cost of
	// (maxCost+1)*(n+1); reduced costs add two potentials and a cost.
	if maxCost+1 > math.MaxInt64/8/int64(n+2) {
		return 0, plenty.Errorf(plenty.EINVALID, "matching: arc costs up to %d are too large for %d nodes (the bound is %d)", maxCost, n, math.MaxInt64/8/int64(n+2)-1)
	}
	if e0 == 0 {
		for u, s := range g.Supply {
			if s > MaxValue || s < -MaxValue {
				return 0, plenty.Errorf(plenty.EINVALID, "matching: node %d supply %d out of range", u, s)
			}
		}
	}
	return maxCost, nil
}

// mulCheck returns a*b, or false if it leaves int64.
func mulCheck(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

// addCheck returns a+b, or false if it leaves int64.
func addCheck(a, b int64) (int64, bool) {
	c := a + b
	if (b > 0 && c < a) || (b < 0 && c > a) {
		return 0, false
	}
	return c, true
}

// Objective returns sum of flow*cost in int64, or an error on overflow.
func (g *Graph) Objective(flow []int64) (int64, error) {
	var total int64
	for e, f := range flow {
		p, ok := mulCheck(f, g.Cost[e])
		if ok {
			total, ok = addCheck(total, p)
		}
		if !ok {
			return 0, plenty.Errorf(plenty.EINVALID, "matching: objective leaves int64 at arc %d", e)
		}
	}
	return total, nil
}
