package hub_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty/hub"
)

// receiver is a webhook receiver on 127.0.0.1 that checks each delivery's
// Standard Webhooks signature.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	fail   func(id string, attempt int) bool // answer 500 to this attempt

	mu       sync.Mutex
	attempts []string // webhook-ids, in the order they came
	accepted []string
	types    []string
	got      chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	if err != nil {
		r.t.Errorf("secret %q is not whsec_ and base64", r.secret)
	}
	var tsn int64
	fmt.Sscan(ts, &tsn)
	want, _ := hub.Sign(r.secret, id, tsn, body)
	mac := hmacSHA256(key, []byte(id+"."+ts+"."+string(body)))
	if sig != "v1,"+base64.StdEncoding.EncodeToString(mac) || sig != want || id == "" || tsn == 0 {
		r.t.Errorf("delivery %q at %q has signature %q, want v1,%s", id, ts, sig, base64.StdEncoding.EncodeToString(mac))
	}
	var payload struct {
		Type      string
		Timestamp string
		Data      map[string]string
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Type == "" || payload.Data["council"] == "" {
		r.t.Errorf("delivery body %s: %v", body, err)
	}
	r.mu.Lock()
	n := 0
	for _, a := range r.attempts {
		if a == id {
			n++
		}
	}
	r.attempts = append(r.attempts, id)
	failing := r.fail != nil && r.fail(id, n+1)
	if !failing {
		r.accepted = append(r.accepted, id)
		r.types = append(r.types, payload.Type)
	}
	r.mu.Unlock()
	if failing {
		w.WriteHeader(500)
		return
	}
	w.WriteHeader(204)
	r.got <- struct{}{}
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// waitFor waits until r accepted n deliveries.
func (r *receiver) waitFor(n int) {
	r.t.Helper()
	for {
		r.mu.Lock()
		got := len(r.accepted)
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-r.got:
		case <-time.After(20 * time.Second):
			r.t.Fatalf("the receiver got %d deliveries in 20 s, want %d", got, n)
		}
	}
}

func (h *testHub) webhook(c council, url, events string) string {
	h.t.Helper()
	r := h.call("POST", "/api/v1/councils/"+c.ID+"/webhooks", c.Token, `{"url": "`+url+`", "events": `+events+`}`).want(h.t, 201)
	if !strings.HasPrefix(r.str("webhook.secret"), "whsec_") || r.str("webhook.status") != "active" {
		h.t.Fatalf("webhook = %s", r.Raw)
	}
	return r.str("webhook.secret")
}

// Webhooks reach a real receiver on 127.0.0.1, each signed; the list
// shows how the last delivery went; the hub's own address is refused.
func TestWebhooksSigned(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true})
	base := h.serve()
	bakers := h.register("Bakers")
	rc := newReceiver(t)
	rc.secret = h.webhook(bakers, rc.srv.URL+"/plenty", `["*"]`)
	mill := h.register("Mill")
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.feed("/api/v1/councils/" + bakers.ID + "/feed.atom") // the proposals are told before they are answered
	p := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.call("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	h.call("POST", "/api/v1/proposals/"+p+"/accept", bakers.Token, "").want(t, 200)
	rc.waitFor(3)
	rc.mu.Lock()
	types := slices.Clone(rc.types)
	rc.mu.Unlock()
	if want := []string{"proposal.new", "proposal.accepted", "agreement.formed"}; !slices.Equal(types, want) {
		t.Fatalf("deliveries %q, want %q", types, want)
	}
	// The hub records the answer just after the receiver sent it.
	var r response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if r = h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200); r.get("webhooks.0.pending") == 0.0 {
			break
		}
	}
	if r.get("webhooks.0.delivered") != 3.0 || r.get("webhooks.0.last.ok") != true || r.get("webhooks.0.last.status") != 204.0 || r.get("webhooks.0.secret") != nil {
		t.Fatalf("webhooks = %s", r.Raw)
	}
	// Never the hub itself, by address or by name.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	for _, u := range []string{base + "/api/v1/councils", "http://localhost:" + port + "/x"} {
		r := h.call("POST", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, `{"url": "`+u+`", "events": ["*"]}`).want(t, 422)
		if !strings.Contains(string(r.Raw), "this hub itself") {
			t.Errorf("%s refused with %s", u, r.Raw)
		}
	}
	if n := len(h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200).get("webhooks").([]any)); n != 1 {
		t.Fatalf("%d webhooks after refusals, want 1", n)
	}
}

// By default a delegate cannot point the hub's webhooks into the network it
// runs in: loopback, private and link-local addresses are refused, by
// address or by name, and nothing is registered.
func TestWebhooksStayOutOfPrivateNetworks(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.serve()
	bakers := h.register("Bakers")
	for _, u := range []string{"http://127.0.0.1:9/", "http://localhost:9/", "http://10.0.0.5/", "http://192.168.1.1/",
		"http://169.254.169.254/latest/meta-data/", "http://[::1]:9/", "http://0.0.0.0:9/"} {
		r := h.call("POST", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, `{"url": "`+u+`", "events": ["*"]}`).want(t, 422)
		if !strings.Contains(string(r.Raw), "--webhook-private allows it") {
			t.Errorf("%s refused with %s", u, r.Raw)
		}
	}
	if n := len(h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200).get("webhooks").([]any)); n != 0 {
		t.Fatalf("%d webhooks after refusals, want none", n)
	}
}

