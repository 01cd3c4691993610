package hub_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/plentyhub/plenty/hub"
)

// TestBadInput sends each class of bad input and checks the status, the
// problem document and that nothing was written.
func TestBadInput(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		field  string // the first field named, "" for none
		detail string // a part of the detail
	}{
		{"UnknownField", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "colour": "red"}`, 422, "colour", "not a known field"},
		{"FieldInOtherCase", "/api/v1/offers", `{"Item": "wheat-flour", "quantity": "1", "unit": "kg"}`, 422, "Item", "not a known field"},
		{"UnknownNestedField", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "location": {"lat": 1, "lon": 2, "alt": 3}}`, 422, "location.alt", "not a known field"},
		{"DuplicateField", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "quantity": "2", "unit": "kg"}`, 422, "quantity", "more than once"},
		{"WrongType", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "priority": "high"}`, 422, "priority", "whole number"},
		{"WrongNestedType", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "location": {"lat": "north", "lon": 0}}`, 422, "location.lat", "must be a number"},
		{"QuantityNotDecimal", "/api/v1/offers", `{"item": "wheat-flour", "quantity": true, "unit": "kg"}`, 422, "quantity", "decimal"},
		{"QuantityExponent", "/api/v1/offers", `{"item": "wheat-flour", "quantity": 1e3, "unit": "kg"}`, 422, "quantity", "decimal"},
		{"QuantityTooFine", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1.0001", "unit": "kg"}`, 422, "quantity", "at most 3 digits"},
		{"QuantityZero", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "0", "unit": "kg"}`, 422, "quantity", "greater than 0"},
		{"QuantityNegative", "/api/v1/offers", `{"item": "wheat-flour", "quantity": -5, "unit": "kg"}`, 422, "quantity", "greater than 0"},
		{"QuantityTooLarge", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "2000000", "unit": "t"}`, 422, "quantity", "at most"},
		{"UnknownUnit", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "bushel"}`, 422, "unit", "unknown unit"},
		{"UnitOfOtherDimension", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "l"}`, 422, "unit", "measures volume"},
		{"UnknownItem", "/api/v1/offers", `{"item": "unobtainium", "quantity": "1", "unit": "kg"}`, 422, "item", "not in the catalog"},
		{"MissingFields", "/api/v1/offers", `{}`, 422, "item", "required"},
		{"LatitudeOutOfRange", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "location": {"lat": 91, "lon": 0}}`, 422, "location.lat", "at most 90"},
		{"LongitudeOutOfRange", "/api/v1/councils", `{"name": "x", "sector": "y", "place": "z", "location": {"lat": 0, "lon": -181}}`, 422, "location.lon", "at least -180"},
		{"LocationMissing", "/api/v1/councils", `{"name": "x", "sector": "y", "place": "z"}`, 422, "location", "required"},
		{"BlankName", "/api/v1/councils", `{"name": "  ", "sector": "y", "place": "z", "location": {"lat": 0, "lon": 0}}`, 422, "name", "not blank"},
		{"DistanceOutOfRange", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "max_distance_km": 0}`, 422, "max_distance_km", "greater than 0"},
		{"DistanceTooFar", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "max_distance_km": 20001}`, 422, "max_distance_km", "at most 20000"},
		{"PriorityOutOfRange", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "priority": 6}`, 422, "priority", "from 1 (can wait) to 5"},
		{"PriorityFraction", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "priority": 2.5}`, 422, "priority", "whole number"},
		{"ExpiryInPast", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "expires_at": "2026-11-20T00:00:00Z"}`, 422, "expires_at", "future"},
		{"WindowInPast", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "available_until": "2026-11-21T09:00:00Z"}`, 422, "available_until", "future"},
		{"WindowReversed", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "available_from": "2026-12-10T00:00:00Z", "available_until": "2026-12-01T00:00:00Z"}`, 422, "available_until", "after available_from"},
		{"NeededByInPast", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "needed_by": "2026-01-01T00:00:00Z"}`, 422, "needed_by", "future"},
		{"BadTime", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "needed_by": "next tuesday"}`, 422, "needed_by", "RFC 3339"},
		{"ExpiryTooFar", "/api/v1/needs", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "expires_at": "2028-01-01T00:00:00Z"}`, 422, "expires_at", "366 days"},
		{"MinSplitAboveQuantity", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "min_split": "2"}`, 422, "min_split", "between 0 and the quantity"},
		{"NoteTooLong", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "note": "` + strings.Repeat("é", 2001) + `"}`, 422, "note", "at most 2000"},
		{"TrailingData", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg"} {}`, 400, "", "after the JSON object"},
		{"TrailingGarbage", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1", "unit": "kg"}x`, 400, "", "after the JSON object"},
		{"InvalidUTF8", "/api/v1/offers", "{\"item\": \"wheat-flour\", \"quantity\": \"1\", \"unit\": \"kg\", \"note\": \"\xff\xfe\"}", 400, "", "UTF-8"},
		{"NotJSON", "/api/v1/offers", `item=wheat-flour`, 400, "", "not valid JSON"},
		{"Truncated", "/api/v1/offers", `{"item": "wheat-flour", "quantity": "1"`, 400, "", "ends in the middle"},
		{"NotAnObject", "/api/v1/offers", `["wheat-flour"]`, 400, "", "must be a JSON object"},
		{"EmptyBody", "/api/v1/offers", ``, 400, "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := h.ledger.Size()
			token := a.Token
			if tt.path == "/api/v1/councils" {
				token = ""
			}
			r := h.do("POST", tt.path, token, tt.body)
			r.want(t, tt.status)
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.get("status") != float64(tt.status) || r.str("title") == "" || !strings.HasPrefix(r.str("type"), "urn:plenty:problem:") {
				t.Errorf("problem = %s", r.Raw)
			}
			if !strings.Contains(r.str("detail"), tt.detail) {
				t.Errorf("detail %q lacks %q", r.str("detail"), tt.detail)
			}
			if got := r.str("errors.0.field"); got != tt.field {
				t.Errorf("first field %q, want %q (%s)", got, tt.field, r.Raw)
			}
			if h.ledger.Size() != size {
				t.Errorf("the refusal wrote %d events", h.ledger.Size()-size)
			}
		})
	}
}

