package hub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// The demo plays three weeks of history through the API, so that every
// figure has something to show, and hands out tokens that hold at start.
func TestPlayDemo(t *testing.T) {
	clk := &clock{t: t0}
	demo := hub.NewDemoClock(clk.Now)
	l, err := ledger.Open(t.TempDir(), ledger.Options{Now: demo.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv := hub.New(l, hub.Config{Now: demo.Now})
	begin := time.Now()
	ds, err := hub.PlayDemo(context.Background(), srv, demo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("played %d events of history in %s", l.Size(), time.Since(begin).Round(time.Millisecond))
	if !demo.Now().Equal(t0) {
		t.Errorf("the clock reads %s after the history, want the real %s", demo.Now(), t0)
	}

	var (
		f                                  plenty.Figures
		first, last                        time.Time
		active, withdrawn, expired, shorts int
	)
	counts := map[string]int{}
	if err := l.Events(context.Background(), 0, l.Size(), func(ev plenty.Event) error {
		if first.IsZero() {
			first = ev.Time
		}
		last = ev.Time
		counts[ev.Kind]++
		if ev.Kind == plenty.KindAgreementCancelled {
			var c plenty.AgreementCancellation
			if err := json.Unmarshal(ev.Data, &c); err != nil {
				return err
			}
			if c.Reason == plenty.CancelExpired {
				expired++
			} else {
				withdrawn++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l.Read(func(st *plenty.State) error {
		f = st.Figures(t0)
		for _, a := range st.Agreements() {
			if a.Status == plenty.AgreementActive {
				active++
			}
			if r := st.AgreementReceived(a.ID); r > 0 && r < a.Quantity {
				shorts++
			}
		}
		return nil
	})
	if span := last.Sub(first); span < 20*24*time.Hour || last.After(t0) {
		t.Errorf("events from %s to %s, want three weeks ending before %s", first, last, t0)
	}
	if f.Deliveries == 0 || f.Volunteers < 5 || f.NeedsMet == 0 || f.MedianHoursToMeet <= 0 || f.Flows == 0 ||
		f.Tenures == 0 || f.MedianTenureDays <= 0 || f.Received == 0 || f.DistanceKm <= 0 {
		t.Errorf("figures after the history = %+v, want every one to show something", f)
	}
	if active == 0 || withdrawn == 0 || expired == 0 || shorts == 0 {
		t.Errorf("agreements: %d under way, %d withdrawn, %d expired, %d delivered short; want some of each", active, withdrawn, expired, shorts)
	}
	for _, kind := range []string{plenty.KindProposalDeclined, plenty.KindTaskAssigned, plenty.KindTransferRecorded, plenty.KindMandateExpired} {
		if counts[kind] == 0 {
			t.Errorf("no %s event in the history (%v)", kind, counts)
		}
	}

	// The tokens act at once, for a week less a little.
	if len(ds) != 46 || !hub.DemoTokensValid(l, []string{ds[0].Token, ds[45].Token}, t0) {
		t.Fatalf("%d demo delegates; tokens valid: %v", len(ds), hub.DemoTokensValid(l, []string{ds[0].Token}, t0))
	}
	h := &testHub{t: t, srv: srv, ledger: l, clock: clk}
	h.do("POST", "/api/v1/offers", ds[3].Token, flourOffer).want(t, 201)

	// A week on, they no longer hold; the hub renews them.
	if hub.DemoTokensValid(l, []string{ds[0].Token}, t0.Add(7*24*time.Hour)) {
		t.Error("a demo token is valid a week after it was issued")
	}
	again, err := hub.RenewDemo(context.Background(), l, t0.Add(time.Minute))
	if err != nil || len(again) != 46 || again[0].Token == ds[0].Token || !hub.DemoTokensValid(l, []string{again[0].Token}, t0.Add(6*24*time.Hour)) {
		t.Fatalf("renewed: %d, %v", len(again), err)
	}
}
