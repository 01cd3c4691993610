package matching

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/plentyhub/plenty"
)

type arc struct {
	from, to           int
	lower, upper, cost int64
}

func graphOf(supply []int64, arcs []arc) *Graph {
	g := NewGraph(0, len(arcs))
	g.Supply = append(g.Supply, supply...)
	for _, a := range arcs {
		g.AddArc(a.from, a.to, a.lower, a.upper, a.cost)
	}
	return g
}

func TestSolveSmall(t *testing.T) {
	tests := []struct {
		name   string
		supply []int64
		arcs   []arc
		cost   int64
		flow   []int64
		err    error
	}{
		{"Empty", nil, nil, 0, []int64{}, nil},
		{"Direct", []int64{5, -5}, []arc{{0, 1, 0, 10, 3}}, 15, []int64{5}, nil},
		{"CheaperPath", []int64{4, 0, -4}, []arc{{0, 2, 0, 10, 10}, {0, 1, 0, 10, 2}, {1, 2, 0, 10, 3}}, 20, []int64{0, 4, 4}, nil},
		{"CapacitySplit", []int64{4, 0, -4}, []arc{{0, 2, 0, 10, 10}, {0, 1, 0, 3, 2}, {1, 2, 0, 10, 3}}, 25, []int64{1, 3, 3}, nil},
		{"LowerBound", []int64{2, -2}, []arc{{0, 1, 1, 5, 7}, {0, 1, 0, 5, 1}}, 8, []int64{1, 1}, nil},
		{"NegativeCycle", []int64{0, 0}, []arc{{0, 1, 0, 3, -5}, {1, 0, 0, 2, 1}}, -8, []int64{2, 2}, nil},
		{"NegativeSelfLoop", []int64{0}, []arc{{0, 0, 0, 4, -1}}, -4, []int64{4}, nil},
		{"Unbalanced", []int64{3, -2}, []arc{{0, 1, 0, 10, 1}}, 0, nil, ErrInfeasible},
		{"TooLittleCapacity", []int64{3, -3}, []arc{{0, 1, 0, 2, 1}}, 0, nil, ErrInfeasible},
		{"LowerBoundUnmet", []int64{0, 0}, []arc{{0, 1, 1, 1, 0}}, 0, nil, ErrInfeasible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graphOf(tt.supply, tt.arcs)
			sol, err := Solve(g)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if sol.Cost != tt.cost {
				t.Errorf("cost = %d, want %d", sol.Cost, tt.cost)
			}
			for e := range tt.flow {
				if sol.Flow[e] != tt.flow[e] {
					t.Errorf("flow = %v, want %v", sol.Flow, tt.flow)
					break
				}
			}
			if err := Check(g, sol); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSolveRejectsOverflow(t *testing.T) {
	tests := []struct {
		name   string
		supply []int64
		arcs   []arc
	}{
		{"HugeCost", []int64{1, -1}, []arc{{0, 1, 0, 1, math.MaxInt64 / 2}}},
		{"MinCost", []int64{1, -1}, []arc{{0, 1, 0, 1, math.MinInt64}}},
		{"HugeCapacity", []int64{0, 0}, []arc{{0, 1, 0, math.MaxInt64, 1}}},
		{"HugeSupply", []int64{math.MaxInt64, -math.MaxInt64}, []arc{{0, 1, 0, 1, 1}}},
		{"ShiftedSupply", []int64{0, 0, 0}, []arc{{0, 1, MaxValue, MaxValue, 0}, {2, 1, MaxValue, MaxValue, 0}}},
		{"ObjectiveOverflow", []int64{MaxValue, -MaxValue}, []arc{{0, 1, 0, MaxValue, 1 << 40}}},
		{"BadEndpoint", []int64{0}, []arc{{0, 3, 0, 1, 1}}},
		{"LowerAboveUpper", []int64{0, 0}, []arc{{0, 1, 2, 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Solve(graphOf(tt.supply, tt.arcs))
			if plenty.ErrorCode(err) != plenty.EINVALID {
				t.Fatalf("err = %v, want an EINVALID error", err)
			}
		})
	}
}

// TestSolveMatchesReference solves many random small instances and checks
// each against the independent reference and the optimality certificate.
func TestSolveMatchesReference(t *testing.T) {
	count := 3000
	if testing.Short() {
		count = 300
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < count; i++ {
		n := 2 + r.IntN(9)
		m := r.IntN(4 * n)
		g := randomGraph(r, n, m, 1+r.Int64N(20), r.Int64N(30), i%10 == 0)
		if i%2 == 0 {
			connect(g, r.Int64N(100))
		}
		want, feasible := refSolve(g)
		sol, err := Solve(g)
		if !feasible {
			if !errors.Is(err, ErrInfeasible) {
				t.Fatalf("instance %d: reference says infeasible, Solve returned %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("instance %d: %v (reference cost %d)", i, err, want)
		}
		if sol.Cost != want {
			t.Fatalf("instance %d: cost %d, reference %d", i, sol.Cost, want)
		}
		if err := Check(g, sol); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
}

// TestSolveTreeInvariants runs the simplex pivot by pivot on random
// instances and checks the spanning tree's links after every pivot.
func TestSolveTreeInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		n := 2 + r.IntN(12)
		g := randomGraph(r, n, r.IntN(5*n), 1+r.Int64N(9), r.Int64N(20), false)
		if err := g.validate(); err != nil {
			t.Fatal(err)
		}
		s, err := newSimplex(g)
		if err != nil {
			continue
		}
		for s.findEnteringArc() {
			s.findJoinNode()
			change := s.findLeavingArc()
			s.changeFlow(change)
			if change {
				s.updateTreeStructure()
				s.updatePotential()
			}
			if err := s.checkTree(); err != nil {
				t.Fatalf("instance %d pivot %d: %v", i, s.pivots, err)
			}
			s.pivots++
		}
	}
}

func TestSolveDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := randomGraph(r, 40, 300, 50, 100, false)
	connect(g, 1000)
	a, errA := Solve(g)
	b, errB := Solve(g)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	for e := range a.Flow {
		if a.Flow[e] != b.Flow[e] {
			t.Fatalf("arc %d: flow %d then %d", e, a.Flow[e], b.Flow[e])
		}
	}
}

func TestSolveNetgen(t *testing.T) {
	for _, fam := range []string{"8", "sr", "deg"} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fam, func(t *testing.T) {
				g := NetgenFamily(fam, 400, seed).Generate()
				sol, err := Solve(g)
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(g, sol); err != nil {
					t.Fatal(err)
				}
				if sol.Cost <= 0 {
					t.Errorf("cost %d, want positive", sol.Cost)
				}
			})
		}
	}
}

func BenchmarkSolveNetgen8(b *testing.B) {
	g := NetgenFamily("8", 1<<14, 1).Generate()
	for b.Loop() {
		if _, err := Solve(g); err != nil {
			b.Fatal(err)
		}
	}
}
