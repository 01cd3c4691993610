// Command benchexport measures the open-data export on a synthetic ledger
// generated in memory as it is read, so that memory measured is the
// exporter's own: the rate in events/s for each format, and the process's
// peak resident memory.
//
//	go run ./exports/internal/benchexport -n 1000000 -format arrow
//	go run ./exports/internal/benchexport -n 1000000 -format snapshot -out /tmp/x
//
// Formats: none (generation alone), fold (the events replayed through
// plenty.State: the memory any snapshot needs), arrow, parquet, csv (each
// one WriteEvents to a file), snapshot (exports.Write: all three formats
// of the events and every projection, replayed through plenty.State, read
// back and verified before publishing), snapshot-arrow, snapshot-parquet
// (a snapshot in that format alone) and snapshot-csv (Arrow and CSV: the
// verifier needs the events in a binary format), and verify
// (exports.Verify of the snapshot folder -out, the source's own key
// trusted: plenty verify's work; -n and -live are not read).
//
// With -live L, every other event withdraws the offer posted 2L events
// before it, so that about L offers are open at any time and the rest
// have left the state (the fold's live maps): what verify holds should
// follow L, not -n.
//
//	go run ./exports/internal/benchexport -n 500000 -live 1000 -format snapshot-arrow -out /tmp/x
//	go run ./exports/internal/benchexport -format verify -out /tmp/x/latest
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
)

