// Command gen writes benchmark instances in DIMACS format: NETGEN-style
// families, and the hub's own transportation problems built from a
// synthetic load (all items side by side in one file).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/plentyhub/plenty/fixtures"
	"github.com/plentyhub/plenty/matching"
)

func main() {
	kind := flag.String("kind", "netgen", "netgen or hub")
	family := flag.String("family", "8", "NETGEN family: 8, sr or deg")
	n := flag.Int("n", 1<<12, "NETGEN nodes")
	postings := flag.Int("postings", 1000, "hub: open offers plus needs")
	k := flag.Int("k", 0, "hub: keep only the k nearest pairs per posting (0: all)")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("o", "", "output file")
	flag.Parse()
	var g *matching.Graph
	var comment string
	switch *kind {
	case "netgen":
		p := matching.NetgenFamily(*family, *n, *seed)
		g = p.Generate()
		comment = fmt.Sprintf("netgen-%s n=%d seed=%d", *family, *n, *seed)
	case "hub":
		start := time.Now()
		offers, needs := fixtures.Synthetic{Seed: *seed, Offers: *postings * 2 / 5, Needs: *postings * 3 / 5}.Generate()
		igs, err := matching.ItemGraphs(matching.Input{Offers: offers, Needs: needs, Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Options: matching.Options{KNearest: *k}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var gs []*matching.Graph
		for _, ig := range igs {
			gs = append(gs, ig.Graph)
		}
		g = matching.Union(gs...)
		comment = fmt.Sprintf("hub postings=%d k=%d seed=%d items=%d build_seconds=%.3f", *postings, *k, *seed, len(igs), time.Since(start).Seconds())
	default:
		fmt.Fprintln(os.Stderr, "unknown kind", *kind)
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	if err := matching.WriteDIMACS(w, g, comment); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s nodes=%d arcs=%d\n", comment, g.Nodes(), g.Arcs())
}
