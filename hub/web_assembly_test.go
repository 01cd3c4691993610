package hub_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
)

// A council whose every mandate ran out is not locked out: its assembly
// signs in with the key shown at registration, sees that no mandate is in
// force, issues one (token shown once), renews it and recalls another with
// a confirmation; the delegate's token then works on the desk and the API.
// A wrong key, a missing confirmation and a replaced key are refused.
func TestAssemblyPageRenewsALapsedCouncil(t *testing.T) {
	h := MustServeHub(t, hub.Config{TickInterval: time.Hour})
	a := h.register("Riverside Bakers")
	h.clock.Add(8 * 24 * time.Hour) // the first mandate ran out
	h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 401)

	b := h.browser()
	form := b.get("/assembly").want(t, 200)
	bad := b.post("/assembly/signin", url.Values{"csrf": {form.value(t, "/assembly/signin", "csrf")}, "key": {"plenty_assembly_nope"}}).want(t, 401)
	if !strings.Contains(bad.Body, "not an assembly key in force") {
		t.Fatalf("a wrong key: %s", bad.Body)
	}
	// The delegate's token is not the assembly key.
	b.post("/assembly/signin", url.Values{"csrf": {form.value(t, "/assembly/signin", "csrf")}, "key": {a.Token}}).want(t, 401)
	page := b.post("/assembly/signin", url.Values{"csrf": {form.value(t, "/assembly/signin", "csrf")}, "key": {a.Assembly}}).want(t, 200)
	if page.find("none-in-force") == nil {
		t.Fatalf("the page does not say that no mandate is in force: %s", page.Body)
	}
	csrf := page.value(t, "/assembly/delegates", "csrf")
	size := h.ledger.Size()
	issued := b.post("/assembly/delegates", url.Values{"csrf": {csrf}, "label": {"stores delegate"}, "mandate": {"post and accept flour"},
		"scopes": {"post", "accept"}, "term_days": {"3"}}).want(t, 200)
	n := issued.find("new-token")
	if n == nil || h.ledger.Size() != size+1 {
		t.Fatalf("issued: no token field, %d events: %s", h.ledger.Size()-size, issued.Body)
	}
	delegateToken := attr(n, "value")
	if !strings.HasPrefix(delegateToken, "plenty_") {
		t.Fatalf("issued token %q", delegateToken)
	}
	h.do("POST", "/api/v1/offers", delegateToken, flourOffer).want(t, 201)

	// Renew it, and recall it only with the confirmation ticked.
	council := h.do("GET", "/api/v1/councils/"+a.ID, "", "").want(t, 200)
	var id string
	for _, d := range council.get("delegates").([]any) {
		if m := d.(map[string]any); m["label"] == "stores delegate" {
			id = m["id"].(string)
		}
	}
	b.post("/assembly/delegates/"+id+"/renew", url.Values{"csrf": {csrf}, "term_days": {"7"}}).want(t, 200)
	if by := h.do("GET", "/api/v1/councils/"+a.ID, "", "").want(t, 200); !strings.Contains(string(by.Raw), `"issued_by":"assembly"`) {
		t.Fatalf("the public read-back does not show the assembly as issuer: %s", by.Raw)
	}
	// What fell due (the first mandate's end) is recorded now, not by the
	// timers in the middle of the next check.
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	size = h.ledger.Size()
	b.post("/assembly/delegates/"+id+"/recall", url.Values{"csrf": {csrf}}).want(t, 422)
	if h.ledger.Size() != size {
		var kinds []string
		h.ledger.Events(context.Background(), size, h.ledger.Size(), func(ev plenty.Event) error { kinds = append(kinds, ev.Kind+" "+string(ev.Data)); return nil })
		t.Fatalf("a recall without its confirmation wrote %v", kinds)
	}
	b.post("/assembly/delegates/"+id+"/recall", url.Values{"csrf": {csrf}, "confirm": {"yes"}}).want(t, 200)
	h.do("POST", "/api/v1/offers", delegateToken, flourOffer).want(t, 401)

	// A replaced key ends the assembly's session.
	h.do("POST", "/api/v1/councils/"+a.ID+"/assembly/key", a.Assembly, "").want(t, 201)
	b.post("/assembly/delegates", url.Values{"csrf": {csrf}, "label": {"x"}, "mandate": {"y"}, "scopes": {"post"}, "term_days": {"1"}}).want(t, 401)
}
