package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the ledger and the hub.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testHub is a hub in front of a fresh ledger seeded with the catalog.
type testHub struct {
	t      *testing.T
	srv    *hub.Server
	ledger *ledger.Ledger
	clock  *clock
	base   string // the URL of the served hub, once serve ran
}

// MustOpenHub opens a hub on a temporary ledger, with cfg's rate limits
// (generous ones when zero), and closes it when the test ends.
func MustOpenHub(t *testing.T, cfg hub.Config) *testHub {
	t.Helper()
	clk := &clock{t: t0}
	l, err := ledger.Open(t.TempDir(), ledger.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if _, err := hub.SeedCatalog(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	cfg.Now = clk.Now
	if cfg.Location == nil {
		cfg.Location = time.UTC // pages read the same on any machine
	}
	if cfg.WriteRate == 0 {
		cfg.WriteRate, cfg.WriteBurst = 1e6, 1e6
	}
	if cfg.AddrRate == 0 {
		cfg.AddrRate, cfg.AddrBurst = 1e6, 1e6
	}
	if cfg.RegisterRate == 0 {
		cfg.RegisterRate, cfg.RegisterBurst = 1e6, 1e6
	}
	srv := hub.New(l, cfg)
	if err := srv.PublishTerms(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Stop the open-data writer a request may have started, before the
	// ledger closes and the folder is removed.
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return &testHub{t: t, srv: srv, ledger: l, clock: clk}
}

// serve runs the hub on a free loopback port, with its engine and timers,
// until the test ends, and returns its base URL (also in h.base).
func (h *testHub) serve() string {
	h.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ln) }()
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil {
			h.t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	h.base = "http://" + ln.Addr().String()
	return h.base
}

// response is an answer of the hub, with its body decoded.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// do sends a request in process. body is sent verbatim; token, when set,
// as a bearer token.
func (h *testHub) do(method, path, token, body string, header ...string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := h.srv.App().Test(req, -1)
	return h.answer(req, res, err)
}

// answer reads a response, its body decoded when it is a JSON object.
func (h *testHub) answer(req *http.Request, res *http.Response, err error) response {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %v\n%s", req.Method, req.URL.Path, err, raw)
		}
	}
	return out
}

// want fails the test unless the response has the status.
func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Raw)
	}
	return r
}