func main() {
	n := flag.Int64("n", 1_000_000, "number of events")
	format := flag.String("format", "arrow", "none, arrow, parquet, csv, snapshot or verify")
	live := flag.Int64("live", 0, "when not 0, every other event withdraws the offer posted 2×live events before it")
	tables := flag.String("tables", "fold", "where a snapshot's tables come from: fold (every event replayed) or projections (documents, as the ledger's DuckDB projections give them)")
	parts := flag.Int64("part-events", 0, "events per part file of a snapshot; exports.DefaultPartEvents when 0")
	out := flag.String("out", os.TempDir(), "folder to write to")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile taken when the heap in use was largest (sampled every second) to this file")
	flag.Parse()
	if *memprofile != "" {
		go peakHeapProfile(*memprofile)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*n, *format, *out, *tables, *parts, *live); err != nil {
		fmt.Fprintln(os.Stderr, "benchexport:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// peakHeapProfile writes a heap profile to path each time the heap in use
// exceeds the largest seen so far, checking every second.
func peakHeapProfile(path string) {
	var peak uint64
	for range time.Tick(time.Second) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse <= peak+peak/20 {
			continue
		}
		peak = ms.HeapInuse
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
}

func run(n int64, format, out, tables string, partEvents, live int64) error {
	ctx := context.Background()
	gen := newGenerator()
	gen.live = live
	src := gen.source()
	start := time.Now()
	var size int64
	switch format {
	case "verify":
		rep, err := exports.Verify(ctx, out, nil)
		if err != nil {
			return err
		}
		n = rep.Checkpoint.Size
		fmt.Printf("verified files=%d\n", len(rep.Files))
	case "none":
		err := src(ctx, 0, n, func(ev plenty.Event) error { size += int64(len(ev.Body)); return nil })
		if err != nil {
			return err
		}
	case "fold":
		// The replay alone: what any snapshot must hold in memory.
		st := plenty.NewState()
		err := src(ctx, 0, n, func(ev plenty.Event) error {
			size += int64(len(ev.Body))
			return st.Apply(ev)
		})
		if err != nil {
			return err
		}
		runtime.KeepAlive(st)
	case "snapshot", "snapshot-arrow", "snapshot-parquet", "snapshot-csv":
		opts := &exports.Options{Formats: map[string][]exports.Format{
			"snapshot":         exports.Formats,
			"snapshot-arrow":   {exports.Arrow},
			"snapshot-parquet": {exports.Parquet},
			"snapshot-csv":     {exports.Arrow, exports.CSV},
		}[format], PartEvents: partEvents}
		switch tables {
		case "fold":
		case "projections":
			if live != 0 {
				return fmt.Errorf("-tables projections gives open offers only: use -live 0")
			}
			p, err := gen.projections()
			if err != nil {
				return err
			}
			opts.Projections = p
		default:
			return fmt.Errorf("-tables %q: use fold or projections", tables)
		}
		var last time.Time
		opts.Step = func(step string) {
			now := time.Now()
			if last.IsZero() {
				last = start
			}
			fmt.Fprintf(os.Stderr, "%s after %s\n", step, now.Sub(last).Round(time.Millisecond))
			last = now
		}
		cp, key, err := gen.sign(ctx, n)
		if err != nil {
			return err
		}
		start = time.Now()
		snap, err := exports.Write(ctx, out, src, cp, key, opts)
		if err != nil {
			return err
		}
		// Every file, and those written by this snapshot (a part linked
		// from an earlier snapshot has more than one link).
		var written, files, linked int64
		filepath.WalkDir(snap.Dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files++
			size += fi.Size()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				linked++
			} else {
				written += fi.Size()
			}
			return nil
		})
		fmt.Printf("files=%d linked=%d written=%.1f MB\n", files, linked, float64(written)/1e6)
	default:
		f, err := exports.ParseFormat(format)
		if err != nil {
			return err
		}
		path := filepath.Join(out, "bench-events."+format)
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		defer os.Remove(path)
		w := bufio.NewWriterSize(file, 1<<20)
		if err := exports.WriteEvents(ctx, w, f, src, 0, n, nil); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		fi, _ := os.Stat(path)
		size = fi.Size()
	}
	d := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("format=%s events=%d time=%s rate=%.0f events/s output=%.1f MB peak_rss=%.0f MB go=%s cpus=%d\n",
		format, n, d.Round(time.Millisecond), float64(n)/d.Seconds(), float64(size)/1e6,
		float64(ru.Maxrss)/1024, runtime.Version(), runtime.NumCPU())
	return nil
}

// benchProjections gives the documents the ledger's projections would
// hold for the generated events: the council, its delegate, the item and
// every offer, each as plenty.State writes it.
type benchProjections struct {
	council, delegate, item []byte
	offer                   plenty.Offer // of event 2, the first offer
	t0                      time.Time
}

func (g *generator) projections() (*benchProjections, error) {
	st := plenty.NewState()
	for seq := int64(0); seq < 3; seq++ {
		if err := st.Apply(g.event(seq)); err != nil {
			return nil, err
		}
	}
	p := &benchProjections{t0: g.t0}
	var ok [3]bool
	p.council, ok[0] = st.Doc(plenty.Change{Kind: "council", ID: "c1"})
	p.delegate, ok[1] = st.Doc(plenty.Change{Kind: "delegate", ID: "d-c1"})
	p.item, ok[2] = st.Doc(plenty.Change{Kind: "item", ID: "wheat-flour"})
	var found bool
	p.offer, found = st.Offer("o-2")
	if !ok[0] || !ok[1] || !ok[2] || !found {
		return nil, fmt.Errorf("the generated head has no council, delegate, item or offer")
	}
	return p, nil
}

// Documents yields the documents of kind after size events, each offer
// stamped with its own seq; within a part in seq order, not id order (the
// read-back compares the files with the rows written, so the order does
// not matter here).
func (p *benchProjections) Documents(ctx context.Context, kind string, size, part int64, parts []int64, fn func(id string, first int64, doc []byte) error) error {
	want := func(first int64) bool { return parts == nil || slices.Contains(parts, first/part) }
	switch kind {
	case "council":
		if want(0) {
			return fn("c1", 0, p.council)
		}
	case "delegate":
		if want(0) {
			return fn("d-c1", 0, p.delegate)
		}
	case "item":
		if want(1) {
			return fn("wheat-flour", 1, p.item)
		}
	case "offer":
		o := p.offer
		for seq := int64(2); seq < size; seq++ {
			if !want(seq) {
				continue
			}
			o.ID = "o-" + strconv.FormatInt(seq, 10)
			o.PostedAt = p.t0.Add(time.Duration(seq) * time.Microsecond)
			doc, err := plenty.CanonicalJSON(o)
			if err != nil {
				return err
			}
			if err := fn(o.ID, seq, doc); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// Changed: the offers posted from since on; nothing else changes.
func (p *benchProjections) Changed(ctx context.Context, kind string, since, size int64, fn func(first int64) error) error {
	if kind != "offer" {
		return nil
	}
	for seq := max(since, 2); seq < size; seq++ {
		if err := fn(seq); err != nil {
			return err
		}
	}
	return nil
}

// generator makes a ledger of one council, one item and offers posted by
// the council's delegate, one microsecond apart. Bodies are assembled from
// canonical pieces, as plenty.EncodeEvent would write them.
type generator struct {
	t0         time.Time
	head       []plenty.Event
	offerPre   []byte // data up to the offer id
	offerPost  []byte // data after the offer id
	closePre   []byte // a withdrawal's data up to the offer id
	closePost  []byte // a withdrawal's data after the offer id
	live       int64  // see -live
	actor      string
	signer     note.Signer
	verifier   string
	bodyBuffer []byte
}

func newGenerator() *generator {
	g := &generator{t0: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), actor: plenty.DelegateActor("d-c1")}
	add := func(kind, actor string, data any) {
		raw, err := plenty.CanonicalJSON(data)
		if err != nil {
			panic(err)
		}
		seq := int64(len(g.head))
		ev, err := plenty.DecodeEvent(plenty.EncodeEvent(seq, g.t0.Add(time.Duration(seq)*time.Microsecond), kind, actor, raw))
		if err != nil {
			panic(err)
		}
		g.head = append(g.head, ev)
	}
	add(plenty.KindCouncilRegistered, plenty.ActorPublic, plenty.CouncilRegistration{
		ID: "c1", Name: "Riverside Bakers", Sector: "food", Place: "Riverside",
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156},
		Delegate: plenty.MandateGrant{ID: "d-c1", Council: "c1", Label: "first",
			Mandate: "post our surplus", Scopes: plenty.AllScopes, ExpiresAt: g.t0.Add(plenty.MaxMandateTerm)}})
	add(plenty.KindItemDefined, plenty.ActorHub, plenty.ItemDefinition{
		Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"})
	raw, _ := plenty.CanonicalJSON(plenty.OfferPosting{
		ID: "@ID@", Council: "c1", Item: "wheat-flour", Quantity: 250_000,
		Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, AvailableFrom: g.t0, AvailableUntil: g.t0.Add(72 * time.Hour),
		MinSplit: 500, MaxDistanceKm: 40, Note: "stone-milled", ExpiresAt: g.t0.Add(72 * time.Hour)})
	i := indexOf(raw, "@ID@")
	g.offerPre, g.offerPost = raw[:i], raw[i+len("@ID@"):]
	raw, _ = plenty.CanonicalJSON(plenty.PostingClosed{ID: "@ID@"})
	i = indexOf(raw, "@ID@")
	g.closePre, g.closePost = raw[:i], raw[i+len("@ID@"):]
	return g
}

func indexOf(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return i
		}
	}
	panic("placeholder not found")
}

// event returns event seq. The body's buffer is reused: consumers copy it
// (the Arrow builders do).
func (g *generator) event(seq int64) plenty.Event {
	if seq < int64(len(g.head)) {
		return g.head[seq]
	}
	t := g.t0.Add(time.Duration(seq) * time.Microsecond)
	kind, pre, post, id := plenty.KindOfferPosted, g.offerPre, g.offerPost, seq
	// With live, an odd event (from the head) withdraws the even one
	// posted 2×live events before, once there is one.
	if j := seq - int64(len(g.head)); g.live > 0 && j%2 == 1 && j-1-2*g.live >= 0 {
		kind, pre, post, id = plenty.KindOfferWithdrawn, g.closePre, g.closePost, seq-1-2*g.live
	}
	b := g.bodyBuffer[:0]
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, plenty.TimeFormat)
	b = append(b, `","kind":"`...)
	b = append(b, kind...)
	b = append(b, `","actor":"`...)
	b = append(b, g.actor...)
	b = append(b, `","data":`...)
	dataStart := len(b)
	b = append(b, pre...)
	b = append(b, 'o', '-')
	b = strconv.AppendInt(b, id, 10)
	b = append(b, post...)
	dataEnd := len(b)
	b = append(b, '}')
	g.bodyBuffer = b
	return plenty.Event{Seq: seq, Time: t, Kind: kind, Actor: g.actor, Data: b[dataStart:dataEnd], Body: b}
}

func (g *generator) source() exports.EventSource {
	return func(ctx context.Context, from, to int64, fn func(plenty.Event) error) error {
		for seq := from; seq < to; seq++ {
			if err := fn(g.event(seq)); err != nil {
				return err
			}
		}
		return nil
	}
}

// sign computes the root over n events with O(log n) memory and signs it,
// checking on the way that generated bodies are canonical.
func (g *generator) sign(ctx context.Context, n int64) ([]byte, string, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "bench.plenty/log")
	if err != nil {
		return nil, "", err
	}
	if g.signer, err = note.NewSigner(skey); err != nil {
		return nil, "", err
	}
	var stack []tlog.Hash
	var count int64
	err = g.source()(ctx, 0, n, func(ev plenty.Event) error {
		if ev.Seq < 1000 {
			if _, err := plenty.DecodeEvent(ev.Body); err != nil {
				return fmt.Errorf("generated body %d is not canonical: %v", ev.Seq, err)
			}
		}
		stack = append(stack, tlog.RecordHash(ev.Body))
		for c := count; c&1 == 1; c >>= 1 {
			k := len(stack)
			stack[k-2] = tlog.NodeHash(stack[k-2], stack[k-1])
			stack = stack[:k-1]
		}
		count++
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	root := stack[len(stack)-1]
	for i := len(stack) - 2; i >= 0; i-- {
		root = tlog.NodeHash(stack[i], root)
	}
	text := exports.Checkpoint{Origin: "bench.plenty/log", Size: n, Root: root}.String()
	msg, err := note.Sign(&note.Note{Text: text}, g.signer)
	return msg, vkey, err
}