// TestManyFieldsAtOnce checks that one answer names every field that
// failed, the struct tags' and the handler's alike.
func TestManyFieldsAtOnce(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	r := h.do("POST", "/api/v1/needs", a.Token, `{"item": "wheat-flour", "quantity": "1", "unit": "l",
		"priority": 9, "needed_by": "2020-01-01T00:00:00Z"}`).want(t, 422)
	var fields []string
	for _, e := range r.get("errors").([]any) {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	sort.Strings(fields)
	if strings.Join(fields, ",") != "needed_by,priority,unit" {
		t.Errorf("fields %v, want priority, unit and needed_by", fields)
	}
}

func TestMediaTypeAndRoutes(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	r := h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Content-Type", "text/xml").want(t, http.StatusUnsupportedMediaType)
	if r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	if r := h.do("GET", "/api/v1/nothing", "", "").want(t, 404); r.str("code") != "not_found" {
		t.Errorf("unknown route: %s", r.Raw)
	}
	h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Idempotency-Key", strings.Repeat("k", 201)).want(t, 422)
}

// TestOversizedBody goes over a real connection: the body limit is the
// HTTP server's.
func TestOversizedBody(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.srv.Serve(ln)
	t.Cleanup(func() { h.srv.Shutdown(t.Context()) })
	big := `{"item": "wheat-flour", "quantity": "1", "unit": "kg", "note": "` + strings.Repeat("x", 70_000) + `"}`
	size := h.ledger.Size()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/v1/offers", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var p hub.Problem
	json.Unmarshal(raw, &p)
	if res.StatusCode != 413 || p.Status != 413 || p.Code != "too_large" || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("oversized body: %d %s", res.StatusCode, raw)
	}
	if !strings.Contains(p.Detail, "65536 bytes") {
		t.Errorf("detail %q does not say the limit", p.Detail)
	}
	if h.ledger.Size() != size {
		t.Error("an oversized body wrote an event")
	}
}

func TestWindowMovesExpiry(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	r := h.do("POST", "/api/v1/offers", a.Token, `{"item": "oats", "quantity": "1", "unit": "kg", "available_until": "2027-02-01T00:00:00Z"}`).want(t, 201)
	if r.str("offer.expires_at") != "2027-02-01T00:00:00Z" {
		t.Errorf("expires_at %q, want the window's end", r.str("offer.expires_at"))
	}
	r = h.do("POST", "/api/v1/offers", a.Token, `{"item": "oats", "quantity": "1", "unit": "kg",
		"available_until": "2027-02-01T00:00:00Z", "expires_at": "2027-01-01T00:00:00Z"}`).want(t, 422)
	if r.str("errors.0.field") != "available_until" {
		t.Errorf("errors = %s", r.Raw)
	}
}