// get reads a dotted path ("offer.id", "offers.0.id") from the body.
func (r response) get(path string) any {
	var v any = r.Body
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func (r response) str(path string) string { s, _ := r.get(path).(string); return s }

// council is a registered council and its first delegate's token.
type council struct{ ID, Delegate, Token, Assembly string }

const riverside = `{"name": "Riverside Bakers", "sector": "food", "place": "Riverside",
 "location": {"lat": 51.4613, "lon": -0.1156}}`

func (h *testHub) register(name string) council {
	h.t.Helper()
	body := strings.Replace(riverside, "Riverside Bakers", name, 1)
	r := h.do("POST", "/api/v1/councils", "", body).want(h.t, 201)
	return council{ID: r.str("council.id"), Delegate: r.str("delegate.id"), Token: r.str("delegate.token"), Assembly: r.str("assembly.key")}
}

// issue issues a delegate of c with scopes and returns its id and token.
func (h *testHub) issue(c council, scopes string) (string, string) {
	h.t.Helper()
	r := h.do("POST", "/api/v1/councils/"+c.ID+"/delegates", c.Token,
		`{"label": "second", "mandate": "post the bread surplus", "scopes": `+scopes+`}`).want(h.t, 201)
	return r.str("delegate.id"), r.str("delegate.token")
}

const flourOffer = `{"item": "wheat-flour", "quantity": "250", "unit": "kg",
 "available_until": "2026-12-20T00:00:00Z", "max_distance_km": 40, "note": "stone-milled"}`

const flourNeed = `{"item": "wheat-flour", "quantity": "80.5", "unit": "kg", "priority": 4,
 "needed_by": "2026-12-10T00:00:00Z"}`

func TestRegisterCouncilAndPost(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	r := h.do("POST", "/api/v1/councils", "", riverside).want(t, 201)
	if got := r.str("council.name"); got != "Riverside Bakers" {
		t.Errorf("council.name = %q", got)
	}
	if got := r.get("council.location.lat"); got != 51.4613 {
		t.Errorf("council.location.lat = %v", got)
	}
	tok := r.str("delegate.token")
	if !strings.HasPrefix(tok, "plenty_") || len(tok) < 7+43 {
		t.Errorf("token %q is not 256 random bits", tok)
	}
	if got := r.str("delegate.expires_at"); got != "2026-11-28T10:00:00Z" {
		t.Errorf("delegate.expires_at = %q, want 7 days on", got)
	}
	if got := r.get("delegate.scopes"); len(got.([]any)) != 3 {
		t.Errorf("delegate.scopes = %v", got)
	}

	o := h.do("POST", "/api/v1/offers", tok, flourOffer).want(t, 201)
	if o.str("offer.remaining") != "250" || o.str("offer.unit") != "kg" || o.str("offer.council") != r.str("council.id") {
		t.Errorf("offer = %s", o.Raw)
	}
	if o.str("offer.posted_by") != r.str("delegate.id") {
		t.Errorf("offer.posted_by = %q, want the delegate %q", o.str("offer.posted_by"), r.str("delegate.id"))
	}
	n := h.do("POST", "/api/v1/needs", tok, strings.Replace(flourNeed, `"80.5"`, `80.5`, 1)).want(t, 201)
	if n.str("need.quantity") != "80.5" || n.get("need.priority") != 4.0 {
		t.Errorf("need = %s", n.Raw)
	}
	// 2 t is 2000 kg, counted in the item's base unit.
	n2 := h.do("POST", "/api/v1/needs", tok, strings.Replace(flourNeed, `"unit": "kg"`, `"unit": "t"`, 1)).want(t, 201)
	if n2.str("need.quantity") != "80500" {
		t.Errorf("80.5 t = %s kg, want 80500", n2.str("need.quantity"))
	}
	got := h.do("GET", "/api/v1/offers/"+o.str("offer.id"), "", "").want(t, 200)
	if got.str("offer.id") != o.str("offer.id") || got.str("offer.note") != "stone-milled" {
		t.Errorf("GET offer = %s", got.Raw)
	}
	// The event names the mandate it was made under.
	var actor string
	h.ledger.Events(context.Background(), h.ledger.Size()-1, h.ledger.Size(), func(ev plenty.Event) error {
		actor = ev.Actor
		return nil
	})
	if actor != "delegate:"+r.str("delegate.id") {
		t.Errorf("last event's actor = %q", actor)
	}
}

func TestOfferListWithdraw(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a, b := h.register("Riverside Bakers"), h.register("Hill Millers")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201).str("offer.id"))
		h.clock.Add(time.Millisecond)
	}
	h.do("POST", "/api/v1/offers", b.Token, strings.Replace(flourOffer, "wheat-flour", "oats", 1)).want(t, 201)

	// Page through a's offers two at a time.
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		r := h.do("GET", "/api/v1/offers?council="+a.ID+"&limit=2&cursor="+cursor, "", "").want(t, 200)
		for _, o := range r.get("offers").([]any) {
			seen = append(seen, o.(map[string]any)["id"].(string))
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Errorf("paged ids %v, want %v", seen, ids)
	}
	if r := h.do("GET", "/api/v1/offers?item=oats", "", "").want(t, 200); len(r.get("offers").([]any)) != 1 {
		t.Errorf("offers of oats = %s", r.Raw)
	}

	w := h.do("POST", "/api/v1/offers/"+ids[0]+"/withdraw", a.Token, "").want(t, 200)
	if w.str("offer.status") != "withdrawn" {
		t.Errorf("withdrawn offer status %q", w.str("offer.status"))
	}
	size := h.ledger.Size()
	h.do("POST", "/api/v1/offers/"+ids[0]+"/withdraw", a.Token, "").want(t, 409)
	h.do("POST", "/api/v1/offers/"+ids[1]+"/withdraw", b.Token, "").want(t, 403)
	h.do("POST", "/api/v1/offers/o_nope/withdraw", a.Token, "").want(t, 404)
	if h.ledger.Size() != size {
		t.Errorf("refusals wrote %d events", h.ledger.Size()-size)
	}
	if r := h.do("GET", "/api/v1/offers?council="+a.ID+"&status=open", "", "").want(t, 200); len(r.get("offers").([]any)) != 4 {
		t.Errorf("open offers after a withdrawal: %s", r.Raw)
	}
	n := h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201).str("need.id")
	h.do("POST", "/api/v1/needs/"+n+"/withdraw", a.Token, "").want(t, 200)
	if r := h.do("GET", "/api/v1/needs/"+n, "", "").want(t, 200); r.str("need.status") != "withdrawn" {
		t.Errorf("need status %q", r.str("need.status"))
	}
	h.do("GET", "/api/v1/needs/n_nope", "", "").want(t, 404)
}

