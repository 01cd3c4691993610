package matching

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ParseError is a fault in a DIMACS file, with the 1-based line it is on
// (0 when the fault is the file as a whole, such as a missing arc).
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "dimacs: " + e.Msg
	}
	return fmt.Sprintf("dimacs: line %d: %s", e.Line, e.Msg)
}

// Limits of ReadDIMACS, which allocates the nodes the problem line
// announces before reading them.
const (
	MaxDIMACSNodes = 1 << 24
	MaxDIMACSArcs  = 1 << 28
)

// ReadDIMACS reads a minimum-cost-flow instance in the DIMACS format: "c"
// comment lines, one "p min NODES ARCS" line, then "n ID FLOW" lines (a
// positive FLOW is a supply, a negative one a demand; nodes without one
// have none) and exactly ARCS "a FROM TO LOW CAP COST" lines. Nodes are
// numbered from 1 in the file and from 0 in the Graph. Blank lines are
// ignored. It returns a *ParseError naming the line of the first fault.
func ReadDIMACS(r io.Reader) (*Graph, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var (
		g     *Graph
		seen  []bool
		arcs  int
		line  int
		field [6][]byte
	)
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &ParseError{line + 1, "line longer than 64 KiB"}
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(raw) == 0 && err == io.EOF {
			break
		}
		line++
		nf := 0
		i := 0
		for i < len(raw) {
			for i < len(raw) && isSpace(raw[i]) {
				i++
			}
			if i == len(raw) {
				break
			}
			j := i
			for j < len(raw) && !isSpace(raw[j]) {
				j++
			}
			if nf < len(field) {
				field[nf] = raw[i:j]
			}
			nf++
			if nf == 1 && raw[i] == 'c' && j-i == 1 {
				break // a comment: the rest of the line is free text
			}
			i = j
		}
		if nf > 0 {
			switch string(field[0]) {
			case "c":
			case "p":
				if g != nil {
					return nil, &ParseError{line, "second problem line"}
				}
				if nf != 4 || string(field[1]) != "min" {
					return nil, &ParseError{line, `want "p min NODES ARCS"`}
				}
				n, err1 := parseInt(field[2])
				m, err2 := parseInt(field[3])
				if err1 != nil || err2 != nil || n < 0 || m < 0 || n > MaxDIMACSNodes || m > MaxDIMACSArcs {
					return nil, &ParseError{line, fmt.Sprintf("node and arc counts must be integers in 0..%d and 0..%d", MaxDIMACSNodes, MaxDIMACSArcs)}
				}
				g = NewGraph(int(n), int(min(m, 1<<24)))
				seen = make([]bool, n)
				arcs = int(m)
			case "n":
				if g == nil {
					return nil, &ParseError{line, "node line before the problem line"}
				}
				if nf != 3 {
					return nil, &ParseError{line, `want "n ID FLOW"`}
				}
				id, err := parseInt(field[1])
				if err != nil || id < 1 || id > int64(g.Nodes()) {
					return nil, &ParseError{line, fmt.Sprintf("node id %q outside 1..%d", field[1], g.Nodes())}
				}
				s, err := parseInt(field[2])
				if err != nil {
					return nil, &ParseError{line, fmt.Sprintf("node flow %q is not a 64-bit integer", field[2])}
				}
				if seen[id-1] {
					return nil, &ParseError{line, fmt.Sprintf("node %d described twice", id)}
				}
				seen[id-1] = true
				g.Supply[id-1] = s
			case "a":
				if g == nil {
					return nil, &ParseError{line, "arc line before the problem line"}
				}
				if nf != 6 {
					return nil, &ParseError{line, `want "a FROM TO LOW CAP COST"`}
				}
				if g.Arcs() == arcs {
					return nil, &ParseError{line, fmt.Sprintf("more arcs than the %d announced", arcs)}
				}
				var v [5]int64
				for k := range v {
					x, err := parseInt(field[k+1])
					if err != nil {
						return nil, &ParseError{line, fmt.Sprintf("%s %q is not a 64-bit integer", arcFields[k], field[k+1])}
					}
					v[k] = x
				}
				n := int64(g.Nodes())
				if v[0] < 1 || v[0] > n || v[1] < 1 || v[1] > n {
					return nil, &ParseError{line, fmt.Sprintf("arc %d->%d has an endpoint outside 1..%d", v[0], v[1], n)}
				}
				if v[2] < 0 || v[2] > v[3] {
					return nil, &ParseError{line, fmt.Sprintf("bounds %d..%d: want 0 <= LOW <= CAP", v[2], v[3])}
				}
				g.AddArc(int(v[0]-1), int(v[1]-1), v[2], v[3], v[4])
			default:
				return nil, &ParseError{line, fmt.Sprintf("unknown line type %q (want c, p, n or a)", field[0])}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if g == nil {
		return nil, &ParseError{0, `no "p min" line`}
	}
	if g.Arcs() != arcs {
		return nil, &ParseError{0, fmt.Sprintf("%d arcs announced, %d found", arcs, g.Arcs())}
	}
	return g, nil
}

var arcFields = [5]string{"FROM", "TO", "LOW", "CAP", "COST"}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseInt parses a decimal int64 with an optional sign, rejecting
// anything that would overflow.
func parseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 {
		return strconv.ParseInt(string(b), 10, 64)
	}
	neg := false
	i := 0
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i = 1
		if len(b) == 1 {
			return 0, strconv.ErrSyntax
		}
	}
	var x uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, strconv.ErrSyntax
		}
		if x > (math.MaxUint64-9)/10 {
			return 0, strconv.ErrRange
		}
		x = x*10 + uint64(c)
	}
	if neg {
		if x > 1<<63 {
			return 0, strconv.ErrRange
		}
		return -int64(x), nil
	}
	if x > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(x), nil
}

// WriteDIMACS writes g in the DIMACS minimum-cost-flow format, with the
// given comment lines first.
func WriteDIMACS(w io.Writer, g *Graph, comments ...string) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for _, c := range comments {
		bw.WriteString("c ")
		bw.WriteString(c)
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, "p min %d %d\n", g.Nodes(), g.Arcs())
	buf := make([]byte, 0, 96)
	for u, s := range g.Supply {
		if s != 0 {
			buf = append(buf[:0], "n "...)
			buf = strconv.AppendInt(buf, int64(u+1), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, s, 10)
			buf = append(buf, '\n')
			bw.Write(buf)
		}
	}
	for e := range g.From {
		buf = append(buf[:0], "a "...)
		buf = strconv.AppendInt(buf, int64(g.From[e])+1, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(g.To[e])+1, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, g.Lower[e], 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, g.Upper[e], 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, g.Cost[e], 10)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}
