package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

// MustServeDemoHub serves a hub holding the demo region and its three
// weeks of history, and returns it with the demo delegates.
func MustServeDemoHub(t *testing.T) (*testHub, []hub.DemoDelegate) {
	t.Helper()
	clk := &clock{t: t0}
	demo := hub.NewDemoClock(clk.Now)
	l, err := ledger.Open(t.TempDir(), ledger.Options{Now: demo.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv := hub.New(l, hub.Config{Now: demo.Now, Location: time.UTC, TickInterval: time.Hour,
		WriteRate: 1e6, WriteBurst: 1e6, AddrRate: 1e6, AddrBurst: 1e6})
	ds, err := hub.PlayDemo(context.Background(), srv, demo)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &testHub{t: t, srv: srv, ledger: l, clock: clk}
	h.serve()
	return h, ds
}

// viewports are the widths every page must fit: a desktop and a phone.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 800, false},
	{"phone", 390, 844, true},
}

// pageFit is what a page measures in the browser: how far the document is
// wider than the window, the chart texts drawn under 12 px, and the
// first elements that stick out.
type pageFit struct {
	Over  float64  `json:"over"`
	Small []string `json:"small"`
	Wide  []string `json:"wide"`
}

const measureFit = `(() => {
  const over = document.documentElement.scrollWidth - window.innerWidth;
  const small = [];
  for (const t of document.querySelectorAll("svg text")) {
    const m = t.getScreenCTM();
    if (!m) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    if (px < 12) small.push(t.textContent.trim() + ": " + px.toFixed(1) + " px");
  }
  const wide = [];
  if (over > 0) {
    for (const e of document.querySelectorAll("body *")) {
      if (e.getBoundingClientRect().right > window.innerWidth + 1) {
        wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && e.className.baseVal === undefined ? "." + e.className : ""));
        if (wide.length >= 6) break;
      }
    }
  }
  return JSON.stringify({over, small, wide});
})()`

// fits fails the test when the open page is wider than the window or a
// chart's text is smaller than 12 px.
func (s *session) fits(what string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](measureFit))
	if err != nil {
		s.t.Fatalf("%s: measure %s: %v", s.name, what, err)
	}
	var f pageFit
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		s.t.Fatal(err)
	}
	if f.Over > 0 {
		s.t.Errorf("%s: %s is %.0f px wider than the window; sticking out: %v", s.name, what, f.Over, f.Wide)
	}
	if len(f.Small) > 0 {
		s.t.Errorf("%s: %s draws chart text under 12 px: %v", s.name, what, f.Small)
	}
}

// Every page, at a desktop's and a phone's width, fits the window and
// draws its charts' text at 12 px or more; the screenshots are kept.
func TestBrowserPagesFit(t *testing.T) {
	h, ds := MustServeDemoHub(t)
	browser := newBrowser(t, h.base)
	public := []struct{ name, path string }{
		{"home", "/"},
		{"postings", "/postings"},
		{"postings-near", "/postings?item=Potatoes&from=" + ds[0].Council},
		{"council", "/councils/" + ds[1].Council},
		{"items", "/items"},
		{"open-data", "/open"},
		{"glossary", "/glossary"},
		{"register", "/register"},
		{"desk-signin", "/desk"},
		{"volunteer-signin", "/volunteer"},
		{"assembly-signin", "/assembly"},
		{"neighbours", "/neighbours"},
	}
	for _, vp := range viewports {
		s := browser(vp.name)
		if vp.mobile {
			s.do(chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateMobile))
		} else {
			s.do(chromedp.EmulateViewport(vp.width, vp.height))
		}
		for _, p := range public {
			s.open(p.path)
			s.fits(p.path)
			s.screenshot(p.name)
		}
		// The desk of a demo council, and a volunteer's board.
		s.signIn(ds[1].Token)
		s.fits("/desk")
		s.screenshot("desk")
		s.open("/volunteer")
		s.set("register-handle", fmt.Sprintf("tester-%s", vp.name))
		s.submit(`form[action="/volunteer/register"] button`)
		s.wantText("#flash", "Welcome")
		s.fits("/volunteer")
		s.screenshot("volunteer")
	}
}
