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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := w.benchPair(i)
		w.tick()
		w.must(KindProposalAccepted, DelegateActor("d_m1"), ProposalDecision{p})
		w.tick()
		w.must(KindProposalAccepted, DelegateActor("d_b1"), ProposalDecision{p})
		w.tick()
		w.must(KindTransferRecorded, DelegateActor("d_b1"), TransferRecorded{AgreementID(p.ID), 10_000})
	}
	w.now = w.now.Add(31 * 24 * time.Hour)
	if err := w.volunteer("v_late", "late"); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportHeld(b, w, "exchange", map[string]int{"agreements-held": len(w.s.Agreements()), "transfers-held": len(w.s.Transfers())})
}

// BenchmarkEndedMandates folds b.N mandates, each issued by the assembly
// for a week under one of three labels of a council, and then recalled or,
// every other one, run out and recorded as expired; then reports what the
// state holds per mandate: its snapshot's bytes and the live heap, and the
// delegates still held (those of the world's councils).
func BenchmarkEndedMandates(b *testing.B) {
	w := newWorld(b)
	labels := []string{"Treasurer", "Buyer", "Scribe"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint("dx", i)
		g := grant(id, "c_bak", 100_000, AllScopes, w.now.Add(time.Hour))
		g.Label = labels[i%3]
		g.Mandate = "buy flour and oil for the bakery's week, within the budget the assembly set on Monday"
		w.tick()
		if err := w.issue(AssemblyActor("c_bak"), g); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			w.tick()
			w.must(KindDelegateRecalled, AssemblyActor("c_bak"), MandateRecall{"c_bak", id})
			continue
		}
		w.now = w.now.Add(time.Hour)
		w.must(KindMandateExpired, ActorHub, MandateExpired{id})
	}
	b.StopTimer()
	reportHeld(b, w, "mandate", map[string]int{"delegates-held": len(w.s.delegates)})
}

// BenchmarkStaleAcceptances folds b.N proposals that one council accepts
// and the other never does, each followed by the withdrawal of its offer,
// and reports what the state holds per proposal: its snapshot's bytes,
// the live heap, and the acceptances still held.
func BenchmarkStaleAcceptances(b *testing.B) {
	w := newWorld(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := w.benchPair(i)
		w.tick()
		w.must(KindProposalAccepted, DelegateActor("d_m1"), ProposalDecision{p})
		w.tick()
		w.must(KindOfferWithdrawn, DelegateActor("d_m1"), PostingClosed{ID: p.Offer})
		w.tick()
		w.must(KindNeedWithdrawn, DelegateActor("d_b1"), PostingClosed{ID: p.Need})
	}
	b.StopTimer()
	reportHeld(b, w, "proposal", map[string]int{"acceptances-held": len(w.s.acceptances)})
}

// reportHeld reports, per unit folded, what the world's state holds after a
// GC: its snapshot's bytes and the live heap; and held, how many entities
// of each kind the state still holds.
func reportHeld(b *testing.B, w *world, unit string, held map[string]int) {
	w.log = nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	snap, err := w.s.MarshalSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(snap))/float64(b.N), "snapshot-B/"+unit)
	b.ReportMetric(float64(m.HeapAlloc)/float64(b.N), "heap-B/"+unit)
	for name, n := range held {
		b.ReportMetric(float64(n), name)
	}
	runtime.KeepAlive(w)
}

// tick makes the next event come a second after the last one (w.event
// adds a minute).
func (w *world) tick() { w.now = w.now.Add(-59 * time.Second) }

// benchPair posts the benchmarks' i-th offer and need, a second apart, and
// returns the proposal that pairs them.
func (w *world) benchPair(i int) ProposalTerms {
	o, n := fmt.Sprint("ox", i), fmt.Sprint("nx", i)
	w.tick()
	w.offer(o, "d_m1", 10_000)
	w.tick()
	w.need(n, "d_b1", 10_000)
	return terms("px"+fmt.Sprint(i), o, n, 10_000)
}
