// Command loadtest measures the hub: offers posted per second over
// loopback HTTP with concurrent keep-alive connections, their latency, and
// for comparison, in the same run, GET /healthz from the same client (the
// floor of an HTTP request here) and the ledger's in-process append rate.
//
// It starts its own hub on 127.0.0.1 with a temporary data folder and
// talks to nothing else. Both phases are bounded by -n and -max.
//
//	go run ./hub/loadtest -n 100000 -c 64
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

func main() {
	n := flag.Int("n", 100_000, "offers to post over HTTP (and to append in process)")
	conns := flag.Int("c", 64, "concurrent connections (and appending goroutines)")
	maxTime := flag.Duration("max", time.Minute, "stop each phase after this long")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the HTTP phase to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *conns, *maxTime); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(n, conns int, maxTime time.Duration) error {
	dir, err := os.MkdirTemp("", "plenty-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.Open(dir, ledger.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := hub.SeedCatalog(ctx, l); err != nil {
		return err
	}
	srv := hub.New(l, hub.Config{Logger: quiet, WriteRate: 1e9, WriteBurst: 1e9, AddrRate: 1e9, AddrBurst: 1e9,
		RegisterRate: 1e9, RegisterBurst: 1e9})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	addr := ln.Addr().String()
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	// One council per connection, so that no token is shared.
	tokens := make([]string, conns)
	for i := range tokens {
		body := fmt.Sprintf(`{"name": "Load Council %d", "sector": "food", "place": "Riverside", "location": {"lat": 51.46, "lon": -0.11}}`, i)
		res, err := post(client, "/api/v1/councils", "", body)
		if err != nil {
			return err
		}
		tokens[i] = jsonString(res, "token")
	}

	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	before := l.Stats()
	offersRate, all, fails := hammer(client, n, conns, maxTime, 201, func(req *fasthttp.Request, w int) {
		req.SetRequestURI("http://" + addr + "/api/v1/offers")
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[w])
		req.SetBodyString(`{"item": "wheat-flour", "quantity": "250", "unit": "kg", "max_distance_km": 40, "note": "stone-milled"}`)
	})
	after := l.Stats()
	if len(all) == 0 {
		return fmt.Errorf("no request was sent")
	}
	batches := after.Batches - before.Batches
	events := after.CommittedEvent - before.CommittedEvent
	fmt.Printf("http: %d offers posted (%d failed) over %d connections: %.0f offers/s\n",
		int64(len(all))-fails, fails, conns, offersRate)
	fmt.Printf("http latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		ms(all[len(all)/2]), ms(all[len(all)*90/100]), ms(all[len(all)*99/100]), ms(all[len(all)-1]))
	if batches > 0 {
		fmt.Printf("ledger during http: %d DuckDB commits, %.1f events per commit\n", batches, float64(events)/float64(batches))
	}

	// The floor: GET /healthz, as many requests, from the same client.
	healthRate, hlat, hfails := hammer(client, n, conns, maxTime, 200, func(req *fasthttp.Request, _ int) {
		req.SetRequestURI("http://" + addr + "/healthz")
	})
	fmt.Printf("healthz: %d requests (%d failed) over %d connections: %.0f requests/s; p50 %.2f ms, p99 %.2f ms\n",
		len(hlat), hfails, conns, healthRate, ms(hlat[len(hlat)/2]), ms(hlat[len(hlat)*99/100]))
	fmt.Printf("offers / healthz: %.1f%%\n", 100*offersRate/healthRate)

	// The same ledger, appended to in process with as many goroutines.
	var council string
	l.Read(func(st *plenty.State) error {
		council = st.Councils()[0].ID
		return nil
	})
	var d plenty.Delegate
	l.Read(func(st *plenty.State) error { d = st.CouncilDelegates(council)[0]; return nil })
	var next, seq, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(maxTime)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				now := time.Now().UTC()
				o := plenty.OfferPosting{ID: fmt.Sprintf("load-%d", seq.Add(1)), Council: council, Item: "wheat-flour",
					Quantity: 250000, AvailableFrom: now, AvailableUntil: now.Add(24 * time.Hour),
					MaxDistanceKm: 40, ExpiresAt: now.Add(24 * time.Hour)}
				if _, _, err := l.Append(ctx, ledger.Request{Kind: plenty.KindOfferPosted, Actor: plenty.DelegateActor(d.ID),
					Data: o}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	appended := seq.Load() - failed.Load()
	fmt.Printf("in process: %d offers appended (%d failed) by %d goroutines in %.2fs: %.0f appends/s\n",
		appended, failed.Load(), conns, elapsed.Seconds(), float64(appended)/elapsed.Seconds())
	fmt.Printf("ledger size at the end: %d events\n", l.Size())
	return nil
}

// hammer sends up to n requests, each filled in by fill for connection w,
// over conns connections for at most maxTime, and returns the rate of those
// answered with status want, every latency sorted, and the failures.
func hammer(client *fasthttp.HostClient, n, conns int, maxTime time.Duration, want int, fill func(req *fasthttp.Request, w int)) (float64, []time.Duration, int64) {
	lat := make([][]time.Duration, conns)
	var next, fails atomic.Int64
	deadline := time.Now().Add(maxTime)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			for next.Add(1) <= int64(n) && time.Now().Before(deadline) {
				req.Reset()
				fill(req, w)
				t := time.Now()
				err := client.Do(req, res)
				lat[w] = append(lat[w], time.Since(t))
				if err != nil || res.StatusCode() != want {
					fails.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return float64(int64(len(all))-fails.Load()) / elapsed.Seconds(), all, fails.Load()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func post(c *fasthttp.HostClient, path, token, body string) ([]byte, error) {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI("http://" + c.Addr + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.SetBodyString(body)
	if err := c.Do(req, res); err != nil {
		return nil, err
	}
	if res.StatusCode() >= 300 {
		return nil, fmt.Errorf("POST %s: %d %s", path, res.StatusCode(), res.Body())
	}
	return append([]byte(nil), res.Body()...), nil
}

// jsonString finds "key":"value" in a flat scan; enough for a token.
func jsonString(b []byte, key string) string {
	k := []byte(`"` + key + `":"`)
	for i := 0; i+len(k) <= len(b); i++ {
		if string(b[i:i+len(k)]) == string(k) {
			rest := b[i+len(k):]
			for j, c := range rest {
				if c == '"' {
					return string(rest[:j])
				}
			}
		}
	}
	return ""
}
