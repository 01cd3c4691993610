package hub_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// BenchmarkMatchingPosting measures the hub's path from one new need to
// proposals that reflect it (RunMatching: the state read under the lock,
// the solve, the served set), with 65,000 open postings of one item (32,000
// offers and 33,000 needs over a square of 1000 km, reaching 12 km, as
// matching's BenchmarkIncrementalPosting). "incremental" is the hub as it
// runs; "from-scratch" forgets the engine's solutions before each run, so
// every item is solved cold, which is what the hub did before. Beside the
// time per op it reports the time of the ledger's durable append and of
// RunMatching apart, and the process's CPU time during RunMatching, which
// moves far less than the wall clock on a shared machine.
//
//	go test ./hub -run '^$' -bench MatchingPosting -benchtime 20x
func BenchmarkMatchingPosting(b *testing.B) {
	clk := &clock{t: t0}
	l, err := ledger.Open(b.TempDir(), ledger.Options{Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	ctx := context.Background()
	demo, err := hub.LoadDemo(ctx, l, clk.Now())
	if err != nil {
		b.Fatal(err)
	}
	srv := hub.New(l, hub.Config{Now: clk.Now, Location: time.UTC})
	if err := srv.PublishTerms(ctx); err != nil {
		b.Fatal(err)
	}
	supplier, receiver := demo[0], demo[1]
	// 1000 km east and north of a point on the equator
	at := func(r *rand.Rand) plenty.Location {
		return plenty.Location{Lat: r.Float64() * 1000 / 111.195, Lon: r.Float64() * 1000 / 111.195}
	}
	expires := t0.Add(20 * 24 * time.Hour)
	needOf := func(r *rand.Rand, id string) ledger.Request {
		return ledger.Request{Kind: plenty.KindNeedPosted, Actor: plenty.DelegateActor(receiver.Delegate),
			Data: plenty.NeedPosting{ID: id, Council: receiver.Council, Item: "wheat-flour",
				Quantity: plenty.Amount(1+r.IntN(50)) * 1000, Location: at(r), Priority: 1 + r.IntN(5),
				NeededBy: expires, MaxDistanceKm: 12, ExpiresAt: expires}}
	}
	var reqs []ledger.Request
	r := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 32000; i++ {
		reqs = append(reqs, ledger.Request{Kind: plenty.KindOfferPosted, Actor: plenty.DelegateActor(supplier.Delegate),
			Data: plenty.OfferPosting{ID: fmt.Sprintf("o_bench%06d", i), Council: supplier.Council, Item: "wheat-flour",
				Quantity: plenty.Amount(1+r.IntN(50)) * 1000, Location: at(r), AvailableFrom: t0, AvailableUntil: expires, MaxDistanceKm: 12, ExpiresAt: expires}})
	}
	for j := 0; j < 33000; j++ {
		reqs = append(reqs, needOf(r, fmt.Sprintf("n_bench%06d", j)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan ledger.Request)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for req := range next {
				if _, _, err := l.Append(ctx, req); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, req := range reqs {
		next <- req
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	if err := srv.RunMatching(ctx); err != nil {
		b.Fatal(err)
	}

	k := 0
	for _, mode := range []string{"incremental", "from-scratch"} {
		b.Run(mode, func(b *testing.B) {
			var appending, running, cpu time.Duration
			n := 0
			for b.Loop() {
				k++
				id := fmt.Sprintf("n_new%06d", k)
				req := needOf(r, id)
				data := req.Data.(plenty.NeedPosting)
				data.Priority = 5 // the most urgent: it takes supply from others
				// at an offer of the load, so that it is reachable
				data.Location = reqs[r.IntN(32000)].Data.(plenty.OfferPosting).Location
				req.Data = data
				start := time.Now()
				if _, _, err := l.Append(ctx, req); err != nil {
					b.Fatal(err)
				}
				appending += time.Since(start)
				clk.Add(time.Second)
				if mode == "from-scratch" {
					srv.ForgetMatching()
				}
				start, cpu0 := time.Now(), cpuTime()
				if err := srv.RunMatching(ctx); err != nil {
					b.Fatal(err)
				}
				running += time.Since(start)
				cpu += cpuTime() - cpu0
				n++
				if !srv.ProposedFor(id) {
					b.Fatalf("need %s has no proposal", id)
				}
			}
			b.ReportMetric(float64(appending.Milliseconds())/float64(n), "append-ms/op")
			b.ReportMetric(float64(running.Milliseconds())/float64(n), "match-ms/op")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(n), "match-cpu-ms/op")
			st := srv.MatchingStats()
			b.ReportMetric(float64(st.Reused), "items-reused")
			b.ReportMetric(float64(st.Warm), "items-warm")
			b.ReportMetric(float64(st.Cold), "items-cold")
		})
	}
}
