package matching

import "fmt"

// Check verifies that sol is an optimal flow of g, independently of how it
// was found: every flow is within its bounds, every node's outflow minus
// inflow equals its supply, the objective recomputed in int64 (with
// overflow checks) equals sol.Cost, and the potentials leave every residual
// arc with a non-negative reduced cost (complementary slackness). It
// returns nil when all of this holds and an error naming the first fault
// otherwise.
func Check(g *Graph, sol *Solution) error {
	n, m := len(g.Supply), len(g.From)
	if len(sol.Flow) != m || len(sol.Potential) != n {
		return fmt.Errorf("certificate: %d flows and %d potentials for %d arcs and %d nodes", len(sol.Flow), len(sol.Potential), m, n)
	}
	balance := make([]int64, n)
	for e := 0; e < m; e++ {
		f := sol.Flow[e]
		if f < g.Lower[e] || f > g.Upper[e] {
			return fmt.Errorf("certificate: arc %d flow %d outside [%d, %d]", e, f, g.Lower[e], g.Upper[e])
		}
		u, v := g.From[e], g.To[e]
		var ok1, ok2 bool
		balance[u], ok1 = addCheck(balance[u], f)
		balance[v], ok2 = addCheck(balance[v], -f)
		if !ok1 || !ok2 {
			return fmt.Errorf("certificate: balance overflow at arc %d", e)
		}
		rc, ok := addCheck(g.Cost[e], sol.Potential[u])
		if ok {
			rc, ok = addCheck(rc, -sol.Potential[v])
		}
		if !ok {
			return fmt.Errorf("certificate: reduced cost of arc %d leaves int64", e)
		}
		if f < g.Upper[e] && rc < 0 {
			return fmt.Errorf("certificate: arc %d has flow %d below its upper bound %d but reduced cost %d < 0", e, f, g.Upper[e], rc)
		}
		if f > g.Lower[e] && rc > 0 {
			return fmt.Errorf("certificate: arc %d has flow %d above its lower bound %d but reduced cost %d > 0", e, f, g.Lower[e], rc)
		}
	}
	for u := 0; u < n; u++ {
		if balance[u] != g.Supply[u] {
			return fmt.Errorf("certificate: node %d sends %d net, its supply is %d", u, balance[u], g.Supply[u])
		}
	}
	obj, err := g.Objective(sol.Flow)
	if err != nil {
		return err
	}
	if obj != sol.Cost {
		return fmt.Errorf("certificate: objective recomputed %d, reported %d", obj, sol.Cost)
	}
	return nil
}
