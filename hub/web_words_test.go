package hub_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/plentyhub/plenty/hub"
)

// The desk's forms name the field that decides the others first: an
// unknown item is the only refusal shown, with the nearest name; a
// decimal comma is read as a point; a comma that could be a thousands
// separator is refused at its field. Refusals write nothing.
func TestWebFormWords(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	b := h.browser()
	desk := b.signIn(t, a.Token)
	form := func(item, quantity string) url.Values {
		return url.Values{"csrf": {desk.value(t, "/desk/offers", "csrf")}, "idem": {desk.value(t, "/desk/offers", "idem")},
			"item": {item}, "quantity": {quantity}}
	}
	size := h.ledger.Size()

	res := b.post("/desk/offers", form("apple", "12,5")).want(t, 422)
	if got := res.textOf(t, "offer-item-error"); got != `no item "apple"; did you mean Apples?` {
		t.Errorf("item error %q", got)
	}
	if got := res.textOf(t, "offer-error"); got != `Item: no item "apple"; did you mean Apples?` {
		t.Errorf("form error %q", got)
	}
	for _, f := range []string{"offer-unit-error", "offer-quantity-error"} {
		if got := res.textOf(t, f); got != "" {
			t.Errorf("%s = %q: an unknown item decides the unit and the quantity, nothing else should be named", f, got)
		}
	}
	res = b.post("/desk/offers", form("Wheat flour", "1,000")).want(t, 422)
	if got := res.textOf(t, "offer-quantity-error"); !strings.Contains(got, "could mean 1000 or 1.000") {
		t.Errorf("quantity error %q", got)
	}
	if h.ledger.Size() != size {
		t.Fatalf("refused forms wrote %d events", h.ledger.Size()-size)
	}

	// By name, with a decimal comma: 12.5 kg of wheat flour.
	res = b.post("/desk/offers", form("wheat FLOUR", "12,5")).want(t, 200)
	if got := res.textOf(t, "flash"); !strings.Contains(got, "12.5 kg of Wheat flour") {
		t.Errorf("flash %q", got)
	}
	if r := h.do("GET", "/api/v1/offers?council="+a.ID, "", "").want(t, 200); r.str("offers.0.item") != "wheat-flour" || r.str("offers.0.quantity") != "12.5" {
		t.Errorf("offer = %s", r.Raw)
	}
}