func TestIdempotency(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	first := h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Idempotency-Key", "k1").want(t, 201)
	size := h.ledger.Size()
	again := h.do("POST", "/api/v1/offers", a.Token, flourOffer, "Idempotency-Key", "k1").want(t, 201)
	if again.str("offer.id") != first.str("offer.id") {
		t.Errorf("replay answered offer %s, want %s", again.str("offer.id"), first.str("offer.id"))
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay is not marked Idempotent-Replayed")
	}
	other := h.do("POST", "/api/v1/offers", a.Token, strings.Replace(flourOffer, "250", "251", 1), "Idempotency-Key", "k1").want(t, 409)
	if other.str("code") != "conflict" {
		t.Errorf("code %q", other.str("code"))
	}
	if h.ledger.Size() != size {
		t.Errorf("replays wrote %d events", h.ledger.Size()-size)
	}
	if first.Header.Get("Idempotency-Key") != "k1" {
		t.Errorf("a write's answer carries Idempotency-Key %q, want k1", first.Header.Get("Idempotency-Key"))
	}
	// A read takes no key, and its answer does not echo one.
	if r := h.do("GET", "/api/v1/offers", "", "", "Idempotency-Key", "anything at all").want(t, 200); r.Header.Get("Idempotency-Key") != "" {
		t.Errorf("a GET echoed Idempotency-Key %q", r.Header.Get("Idempotency-Key"))
	}
}

func TestDelegates(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a, b := h.register("Riverside Bakers"), h.register("Hill Millers")
	path := "/api/v1/councils/" + a.ID + "/delegates"

	r := h.do("POST", path, a.Token, `{"label": "Ana", "mandate": "post the bread surplus; accept flour up to 500 kg",
		"scopes": ["accept", "post"], "cosign_above": "500", "expires_at": "2026-11-24T10:00:00Z"}`).want(t, 201)
	if r.str("delegate.mandate") != "post the bread surplus; accept flour up to 500 kg" ||
		r.str("delegate.cosign_above") != "500" || r.str("delegate.expires_at") != "2026-11-24T10:00:00Z" ||
		r.str("delegate.issued_by") != a.Delegate {
		t.Errorf("issued delegate = %s", r.Raw)
	}
	if got := r.get("delegate.scopes").([]any); len(got) != 2 || got[0] != "post" || got[1] != "accept" {
		t.Errorf("scopes = %v", got)
	}
	ana, anaToken := r.str("delegate.id"), r.str("delegate.token")
	h.do("POST", "/api/v1/offers", anaToken, flourOffer).want(t, 201)

	size := h.ledger.Size()
	tooLong := h.do("POST", path, a.Token, `{"label": "x", "mandate": "y", "scopes": ["post"], "expires_at": "2026-11-28T10:00:01Z"}`).want(t, 422)
	if tooLong.get("errors.0.field") != "expires_at" {
		t.Errorf("errors = %s", tooLong.Raw)
	}
	bad := h.do("POST", path, a.Token, `{"label": "x", "mandate": "y", "scopes": ["post", "rule"]}`).want(t, 422)
	if bad.get("errors.0.field") != "scopes[1]" {
		t.Errorf("errors = %s", bad.Raw)
	}
	h.do("POST", path, anaToken, `{"label": "x", "mandate": "y", "scopes": ["post"]}`).want(t, 403)
	h.do("POST", path, b.Token, `{"label": "x", "mandate": "y", "scopes": ["post"]}`).want(t, 403)
	h.do("POST", "/api/v1/councils/c_nope/delegates", a.Token, `{"label": "x", "mandate": "y", "scopes": ["post"]}`).want(t, 404)
	if h.ledger.Size() != size {
		t.Errorf("refusals wrote %d events", h.ledger.Size()-size)
	}

	// The public record shows every mandate and no token.
	pub := h.do("GET", "/api/v1/councils/"+a.ID, "", "").want(t, 200)
	if n := len(pub.get("delegates").([]any)); n != 2 {
		t.Errorf("public record lists %d delegates, want 2", n)
	}
	if bytes.Contains(pub.Raw, []byte("token")) || bytes.Contains(pub.Raw, []byte(anaToken)) {
		t.Errorf("public record shows a token: %s", pub.Raw)
	}

	// Recall, at once.
	h.do("DELETE", path+"/"+ana, b.Token, "").want(t, 403)
	rec := h.do("DELETE", path+"/"+ana, a.Token, "").want(t, 200)
	if rec.str("delegate.recalled_at") != "2026-11-21T10:00:00Z" || rec.get("delegate.active") != false {
		t.Errorf("recalled = %s", rec.Raw)
	}
	if r := h.do("POST", "/api/v1/offers", anaToken, flourOffer).want(t, 401); !strings.Contains(r.str("detail"), "recalled") {
		t.Errorf("detail %q", r.str("detail"))
	}
	h.do("DELETE", path+"/"+ana, a.Token, "").want(t, 409)
	h.do("DELETE", path+"/d_nope", a.Token, "").want(t, 404)

	// Mandates expire.
	h.clock.Add(7 * 24 * time.Hour)
	if r := h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 401); !strings.Contains(r.str("detail"), "expired") {
		t.Errorf("detail %q", r.str("detail"))
	}
}

