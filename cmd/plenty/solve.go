package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/plentyhub/plenty/matching"
)

const solveUsage = `usage: plenty solve FILE [-flows]

Reads a DIMACS minimum-cost-flow instance from FILE ("-" for standard input)
and prints the DIMACS solution: "s COST", and with -flows one "f FROM TO FLOW"
line per arc with positive flow. Exit status: 0 solved, 1 infeasible,
2 malformed input or usage.
`

// runSolve implements "plenty solve". It returns the exit status.
func runSolve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var file string
	flows, haveFile := false, false
	for _, a := range args {
		switch {
		case a == "-flows" || a == "--flows":
			flows = true
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprint(stderr, solveUsage)
			return 2
		case len(a) > 1 && a[0] == '-':
			fmt.Fprintf(stderr, "plenty solve: unknown flag %s\n%s", a, solveUsage)
			return 2
		case haveFile:
			fmt.Fprintf(stderr, "plenty solve: more than one FILE (%s and %s)\n%s", file, a, solveUsage)
			return 2
		default:
			file, haveFile = a, true
		}
	}
	if !haveFile {
		fmt.Fprint(stderr, "plenty solve: FILE is required\n"+solveUsage)
		return 2
	}

	start := time.Now()
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(stderr, "plenty solve: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	g, err := matching.ReadDIMACS(in)
	if err != nil {
		fmt.Fprintf(stderr, "plenty solve: %s: %v\n", file, err)
		return 2
	}
	readSeconds := time.Since(start).Seconds()

	start = time.Now()
	sol, err := matching.Solve(g)
	solveSeconds := time.Since(start).Seconds()

	w := bufio.NewWriterSize(stdout, 1<<16)
	fmt.Fprintf(w, "c read_seconds %.6f\n", readSeconds)
	fmt.Fprintf(w, "c solve_seconds %.6f\n", solveSeconds)
	status := 0
	switch {
	case errors.Is(err, matching.ErrInfeasible):
		w.WriteString("s infeasible\n")
		status = 1
	case err != nil:
		w.Flush()
		fmt.Fprintf(stderr, "plenty solve: %s: %v\n", file, err)
		return 2
	default:
		fmt.Fprintf(w, "s %d\n", sol.Cost)
		if flows {
			buf := make([]byte, 0, 64)
			for e, f := range sol.Flow {
				if f <= 0 {
					continue
				}
				buf = append(buf[:0], "f "...)
				buf = strconv.AppendInt(buf, int64(g.From[e])+1, 10)
				buf = append(buf, ' ')
				buf = strconv.AppendInt(buf, int64(g.To[e])+1, 10)
				buf = append(buf, ' ')
				buf = strconv.AppendInt(buf, f, 10)
				buf = append(buf, '\n')
				w.Write(buf)
			}
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "plenty solve: %v\n", err)
		return 2
	}
	return status
}
