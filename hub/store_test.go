package hub_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// failingLedger is a real ledger that can be told it failed, as after a
// commit DuckDB refused.
type failingLedger struct {
	*ledger.Ledger
	failed atomic.Bool
}

func (f *failingLedger) Failed() error {
	if f.failed.Load() {
		return plenty.Errorf(plenty.EUNAVAILABLE, "the ledger stopped after a failed commit (disk full)")
	}
	return f.Ledger.Failed()
}

// Once the ledger failed, every route answers 503 with a problem that says
// the hub must be restarted, and nothing is written.
func TestFailedLedgerAnswers503Everywhere(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	a := h.register("Riverside Bakers")
	f := &failingLedger{Ledger: h.ledger}
	h.srv = hub.New(f, hub.Config{Now: h.clock.Now, WriteRate: 1e6, WriteBurst: 1e6, AddrRate: 1e6, AddrBurst: 1e6})
	h.do("GET", "/api/v1/councils", "", "").want(t, 200)
	f.failed.Store(true)
	size := h.ledger.Size()
	for _, r := range []struct{ method, path, token, body string }{
		{"GET", "/healthz", "", ""},
		{"GET", "/api/v1/councils", "", ""},
		{"GET", "/api/v1/councils/" + a.ID, "", ""},
		{"POST", "/api/v1/offers", a.Token, flourOffer},
		{"POST", "/api/v1/councils", "", `{"name": "Late", "sector": "food", "place": "Bury", "location": {"lat": 53.6, "lon": -2.3}}`},
		{"GET", "/api/v1/proposals?council=" + a.ID, "", ""},
		{"GET", "/open/checkpoint", "", ""},
		{"GET", "/", "", ""},
		{"GET", "/desk", "", ""},
	} {
		t.Run(strings.ReplaceAll(r.method+r.path, "/", "_"), func(t *testing.T) {
			res := h.do(r.method, r.path, r.token, r.body).want(t, 503)
			if d := res.str("detail"); !strings.Contains(d, "must be restarted") {
				t.Fatalf("detail %q does not say the hub must be restarted", d)
			}
		})
	}
	if h.ledger.Size() != size {
		t.Fatalf("a failed hub wrote %d events", h.ledger.Size()-size)
	}

}
