package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/plentyhub/plenty/hub"
)

// TestAuthorizationMatrix tries every write as every kind of caller and
// checks the status, and that a refusal writes nothing.
func TestAuthorizationMatrix(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a, b := h.register("Riverside Bakers"), h.register("Hill Millers")
	_, postOnly := h.issue(a, `["post"]`)
	_, acceptOnly := h.issue(a, `["accept"]`)
	_, delegateOnly := h.issue(a, `["delegate"]`)
	recalledID, recalled := h.issue(a, `["post", "delegate"]`)
	h.do("DELETE", "/api/v1/councils/"+a.ID+"/delegates/"+recalledID, a.Token, "").want(t, 200)
	r := h.do("POST", "/api/v1/councils/"+a.ID+"/delegates", a.Token,
		`{"label": "short", "mandate": "one hour", "scopes": ["post", "delegate"], "expires_at": "2026-11-21T11:00:00Z"}`).want(t, 201)
	expired := r.str("delegate.token")
	h.clock.Add(2 * time.Hour)

	callers := []struct{ name, header string }{
		{"NoToken", ""},
		{"NotBearer", "Basic " + a.Token},
		{"UnknownToken", "Bearer plenty_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"Expired", "Bearer " + expired},
		{"Recalled", "Bearer " + recalled},
		{"OtherCouncil", "Bearer " + b.Token},
		{"AcceptOnly", "Bearer " + acceptOnly},
		{"PostOnly", "Bearer " + postOnly},
		{"DelegateOnly", "Bearer " + delegateOnly},
		{"Full", "Bearer " + a.Token},
		{"Assembly", "Bearer " + a.Assembly},
		{"OtherAssembly", "Bearer " + b.Assembly},
	}
	n := 0
	// Each action prepares its target with a's first delegate, then
	// returns the request to try.
	actions := []struct {
		name    string
		prepare func() (method, path, body string)
		want    map[string]int
	}{
		{"PostOffer", func() (string, string, string) { return "POST", "/api/v1/offers", flourOffer },
			map[string]int{"OtherCouncil": 201, "AcceptOnly": 403, "PostOnly": 201, "DelegateOnly": 403, "Full": 201, "Assembly": 403, "OtherAssembly": 403}},
		{"PostNeed", func() (string, string, string) { return "POST", "/api/v1/needs", flourNeed },
			map[string]int{"OtherCouncil": 201, "AcceptOnly": 403, "PostOnly": 201, "DelegateOnly": 403, "Full": 201, "Assembly": 403, "OtherAssembly": 403}},
		{"WithdrawOffer", func() (string, string, string) {
			id := h.do("POST", "/api/v1/offers", a.Token, flourOffer).want(t, 201).str("offer.id")
			return "POST", "/api/v1/offers/" + id + "/withdraw", ""
		}, map[string]int{"OtherCouncil": 403, "AcceptOnly": 403, "PostOnly": 200, "DelegateOnly": 403, "Full": 200, "Assembly": 403, "OtherAssembly": 403}},
		{"WithdrawNeed", func() (string, string, string) {
			id := h.do("POST", "/api/v1/needs", a.Token, flourNeed).want(t, 201).str("need.id")
			return "POST", "/api/v1/needs/" + id + "/withdraw", ""
		}, map[string]int{"OtherCouncil": 403, "AcceptOnly": 403, "PostOnly": 200, "DelegateOnly": 403, "Full": 200, "Assembly": 403, "OtherAssembly": 403}},
		{"DefineItem", func() (string, string, string) {
			n++
			return "POST", "/api/v1/items", fmt.Sprintf(`{"code": "rye-bread-%d", "name": "Rye bread", "dimension": "count"}`, n)
		}, map[string]int{"OtherCouncil": 201, "AcceptOnly": 403, "PostOnly": 201, "DelegateOnly": 403, "Full": 201, "Assembly": 403, "OtherAssembly": 403}},
		{"IssueDelegate", func() (string, string, string) {
			return "POST", "/api/v1/councils/" + a.ID + "/delegates", `{"label": "x", "mandate": "y", "scopes": ["delegate"]}`
		}, map[string]int{"OtherCouncil": 403, "AcceptOnly": 403, "PostOnly": 403, "DelegateOnly": 201, "Full": 201, "Assembly": 201, "OtherAssembly": 403}},
		{"RecallDelegate", func() (string, string, string) {
			id, _ := h.issue(a, `["post"]`)
			return "DELETE", "/api/v1/councils/" + a.ID + "/delegates/" + id, ""
		}, map[string]int{"OtherCouncil": 403, "AcceptOnly": 403, "PostOnly": 403, "DelegateOnly": 403, "Full": 200, "Assembly": 200, "OtherAssembly": 403}},
	}
	for _, act := range actions {
		for _, c := range callers {
			t.Run(act.name+"/"+c.name, func(t *testing.T) {
				want, ok := act.want[c.name]
				if !ok {
					want = 401
				}
				method, path, body := act.prepare()
				size := h.ledger.Size()
				var r response
				if c.header == "" {
					r = h.do(method, path, "", body)
				} else {
					r = h.do(method, path, "", body, "Authorization", c.header)
				}
				r.want(t, want)
				grew := h.ledger.Size() - size
				if want >= 400 && grew != 0 {
					t.Errorf("a refusal wrote %d events", grew)
				}
				if want < 400 && grew != 1 {
					t.Errorf("a success wrote %d events, want 1", grew)
				}
				if want == 401 && r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	}
}
