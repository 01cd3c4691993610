package plenty

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestLifecycleBalances applies random sequences of accepts, declines,
// cancellations, receipts and corrections over two offers and three needs.
// Whatever is accepted or refused, no Remaining goes negative, every offer
// and need balances (posted = remaining + reserved + spent, computed here
// from the public accessors), and a refused event changes nothing.
func TestLifecycleBalances(t *testing.T) {
	runs, steps := 80, 60
	applied := map[string]int{} // kind → events accepted, over all runs
	if testing.Short() {
		runs = 20
	}
	for run := 0; run < runs; run++ {
		rng := rand.New(rand.NewPCG(uint64(run), 7))
		w := newWorld(t)
		w.correcting()
		w.s.OnChange(func(Change) {}) // keeps what leaves, for tallyMatchesDocs
		w.offer("o2", "d_m1", 40_000)
		w.need("n3", "d_b2", 60_000)
		offers, needs := []string{"o1", "o2"}, []string{"n1", "n2", "n3"}
		delegates := []string{"d_m1", "d_b1", "d_b2", "d_b3"}
		// Proposals as an engine might have computed them at various
		// times: some overlap and together exceed what is posted.
		pool := make([]ProposalTerms, 16)
		for i := range pool {
			pool[i] = ProposalTerms{
				ID:    fmt.Sprintf("p%d", i),
				Offer: offers[rng.IntN(len(offers))], Need: needs[rng.IntN(len(needs))],
				Quantity: Amount(1+rng.IntN(150)) * 1000, Engine: "test", DistanceKm: 4.7,
			}
		}
		var log []string
		for step := 0; step < steps; step++ {
			before := snapshot(w.s)
			var ev Event
			switch op := rng.IntN(10); {
			case op < 5:
				p := pool[rng.IntN(len(pool))]
				kind := KindProposalAccepted
				if op == 4 && rng.IntN(2) == 0 {
					kind = KindProposalDeclined
				}
				ev = w.event(kind, DelegateActor(delegates[rng.IntN(len(delegates))]), ProposalDecision{p})
			case op < 6:
				a := randomAgreement(w.s, rng)
				actor, reason := DelegateActor(delegates[rng.IntN(len(delegates))]), CancelWithdrawn
				if rng.IntN(2) == 0 {
					actor, reason = ActorHub, CancelExpired
				}
				ev = w.event(KindAgreementCancelled, actor, AgreementCancellation{a, reason})
			case op < 8:
				by := "d_b1"
				if rng.IntN(4) == 0 {
					by = delegates[rng.IntN(len(delegates))]
				}
				id := randomAgreement(w.s, rng)
				ev = w.event(KindTransferRecorded, DelegateActor(by), TransferRecorded{id, around(w.s, id, rng)})
			default:
				ts := w.s.Transfers()
				if len(ts) == 0 {
					continue
				}
				tr := ts[rng.IntN(len(ts))]
				ev = w.event(KindCorrectionRecorded, DelegateActor("d_b1"), CorrectionRecorded{tr.ID, around(w.s, tr.Agreement, rng)})
			}
			err := w.s.Apply(ev)
			log = append(log, fmt.Sprintf("%s %s %s → %v", ev.Kind, ev.Actor, ev.Data, err))
			if err != nil {
				if ErrorCode(err) == EINTERNAL {
					t.Fatalf("run %d: internal error: %v", run, err)
				}
				if after := snapshot(w.s); after != before {
					t.Fatalf("run %d: refused event changed the state:\n%s", run, strings.Join(log, "\n"))
				}
				continue
			}
			applied[ev.Kind]++
			if msg := balances(w.s); msg != "" {
				t.Fatalf("run %d step %d: %s\n%s", run, step, msg, strings.Join(log, "\n"))
			}
		}
		if err := w.s.CheckBalances(); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		// The running totals agree with every document the events made;
		// once every receipt is final and its agreement left the state,
		// they read the same.
		if msg := tallyMatchesDocs(w.s); msg != "" {
			t.Fatalf("run %d: %s\n%s", run, msg, strings.Join(log, "\n"))
		}
		all := w.s.Transfers()
		slices.SortFunc(all, func(a, b Transfer) int {
			if c := b.RecordedAt.Compare(a.RecordedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		if got := w.s.NewestTransfers(3, nil); !reflect.DeepEqual(got, all[:min(3, len(all))]) {
			t.Fatalf("run %d: newest transfers %v, want %v", run, got, all[:min(3, len(all))])
		}
		before := readingsOf(w.s, w.now)
		w.later(DefaultCorrectionWindow, "v_later")
		if len(w.s.agreements) != countActive(w.s) || len(w.s.transfers) != 0 {
			t.Fatalf("run %d: %d agreements (%d active) and %d transfers live after the window", run, len(w.s.agreements), countActive(w.s), len(w.s.transfers))
		}
		after := readingsOf(w.s, before.Figures.AsOf)
		if !reflect.DeepEqual(before.Accounts, after.Accounts) || before.Outstanding != after.Outstanding ||
			!reflect.DeepEqual(before.Flows, after.Flows) || before.Figures.NeedsMet != after.Figures.NeedsMet ||
			before.Figures.Received != after.Figures.Received || before.Figures.Flows != after.Figures.Flows ||
			before.Figures.MedianHoursToMeet != after.Figures.MedianHoursToMeet {
			t.Fatalf("run %d: readings changed as agreements left:\n before %+v\n after  %+v", run, before, after)
		}
		if msg := tallyMatchesDocs(w.s); msg != "" {
			t.Fatalf("run %d after the window: %s", run, msg)
		}
		if err := w.s.CheckBalances(); err != nil {
			t.Fatalf("run %d after the window: %v", run, err)
		}
		for offer, need := range w.s.ClosedPairs() {
			if w.s.offers[offer] == nil || w.s.needs[need] == nil {
				t.Fatalf("run %d: closed pair %s/%s outlives a posting", run, offer, need)
			}
		}
		if n := w.s.index.tasks.len(); n != len(w.s.tasks) || len(w.s.Tasks("")) != n {
			t.Fatalf("run %d: the task index holds %d ids, the state %d tasks", run, n, len(w.s.tasks))
		}
	}
	// The sequences must reach every branch, or the invariants were not
	// exercised.
	for _, k := range []string{KindProposalAccepted, KindProposalDeclined, KindAgreementCancelled, KindTransferRecorded, KindCorrectionRecorded} {
		if applied[k] < runs/4 {
			t.Errorf("only %d %s events applied in %d runs: %v", applied[k], k, runs, applied)
		}
	}
	t.Logf("applied: %v", applied)
}

// around returns a quantity from 0 to 120% of an agreement's, in whole kg.
func around(s *State, agreement string, rng *rand.Rand) Amount {
	a, _ := s.Agreement(agreement)
	return Amount(rng.IntN(int(a.Quantity/1000)*6/5+1)) * 1000
}

func randomAgreement(s *State, rng *rand.Rand) string {
	as := s.Agreements()
	if len(as) == 0 {
		return "none"
	}
	return as[rng.IntN(len(as))].ID
}

// snapshot is every entity's document and the received bookkeeping, so
// two snapshots compare a state's content.
func snapshot(s *State) string {
	var b strings.Builder
	for _, c := range s.Entities() {
		doc, _ := s.Doc(c)
		fmt.Fprintf(&b, "%s %s %s\n", c.Kind, c.ID, doc)
	}
	var recv []string
	for id, q := range s.received {
		recv = append(recv, fmt.Sprintf("received %s %d\n", id, q))
	}
	sort.Strings(recv)
	return b.String() + strings.Join(recv, "")
}

// balances recomputes the invariants from the public accessors only.
func balances(s *State) string {
	held := map[string]Amount{}
	recv := map[string]Amount{}
	for _, tr := range s.Transfers() {
		recv[tr.Agreement] += tr.Quantity
	}
	for _, a := range s.Agreements() {
		switch a.Status {
		case AgreementActive:
			held[a.Offer] += a.Quantity
			held[a.Need] += a.Quantity
			if recv[a.ID] != 0 {
				return fmt.Sprintf("active agreement %s has transfers", a.ID)
			}
		case AgreementReceived:
			held[a.Offer] += a.Quantity
			held[a.Need] += recv[a.ID]
			if recv[a.ID] < 0 || recv[a.ID] > a.Quantity {
				return fmt.Sprintf("agreement %s received %s of %s agreed", a.ID, recv[a.ID], a.Quantity)
			}
		}
	}
	for _, o := range s.Offers() {
		if o.Remaining < 0 || o.Remaining+held[o.ID] != o.Quantity {
			return fmt.Sprintf("offer %s: remaining %s + held %s ≠ %s", o.ID, o.Remaining, held[o.ID], o.Quantity)
		}
		if (o.Remaining == 0) != (o.Status == StatusFulfilled) {
			return fmt.Sprintf("offer %s: remaining %s but status %s", o.ID, o.Remaining, o.Status)
		}
	}
	for _, n := range s.Needs() {
		if n.Remaining < 0 || n.Remaining+held[n.ID] != n.Quantity {
			return fmt.Sprintf("need %s: remaining %s + held %s ≠ %s", n.ID, n.Remaining, held[n.ID], n.Quantity)
		}
		if (n.Remaining == 0) != (n.Status == StatusFulfilled) {
			return fmt.Sprintf("need %s: remaining %s but status %s", n.ID, n.Remaining, n.Status)
		}
	}
	return ""
}
