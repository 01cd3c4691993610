package hub_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// Regression tests for the attacks of issue 11 that come from outside the
// fold: each goes through the real HTTP API on a served hub, and each
// refusal is checked to have written nothing.

// serveSettled serves h and waits until it answers over HTTP.
func (h *testHub) serveSettled() {
	h.t.Helper()
	h.serve()
	h.call("GET", "/healthz", "", "").want(h.t, 200)
}

// unchanged fails the test when the ledger grew since size.
func (h *testHub) unchanged(size int64, what string) {
	h.t.Helper()
	if got := h.ledger.Size(); got != size {
		h.t.Fatalf("%s wrote %d events", what, got-size)
	}
}

// proposalsAfter waits until the engine has run on a ledger of at least
// size events and returns its proposals for council.
func (h *testHub) proposalsAfter(size int64, council string) []any {
	h.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r := h.call("GET", "/api/v1/proposals?council="+council, "", "").want(h.t, 200)
		if int64(r.get("ledger_size").(float64)) >= size {
			return r.get("proposals").([]any)
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the engine did not run on %d events within 20 s", size)
		}
	}
}

// A council's own offer and need, side by side, get no proposal and move
// no figure; another council's need for the same offer does get one.
func TestNoProposalWithOneself(t *testing.T) {
	h := MustOpenHub(t, hub.Config{MatchDelay: time.Millisecond, TickInterval: time.Hour})
	h.serveSettled()
	mill := h.register("Mill")
	figures := func() string {
		f := h.call("GET", "/api/v1/figures", "", "").want(t, 200)
		return fmt.Sprint(f.get("figures.flows"), f.get("figures.received"), f.get("figures.needs_met"), f.get("figures.largest_council_share"))
	}
	before := figures()
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", mill.Token, flourNeed).want(t, 201)
	size := h.ledger.Size()
	if ps := h.proposalsAfter(size, mill.ID); len(ps) != 0 {
		t.Fatalf("the mill's own offer was proposed for its own need: %v", ps)
	}
	if after := figures(); after != before {
		t.Fatalf("figures moved from %s to %s", before, after)
	}
	h.unchanged(size, "the engine")

	bakers := h.register("Bakers")
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	ps := h.proposalsAfter(h.ledger.Size(), bakers.ID)
	if len(ps) != 1 {
		t.Fatalf("proposals for the bakers: %v, want the mill's offer", ps)
	}
	if p := ps[0].(map[string]any); p["provider"] != mill.ID || p["receiver"] != bakers.ID {
		t.Fatalf("proposal %v, want from the mill to the bakers", p)
	}
	for _, p := range h.proposalsAfter(h.ledger.Size(), mill.ID) {
		if p := p.(map[string]any); p["provider"] == p["receiver"] {
			t.Fatalf("proposal %v pairs a council with itself", p)
		}
	}
}

// The sixth anonymous registration within a minute from one address is a
// 429 with Retry-After, for councils, volunteers and the web's volunteer
// form alike; the address's other writes go on, and a registration goes
// through again once the bucket refills.
func TestRegisterRateLimit(t *testing.T) {
	h := MustOpenHub(t, hub.Config{RegisterRate: 5, RegisterBurst: 5, TickInterval: time.Hour})
	h.serveSettled()
	reg := func(name string) response {
		return h.call("POST", "/api/v1/councils", "", strings.Replace(riverside, "Riverside Bakers", name, 1))
	}
	mill := reg("Mill").want(t, 201).str("delegate.token")
	for i := 0; i < 2; i++ {
		reg(fmt.Sprintf("Council %d", i)).want(t, 201)
	}
	for i := 0; i < 2; i++ {
		h.call("POST", "/api/v1/volunteers", "", fmt.Sprintf(`{"handle": "Heron %d"}`, i)).want(t, 201)
	}
	size := h.ledger.Size()
	r := reg("Sixth").want(t, 429)
	if r.Header.Get("Retry-After") != "12" || r.str("code") != "rate_limited" ||
		!strings.Contains(r.str("detail"), "registered more than 5 councils or volunteers in a minute") {
		t.Errorf("429 answer: Retry-After %q, %s", r.Header.Get("Retry-After"), r.Raw)
	}
	h.call("POST", "/api/v1/volunteers", "", `{"handle": "Sixth Heron"}`).want(t, 429)
	b := h.browser()
	form := b.get("/volunteer").want(t, 200)
	res := b.post("/volunteer/register", url.Values{"csrf": {form.value(t, "/volunteer/register", "csrf")}, "handle": {"Web Heron"}}).want(t, 429)
	if !strings.Contains(text(res.Doc), "retry after") {
		t.Errorf("web refusal: %s", text(res.Doc))
	}
	h.unchanged(size, "refused registrations")

	// The address's other writes have their own limit.
	h.call("POST", "/api/v1/offers", mill, flourOffer).want(t, 201)
	h.clock.Add(11 * time.Second)
	reg("Sixth").want(t, 429)
	h.clock.Add(time.Second)
	reg("Sixth").want(t, 201)
}

