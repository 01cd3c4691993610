package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty/hub"
)

// The three classes of a refused body each have their own problem type,
// title and code: a body that is not JSON at all (400), a body not sent as
// JSON (415, a form post included, which curl -d sends by default) and a
// field that failed (422). None of them writes anything.
func TestProblemClassesAreDistinct(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	tests := []struct {
		name, body, ctype string
		status            int
		code, title, says string
	}{
		{"FormPost", "item=wheat-flour&quantity=1&unit=kg", "application/x-www-form-urlencoded", 415,
			"unsupported_media_type", "Unsupported media type", `Content-Type: application/json`},
		{"NoContentType", flourOffer, "", 415, "unsupported_media_type", "Unsupported media type", "no Content-Type"},
		{"PlainText", flourOffer, "text/plain", 415, "unsupported_media_type", "Unsupported media type", `"text/plain"`},
		{"NotJSON", "item=wheat-flour", "application/json", 400, "malformed", "Malformed request", "not valid JSON"},
		{"FieldFailed", `{"item": "wheat-flour", "quantity": "0", "unit": "kg"}`, "application/json", 422,
			"invalid", "Invalid request", "quantity must be greater than 0"},
	}
	types := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := h.ledger.Size()
			// do sets application/json on a body; an empty value removes it.
			r := h.do("POST", "/api/v1/offers", a.Token, tt.body, "Content-Type", tt.ctype).want(t, tt.status)
			if r.str("code") != tt.code || r.str("type") != "urn:plenty:problem:"+tt.code || r.str("title") != tt.title {
				t.Errorf("problem = %s, want code and type %s, title %q", r.Raw, tt.code, tt.title)
			}
			if !strings.Contains(r.str("detail"), tt.says) {
				t.Errorf("detail %q lacks %q", r.str("detail"), tt.says)
			}
			if h.ledger.Size() != size {
				t.Errorf("the refusal wrote %d events", h.ledger.Size()-size)
			}
			types[r.str("type")] = tt.name
		})
	}
	if len(types) != 3 {
		t.Errorf("problem types %v, want three distinct", types)
	}
}

// A unit of another dimension is named once, as the unit field, in a
// sentence that reads after the field's name.
func TestUnitRefusalReadsOnce(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	for _, tt := range []struct{ unit, want string }{
		{"l", `unit "l" measures volume, but this item is measured by mass; use one of: kg, g, t`},
		{"bushel", `unit "bushel" is an unknown unit; accepted for mass: kg, g, t`},
	} {
		r := h.do("POST", "/api/v1/offers", a.Token, `{"item": "wheat-flour", "quantity": "1", "unit": "`+tt.unit+`"}`).want(t, 422)
		if r.str("detail") != tt.want || r.str("errors.0.field") != "unit" {
			t.Errorf("unit %q: %s, want detail %q", tt.unit, r.Raw, tt.want)
		}
	}
	ag := agreeFlour(t, h, "50")
	r := h.do("POST", "/api/v1/agreements/"+ag.id+"/receipt", ag.receiver, `{"quantity": "1", "unit": "l"}`).want(t, 422)
	if strings.Contains(r.str("detail"), "unit unit") || r.str("errors.0.field") != "unit" {
		t.Errorf("receipt in litres: %s", r.Raw)
	}
}

// agreed is an agreement formed in a test, with its councils' tokens.
type agreed struct {
	id, offer, need, provider, receiver string
	bakers                              council
}

// agreeFlour posts a 250 kg flour offer and a need of quantity kg 10 km
// apart, runs the engine and has both councils accept its proposal.
func agreeFlour(t *testing.T, h *testHub, quantity string) agreed {
	t.Helper()
	mill, bakers := h.register("Mill"), h.register("Bakers")
	offer := h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201).str("offer.id")
	need := h.do("POST", "/api/v1/needs", bakers.Token, `{"item": "wheat-flour", "quantity": "`+quantity+`", "unit": "kg", "priority": 3}`).want(t, 201).str("need.id")
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := h.do("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.do("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200)
	ag := h.do("POST", "/api/v1/proposals/"+id+"/accept", bakers.Token, "").want(t, 200).str("agreement.id")
	if ag == "" {
		t.Fatalf("proposal %s formed no agreement", id)
	}
	return agreed{id: ag, offer: offer, need: need, provider: mill.Token, receiver: bakers.Token, bakers: bakers}
}

