package hub_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plentyhub/plenty/hub"
)

// The browser tests drive Debian's Chromium through the web pages. In CI
// (CI=true) a missing Chromium fails them; on a developer's machine they
// are skipped, loudly.

// screenshotDir is where the browser tests keep their screenshots, one
// folder per test (ignored by git); $PLENTY_SCREENSHOTS replaces it.
const screenshotDir = "../artifacts/screenshots"

// chromium returns the path of the browser, or fails or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed, so the browser tests of the web pages cannot run; install it with: apt-get install chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal("FAIL: " + msg)
	}
	t.Skip("\n\n*** SKIPPED: " + msg + " ***\n\n")
	return ""
}

// session is one browser profile (its own cookies) on the hub.
type session struct {
	t    *testing.T
	ctx  context.Context
	name string
	base string
	shot *int
	dir  string
}

// newBrowser starts Chromium and returns a function that opens a fresh
// profile (a browser context with its own cookies) per person.
func newBrowser(t *testing.T, base string) func(name string) *session {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900), chromedp.Flag("lang", "en-GB"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	if err := chromedp.Do(root); err != nil { // start the browser
		cancelRoot()
		cancelAlloc()
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	shots := screenshotDir
	if env := os.Getenv("PLENTY_SCREENSHOTS"); env != "" {
		shots = env
	}
	dir, err := filepath.Abs(filepath.Join(shots, t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	shot := new(int)
	return func(name string) *session {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab for the context's whole life: it
		// must not run under a timeout, which would close the tab.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a browser context for %s: %v", name, err)
		}
		return &session{t: t, ctx: ctx, name: name, base: base, shot: shot, dir: dir}
	}
}

func (s *session) do(steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
}

func (s *session) open(path string) { s.t.Helper(); s.do(chromedp.Navigate(s.base + path)) }

// set fills the fields, by element id.
func (s *session) set(fields ...string) {
	s.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.CSS("#"+fields[i]), fields[i+1]))
	}
	s.do(steps...)
}

// submit clicks the button and waits for the page the hub answers with.
func (s *session) submit(button string) {
	s.t.Helper()
	s.do(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`document.documentElement.dataset.stale = "1"`)(ctx, t)
			return err
		}),
		chromedp.Click(chromedp.CSS(button)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			for {
				// Between the pages there may be no document to ask.
				done, err := chromedp.Evaluate[bool](`document.readyState === "complete" && !document.documentElement.dataset.stale`)(ctx, t)
				if err == nil && done {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("waiting for the page after clicking %s: %w (last: %v)", button, ctx.Err(), err)
				case <-time.After(20 * time.Millisecond):
				}
			}
		}),
	)
}

func (s *session) text(sel string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		body, _ := chromedp.Run(s.ctx, chromedp.Text(chromedp.CSS("main")))
		s.t.Fatalf("%s: no %s: %v\npage: %s", s.name, sel, err, body)
	}
	return strings.Join(strings.Fields(v), " ")
}

// content returns the text content of the element, hidden or not (such
// as an SVG description).
func (s *session) content(sel string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).textContent`))
	if err != nil {
		s.t.Fatalf("%s: %s: %v", s.name, sel, err)
	}
	return strings.Join(strings.Fields(v), " ")
}

// value returns the value of a form field, such as the one-time token's.
func (s *session) value(sel string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).value`))
	if err != nil {
		s.t.Fatalf("%s: value of %s: %v", s.name, sel, err)
	}
	return v
}

// wantText fails unless the element's text contains each of want.
func (s *session) wantText(sel string, want ...string) string {
	s.t.Helper()
	got := s.text(sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			s.t.Fatalf("%s: %s says %q; want it to contain %q", s.name, sel, got, w)
		}
	}
	return got
}

// screenshot keeps the whole page as a PNG.
func (s *session) screenshot(what string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("%s: screenshot: %v", s.name, err)
	}
	*s.shot++
	name := filepath.Join(s.dir, fmt.Sprintf("%02d-%s-%s.png", *s.shot, s.name, what))
	if err := os.WriteFile(name, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) signIn(token string) {
	s.t.Helper()
	s.open("/desk")
	s.set("token", token)
	s.submit(`form[action="/desk/signin"] button`)
	s.wantText("#flash", "Signed in as")
}

