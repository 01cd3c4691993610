package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/plentyhub/plenty/hub"
)

// MustServeHub starts a hub (as MustOpenHub) on 127.0.0.1 and stops it
// when the test ends; its URL is h.base.
func MustServeHub(t *testing.T, cfg hub.Config) *testHub {
	t.Helper()
	h := MustOpenHub(t, cfg)
	h.serve()
	return h
}

// browser is a plain HTTP client with cookies: a reader without
// JavaScript.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (h *testHub) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, base: h.base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is an answer of the hub, parsed as HTML.
type page struct {
	Status int
	Header http.Header
	Body   string
	Doc    *html.Node
	URL    string
}

func (b *browser) get(path string) page {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return b.read(res)
}

// post sends a form; the client follows the hub's 303 to the next page.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(res)
}

func (b *browser) read(res *http.Response) page {
	b.t.Helper()
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{Status: res.StatusCode, Header: res.Header, Body: string(raw), URL: res.Request.URL.Path}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if p.Doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
			b.t.Fatalf("%s: not HTML: %v", p.URL, err)
		}
	}
	return p
}

func (p page) want(t *testing.T, status int) page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.URL, p.Status, status, text(p.Doc))
	}
	return p
}

// find returns the first element with the id, or nil.
func (p page) find(id string) *html.Node {
	var found *html.Node
	walk(p.Doc, func(n *html.Node) bool {
		if found == nil && n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
		}
		return found == nil
	})
	return found
}

// textOf returns the text of the element with the id, spaces collapsed.
func (p page) textOf(t *testing.T, id string) string {
	t.Helper()
	n := p.find(id)
	if n == nil {
		t.Fatalf("%s: no element #%s in\n%s", p.URL, id, text(p.Doc))
	}
	return text(n)
}

// value returns the value of the named input of the form posting to action.
func (p page) value(t *testing.T, action, name string) string {
	t.Helper()
	var form *html.Node
	walk(p.Doc, func(n *html.Node) bool {
		if form == nil && n.Type == html.ElementNode && n.Data == "form" && attr(n, "action") == action {
			form = n
		}
		return form == nil
	})
	if form == nil {
		t.Fatalf("%s: no form posting to %s", p.URL, action)
	}
	v, found := "", false
	walk(form, func(n *html.Node) bool {
		if !found && n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name {
			v, found = attr(n, "value"), true
		}
		return !found
	})
	if !found {
		t.Fatalf("%s: the form posting to %s has no input %q", p.URL, action, name)
	}
	return v
}

// walk calls fn on n and below, in document order, skipping the
// children of a node for which fn returns false.
func walk(n *html.Node, fn func(*html.Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// text returns the visible text under n with runs of space collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(x *html.Node) bool {
		if x.Type == html.ElementNode && (x.Data == "script" || x.Data == "style" || x.Data == "head") {
			return false
		}
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
			b.WriteByte(' ')
		}
		return true
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// signIn signs b in on the desk with token and returns the desk.
func (b *browser) signIn(t *testing.T, token string) page {
	t.Helper()
	form := b.get("/desk").want(t, 200)
	csrf := form.value(t, "/desk/signin", "csrf")
	return b.post("/desk/signin", url.Values{"csrf": {csrf}, "token": {token}}).want(t, 200)
}

func TestWebPublicPagesWithoutJavaScript(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201)
	h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201)
	b := h.browser()

	home := b.get("/").want(t, 200)
	if got := home.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") || strings.Contains(got, "script-src") {
		t.Errorf("Content-Security-Policy = %q: the pages need no script and no third party", got)
	}
	if s := strings.Count(home.Body, "<script"); s != 0 {
		t.Errorf("the home page has %d scripts; it must work without JavaScript", s)
	}
	if got := home.textOf(t, "needs-met-title"); got != "Needs met over time" {
		t.Errorf("chart title = %q", got)
	}
	if got := home.textOf(t, "needs-met-desc"); got != "needs posted: 1. needs met: 0." {
		t.Errorf("needs met chart says %q", got)
	}
	if !strings.Contains(text(home.Doc), "Riverside Bakers food Riverside 1 1") {
		t.Errorf("the councils table does not list Riverside with 1 open offer and 1 open need:\n%s", text(home.Doc))
	}

	council := b.get("/councils/"+a.ID).want(t, 200)
	body := text(council.Doc)
	for _, want := range []string{"Wheat flour 250 kg 250 kg 20 Dec 2026 40 km stone-milled", "Wheat flour 80.5 kg 80.5 kg 10 Dec 2026 4",
		"first delegate in force", "Registers the council; may post, accept and issue delegates"} {
		if !strings.Contains(body, want) {
			t.Errorf("council page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(council.Body, a.Token) || strings.Contains(council.Body, "token_hash") {
		t.Error("the council page shows a token")
	}

	open := b.get("/open").want(t, 200)
	if got := open.textOf(t, "verifier-key"); got != h.ledger.VerifierKey() {
		t.Errorf("verifier key = %q, want %q", got, h.ledger.VerifierKey())
	}
	cp := b.get("/open/checkpoint").want(t, 200)
	if got := open.textOf(t, "checkpoint-text"); got != strings.Join(strings.Fields(cp.Body), " ") {
		t.Errorf("the open page's checkpoint\n%s\nis not the one /open/checkpoint serves\n%s", got, cp.Body)
	}
	if !strings.Contains(open.Body, `href="/open/events.arrow"`) || !strings.Contains(open.Body, `href="/open/accounts.parquet"`) {
		t.Error("the open page does not link every download")
	}

	items := b.get("/items").want(t, 200)
	if !strings.Contains(text(items.Doc), "wheat-flour Wheat flour mass kg") {
		t.Errorf("the catalog lacks wheat flour:\n%s", text(items.Doc))
	}
	missing := b.get("/councils/c_nope").want(t, 404)
	if !strings.Contains(text(missing.Doc), "there is no council c_nope") {
		t.Errorf("404 page: %s", text(missing.Doc))
	}
	css := b.get("/static/plenty.css").want(t, 200)
	if !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") || !strings.Contains(css.Body, ":focus-visible") {
		t.Errorf("stylesheet: %s", css.Header.Get("Content-Type"))
	}
}

