package hub_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"

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

// An empty hub's home page shows "—" where a figure has no data, counts
// in words, and every link to the glossary lands on an entry.
func TestWebHonestFigures(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	b := h.browser()
	home := b.get("/").want(t, 200)
	all := text(home.Doc)
	for _, want := range []string{
		"Median time to meet a need — No need has been met yet",
		"Share of needs met — ",
		"0 deliveries by 0 volunteers (0 registered)",
		"Longest delegate tenure ? — 0 tenures",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if strings.Contains(all, "0 h") {
		t.Error("the home page shows a median of 0 h without data")
	}
	glossary := b.get("/glossary").want(t, 200)
	links := 0
	walk(home.Doc, func(n *html.Node) bool {
		if href := attr(n, "href"); n.Data == "a" && strings.HasPrefix(href, "/glossary#") {
			links++
			if glossary.find(strings.TrimPrefix(href, "/glossary#")) == nil {
				t.Errorf("%s leads nowhere", href)
			}
		}
		return true
	})
	if links < 10 {
		t.Errorf("%d links to the glossary on the home page, want one beside each figure", links)
	}
}

// /postings filters by item and place and sorts by distance from a
// council; a council's page sorts its needs by priority and shows its
// agreements under way.
func TestWebPostingsPage(t *testing.T) {
	h, ds := MustServeDemoHub(t)
	b := h.browser()
	from := ds[0].Council // Manchester Millers
	p := b.get("/postings?item=Potatoes&from="+from).want(t, 200)
	var kms []float64
	walk(p.Doc, func(n *html.Node) bool {
		if n.Data != "tr" || !strings.Contains(attr(n, "id"), "-o") { // the offers' rows
			return true
		}
		walk(n, func(td *html.Node) bool {
			if td.Data == "td" && attr(td, "data-label") == "Distance" {
				var km float64
				fmt.Sscanf(text(td), "%g km", &km)
				kms = append(kms, km)
			}
			return true
		})
		return false
	})
	if len(kms) < 2 || !sort.Float64sAreSorted(kms) {
		t.Errorf("distances of the potato offers from %s: %v, want at least two, nearest first", from, kms)
	}
	if strings.Contains(text(p.Doc), "Wheat flour") {
		t.Error("the item filter let wheat flour through")
	}
	if got := p.textOf(t, "filter-item-error"); got != "" {
		t.Errorf("item error %q", got)
	}
	p = b.get("/postings?item=apple").want(t, 200)
	if got := p.textOf(t, "filter-item-error"); got != `no item "apple"; did you mean Apples?` {
		t.Errorf("item error %q", got)
	}
	p = b.get("/postings?place=stockport").want(t, 200)
	walk(p.Doc, func(n *html.Node) bool {
		if n.Data == "td" && attr(n, "data-label") == "Place" && text(n) != "Stockport" {
			t.Errorf("place filter stockport shows a row in %q", text(n))
		}
		return true
	})
	if p.find("map-desc") == nil {
		t.Error("no map on /postings")
	}

	c := b.get("/councils/"+ds[1].Council).want(t, 200)
	var prios []int
	walk(c.find("needs").Parent, func(n *html.Node) bool {
		if n.Data == "td" && attr(n, "data-label") == "Priority" {
			var v int
			fmt.Sscan(text(n), &v)
			prios = append(prios, v)
		}
		return true
	})
	if len(prios) < 2 || !sort.IsSorted(sort.Reverse(sort.IntSlice(prios))) {
		t.Errorf("needs' priorities on the council page: %v, want the most urgent first", prios)
	}
	if got := c.textOf(t, "under-way"); got != "Agreements under way" {
		t.Errorf("heading %q", got)
	}
}

// A council registers from the web page and lands on its desk, signed
// in, with its token in a field to copy; a refused form names the field
// and writes nothing.
func TestWebRegister(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	b := h.browser()
	form := b.get("/register").want(t, 200)
	values := url.Values{"csrf": {form.value(t, "/register", "csrf")}, "idem": {form.value(t, "/register", "idem")},
		"name": {"Salford Bakers"}, "sector": {"food"}, "place": {"Salford"}, "lat": {"53,4875"}}
	size := h.ledger.Size()
	res := b.post("/register", values).want(t, 422)
	if got := res.textOf(t, "register-lon-error"); !strings.HasPrefix(got, "is required") {
		t.Errorf("lon error %q", got)
	}
	if h.ledger.Size() != size {
		t.Fatal("a refused registration wrote an event")
	}
	values.Set("lon", "-2.2901")
	res = b.post("/register", values).want(t, 200)
	if res.URL != "/desk" || !strings.Contains(res.textOf(t, "flash"), "Salford Bakers is registered") {
		t.Fatalf("after registering: %s %s", res.URL, text(res.Doc))
	}
	tok := attr(res.find("new-token"), "value")
	if !strings.HasPrefix(tok, "plenty_") {
		t.Fatalf("token field %q", tok)
	}
	r := h.do("GET", "/api/v1/councils", "", "").want(t, 200)
	if r.str("councils.0.name") != "Salford Bakers" || r.get("councils.0.location.lat") != 53.4875 {
		t.Errorf("councils = %s", r.Raw)
	}
	h.do("POST", "/api/v1/offers", tok, `{"item": "oats", "quantity": "5", "unit": "kg"}`).want(t, 201)
}