// Council names are unique within a place, ignoring case and spacing.
func TestCouncilNameTakenInPlace(t *testing.T) {
	h := MustOpenHub(t, hub.Config{TickInterval: time.Hour})
	h.serveSettled()
	first := h.register("Riverside Bakers")
	size := h.ledger.Size()
	for _, name := range []string{"Riverside Bakers", "riverside  BAKERS"} {
		r := h.call("POST", "/api/v1/councils", "", strings.Replace(riverside, "Riverside Bakers", name, 1)).want(t, 409)
		if r.get("errors.0.field") != "name" || !strings.Contains(r.str("detail"), first.ID) {
			t.Errorf("%q: %s; want a conflict at the field name naming %s", name, r.Raw, first.ID)
		}
	}
	h.unchanged(size, "refused look-alikes")
	elsewhere := strings.Replace(riverside, `"place": "Riverside"`, `"place": "Hill"`, 1)
	h.call("POST", "/api/v1/councils", "", elsewhere).want(t, 201)
}

// callFrom sends a request over HTTP from the loopback address ip, so that
// the hub sees two clients.
func (h *testHub) callFrom(ip, method, path, body string, header ...string) response {
	h.t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1]) // a name given twice is sent twice
	}
	res, err := client.Do(req)
	return h.answer(req, res, err)
}

// Two anonymous clients use the same Idempotency-Key: neither gets the
// other's answer or is blocked by it, and each still has its own replay.
func TestIdempotencyKeyScopedToClient(t *testing.T) {
	h := MustOpenHub(t, hub.Config{TickInterval: time.Hour})
	h.serveSettled()
	const a, b = "127.0.0.2", "127.0.0.3"
	ada := `{"handle": "Ada"}`
	first := h.callFrom(a, "POST", "/api/v1/volunteers", ada, "Idempotency-Key", "k1").want(t, 201)
	adaID := first.str("volunteer.id")

	// B's own request under A's key is B's own.
	bo := h.callFrom(b, "POST", "/api/v1/volunteers", `{"handle": "Bo"}`, "Idempotency-Key", "k1").want(t, 201)
	if bo.str("volunteer.id") == adaID || bo.str("volunteer.handle") != "Bo" || bo.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("B's request under A's key answered %s", bo.Raw)
	}
	size := h.ledger.Size()
	// B replaying A's exact request does not get A's answer.
	squat := h.callFrom(b, "POST", "/api/v1/volunteers", ada, "Idempotency-Key", "k1").want(t, 409)
	if strings.Contains(string(squat.Raw), adaID) || squat.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("B got A's answer: %s", squat.Raw)
	}
	// A's replay is A's, and A's key with another request is A's conflict.
	again := h.callFrom(a, "POST", "/api/v1/volunteers", ada, "Idempotency-Key", "k1").want(t, 201)
	if again.str("volunteer.id") != adaID {
		t.Fatalf("A's replay answered %s", again.Raw)
	}
	h.callFrom(a, "POST", "/api/v1/volunteers", `{"handle": "Ada Two"}`, "Idempotency-Key", "k1").want(t, 409)
	h.unchanged(size, "replays and refusals")

	// Councils too: B registers under the key A used.
	h.callFrom(a, "POST", "/api/v1/councils", riverside, "Idempotency-Key", "c1").want(t, 201)
	other := strings.Replace(riverside, "Riverside Bakers", "Hill Millers", 1)
	r := h.callFrom(b, "POST", "/api/v1/councils", other, "Idempotency-Key", "c1").want(t, 201)
	if r.str("council.name") != "Hill Millers" || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("B's registration under A's key answered %s", r.Raw)
	}
	if r.Header.Get("Idempotency-Key") != "c1" {
		t.Errorf("Idempotency-Key echoed as %q, want the client's own c1", r.Header.Get("Idempotency-Key"))
	}
	if re := h.callFrom(b, "POST", "/api/v1/councils", other, "Idempotency-Key", "c1").want(t, 201); re.Header.Get("Idempotent-Replayed") != "true" || re.str("council.id") != r.str("council.id") {
		t.Fatalf("B's replay answered %s", re.Raw)
	}
}

// signedIn reports whether the browser's desk shows a signed-in delegate.
func (b *browser) signedIn(t *testing.T) bool {
	t.Helper()
	return b.get("/desk").want(t, 200).find("signed-in-as") != nil
}

