package plenty

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkFinishedExchanges folds b.N whole exchanges (an offer and a
// need posted, both councils accept, the receipt is confirmed), then a
// month passes, and reports what the state holds once every receipt is
// final: its snapshot's bytes and the live heap, per exchange, and the
// agreements and transfers still held.
func BenchmarkFinishedExchanges(b *testing.B) {
	w := newWorld(b)
	w.correcting()
	tick := func() { w.now = w.now.Add(-59 * time.Second) } // a second between events
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, n := fmt.Sprint("ox", i), fmt.Sprint("nx", i)
		tick()
		w.offer(o, "d_m1", 10_000)
		tick()
		w.need(n, "d_b1", 10_000)
		p := terms("px"+fmt.Sprint(i), o, n, 10_000)
		tick()
		w.must(KindProposalAccepted, DelegateActor("d_m1"), ProposalDecision{p})
		tick()
		w.must(KindProposalAccepted, DelegateActor("d_b1"), ProposalDecision{p})
		tick()
		w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{AgreementID(p.ID), 10_000})
	}
	w.now = w.now.Add(31 * 24 * time.Hour)
	if err := w.volunteer("v_late", "late"); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	w.log = nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	snap, err := w.s.MarshalSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(snap))/float64(b.N), "snapshot-B/exchange")
	b.ReportMetric(float64(m.HeapAlloc)/float64(b.N), "heap-B/exchange")
	b.ReportMetric(float64(len(w.s.Agreements())), "agreements-held")
	b.ReportMetric(float64(len(w.s.Transfers())), "transfers-held")
	runtime.KeepAlive(w)
}