// After a short receipt (48 of 50 kg) the engine proposes the 2 kg still
// lacking and says it covers all that is still needed, not "4% of the
// need"; the transfer and the task carry the unit their quantity is in.
func TestShortReceiptReasonAndUnits(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	ag := agreeFlour(t, h, "50")
	task := h.do("GET", "/api/v1/tasks?status=open", "", "").want(t, 200)
	if task.str("tasks.0.unit") != "kg" || task.str("tasks.0.quantity") != "50" {
		t.Errorf("task = %s, want 50 with unit kg", task.Raw)
	}
	if r := h.do("GET", "/api/v1/tasks/"+task.str("tasks.0.id"), "", "").want(t, 200); r.str("task.unit") != "kg" {
		t.Errorf("task = %s, want unit kg", r.Raw)
	}
	tr := h.do("POST", "/api/v1/agreements/"+ag.id+"/receipt", ag.receiver, `{"quantity": "48"}`).want(t, 201)
	if tr.str("transfer.quantity") != "48" || tr.str("transfer.unit") != "kg" {
		t.Errorf("transfer = %s, want 48 kg", tr.Raw)
	}
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := h.do("GET", "/api/v1/proposals", "", "").want(t, 200)
	if p.str("proposals.0.need") != ag.need || p.str("proposals.0.quantity") != "2" {
		t.Fatalf("proposals after a short receipt = %s, want the 2 kg lacking", p.Raw)
	}
	if reason := p.str("proposals.0.reason"); !strings.HasSuffix(reason, "covers all that is still needed") {
		t.Errorf("reason %q, want it to say it covers all that is still needed", reason)
	}
}

// A proposal's expiry stands while its terms do: later engine runs serve
// the same proposal with the same expires_at, ledger size and time.
func TestProposalExpiryStands(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	mill, bakers := h.register("Mill"), h.register("Bakers")
	h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.do("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	run := func() response {
		if err := h.srv.RunMatching(context.Background()); err != nil {
			t.Fatal(err)
		}
		return h.do("GET", "/api/v1/proposals", "", "").want(t, 200)
	}
	first := run()
	h.clock.Add(10 * time.Minute)
	h.register("School") // a change the next run reads
	second := run()
	for _, f := range []string{"id", "expires_at", "computed_at", "ledger_size"} {
		if a, b := first.get("proposals.0."+f), second.get("proposals.0."+f); a != b || a == nil {
			t.Errorf("%s moved from %v to %v across runs with the same terms", f, a, b)
		}
	}
	if first.get("computed_at") == second.get("computed_at") {
		t.Errorf("the listing's computed_at %v names the first run, want the last", second.get("computed_at"))
	}
}

// A council takes back its acceptance over the API while the agreement
// has not formed; once both accepted, it is refused and nothing is written.
func TestWithdrawAcceptanceAPI(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	mill, bakers := h.register("Mill"), h.register("Bakers")
	h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.do("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := h.do("GET", "/api/v1/proposals", "", "").want(t, 200).str("proposals.0.id")
	path := "/api/v1/proposals/" + id + "/withdraw-acceptance"
	h.do("POST", path, mill.Token, "").want(t, 404)
	if r := h.do("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200); r.str("acceptance.unit") != "kg" {
		t.Errorf("acceptance = %s, want its unit", r.Raw)
	}
	h.do("POST", path, bakers.Token, "").want(t, 409)
	r := h.do("POST", path, mill.Token, "").want(t, 200)
	if d, _ := r.get("acceptance.decisions").([]any); len(d) != 0 || r.str("acceptance.proposal.id") != id {
		t.Fatalf("after the withdrawal: %s", r.Raw)
	}
	w := h.do("GET", "/api/v1/proposals?council="+mill.ID, "", "").want(t, 200)
	if got, _ := w.get("proposals.0.waiting_for").([]any); len(got) != 2 {
		t.Errorf("waiting_for %v, want both councils again: %s", got, w.Raw)
	}
	h.do("POST", "/api/v1/proposals/"+id+"/accept", bakers.Token, "").want(t, 200)
	if ag := h.do("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200).str("agreement.id"); ag == "" {
		t.Fatal("no agreement after both accepted again")
	}
	size := h.ledger.Size()
	if r := h.do("POST", path, bakers.Token, "").want(t, 409); !strings.Contains(r.str("detail"), "cancel the agreement") {
		t.Errorf("detail %q", r.str("detail"))
	}
	if h.ledger.Size() != size {
		t.Error("a refused withdrawal wrote an event")
	}
}

// The figures say which volunteers they count: those who carried, and
// beside them all who registered.
func TestFiguresCountVolunteersBoth(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.volunteer("Ada", "")
	h.volunteer("Bo", "")
	f := h.do("GET", "/api/v1/figures", "", "").want(t, 200)
	if f.get("figures.volunteers") != 0.0 || f.get("figures.volunteers_registered") != 2.0 {
		t.Errorf("figures = %s, want 0 who carried and 2 registered", f.Raw)
	}
}