// One delegate signing in from ever more browsers ends only its own oldest
// sessions; another delegate signs in as ever.
func TestWebSessionsCappedPerActor(t *testing.T) {
	h := MustOpenHub(t, hub.Config{TickInterval: time.Hour})
	h.serveSettled()
	a, other := h.register("Riverside Bakers"), h.register("Hill Millers")
	var bs []*browser
	for i := 0; i < 9; i++ {
		b := h.browser()
		b.signIn(t, a.Token)
		bs = append(bs, b)
	}
	if bs[0].signedIn(t) {
		t.Fatal("the oldest of 9 sessions of one delegate is still signed in; the cap is 8")
	}
	for i, b := range bs[1:] {
		if !b.signedIn(t) {
			t.Fatalf("session %d of 9 ended; only the oldest should", i+2)
		}
	}
	ob := h.browser()
	if desk := ob.signIn(t, other.Token); desk.textOf(t, "signed-in-as") != "first delegate" {
		t.Fatal("another delegate could not sign in")
	}
	// The ended session writes nothing.
	size := h.ledger.Size()
	bs[0].post("/desk/offers", url.Values{"csrf": {"whatever"}, "item": {"wheat-flour"}, "quantity": {"10"}, "unit": {"kg"}}).want(t, 401)
	h.unchanged(size, "a form of an ended session")
	if !ob.signedIn(t) || !bs[8].signedIn(t) {
		t.Fatal("sessions ended that should not have")
	}
}

// A CSRF token in the query string or a header does not count: only the
// form's body does.
func TestWebCSRFFromFormBodyOnly(t *testing.T) {
	h := MustOpenHub(t, hub.Config{TickInterval: time.Hour})
	h.serveSettled()
	a := h.register("Riverside Bakers")
	b := h.browser()

	// The sign-in form's token, sent in the query string.
	form := b.get("/desk").want(t, 200)
	pre := form.value(t, "/desk/signin", "csrf")
	b.post("/desk/signin?csrf="+url.QueryEscape(pre), url.Values{"token": {a.Token}}).want(t, 403)
	if b.signedIn(t) {
		t.Fatal("signed in with the CSRF token in the query string")
	}

	desk := b.signIn(t, a.Token)
	csrf := desk.value(t, "/desk/offers", "csrf")
	offer := url.Values{"item": {"wheat-flour"}, "quantity": {"10"}, "unit": {"kg"}}
	size := h.ledger.Size()
	res := b.post("/desk/offers?csrf="+url.QueryEscape(csrf), offer).want(t, 403)
	if !strings.Contains(text(res.Doc), "CSRF token is missing or stale") {
		t.Errorf("refusal: %s", text(res.Doc))
	}
	req, _ := http.NewRequest("POST", h.base+"/desk/offers", strings.NewReader(offer.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", csrf)
	req.Header.Set("csrf", csrf)
	r, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("CSRF token in a header: status %d, want 403", r.StatusCode)
	}
	h.unchanged(size, "forms without the token in their body")

	offer.Set("csrf", csrf)
	b.post("/desk/offers", offer).want(t, 200)
	if h.ledger.Size() != size+1 {
		t.Fatalf("the form with its token in the body wrote %d events, want 1", h.ledger.Size()-size)
	}
}

// MustServeRealClock serves a hub on the real clock, for the timers.
func MustServeRealClock(t *testing.T, cfg hub.Config) *testHub {
	t.Helper()
	l, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if _, err := hub.SeedCatalog(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	cfg.WriteRate, cfg.WriteBurst, cfg.AddrRate, cfg.AddrBurst = 1e6, 1e6, 1e6, 1e6
	cfg.RegisterRate, cfg.RegisterBurst = 1e6, 1e6
	h := &testHub{t: t, srv: hub.New(l, cfg), ledger: l}
	h.serveSettled()
	return h
}

// The draw follows the close of the lottery window within a second, and an
// expiry its time: the timers wake at the next deadline rather than at the
// next 30 s sweep (TickInterval here is an hour). The figure is the
// recorded event's time minus the deadline, not the test's wall time.
func TestTimersWakeAtDeadline(t *testing.T) {
	const window = time.Second
	h := MustServeRealClock(t, hub.Config{MatchDelay: time.Millisecond, TickInterval: time.Hour, LotteryWindow: window})
	mill, bakers := h.register("Mill"), h.register("Bakers")
	h.call("POST", "/api/v1/offers", mill.Token, strings.Replace(flourOffer, "2026-12-20", time.Now().AddDate(0, 1, 0).Format("2006-01-02"), 1)).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, `{"item": "wheat-flour", "quantity": "80", "unit": "kg", "priority": 4}`).want(t, 201)
	expires := time.Now().Add(1500 * time.Millisecond).UTC()
	short := h.call("POST", "/api/v1/needs", bakers.Token, `{"item": "oats", "quantity": "1", "unit": "kg", "expires_at": "`+expires.Format(time.RFC3339Nano)+`"}`).want(t, 201).str("need.id")
	_, vtok := h.volunteer("Ada", "", bakers)

	ps := h.proposalsAfter(h.ledger.Size(), bakers.ID)
	if len(ps) != 1 {
		t.Fatalf("proposals %v", ps)
	}
	id := ps[0].(map[string]any)["id"].(string)
	h.call("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200)
	ag := h.call("POST", "/api/v1/proposals/"+id+"/accept", bakers.Token, "").want(t, 200).str("agreement.id")
	task := plenty.TaskID(ag)
	h.call("POST", "/api/v1/tasks/"+task+"/volunteer", vtok, "").want(t, 200)

	var tk plenty.Task
	h.ledger.Read(func(st *plenty.State) error { tk, _ = st.Task(task); return nil })
	// The recorded times of the events, against their deadlines.
	lag := map[string]time.Duration{}
	for deadline := time.Now().Add(10 * time.Second); len(lag) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("10 s on, only %v of the draw of task %s and the expiry of need %s were recorded; the timers did not wake at their deadlines", lag, task, short)
		}
		h.ledger.Events(context.Background(), 0, h.ledger.Size(), func(ev plenty.Event) error {
			switch ev.Kind {
			case plenty.KindTaskAssigned:
				lag["draw"] = ev.Time.Sub(tk.ClosesAt)
			case plenty.KindNeedExpired:
				lag["expiry"] = ev.Time.Sub(expires)
			}
			return nil
		})
	}
	for _, what := range []string{"draw", "expiry"} {
		d, ok := lag[what]
		if !ok || d < 0 || d > time.Second {
			t.Errorf("the %s was recorded %v after its deadline (found: %v), want within a second", what, d, ok)
		}
		t.Logf("%s recorded %v after its deadline", what, d)
	}
}