func TestWebDeskCookieAndCSRF(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	b := h.browser()

	// Signing in without the form's CSRF token is refused.
	res := b.post("/desk/signin", url.Values{"token": {a.Token}}).want(t, 403)
	if !strings.Contains(text(res.Doc), "CSRF token is missing or stale") {
		t.Errorf("refusal: %s", text(res.Doc))
	}
	// A wrong token shows the error at the field.
	form := b.get("/desk").want(t, 200)
	bad := b.post("/desk/signin", url.Values{"csrf": {form.value(t, "/desk/signin", "csrf")}, "token": {"plenty_nope"}}).want(t, 401)
	if got := bad.textOf(t, "signin-error"); got != "the token is not valid; ask your council for a delegate's token" {
		t.Errorf("sign-in error = %q", got)
	}

	// The session cookie's flags.
	form = b.get("/desk")
	req, _ := http.NewRequest("POST", h.base+"/desk/signin", strings.NewReader(url.Values{
		"csrf": {form.value(t, "/desk/signin", "csrf")}, "token": {a.Token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(h.base + "/desk")
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/desk" {
		t.Fatalf("sign-in answered %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "plenty_desk" {
			sc = c
		}
	}
	if sc == nil {
		t.Fatalf("no session cookie in %v", r.Header["Set-Cookie"])
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/desk" || sc.Secure || len(sc.Value) < 43 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/desk, not Secure over plain HTTP, 256 random bits", sc)
	}
	if strings.Contains(sc.Value, a.Token) {
		t.Error("the cookie carries the token")
	}

	desk := b.signIn(t, a.Token)
	if got := desk.textOf(t, "signed-in-as"); got != "first delegate" {
		t.Errorf("desk signed in as %q", got)
	}
	size := h.ledger.Size()
	// A form POST without the CSRF token writes nothing.
	res = b.post("/desk/offers", url.Values{"item": {"wheat-flour"}, "quantity": {"10"}, "unit": {"kg"}}).want(t, 403)
	if !strings.Contains(text(res.Doc), "nothing was done") {
		t.Errorf("refusal: %s", text(res.Doc))
	}
	res = b.post("/desk/offers", url.Values{"csrf": {"forged"}, "item": {"wheat-flour"}, "quantity": {"10"}, "unit": {"kg"}}).want(t, 403)
	if h.ledger.Size() != size {
		t.Fatalf("a refused form wrote %d events", h.ledger.Size()-size)
	}

	// Field errors are shown at their fields, with the values kept.
	csrf := desk.value(t, "/desk/offers", "csrf")
	res = b.post("/desk/offers", url.Values{"csrf": {csrf}, "item": {"wheat-flour"}, "quantity": {"-3"}, "unit": {"kg"},
		"max_distance_km": {"far"}, "note": {"spelt too"}}).want(t, 422)
	for id, want := range map[string]string{
		"offer-quantity-error":        "must be greater than 0",
		"offer-max_distance_km-error": "must be a number of kilometres such as 40",
	} {
		if got := res.textOf(t, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if q := res.find("offer-quantity"); q == nil || attr(q, "aria-invalid") != "true" || attr(q, "value") != "-3" {
		t.Errorf("the quantity input is not marked invalid with its value kept")
	}
	if got := res.textOf(t, "offer-note"); got != "spelt too" {
		t.Errorf("note kept as %q", got)
	}
	res = b.post("/desk/offers", url.Values{"csrf": {csrf}, "item": {"wheat-flour"}, "quantity": {"3"}, "unit": {"l"}}).want(t, 422)
	if got := res.textOf(t, "offer-unit-error"); !strings.Contains(got, "kg") {
		t.Errorf("#offer-unit-error = %q, want the units of mass", got)
	}
	if h.ledger.Size() != size {
		t.Fatalf("an invalid form wrote %d events", h.ledger.Size()-size)
	}

	// A good form writes once, even when sent twice.
	good := url.Values{"csrf": {csrf}, "idem": {desk.value(t, "/desk/offers", "idem")}, "item": {"wheat-flour"},
		"quantity": {"12.5"}, "available_until": {"2026-12-01"}, "note": {"from the desk"}}
	res = b.post("/desk/offers", good).want(t, 200)
	if !strings.HasPrefix(res.textOf(t, "flash"), "Offer o_") || !strings.Contains(text(res.Doc), "Wheat flour 12.5 kg 12.5 kg 1 Dec 2026") {
		t.Errorf("after posting: %s", text(res.Doc))
	}
	b.post("/desk/offers", good).want(t, 200)
	if h.ledger.Size() != size+1 {
		t.Errorf("the same form sent twice wrote %d events, want 1", h.ledger.Size()-size)
	}
	offers := h.do("GET", "/api/v1/offers?council="+a.ID, "", "").want(t, 200)
	if offers.str("offers.0.quantity") != "12.5" || offers.str("offers.0.available_until") != "2026-12-01T23:59:59Z" ||
		offers.str("offers.0.note") != "from the desk" {
		t.Errorf("offer = %s", offers.Raw)
	}

	// Signing out ends the session on the hub, not only in the browser.
	b.post("/desk/signout", url.Values{"csrf": {csrf}}).want(t, 200)
	res = b.post("/desk/offers", good).want(t, 401)
	if h.ledger.Size() != size+1 {
		t.Error("a signed-out form wrote")
	}
}

// TestWebCookieSecureOverTLS checks that the session cookie is Secure
// when the hub answers over TLS.
func TestWebCookieSecureOverTLS(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		<-done
	})
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: "https://" + ln.Addr().String(), c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	form := b.get("/desk").want(t, 200)
	res := b.post("/desk/signin", url.Values{"csrf": {form.value(t, "/desk/signin", "csrf")}, "token": {a.Token}}).want(t, 303)
	var found bool
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "plenty_desk=") {
			found = true
			for _, flag := range []string{"HttpOnly", "secure", "SameSite=Strict", "path=/desk"} {
				if !strings.Contains(strings.ToLower(line), strings.ToLower(flag)) {
					t.Errorf("session cookie %q lacks %s over TLS", line, flag)
				}
			}
		}
	}
	if !found {
		t.Fatalf("no session cookie in %v", res.Header.Values("Set-Cookie"))
	}
}

