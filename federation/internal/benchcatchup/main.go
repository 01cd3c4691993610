// Command benchcatchup measures how fast a witness catches up with a
// neighbour's log, and what an idle pull loop costs per neighbour.
//
// The neighbour logs are written as static files (C2SP tiles, entry
// bundles, checkpoint, neighbours) and served by net/http's file server on
// 127.0.0.1, as a static host would serve them. The events are offers
// posted by one council's delegate, so the fold keeps every offer open.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
)

func main() {
	n := flag.Int64("n", 100000, "events of the log to catch up with")
	idle := flag.Int("idle", 0, "instead: this many idle neighbours of 1000 events each, pulled every --interval")
	interval := flag.Duration("interval", 100*time.Millisecond, "pull interval of the idle run")
	window := flag.Duration("window", 10*time.Second, "how long the idle run is measured")
	flag.Parse()
	if err := run(*n, *idle, *interval, *window); err != nil {
		fmt.Fprintln(os.Stderr, "benchcatchup:", err)
		os.Exit(1)
	}
}

type noHub struct{}

func (noHub) Checkpoint(context.Context) ([]byte, error) { return nil, fmt.Errorf("none") }
func (noHub) ConsistencyProof(context.Context, int64, int64) (tlog.TreeProof, error) {
	return nil, fmt.Errorf("none")
}
func (noHub) Record(context.Context, string, any) error { return nil }