// The desk and the API say, next to the label field, that a label is a
// public role and not a person's name.
func TestLabelIsAPublicRole(t *testing.T) {
	h := MustOpenHub(t, hub.Config{TickInterval: time.Hour})
	h.serveSettled()
	a := h.register("Riverside Bakers")
	desk := h.browser().signIn(t, a.Token)
	if !strings.Contains(desk.Body, "Labels are public roles, not names") {
		t.Error("the desk's delegate form does not say that labels are public roles, not names")
	}
	api := string(h.call("GET", "/openapi.json", "", "").want(t, 200).Raw)
	if n := strings.Count(api, "Labels are public roles, not names"); n != 3 {
		t.Errorf("the API describes %d label fields as public roles, want 3 (Delegate, DelegateInput, CouncilInput.delegate)", n)
	}
}

// Behind a trusted reverse proxy the limits go by the client address the
// proxy names; a client cannot escape its own by writing the header, and
// without the proxy's trust the header is ignored.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.9/32")
	h := MustOpenHub(t, hub.Config{RegisterRate: 1, RegisterBurst: 1, TickInterval: time.Hour, TrustedProxies: []netip.Prefix{proxy}})
	h.serveSettled()
	vol := func(from, xff, handle string) response {
		return h.callFrom(from, "POST", "/api/v1/volunteers", `{"handle": "`+handle+`"}`, "X-Forwarded-For", xff)
	}
	vol("127.0.0.9", "203.0.113.4", "Ada").want(t, 201)
	vol("127.0.0.9", "203.0.113.4", "Bo").want(t, 429)
	vol("127.0.0.9", "203.0.113.5", "Cy").want(t, 201) // another client behind the proxy
	// The client wrote a made-up hop; the proxy appended the one it saw.
	vol("127.0.0.9", "198.51.100.7, 203.0.113.4", "Di").want(t, 429)
	// A chain of trusted proxies: the nearest untrusted hop is the client.
	vol("127.0.0.9", "203.0.113.4, 127.0.0.9", "Ed").want(t, 429)
	// A proxy that adds a header line of its own after the client's: the
	// lines are one list, read from the right.
	h.callFrom("127.0.0.9", "POST", "/api/v1/volunteers", `{"handle": "Eli"}`,
		"X-Forwarded-For", "198.51.100.9", "X-Forwarded-For", "203.0.113.4").want(t, 429)
	// A hop with a port is the same client.
	vol("127.0.0.9", "203.0.113.5:4444", "Eve").want(t, 429)
	// Not through the proxy, the header counts for nothing.
	vol("127.0.0.2", "203.0.113.6", "Fay").want(t, 201)
	vol("127.0.0.2", "203.0.113.7", "Gus").want(t, 429)
}
