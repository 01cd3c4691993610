package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/matching"
)

// byItem splits proposals by item.
func byItem(ps []plenty.Proposal) map[string][]plenty.Proposal {
	out := map[string][]plenty.Proposal{}
	for _, p := range ps {
		out[p.Item] = append(out[p.Item], p)
	}
	return out
}

func (h *testHub) runMatching(t *testing.T) matching.Stats {
	t.Helper()
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h.srv.MatchingStats()
}

// A new need for one item re-solves that item only: the other item's
// solve is reused and its proposals are the very ones served before.
func TestMatchingSolvesOnlyChangedItems(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	mill, a, b := h.register("Mill"), h.register("A"), h.register("B")
	items := h.do("GET", "/api/v1/items", "", "").want(t, 200).get("items").([]any)
	code := func(i int) (string, string) {
		it := items[i].(map[string]any)
		return it["code"].(string), it["unit"].(string)
	}
	c0, u0 := code(0)
	c1, u1 := code(1)
	post := func(kind string, c council, item, unit string, q, prio int) {
		body := fmt.Sprintf(`{"item": %q, "quantity": "%d", "unit": %q}`, item, q, unit)
		if kind == "needs" {
			body = fmt.Sprintf(`{"item": %q, "quantity": "%d", "unit": %q, "priority": %d}`, item, q, unit, prio)
		}
		h.do("POST", "/api/v1/"+kind, c.Token, body).want(t, 201)
	}
	post("offers", mill, c0, u0, 100, 0)
	post("offers", mill, c1, u1, 100, 0)
	post("needs", a, c0, u0, 60, 3)
	post("needs", b, c1, u1, 60, 3)
	if st := h.runMatching(t); st != (matching.Stats{Cold: 2}) {
		t.Fatalf("first run: %+v, want both items solved cold", st)
	}
	before := byItem(servedProposals(t, h))
	if len(before[c0]) != 1 || len(before[c1]) != 1 {
		t.Fatalf("first run proposes %v", before)
	}

	h.clock.Add(time.Minute)
	if st := h.runMatching(t); st != (matching.Stats{Reused: 2}) {
		t.Fatalf("a run with nothing changed: %+v, want both items reused", st)
	}

	h.clock.Add(time.Minute)
	post("needs", b, c0, u0, 60, 5) // more urgent than A's need of the same item
	if st := h.runMatching(t); st != (matching.Stats{Reused: 1, Warm: 1}) {
		t.Fatalf("after a new need of %s: %+v, want %s reused and %s solved warm", c0, st, c1, c0)
	}
	after := byItem(servedProposals(t, h))
	if !reflect.DeepEqual(after[c1], before[c1]) {
		t.Fatalf("the untouched item's proposals changed:\n%+v\n%+v", before[c1], after[c1])
	}
	var got []string
	for _, p := range after[c0] {
		got = append(got, fmt.Sprintf("%s→%s %s", p.Provider, p.Receiver, p.Quantity))
	}
	want := []string{mill.ID + "→" + a.ID + " 40", mill.ID + "→" + b.ID + " 60"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after the urgent need, %s proposals %v, want %v", c0, got, want)
	}
}

// currentProposals returns the proposals of the last run with the ledger
// size and the time it names.
func currentProposals(t *testing.T, h *testHub) ([]plenty.Proposal, int64, time.Time) {
	t.Helper()
	r := h.do("GET", "/api/v1/proposals", "", "").want(t, 200)
	var out struct {
		Proposals  []plenty.Proposal
		LedgerSize int64     `json:"ledger_size"`
		ComputedAt time.Time `json:"computed_at"`
	}
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Proposals, out.LedgerSize, out.ComputedAt
}

// After a sequence of incremental runs (new offers and needs, declines,
// withdrawals, acceptances), the proposals served are exactly those a
// from-scratch solve of the log at the run's ledger size and time gives:
// the same set of IDs (which hash the pair, the remainders and the
// quantity), and each served proposal replays equal.
func TestProposalsReplayAfterIncrementalRuns(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	demo, err := hub.LoadDemo(context.Background(), h.ledger, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, d := range demo {
		tokens[d.Council] = d.Token
	}
	units := map[string]string{}
	for _, it := range h.do("GET", "/api/v1/items", "", "").want(t, 200).get("items").([]any) {
		it := it.(map[string]any)
		units[it["code"].(string)] = it["unit"].(string)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var total matching.Stats
	for step := 0; step < 16; step++ {
		h.clock.Add(time.Minute)
		st := h.runMatching(t)
		total.Reused += st.Reused
		total.Warm += st.Warm
		total.Cold += st.Cold
		served, size, at := currentProposals(t, h)
		if len(served) < 10 {
			t.Fatalf("step %d: %d proposals; want a real test", step, len(served))
		}
		state := plenty.NewState()
		if err := h.ledger.Events(context.Background(), 0, size, state.Apply); err != nil {
			t.Fatal(err)
		}
		fresh, err := matching.Propose(matching.InputOf(state, at))
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs, wantIDs []string
		for _, p := range served {
			gotIDs = append(gotIDs, p.ID)
		}
		for _, p := range fresh {
			wantIDs = append(wantIDs, p.ID)
		}
		slices.Sort(gotIDs)
		slices.Sort(wantIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Fatalf("step %d (%+v): %d proposals served, a from-scratch solve at size %d gives %d, not the same", step, st, len(gotIDs), size, len(wantIDs))
		}
		if got := replay(t, h, served); !reflect.DeepEqual(got, served) {
			t.Fatalf("step %d: replayed proposals differ from those served", step)
		}

		// One change before the next run, on an item that has proposals.
		p := served[r.IntN(len(served))]
		switch step % 4 {
		case 0: // a new need, more urgent, of a council that does not supply it
			body := fmt.Sprintf(`{"item": %q, "quantity": "%s", "unit": %q, "priority": 5}`, p.Item, p.Quantity, units[p.Item])
			h.do("POST", "/api/v1/needs", tokens[p.Receiver], body).want(t, 201)
		case 1: // a new offer
			body := fmt.Sprintf(`{"item": %q, "quantity": "%s", "unit": %q}`, p.Item, p.Quantity, units[p.Item])
			h.do("POST", "/api/v1/offers", tokens[p.Provider], body).want(t, 201)
		case 2: // the receiver declines a proposal
			h.do("POST", "/api/v1/proposals/"+p.ID+"/decline", tokens[p.Receiver], "").want(t, 200)
		case 3: // both accept one: an agreement lowers what is left
			h.do("POST", "/api/v1/proposals/"+p.ID+"/accept", tokens[p.Provider], "").want(t, 200)
			h.do("POST", "/api/v1/proposals/"+p.ID+"/accept", tokens[p.Receiver], "").want(t, 200)
		}
	}
	// The runs after the first were incremental: most items reused, the
	// changed ones solved again.
	if total.Reused < 10*total.Warm || total.Warm+total.Cold < 15 {
		t.Fatalf("runs did %+v; want most items reused and one or more solved per run", total)
	}
	t.Logf("%+v", total)
}
