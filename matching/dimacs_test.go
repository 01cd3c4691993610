package matching

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

const smallDIMACS = `c a small instance
c with two comment lines
p min 4 5
n 1 4
n 4 -4
a 1 2 0 4 2
a 1 3 0 2 2
a 2 3 0 2 1
a 2 4 0 3 3
a 3 4 0 5 1
`

func TestReadDIMACS(t *testing.T) {
	g, err := ReadDIMACS(strings.NewReader(smallDIMACS))
	if err != nil {
		t.Fatal(err)
	}
	if g.Nodes() != 4 || g.Arcs() != 5 {
		t.Fatalf("read %d nodes, %d arcs", g.Nodes(), g.Arcs())
	}
	if want := []int64{4, 0, 0, -4}; !equalInts(g.Supply, want) {
		t.Errorf("supply = %v, want %v", g.Supply, want)
	}
	if g.From[3] != 1 || g.To[3] != 3 || g.Upper[3] != 3 || g.Cost[3] != 3 {
		t.Errorf("arc 3 = %d->%d cap %d cost %d", g.From[3], g.To[3], g.Upper[3], g.Cost[3])
	}
	sol, err := Solve(g)
	if err != nil {
		t.Fatal(err)
	}
	if sol.Cost != 14 {
		t.Errorf("cost = %d, want 14", sol.Cost)
	}
}

func TestReadDIMACSErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"NoProblem", "c nothing\n", 0, `no "p min" line`},
		{"Empty", "", 0, `no "p min" line`},
		{"ArcBeforeProblem", "a 1 2 0 1 1\n", 1, "arc line before the problem line"},
		{"NodeBeforeProblem", "n 1 1\n", 1, "node line before the problem line"},
		{"NotMin", "p max 2 1\n", 1, `want "p min NODES ARCS"`},
		{"SecondProblem", "p min 2 0\np min 2 0\n", 2, "second problem line"},
		{"BadCount", "p min x 1\n", 1, "node and arc counts must be integers"},
		{"NegativeCount", "p min 2 -1\n", 1, "node and arc counts must be integers"},
		{"NodeOutOfRange", "p min 2 0\nn 3 1\n", 2, `node id "3" outside 1..2`},
		{"NodeTwice", "p min 2 0\nn 1 1\nn 1 2\n", 3, "node 1 described twice"},
		{"NodeFlowNotInt", "p min 2 0\nn 1 1.5\n", 2, `node flow "1.5" is not a 64-bit integer`},
		{"ShortArc", "p min 2 1\na 1 2 0 1\n", 2, `want "a FROM TO LOW CAP COST"`},
		{"ArcNotInt", "p min 2 1\na 1 2 0 x 1\n", 2, `CAP "x" is not a 64-bit integer`},
		{"ArcOverflow", "p min 2 1\na 1 2 0 1 99999999999999999999\n", 2, `COST "99999999999999999999" is not a 64-bit integer`},
		{"ArcEndpoint", "p min 2 1\na 0 2 0 1 1\n", 2, "arc 0->2 has an endpoint outside 1..2"},
		{"ArcBounds", "p min 2 1\na 1 2 3 1 1\n", 2, "bounds 3..1"},
		{"TooManyArcs", "p min 2 1\na 1 2 0 1 1\na 1 2 0 1 1\n", 3, "more arcs than the 1 announced"},
		{"TooFewArcs", "p min 2 2\na 1 2 0 1 1\n", 0, "2 arcs announced, 1 found"},
		{"UnknownLine", "p min 2 0\nx 1\n", 2, `unknown line type "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadDIMACS(strings.NewReader(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("err = line %d %q, want line %d containing %q", pe.Line, pe.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestDIMACSRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 50; i++ {
		g := randomGraph(r, 2+r.IntN(20), r.IntN(60), 1000, 1000, false)
		var buf bytes.Buffer
		if err := WriteDIMACS(&buf, g, "round trip"); err != nil {
			t.Fatal(err)
		}
		h, err := ReadDIMACS(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(g.Supply, h.Supply) || !equalInts(g.Lower, h.Lower) || !equalInts(g.Upper, h.Upper) || !equalInts(g.Cost, h.Cost) {
			t.Fatalf("instance %d changed in a round trip", i)
		}
		for e := range g.From {
			if g.From[e] != h.From[e] || g.To[e] != h.To[e] {
				t.Fatalf("instance %d arc %d endpoints changed", i, e)
			}
		}
	}
}

// FuzzReadDIMACS checks that the parser never panics, and that whatever it
// accepts survives a write and a re-read unchanged and, when small enough,
// solves to a certified optimum or a clean error.
func FuzzReadDIMACS(f *testing.F) {
	f.Add(smallDIMACS)
	f.Add("p min 2 1\nn 1 5\nn 2 -5\na 1 2 0 10 3\n")
	f.Add("p min 1 1\na 1 1 2 2 -1\n")
	f.Add("c\np min 0 0")
	f.Fuzz(func(t *testing.T, in string) {
		g, err := ReadDIMACS(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteDIMACS(&buf, g); err != nil {
			t.Fatal(err)
		}
		h, err := ReadDIMACS(&buf)
		if err != nil {
			t.Fatalf("re-read failed: %v", err)
		}
		if !equalInts(g.Supply, h.Supply) || !equalInts(g.Cost, h.Cost) {
			t.Fatal("round trip changed the instance")
		}
		if g.Nodes() > 200 || g.Arcs() > 2000 {
			return
		}
		sol, err := Solve(g)
		if err != nil {
			return
		}
		if err := Check(g, sol); err != nil {
			t.Fatal(err)
		}
	})
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
