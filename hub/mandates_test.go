package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
)

// The insider attacks on mandates found through the API, tried again
// through it: each is refused with the field and the issuer's limit, and
// writes nothing.
func TestMandateAttacksThroughTheAPI(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	path := "/api/v1/councils/" + a.ID + "/delegates"
	// A delegate with the delegate scope and a 2-day term, co-signing
	// above 5.
	r := h.do("POST", path, a.Token, `{"label": "stores", "mandate": "m", "scopes": ["post", "accept", "delegate"],
		"cosign_above": "5", "expires_at": "2026-11-23T10:00:00Z"}`).want(t, 201)
	mid, midTok := r.str("delegate.id"), r.str("delegate.token")

	for _, c := range []struct{ name, body, field string }{
		{"RenewsItselfThroughAChild", `{"label": "x", "mandate": "m", "scopes": ["post"], "cosign_above": "5", "expires_at": "2026-11-28T10:00:00Z"}`, "expires_at"},
		{"ChildWithoutThreshold", `{"label": "x", "mandate": "m", "scopes": ["accept"], "cosign_above": "0"}`, "cosign_above"},
	} {
		t.Run(c.name, func(t *testing.T) {
			size := h.ledger.Size()
			res := h.do("POST", path, midTok, c.body).want(t, 422)
			if res.str("errors.0.field") != c.field || !strings.Contains(res.str("errors.0.message"), "issuer") {
				t.Fatalf("refusal %s", res.Raw)
			}
			if h.ledger.Size() != size {
				t.Fatal("a refused mandate was written")
			}
		})
	}
	// A post-only child may not hand on accept.
	r = h.do("POST", path, midTok, `{"label": "poster", "mandate": "m", "scopes": ["post", "delegate"], "cosign_above": "5"}`).want(t, 201)
	posterTok := r.str("delegate.token")
	size := h.ledger.Size()
	res := h.do("POST", path, posterTok, `{"label": "x", "mandate": "m", "scopes": ["accept"], "cosign_above": "5"}`).want(t, 422)
	if res.str("errors.0.field") != "scopes" || h.ledger.Size() != size {
		t.Fatalf("a scope beyond the issuer's: %s", res.Raw)
	}

	// The co-signature of one's own child does not count, and the
	// co-signer is told so.
	child := h.do("POST", path, midTok, `{"label": "child", "mandate": "m", "scopes": ["accept"], "cosign_above": "5"}`).want(t, 201).str("delegate.token")
	mill := h.register("Mill")
	h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := h.do("GET", "/api/v1/proposals?council="+a.ID, "", "").want(t, 200).str("proposals.0.id")
	h.do("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	h.do("POST", "/api/v1/proposals/"+p+"/accept", midTok, "").want(t, 200)
	size = h.ledger.Size()
	res = h.do("POST", "/api/v1/proposals/"+p+"/accept", child, "").want(t, 403)
	if !strings.Contains(res.str("detail"), "chain of issue") || h.ledger.Size() != size {
		t.Fatalf("a co-signature from the first acceptor's own child: %s", res.Raw)
	}

	// Recalling the middle mandate ends the ones issued under it at once.
	h.do("DELETE", path+"/"+mid, a.Token, "").want(t, 200)
	for _, tok := range []string{midTok, posterTok, child} {
		h.do("POST", "/api/v1/offers", tok, flourOffer).want(t, 401)
	}
	var ended []plenty.Delegate
	h.ledger.Read(func(st *plenty.State) error {
		for _, d := range st.CouncilDelegates(a.ID) {
			if d.RecallOf == mid {
				ended = append(ended, d)
			}
		}
		return nil
	})
	if len(ended) != 3 {
		t.Fatalf("%d mandates ended by the recall of %s, want 3", len(ended), mid)
	}
}

// TestEndedMandatesOverHTTP: a recalled mandate leaves the state with the
// ones issued under it, and an expired one once its expiry is recorded;
// once DuckDB holds them they are still listed on the council's record
// and page, their tokens are told why they stopped working, and a second
// recall, a renewal or a post by them is refused.
func TestEndedMandatesOverHTTP(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	path := "/api/v1/councils/" + a.ID + "/delegates"
	r := h.do("POST", path, a.Token, `{"label": "stores", "mandate": "keep the stores", "scopes": ["post", "delegate"]}`).want(t, 201)
	mid, midTok := r.str("delegate.id"), r.str("delegate.token")
	child := h.do("POST", path, midTok, `{"label": "runner", "mandate": "m", "scopes": ["post"]}`).want(t, 201).str("delegate.id")
	short := h.do("POST", path, a.Assembly, `{"label": "short", "mandate": "one hour", "scopes": ["post"], "expires_at": "2026-11-21T11:00:00Z"}`).
		want(t, 201)
	shortID, shortTok := short.str("delegate.id"), short.str("delegate.token")

	h.do("DELETE", path+"/"+mid, a.Token, "").want(t, 200)
	h.clock.Add(2 * time.Hour)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.settleDuckDB("ended")
	for id, why := range map[string]string{mid: plenty.EndedByRecall, child: plenty.EndedByRecall, shortID: plenty.EndedByExpiry} {
		var holds bool
		var gone string
		h.ledger.Read(func(st *plenty.State) error {
			holds = st.Holds("delegate", id)
			gone, _ = st.GoneStatus("delegate", id)
			return nil
		})
		if holds || gone != why {
			t.Fatalf("%s: held %v, gone as %q; want it gone as %q", id, holds, gone, why)
		}
	}

	// The council's record lists them from DuckDB, as they ended.
	listed := map[string]map[string]any{}
	for _, d := range h.do("GET", "/api/v1/councils/"+a.ID, "", "").want(t, 200).get("delegates").([]any) {
		listed[d.(map[string]any)["id"].(string)] = d.(map[string]any)
	}
	if len(listed) != 4 || listed[a.Delegate]["active"] != true {
		t.Fatalf("the council lists %v, want its first delegate in force and the three ended", listed)
	}
	for _, id := range []string{mid, child} {
		if d := listed[id]; d["active"] != false || d["recall_of"] != mid || d["recalled_by"] != "delegate:"+a.Delegate {
			t.Errorf("%s listed as %v, want recalled with %s", id, d, mid)
		}
	}
	if d := listed[shortID]; d["active"] != false || d["recalled_at"] != nil || d["expires_at"] != "2026-11-21T11:00:00Z" {
		t.Errorf("%s listed as %v, want expired", shortID, d)
	}
	if page := h.do("GET", "/councils/"+a.ID, "", ""); !strings.Contains(string(page.Raw), "keep the stores") {
		t.Error("the council's page does not show the recalled mandate")
	}

	// Their tokens say why they stopped, and nothing is written by or of
	// them.
	size := h.ledger.Size()
	if r := h.do("POST", "/api/v1/offers", midTok, flourOffer).want(t, 401); !strings.Contains(r.str("detail"), "was recalled at") {
		t.Errorf("a recalled token: %s", r.Raw)
	}
	if r := h.do("POST", "/api/v1/offers", shortTok, flourOffer).want(t, 401); !strings.Contains(r.str("detail"), "expired at 2026-11-21T11:00:00Z") {
		t.Errorf("an expired token: %s", r.Raw)
	}
	h.do("DELETE", path+"/"+mid, a.Token, "").want(t, 409)
	h.do("DELETE", path+"/"+child, a.Assembly, "").want(t, 409)
	h.do("POST", path+"/"+shortID+"/renew", a.Assembly, "").want(t, 409)
	if h.ledger.Size() != size {
		t.Fatalf("%d events written by or of ended mandates", h.ledger.Size()-size)
	}
}
