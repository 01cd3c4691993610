package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/federation"
	"github.com/plentyhub/plenty/hub"
)

// TestClosedPostingsOverHTTP reads, lists and acts on offers that closed
// and left the state, once DuckDB holds their last document.
func TestClosedPostingsOverHTTP(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a, b := h.register("Riverside Bakers"), h.register("Hill Millers")
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201).str("offer.id"))
		h.clock.Add(time.Millisecond)
	}
	for _, id := range ids[:2] {
		h.do("POST", "/api/v1/offers/"+id+"/withdraw", a.Token, "").want(t, 200)
	}
	ctx := context.Background()
	if _, err := h.ledger.TreeHash(ctx, h.ledger.Size()); err != nil { // waits for DuckDB
		t.Fatal(err)
	}
	h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201) // the next batch drops what DuckDB holds
	var holds, gone bool
	h.ledger.Read(func(st *plenty.State) error {
		holds, gone = st.Holds("offer", ids[0]), st.Gone("offer", ids[0])
		return nil
	})
	if holds || !gone {
		t.Fatalf("state holds %s: %v, gone %v; want gone and not held", ids[0], holds, gone)
	}

	r := h.do("GET", "/api/v1/offers/"+ids[0], "", "").want(t, 200)
	if r.str("offer.status") != "withdrawn" || r.str("offer.remaining") != "250" || r.str("offer.unit") != "kg" || r.str("offer.council") != a.ID {
		t.Errorf("GET of a closed offer = %s", r.Raw)
	}
	list := func(q string) string {
		var seen []string
		cursor := ""
		for page := 0; page < 10; page++ {
			r := h.do("GET", "/api/v1/offers?limit=1&"+q+"&cursor="+cursor, "", "").want(t, 200)
			for _, o := range r.get("offers").([]any) {
				seen = append(seen, o.(map[string]any)["id"].(string)+":"+o.(map[string]any)["status"].(string))
			}
			if cursor = r.str("next_cursor"); cursor == "" {
				break
			}
		}
		return strings.Join(seen, ",")
	}
	if got, want := list("council="+a.ID), ids[0]+":withdrawn,"+ids[1]+":withdrawn,"+ids[2]+":open"; got != want {
		t.Errorf("offers of %s: %s, want %s", a.ID, got, want)
	}
	if got, want := list("status=withdrawn"), ids[0]+":withdrawn,"+ids[1]+":withdrawn"; got != want {
		t.Errorf("withdrawn offers: %s, want %s", got, want)
	}
	if got := list("council=" + b.ID); got != "" {
		t.Errorf("offers of %s: %s, want none", b.ID, got)
	}
	size := h.ledger.Size()
	// Acting on it is refused as on any closed offer: another council's
	// delegate is forbidden, its own is told it is not open.
	h.do("POST", "/api/v1/offers/"+ids[0]+"/withdraw", b.Token, "").want(t, 403)
	if r := h.do("POST", "/api/v1/offers/"+ids[0]+"/withdraw", a.Token, "").want(t, 409); !strings.Contains(string(r.Raw), "is withdrawn, not open") {
		t.Errorf("second withdrawal: %s", r.Raw)
	}
	if h.ledger.Size() != size {
		t.Errorf("refusals wrote %d events", h.ledger.Size()-size)
	}
	h.do("GET", "/api/v1/offers/o_nope", "", "").want(t, 404)
}

// TestUnfederatedStartRemembersItsNeighbours: a hub without neighbours
// records that it has none, so that the next start does not read the
// whole log to find the last neighbours event (it took 6 s of a restart at
// 1M events), and writes no event for it.
func TestUnfederatedStartRemembersItsNeighbours(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	size := h.ledger.Size()
	if err := h.srv.Federate(context.Background(), hub.FedConfig{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(h.ledger.Dir(), "neighbours.recorded.json"))
	want, _ := plenty.CanonicalJSON((&federation.Policy{}).Neighbours())
	if err != nil || string(b) != string(want) {
		t.Fatalf("neighbours record = %q, %v; want %q", b, err, want)
	}
	if h.ledger.Size() != size {
		t.Fatalf("a hub without neighbours wrote %d events", h.ledger.Size()-size)
	}
}

// TestReplayOfAPostThatLeft repeats, with its Idempotency-Key, the post of
// an offer that has since been withdrawn and left the state: the replay
// answers with the offer as it is now, read from DuckDB.
func TestReplayOfAPostThatLeft(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	first := h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Idempotency-Key", "gone-1").want(t, 201)
	id := first.str("offer.id")
	h.do("POST", "/api/v1/offers/"+id+"/withdraw", a.Token, "").want(t, 200)
	if _, err := h.ledger.TreeHash(context.Background(), h.ledger.Size()); err != nil { // waits for DuckDB
		t.Fatal(err)
	}
	h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201) // the next batch drops what DuckDB holds
	var holds bool
	h.ledger.Read(func(st *plenty.State) error { holds = st.Holds("offer", id); return nil })
	if holds {
		t.Fatalf("the state still holds %s", id)
	}
	again := h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Idempotency-Key", "gone-1").want(t, 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || again.str("offer.id") != id ||
		again.str("offer.status") != "withdrawn" || again.str("offer.remaining") != "250" {
		t.Errorf("replay = %s (%s)", again.Raw, again.Header.Get("Idempotent-Replayed"))
	}
}