// A receiver that fails twice then answers gets each message once, in
// order: the first is retried and nothing overtakes it.
func TestWebhookRetriedInOrder(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true, WebhookRetryBase: 5 * time.Millisecond, WebhookRetryMax: 20 * time.Millisecond})
	h.serve()
	bakers := h.register("Bakers")
	rc := newReceiver(t)
	var first string
	rc.fail = func(id string, attempt int) bool {
		if first == "" {
			first = id
		}
		return id == first && attempt <= 2
	}
	rc.secret = h.webhook(bakers, rc.srv.URL, `["proposal.new", "proposal.accepted", "agreement.formed"]`)
	mill := h.register("Mill")
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.feed("/api/v1/councils/" + bakers.ID + "/feed.atom") // the proposals are told before they are answered
	p := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.call("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	h.call("POST", "/api/v1/proposals/"+p+"/accept", bakers.Token, "").want(t, 200)
	rc.waitFor(3)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.attempts) != 5 || rc.attempts[0] != first || rc.attempts[1] != first || rc.attempts[2] != first {
		t.Fatalf("attempts %q: want the first message three times, then the others", rc.attempts)
	}
	if want := []string{"proposal.new", "proposal.accepted", "agreement.formed"}; !slices.Equal(rc.types, want) || rc.accepted[0] != first ||
		len(slices.Compact(slices.Clone(rc.accepted))) != 3 {
		t.Fatalf("accepted %q %q, want each once in order", rc.accepted, rc.types)
	}
}

// A receiver that never answers is paused after its retries; another
// council's receiver is served meanwhile, unhindered.
func TestWebhookNeverAnswers(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true, WebhookTimeout: 300 * time.Millisecond, WebhookRetryBase: 10 * time.Millisecond,
		WebhookRetryMax: 20 * time.Millisecond, WebhookRetryFor: 50 * time.Millisecond})
	h.serve()
	mill, bakers := h.register("Mill"), h.register("Bakers")
	release := make(chan struct{})
	var mu sync.Mutex
	hung := 0
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hung++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(silent.Close)
	t.Cleanup(func() { close(release) })
	h.webhook(mill, silent.URL, `["*"]`)
	rc := newReceiver(t)
	rc.secret = h.webhook(bakers, rc.srv.URL, `["*"]`)

	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.feed("/api/v1/councils/" + bakers.ID + "/feed.atom") // the proposals are told before they are answered
	p := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.call("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	h.call("POST", "/api/v1/proposals/"+p+"/accept", bakers.Token, "").want(t, 200)
	rc.waitFor(3)
	mu.Lock()
	attempts := hung
	mu.Unlock()
	if attempts > 2 {
		t.Errorf("the silent receiver had %d attempts before the other got its 3 deliveries: it slowed the others", attempts)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r := h.call("GET", "/api/v1/councils/"+mill.ID+"/webhooks", mill.Token, "").want(t, 200)
		if r.str("webhooks.0.status") == "paused" {
			if r.get("webhooks.0.last.ok") != false || !strings.Contains(r.str("webhooks.0.last.error"), "Timeout") || r.get("webhooks.0.delivered") != 0.0 ||
				r.str("webhooks.0.paused_at") == "" {
				t.Fatalf("paused webhook = %s", r.Raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the silent receiver's webhook is not paused after 20 s: %s", r.Raw)
		}
	}
	if r := h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200); r.str("webhooks.0.status") != "active" {
		t.Fatalf("the answering receiver's webhook = %s", r.Raw)
	}
}

// A delivery goes to the registered URL only: a redirect is a failure,
// never followed.
func TestWebhookNoRedirects(t *testing.T) {
	h := MustOpenHub(t, hub.Config{WebhookPrivate: true, WebhookRetryBase: time.Millisecond, WebhookRetryMax: 2 * time.Millisecond, WebhookRetryFor: 5 * time.Millisecond})
	h.serve()
	var mu sync.Mutex
	reached := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached++
		mu.Unlock()
	}))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	bakers := h.register("Bakers")
	h.webhook(bakers, redirect.URL, `["*"]`)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	mill := h.register("Mill")
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200)
		if r.str("webhooks.0.status") == "paused" {
			if r.get("webhooks.0.last.status") != 307.0 || !strings.Contains(r.str("webhooks.0.last.error"), "307") {
				t.Fatalf("paused webhook = %s", r.Raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a redirecting receiver was not paused: %s", r.Raw)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if reached != 0 {
		t.Fatalf("the redirect's target was reached %d times", reached)
	}
}

// A webhook's queue survives a restart: what failed before is delivered
// after, under the same webhook-id.
func TestWebhookQueueSurvivesRestart(t *testing.T) {
	cfg := hub.Config{WebhookPrivate: true, WebhookRetryBase: time.Hour}
	h := MustOpenHub(t, cfg)
	h.serve()
	bakers := h.register("Bakers")
	rc := newReceiver(t)
	var mu sync.Mutex
	down := true
	rc.fail = func(string, int) bool { mu.Lock(); defer mu.Unlock(); return down }
	rc.secret = h.webhook(bakers, rc.srv.URL, `["proposal.new"]`)
	mill := h.register("Mill")
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := h.call("GET", "/api/v1/councils/"+bakers.ID+"/webhooks", bakers.Token, "").want(t, 200)
		if r.get("webhooks.0.last.status") == 500.0 && r.get("webhooks.0.pending") == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt within 20 s: %s", r.Raw)
		}
	}
	rc.mu.Lock()
	failed := slices.Clone(rc.attempts)
	rc.mu.Unlock()
	mu.Lock()
	down = false
	mu.Unlock()
	h = h.restart(cfg)
	rc.waitFor(1)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(failed) != 1 || rc.accepted[0] != failed[0] || rc.types[0] != "proposal.new" {
		t.Fatalf("failed %q before the restart, accepted %q after", failed, rc.accepted)
	}
}