func TestItems(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	r := h.do("GET", "/api/v1/items", "", "").want(t, 200)
	var flour map[string]any
	for _, it := range r.get("items").([]any) {
		if m := it.(map[string]any); m["code"] == "wheat-flour" {
			flour = m
		}
	}
	if flour["dimension"] != "mass" || flour["unit"] != "kg" {
		t.Errorf("wheat-flour = %v", flour)
	}
	d := h.do("POST", "/api/v1/items", a.Token, `{"code": "sourdough-starter", "name": "Sourdough starter", "dimension": "mass", "unit": "g"}`).want(t, 201)
	if d.str("item.unit") != "kg" || d.str("item.defined_by") != a.ID {
		t.Errorf("defined item = %s", d.Raw)
	}
	h.do("POST", "/api/v1/items", a.Token, `{"code": "sourdough-starter", "name": "Again", "dimension": "mass"}`).want(t, 409)
	bad := h.do("POST", "/api/v1/items", a.Token, `{"code": "Sour Dough", "name": "x", "dimension": "weight"}`).want(t, 422)
	if len(bad.get("errors").([]any)) != 2 {
		t.Errorf("errors = %s", bad.Raw)
	}
	h.do("POST", "/api/v1/offers", a.Token, `{"item": "sourdough-starter", "quantity": "500", "unit": "g"}`).want(t, 201)
	h.do("GET", "/api/v1/items/sourdough-starter", "", "").want(t, 200)
	h.do("GET", "/api/v1/items/nope", "", "").want(t, 404)
}

func TestRateLimit(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WriteRate: 1, WriteBurst: 3})
	a := h.register("Riverside Bakers")
	for i := 0; i < 3; i++ {
		h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201)
	}
	size := h.ledger.Size()
	r := h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 429)
	if r.Header.Get("Retry-After") != "1" || r.str("code") != "rate_limited" {
		t.Errorf("429 answer: Retry-After %q, %s", r.Header.Get("Retry-After"), r.Raw)
	}
	if h.ledger.Size() != size {
		t.Error("a rate-limited write wrote an event")
	}
	h.clock.Add(time.Second)
	h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201)

	h2 := MustOpenHub(t, hub.Config{AddrRate: 1, AddrBurst: 1})
	h2.register("First")
	r = h2.do("POST", "/api/v1/councils", "", riverside).want(t, 429)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Reads are not limited.
	h2.do("GET", "/api/v1/councils", "", "").want(t, 200)
}

func TestMetrics(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201)
	h.do("POST", "/api/v1/offers", a.Token, `{}`).want(t, 422)
	h.do("GET", "/api/v1/nothing/here", "", "").want(t, 404)
	r := h.do("GET", "/metrics", "", "").want(t, 200)
	text := string(r.Raw)
	for _, line := range []string{
		`plenty_http_requests_total{method="POST",route="/api/v1/offers",status="201"} 1`,
		`plenty_http_requests_total{method="POST",route="/api/v1/offers",status="422"} 1`,
		`plenty_http_requests_total{method="POST",route="/api/v1/councils",status="201"} 1`,
		`plenty_http_request_duration_seconds_count{method="POST",route="/api/v1/offers"} 2`,
		`plenty_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`plenty_ledger_events 53`, // 50 catalog items, the terms, a council, an offer
		`plenty_ledger_append_duration_seconds_count 3`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
}