func run(n int64, idle int, interval, window time.Duration) error {
	tmp, err := os.MkdirTemp("", "benchcatchup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cos, err := federation.LoadOrCreateCosigner(filepath.Join(tmp), "witness.bench", nil)
	if err != nil {
		return err
	}
	logs := 1
	if idle > 0 {
		logs, n = idle, 1000
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, http.FileServer(http.Dir(filepath.Join(tmp, "static"))))
	base := "http://" + ln.Addr().String()
	var policy string
	start := time.Now()
	for i := 0; i < logs; i++ {
		vkey, err := writeLog(filepath.Join(tmp, "static", fmt.Sprint(i)), fmt.Sprintf("log%d.bench", i), n, cos.VerifierKey())
		if err != nil {
			return err
		}
		policy += fmt.Sprintf("log %s %s/%d\n", vkey, base, i)
	}
	fmt.Printf("wrote %d static logs of %d events in %s\n", logs, n, time.Since(start).Round(time.Millisecond))
	p, err := federation.ParsePolicy([]byte(policy))
	if err != nil {
		return err
	}
	if idle == 0 {
		if err := baseline(filepath.Join(tmp, "static", "0", "open"), n); err != nil {
			return err
		}
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	f, err := federation.Open(federation.Config{
		Dir: filepath.Join(tmp, "witness"), Origin: "witness.bench", Cosigner: cos, Policy: p, Log: noHub{},
		PullInterval: interval, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer f.Close()
	cpu0 := cpuTime()
	start = time.Now()
	f.Start()
	for {
		done := 0
		for _, nb := range f.Neighbours() {
			if st := nb.Status(); st.Size == n {
				done++
			} else if st.Error != "" && st.Status != federation.StatusPending {
				return fmt.Errorf("%s: %s", st.Status, st.Error)
			}
		}
		if done == logs {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("caught up with %d log(s) of %d events: %s wall, %s CPU, %.0f events/s; heap retained %.1f MB (%.0f bytes/event), allocated %.0f MB; go=%s cpus=%d\n",
		logs, n, took.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(n*int64(logs))/took.Seconds(),
		float64(after.HeapAlloc-before.HeapAlloc)/1e6, float64(after.HeapAlloc-before.HeapAlloc)/float64(n*int64(logs)),
		float64(after.TotalAlloc-before.TotalAlloc)/1e6, runtime.Version(), runtime.NumCPU())
	if idle == 0 {
		return nil
	}
	// Idle: nothing changes; every loop pulls the neighbours file and the
	// checkpoint each interval.
	time.Sleep(interval)
	cpu0, start = cpuTime(), time.Now()
	g0 := runtime.NumGoroutine()
	time.Sleep(window)
	cpu, took = cpuTime()-cpu0, time.Since(start)
	rounds := float64(idle) * took.Seconds() / interval.Seconds()
	fmt.Printf("idle: %d neighbours pulled every %s for %s: %s CPU in all (server included), %.0f µs CPU per pull, %.2f%% of one core per neighbour at a %s interval; %d goroutines\n",
		idle, interval, took.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(cpu.Microseconds())/rounds,
		100*float64(cpu)/float64(took)/float64(idle), interval, g0)
	return nil
}

// baseline folds the same events read from the bundle files, with no
// HTTP, no hashing and no storage: the fold alone.
func baseline(open string, n int64) error {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, start := cpuTime(), time.Now()
	st := plenty.NewState()
	for seq := int64(0); seq < n; seq += federation.TileWidth {
		t := tlog.Tile{H: federation.TileHeight, L: -1, N: seq / federation.TileWidth, W: int(min(federation.TileWidth, n-seq))}
		data, err := os.ReadFile(filepath.Join(open, federation.TilePath(t)))
		if err != nil {
			return err
		}
		bodies, err := federation.SplitBundle(data)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			ev, err := plenty.DecodeEvent(b)
			if err != nil {
				return err
			}
			if err := st.Apply(ev); err != nil {
				return err
			}
		}
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("baseline, the fold alone: %d events in %s wall, %s CPU, %.0f events/s; heap retained %.1f MB\n",
		n, took.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(n)/took.Seconds(), float64(after.HeapAlloc-before.HeapAlloc)/1e6)
	runtime.KeepAlive(st)
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeLog writes a log of n offers as static files under dir/open and
// returns its verifier key.
func writeLog(dir, origin string, n int64, witness string) (string, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", err
	}
	open := filepath.Join(dir, "open")
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var hashes []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	var bundle []byte
	write := func(path string, data []byte) error {
		p := filepath.Join(open, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	event := func(seq int64) []byte {
		t := t0.Add(time.Duration(seq) * time.Microsecond)
		var kind, actor string
		var data any
		switch seq {
		case 0:
			kind, actor = plenty.KindCouncilRegistered, plenty.ActorPublic
			data = plenty.CouncilRegistration{ID: "c1", Name: "Riverside Bakers", Sector: "food", Place: "Riverside",
				Location: plenty.Location{Lat: 51.4613, Lon: -0.1156},
				Delegate: plenty.MandateGrant{ID: "d-c1", Council: "c1", Label: "first",
					Mandate: "post our surplus", Scopes: plenty.AllScopes, ExpiresAt: t0.Add(plenty.MaxMandateTerm)}}
		case 1:
			kind, actor = plenty.KindItemDefined, plenty.ActorHub
			data = plenty.ItemDefinition{Code: "wheat-flour", Name: "Wheat flour", Dimension: plenty.Mass, Unit: "kg"}
		default:
			kind, actor = plenty.KindOfferPosted, plenty.DelegateActor("d-c1")
			data = plenty.OfferPosting{
				ID: fmt.Sprintf("o-%d", seq), Council: "c1", Item: "wheat-flour", Quantity: 250_000,
				Location: plenty.Location{Lat: 51.4613, Lon: -0.1156}, AvailableFrom: t0, AvailableUntil: t0.Add(72 * time.Hour),
				MinSplit: 500, MaxDistanceKm: 40, Note: "stone-milled", ExpiresAt: t0.Add(72 * time.Hour)}
		}
		raw, err := plenty.CanonicalJSON(data)
		if err != nil {
			panic(err)
		}
		return plenty.EncodeEvent(seq, t, kind, actor, raw)
	}
	for seq := int64(0); seq < n; seq++ {
		body := event(seq)
		hs, err := tlog.StoredHashes(seq, body, hr)
		if err != nil {
			return "", err
		}
		hashes = append(hashes, hs...)
		if bundle, err = federation.AppendBundleEntry(bundle, body); err != nil {
			return "", err
		}
		if (seq+1)%federation.TileWidth == 0 || seq+1 == n {
			t := tlog.Tile{H: federation.TileHeight, L: -1, N: seq / federation.TileWidth, W: int(seq%federation.TileWidth) + 1}
			if err := write(federation.TilePath(t), bundle); err != nil {
				return "", err
			}
			bundle = bundle[:0]
		}
	}
	for _, t := range tlog.NewTiles(federation.TileHeight, 0, n) {
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return "", err
		}
		if err := write(federation.TilePath(t), data); err != nil {
			return "", err
		}
	}
	root, err := tlog.TreeHash(n, hr)
	if err != nil {
		return "", err
	}
	signed, err := note.Sign(&note.Note{Text: plenty.Checkpoint{Origin: origin, Size: n, Root: root}.String()}, signer)
	if err != nil {
		return "", err
	}
	if err := write("checkpoint", signed); err != nil {
		return "", err
	}
	return vkey, write("neighbours", []byte("witness w "+witness+"\n"))
}
