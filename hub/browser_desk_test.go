package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plentyhub/plenty/hub"
)

// TestBrowserDeskStory drives the desk's second thoughts through
// Chromium: the mill posts an offer and changes it, posts a need by
// mistake and withdraws it; the bakers post a need with a decimal comma;
// the mill accepts the proposal and takes its acceptance back, then
// accepts again; the bakers accept, the agreement forms, and the bakers
// cancel it after confirming; the engine proposes again, both accept, and
// the bakers confirm the receipt. The bakers issue a delegate, whose
// token is in view where the page lands, then recall her after
// confirming; their own mandate has no recall button.
func TestBrowserDeskStory(t *testing.T) {
	h := MustServeHub(t, hub.Config{MatchDelay: time.Millisecond, TickInterval: time.Hour})
	browser := newBrowser(t, h.base)
	mill, bakers := h.register("Mill"), h.register("Bakers")
	ctx := context.Background()
	proposals := `section[aria-labelledby="proposals"]`

	// Post, then change: the changed offer replaces the old one.
	m := browser("mill")
	m.signIn(mill.Token)
	m.set("offer-item", "Wheat flour", "offer-quantity", "250", "offer-note", "stone-milled")
	m.submit(`form[action="/desk/offers"] button`)
	m.wantText("#flash", "250 kg of Wheat flour")
	m.submit(`#offers ~ .table-wrap a[href*="change=offer:"]`)
	m.wantText("#post-offer", "Change offer o_")
	if got := m.value("#offer-item") + " " + m.value("#offer-quantity") + " " + m.value("#offer-note"); got != "Wheat flour 250 stone-milled" {
		t.Fatalf("the change form holds %q", got)
	}
	m.screenshot("change-offer")
	m.set("offer-quantity", "200")
	m.wantText(`form[action="/desk/offers"] button`, "Post the changed offer")
	m.submit(`form[action="/desk/offers"] button`)
	m.wantText("#flash", "200 kg of Wheat flour", "It replaces offer o_", "now withdrawn")
	if got := m.text("#offers ~ .table-wrap tbody"); strings.Count(got, "Wheat flour") != 1 || !strings.Contains(got, "200 kg") {
		t.Fatalf("open offers after the change: %q", got)
	}

	// A need posted by mistake is withdrawn.
	m.set("need-item", "Rye flour", "need-quantity", "5")
	m.submit(`form[action="/desk/needs"] button`)
	m.wantText("#flash", "5 kg of Rye flour")
	m.submit(`#needs ~ .table-wrap form[action$="/withdraw"] button`)
	m.wantText("#flash", "is withdrawn")
	m.wantText("#needs ~ p", "No open needs.")

	// The bakers need 80,5 kg, written with a decimal comma.
	b := browser("bakers")
	b.signIn(bakers.Token)
	b.set("need-item", "wheat flour", "need-quantity", "80,5", "need-priority", "4")
	b.submit(`form[action="/desk/needs"] button`)
	b.wantText("#flash", "80.5 kg of Wheat flour")
	if err := h.srv.RunMatching(ctx); err != nil {
		t.Fatal(err)
	}

	// The mill accepts, takes it back, and accepts again.
	m.open("/desk")
	m.wantText(proposals+` form[action$="/accept"] button`, "Accept for Mill")
	m.submit(proposals + ` form[action$="/accept"] button`)
	m.wantText(proposals, "Your council accepted; waiting for Bakers.")
	m.wantText(proposals+` form[action$="/withdraw-acceptance"] button`, "Take back our acceptance")
	m.screenshot("accepted")
	m.submit(proposals + ` form[action$="/withdraw-acceptance"] button`)
	m.wantText("#flash", "acceptance of proposal pr_", "is taken back")
	m.wantText(proposals, "Your council's answer is awaited.")
	m.submit(proposals + ` form[action$="/accept"] button`)

	// The bakers accept: agreed. Then they cancel it, asked first.
	b.open("/desk")
	b.wantText(proposals, "Mill accepted; your council's answer is awaited.")
	b.wantText(proposals+` form[action$="/accept"] button`, "Accept for Bakers")
	b.submit(proposals + ` form[action$="/accept"] button`)
	b.wantText("#flash", "Both councils accepted: agreement ag_")
	b.submit(`section[aria-labelledby="agreements"] a[href*="cancel="]`)
	b.wantText("#confirm", "Cancel agreement ag_", "80.5 kg of Wheat flour", "cannot be undone")
	b.inView("#confirm")
	b.screenshot("confirm-cancel")
	b.submit(`#confirm button`)
	b.wantText("#flash", "is cancelled")
	b.wantText(`section[aria-labelledby="agreements"]`, "No agreements yet.")

	// The pair is not proposed again; a second need of the bakers is.
	if err := h.srv.RunMatching(ctx); err != nil {
		t.Fatal(err)
	}
	b.open("/desk")
	b.wantText(proposals, "No proposals for your council right now.")
	b.set("need-item", "Wheat flour", "need-quantity", "80,5", "need-priority", "4")
	b.submit(`form[action="/desk/needs"] button`)
	if err := h.srv.RunMatching(ctx); err != nil {
		t.Fatal(err)
	}
	m.open("/desk")
	m.submit(proposals + ` form[action$="/accept"] button`)
	b.open("/desk")
	b.submit(proposals + ` form[action$="/accept"] button`)
	b.wantText("#flash", "Both councils accepted")
	b.set("receipt-"+agreementID(t, b)+"-quantity", "80,5")
	b.submit(`section[aria-labelledby="agreements"] form[action$="/receipt"] button`)
	b.wantText("#flash", "Receipt confirmed: transfer tr_", "80.5 kg")

	// A delegate: the token is in view where the page lands, in a field
	// to select; then a recall, asked first. No recall of oneself.
	b.set("delegate-label", "Bea", "delegate-mandate", "Accept flour for the ovens.", "delegate-term_days", "7")
	b.submit(`form[action="/desk/delegates"] button`)
	if tok := b.value("#new-token"); !strings.HasPrefix(tok, "plenty_") {
		t.Fatalf("token field holds %q", tok)
	}
	b.inView("#new-token")
	b.screenshot("token")
	b.wantText("#delegates ~ ul", "This is you.")
	b.submit(`#delegates ~ ul a[href*="recall="]`)
	b.wantText("#confirm", "Recall Bea (d_", "stops working at once")
	b.inView("#confirm")
	b.screenshot("confirm-recall")
	b.submit(`#confirm button`)
	b.wantText("#flash", "Delegate Bea (d_", "recalled")
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.open("/desk")
	b.fits("/desk after the story")
	b.screenshot("desk-phone")
}

// inView fails unless the element is within the window as the page
// shows it now.
func (s *session) inView(sel string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect(); return (r.top >= -1 && r.bottom <= window.innerHeight + 1) ? "" : "top " + r.top + ", bottom " + r.bottom + ", window " + window.innerHeight + ", at " + location.href; })()`))
	if err != nil || where != "" {
		s.t.Fatalf("%s: %s is not in view where the page landed: %s (%v)", s.name, sel, where, err)
	}
}