// TestWebRecallEndsSession checks that a delegate recalled from the desk
// is signed out at once, and that the recall is in the public read-back.
func TestWebRecallEndsSession(t *testing.T) {
	h := MustServeHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	id, token := h.issue(a, `["post"]`)
	second := h.browser()
	second.signIn(t, token)
	first := h.browser()
	desk := first.signIn(t, a.Token)
	csrf := desk.value(t, "/desk/offers", "csrf")
	// Without confirm=yes the desk asks first, and nothing is written.
	size := h.ledger.Size()
	ask := first.post("/desk/delegates/"+id+"/recall", url.Values{"csrf": {csrf}}).want(t, 200)
	if got := ask.textOf(t, "confirm"); !strings.HasPrefix(got, "Recall second ("+id+")?") || !strings.Contains(got, "Yes, recall second") {
		t.Errorf("confirmation = %q", got)
	}
	if h.ledger.Size() != size {
		t.Fatal("the recall was written before it was confirmed")
	}
	res := first.post("/desk/delegates/"+id+"/recall", url.Values{"csrf": {csrf}, "confirm": {"yes"}}).want(t, 200)
	if got := res.textOf(t, "flash"); got != "Delegate second ("+id+") recalled." {
		t.Errorf("flash = %q", got)
	}
	again := second.get("/desk").want(t, 200)
	if got := again.textOf(t, "signin-error"); !strings.HasPrefix(got, "delegate "+id+" was recalled at") {
		t.Errorf("the recalled delegate's desk says %q", got)
	}
	council := first.get("/councils/"+a.ID).want(t, 200)
	if got := council.textOf(t, id); !strings.HasPrefix(got, "second recalled 21 Nov 2026") {
		t.Errorf("public read-back of the recalled mandate: %q", got)
	}
}
