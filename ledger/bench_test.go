package ledger_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plentyhub/plenty/ledger"
)

// BenchmarkAppend measures durable appends per second at 1, 8 and 64
// concurrent writers, with group commit and with one transaction per
// event, and reports the p50 and p99 acknowledgement latency.
//
//	go test -run '^$' -bench BenchmarkAppend -benchtime 5s ./ledger/
func BenchmarkAppend(b *testing.B) {
	ledger.CheckPayloads(false)
	defer ledger.CheckPayloads(true)
	for _, mode := range []string{"group", "single"} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				l, err := ledger.Open(b.TempDir(), ledger.Options{SingleCommit: mode == "single"})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				benchAppend(b, l, writers)
			})
		}
	}
}

func benchAppend(b *testing.B, l *ledger.Ledger, writers int) {
	ctx := context.Background()
	lat := make([][]time.Duration, writers)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t := time.Now()
				if _, _, err := l.Append(ctx, councilRequest("b", int(i))); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}
