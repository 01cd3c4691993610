package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
)

// Every write of the API (but the assembly key's replacement, whose repeat
// carries the key it replaced, which no longer authenticates), sent twice
// with one Idempotency-Key: the first
// answer writes and is not marked; the repeat answers the same status,
// writes nothing and is marked Idempotent-Replayed: true; the key is echoed
// both times.
func TestEveryWriteReplays(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	x := h.agree() // an agreement between the mill and the bakers
	vid, vtok := h.volunteer("Ada", "")
	other := h.register("School")
	n := 0
	key := func() string { n++; return fmt.Sprintf("replay-key-%d", n) }

	type write struct {
		name                string
		method, path, token string
		body                string
		status              int
		before              func() // prepares the target, unkeyed
	}
	var delegate, offer, need, transfer, proposal, agreement string
	writes := []write{
		{name: "RegisterCouncil", method: "POST", path: "/api/v1/councils",
			body: `{"name": "Replay Co-op", "sector": "food", "place": "Bury", "location": {"lat": 53.59, "lon": -2.29}}`, status: 201},
		{name: "IssueDelegate", method: "POST", path: "/api/v1/councils/" + x.mill.ID + "/delegates", token: x.mill.Token,
			body: `{"label": "stores", "mandate": "post flour", "scopes": ["post"]}`, status: 201},
		{name: "RenewDelegate", method: "POST", token: x.mill.Assembly, status: 200, before: func() {
			delegate = h.do("POST", "/api/v1/councils/"+x.mill.ID+"/delegates", x.mill.Token,
				`{"label": "renewed", "mandate": "post", "scopes": ["post"]}`).want(t, 201).str("delegate.id")
		}},
		{name: "RecallDelegate", method: "DELETE", token: x.mill.Token, status: 200, before: func() {
			delegate = h.do("POST", "/api/v1/councils/"+x.mill.ID+"/delegates", x.mill.Token,
				`{"label": "recalled", "mandate": "post", "scopes": ["post"]}`).want(t, 201).str("delegate.id")
		}},
		{name: "DefineItem", method: "POST", path: "/api/v1/items", token: x.mill.Token,
			body: `{"code": "rye-bread", "name": "Rye bread", "dimension": "count"}`, status: 201},
		{name: "PostOffer", method: "POST", path: "/api/v1/offers", token: x.mill.Token, body: flourOffer, status: 201},
		{name: "WithdrawOffer", method: "POST", token: x.mill.Token, status: 200, before: func() {
			offer = h.do("POST", "/api/v1/offers", x.mill.Token, flourOffer).want(t, 201).str("offer.id")
		}},
		{name: "PostNeed", method: "POST", path: "/api/v1/needs", token: x.bakers.Token, body: flourNeed, status: 201},
		{name: "WithdrawNeed", method: "POST", token: x.bakers.Token, status: 200, before: func() {
			need = h.do("POST", "/api/v1/needs", x.bakers.Token, flourNeed).want(t, 201).str("need.id")
		}},
		{name: "DeclineProposal", method: "POST", token: other.Token, status: 200, before: func() {
			h.do("POST", "/api/v1/needs", other.Token, flourNeed).want(t, 201)
			if err := h.srv.RunMatching(context.Background()); err != nil {
				t.Fatal(err)
			}
			proposal = h.do("GET", "/api/v1/proposals?council="+other.ID, "", "").want(t, 200).str("proposals.0.id")
		}},
		{name: "VouchVolunteer", method: "POST", path: "/api/v1/volunteers/" + vid + "/vouch", token: x.mill.Token, status: 200},
		{name: "RegisterVolunteer", method: "POST", path: "/api/v1/volunteers", body: `{"handle": "Bo"}`, status: 201},
		{name: "OfferToCarry", method: "POST", path: "/api/v1/tasks/" + x.task + "/volunteer", token: vtok, status: 200},
		{name: "PickUp", method: "POST", path: "/api/v1/tasks/" + x.task + "/pickup", token: vtok, status: 200, before: func() {
			h.clock.Add(11 * time.Minute) // the window closes; Ada, the only candidate, is drawn
			if err := h.srv.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "DropOff", method: "POST", path: "/api/v1/tasks/" + x.task + "/dropoff", token: vtok, status: 200},
		{name: "AcceptProposal", method: "POST", token: other.Token, status: 200, before: func() {
			h.do("POST", "/api/v1/needs", other.Token, strings.Replace(flourNeed, `"80.5"`, `"20"`, 1)).want(t, 201)
			if err := h.srv.RunMatching(context.Background()); err != nil {
				t.Fatal(err)
			}
			proposal = h.do("GET", "/api/v1/proposals?council="+other.ID, "", "").want(t, 200).str("proposals.0.id")
		}},
		{name: "WithdrawAcceptance", method: "POST", token: other.Token, status: 200},
		{name: "CancelAgreement", method: "POST", token: x.mill.Token, status: 200, before: func() {
			h.do("POST", "/api/v1/proposals/"+proposal+"/accept", other.Token, "").want(t, 200)
			agreement = h.do("POST", "/api/v1/proposals/"+proposal+"/accept", x.mill.Token, "").want(t, 200).str("agreement.id")
		}},
		{name: "ConfirmReceipt", method: "POST", path: "/api/v1/agreements/" + x.agreement + "/receipt", token: x.bakers.Token,
			body: `{"quantity": "80"}`, status: 201},
		{name: "CorrectReceipt", method: "POST", token: x.bakers.Token, body: `{"quantity": "80.5"}`, status: 201, before: func() {
			transfer = plenty.TransferID(x.agreement)
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if w.before != nil {
				w.before()
			}
			path := w.path
			switch w.name {
			case "RenewDelegate":
				path = "/api/v1/councils/" + x.mill.ID + "/delegates/" + delegate + "/renew"
			case "RecallDelegate":
				path = "/api/v1/councils/" + x.mill.ID + "/delegates/" + delegate
			case "WithdrawOffer":
				path = "/api/v1/offers/" + offer + "/withdraw"
			case "WithdrawNeed":
				path = "/api/v1/needs/" + need + "/withdraw"
			case "DeclineProposal":
				path = "/api/v1/proposals/" + proposal + "/decline"
			case "AcceptProposal":
				path = "/api/v1/proposals/" + proposal + "/accept"
			case "WithdrawAcceptance":
				path = "/api/v1/proposals/" + proposal + "/withdraw-acceptance"
			case "CancelAgreement":
				path = "/api/v1/agreements/" + agreement + "/cancel"
			case "CorrectReceipt":
				path = "/api/v1/transfers/" + transfer + "/correction"
			}
			k := key()
			size := h.ledger.Size()
			first := h.do(w.method, path, w.token, w.body, "Idempotency-Key", k).want(t, w.status)
			if h.ledger.Size() != size+1 {
				t.Fatalf("the first request wrote %d events, want 1", h.ledger.Size()-size)
			}
			if first.Header.Get("Idempotent-Replayed") != "" || first.Header.Get("Idempotency-Key") != k {
				t.Fatalf("first answer headers: replayed %q, key %q", first.Header.Get("Idempotent-Replayed"), first.Header.Get("Idempotency-Key"))
			}
			again := h.do(w.method, path, w.token, w.body, "Idempotency-Key", k).want(t, w.status)
			if h.ledger.Size() != size+1 {
				t.Fatalf("the repeat wrote %d events", h.ledger.Size()-size-1)
			}
			if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Idempotency-Key") != k {
				t.Fatalf("repeat answer headers: replayed %q, key %q", again.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotency-Key"))
			}
		})
	}
}
