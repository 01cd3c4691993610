// Command gosolve reads a DIMACS min-cost-flow file and solves it with the
// matching package, printing what "plenty solve" prints (without flows), so
// that the benchmark does not depend on the full plenty binary.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/plentyhub/plenty/matching"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gosolve FILE.min")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t0 := time.Now()
	g, err := matching.ReadDIMACS(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t1 := time.Now()
	sol, err := matching.Solve(g)
	t2 := time.Now()
	fmt.Printf("c read_seconds %.6f\nc solve_seconds %.6f\n", t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds())
	switch {
	case errors.Is(err, matching.ErrInfeasible):
		fmt.Println("s infeasible")
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("c pivots %d\ns %d\n", sol.Pivots, sol.Cost)
}