// TestBrowserStory drives the whole exchange through the pages: two
// councils post, a proposal appears on both desks, both accept (the
// bakers' with a co-signature), a volunteer registers, offers to carry,
// is drawn, picks up and drops off, the bakers confirm the receipt, and
// the public pages show the transfer.
func TestBrowserStory(t *testing.T) {
	h := MustServeHub(t, hub.Config{MatchDelay: time.Millisecond, TickInterval: time.Hour, LotteryWindow: 10 * time.Minute})
	browser := newBrowser(t, h.base)
	mill, bakers := h.register("Mill"), h.register("Bakers")
	ctx := context.Background()

	// The mill offers flour.
	m := browser("mill")
	m.signIn(mill.Token)
	m.set("offer-item", "wheat-flour", "offer-quantity", "-250", "offer-unit", "kg", "offer-note", "stone-milled")
	m.submit(`form[action="/desk/offers"] button`)
	if got := m.text("#offer-quantity-error"); got != "must be greater than 0" {
		t.Fatalf("the quantity's error reads %q", got)
	}
	m.screenshot("field-error")
	m.set("offer-quantity", "250") // the other fields kept their values
	m.submit(`form[action="/desk/offers"] button`)
	m.wantText("#flash", "Offer o_", "250 kg of Wheat flour")
	m.wantText("#offers + .table-wrap", "Wheat flour 250 kg 250 kg")
	m.screenshot("offer-posted")

	// The bakers need some, and issue Bea, who may accept up to 50 kg alone.
	b := browser("bakers")
	b.signIn(bakers.Token)
	b.set("need-item", "wheat-flour", "need-quantity", "80.5", "need-priority", "4")
	b.submit(`form[action="/desk/needs"] button`)
	b.wantText("#flash", "Need n_", "80.5 kg of Wheat flour")
	b.set("delegate-label", "Bea", "delegate-mandate", "Accept flour for the ovens; above 50 kg with a second delegate.",
		"delegate-cosign_above", "50", "delegate-term_days", "7")
	b.do(chromedp.Click(chromedp.CSS(`input[name="scopes"][value="accept"]`)))
	b.submit(`form[action="/desk/delegates"] button`)
	b.wantText("#flash", "Delegate Bea", "shown only now")
	beaToken := b.value("#new-token")
	b.screenshot("delegate-issued")
	// And Cal, the second pair of hands: a co-signature counts only from a
	// delegate outside Bea's chain of issue, so not from the one who
	// issued her.
	b.set("delegate-label", "Cal", "delegate-mandate", "Co-sign the ovens' flour.",
		"delegate-cosign_above", "50", "delegate-term_days", "7")
	b.do(chromedp.Click(chromedp.CSS(`input[name="scopes"][value="accept"]`)))
	b.submit(`form[action="/desk/delegates"] button`)
	b.wantText("#flash", "Delegate Cal", "shown only now")
	calToken := b.value("#new-token")

	if err := h.srv.RunMatching(ctx); err != nil {
		t.Fatal(err)
	}

	// The proposal is on both desks; the mill accepts.
	m.open("/desk")
	m.wantText(`section[aria-labelledby="proposals"]`, "Give 80.5 kg of Wheat flour to Bakers", "need priority 4", "Your council's answer is awaited.")
	m.screenshot("proposal")
	m.wantText(`section[aria-labelledby="proposals"] form[action$="/accept"] button`, "Accept for Mill")
	m.submit(`section[aria-labelledby="proposals"] form[action$="/accept"] button`)
	m.wantText("#flash", "accepted for your council; waiting for the other council")

	// Bea accepts; 80.5 kg is above her threshold, so it waits for a co-signature.
	bea := browser("bea")
	bea.signIn(beaToken)
	bea.wantText(`section[aria-labelledby="proposals"]`, "Receive 80.5 kg of Wheat flour from Mill", "Mill: first delegate")
	bea.submit(`section[aria-labelledby="proposals"] form[action$="/accept"] button`)
	bea.wantText("#flash", "a second delegate of your council must co-sign")
	bea.wantText(`section[aria-labelledby="proposals"]`, "You accepted; the quantity is above your co-signature threshold")
	bea.screenshot("awaiting-cosign")

	// The bakers' first delegate issued Bea: its co-signature would not be a
	// second pair of hands, and the desk says so. Cal co-signs: the
	// agreement forms.
	b.open("/desk")
	b.wantText(`section[aria-labelledby="proposals"]`, "you are in their chain of issue")
	cal := browser("cal")
	cal.signIn(calToken)
	cal.wantText(`section[aria-labelledby="proposals"]`, "your co-signature completes your council's consent")
	cal.submit(`section[aria-labelledby="proposals"] button`)
	cal.wantText("#flash", "Both councils accepted: agreement ag_")
	b.open("/desk")
	b.wantText(`section[aria-labelledby="agreements"]`, "80.5 kg of Wheat flour from Mill to Bakers", "active", "delivery: open")

	// A volunteer registers, on a phone, and offers to carry.
	v := browser("volunteer")
	v.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	v.open("/volunteer")
	v.set("register-handle", "Ada", "register-contact", "ada@example.org")
	v.submit(`form[action="/volunteer/register"] button`)
	v.wantText("#flash", "Welcome, Ada")
	if tok := v.value("#new-token"); !strings.HasPrefix(tok, "plenty_") {
		t.Fatalf("volunteer token %q", tok)
	}
	v.wantText("#vouched", "No council has vouched for you yet")
	// The bakers know Ada and vouch for her from their desk.
	b.open("/desk")
	b.set("vouch-handle", "Ada")
	b.submit(`form[action="/desk/volunteers/vouch"] button`)
	b.wantText("#flash", "Your council vouches for Ada")
	v.open("/volunteer")
	v.wantText("#vouched", "Vouched for by Bakers")
	v.wantText(`section[aria-labelledby="open-tasks"]`, "80.5 kg of Wheat flour", "From Mill (Riverside) to Bakers (Riverside)")
	v.screenshot("open-task")
	v.submit(`section[aria-labelledby="open-tasks"] form[action$="/volunteer"] button`)
	v.wantText("#flash", "You offered to carry task tk_")
	v.wantText(`section[aria-labelledby="open-tasks"]`, "You offered to carry it")

	// The window closes and the hub draws: Ada is the only candidate.
	h.clock.Add(11 * time.Minute)
	if err := h.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	v.open("/volunteer")
	v.wantText(`section[aria-labelledby="mine"]`, "80.5 kg of Wheat flour", "drawn for you")
	v.submit(`section[aria-labelledby="mine"] form[action$="/pickup"] button`)
	v.wantText("#flash", "picked up")
	v.submit(`section[aria-labelledby="mine"] form[action$="/dropoff"] button`)
	v.wantText("#flash", "dropped off")
	v.screenshot("delivered")

	// The bakers confirm what arrived: the transfer.
	b.open("/desk")
	b.wantText(`section[aria-labelledby="agreements"]`, "delivery: delivered")
	b.set("receipt-"+agreementID(t, b)+"-quantity", "80.5")
	b.submit(`section[aria-labelledby="agreements"] form[action$="/receipt"] button`)
	b.wantText("#flash", "Receipt confirmed: transfer tr_", "80.5 kg")
	b.screenshot("receipt-confirmed")

	// The public pages show it.
	p := browser("public")
	p.open("/")
	p.wantText("#main", "Needs met 1 of 1")
	p.wantText("#transfers + .table-wrap", "80.5 kg", "Mill", "Bakers")
	// The charts' descriptions, which screen readers read out.
	if got := p.content("#flows-desc"); got != "Wheat flour: 1 agreed, 1 received (80.5 kg)." {
		t.Errorf("flows chart says %q", got)
	}
	if got := p.content("#supply-desc"); got != "1 delivery from at most 25 km away, 0 from further." {
		t.Errorf("supply chart says %q", got)
	}
	p.screenshot("home")
	p.open("/councils/" + bakers.ID)
	p.wantText("#account ~ .table-wrap", "Wheat flour 0 kg 80.5 kg 0 kg 0 kg")
	p.wantText("#transfers + .table-wrap", "80.5 kg", "Mill", "Bakers")
	p.wantText("main", "Bea in force", "co-signature above 50", "Accept flour for the ovens; above 50 kg with a second delegate.")
	p.screenshot("council")
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	p.open("/")
	p.screenshot("home-phone")
}

// agreementID reads the id of the first agreement on the desk.
func agreementID(t *testing.T, s *session) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("section[aria-labelledby=agreements] article").id.replace("agreement-", "")`))
	if err != nil || !strings.HasPrefix(id, "ag_") {
		t.Fatalf("agreement id %q: %v", id, err)
	}
	return id
}
