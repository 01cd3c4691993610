package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
)

const (
	pickupPlace = "Unit 4, Tanners Yard, back gate-7c2e"
	dropoffWho  = "ask for Morag at the kitchen door-91ab"
	threadText  = "ring the bell twice, the dog is friendly-5d0f"
)

// exchange is a story driven up to an agreement between a mill and
// bakers, with private pickup and drop-off details.
type exchange struct {
	mill, bakers council
	offer, need  string
	agreement    string
	task         string
}

// agree posts an offer and a need carrying private details, runs the
// engine and has both councils accept.
func (h *testHub) agree() exchange {
	h.t.Helper()
	t := h.t
	mill, bakers := h.register("Mill"), h.register("Bakers")
	offer := strings.Replace(flourOffer, `"note"`, `"private": {"place": "`+pickupPlace+`", "hours": "Mon-Fri 8-12"}, "note"`, 1)
	need := strings.Replace(flourNeed, `"priority"`, `"private": {"contact": "`+dropoffWho+`"}, "priority"`, 1)
	o := h.do("POST", "/api/v1/offers", mill.Token, offer).want(t, 201).str("offer.id")
	n := h.do("POST", "/api/v1/needs", bakers.Token, need).want(t, 201).str("need.id")
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := h.do("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.do("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	ag := h.do("POST", "/api/v1/proposals/"+p+"/accept", bakers.Token, "").want(t, 200).str("agreement.id")
	if ag == "" {
		t.Fatal("no agreement formed")
	}
	return exchange{mill: mill, bakers: bakers, offer: o, need: n, agreement: ag, task: plenty.TaskID(ag)}
}

// vol is a registered volunteer.
type vol struct{ id, token string }

// draw has volunteers offer to carry x's task, closes the window and
// returns the drawn one's token and the others'.
func (h *testHub) draw(x exchange, vols ...vol) (drawn string, others []string) {
	h.t.Helper()
	for _, v := range vols {
		tok := v.token
		// A volunteer among the candidates already is refused (409).
		if r := h.do("POST", "/api/v1/tasks/"+x.task+"/volunteer", tok, ""); r.Status != 200 && r.Status != 409 {
			h.t.Fatalf("offer to carry: %d %s", r.Status, r.Raw)
		}
	}
	h.clock.Add(11 * time.Minute)
	if err := h.srv.Tick(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	winner := h.do("GET", "/api/v1/tasks/"+x.task, "", "").want(h.t, 200).str("task.assignee")
	for _, v := range vols {
		if v.id == winner {
			drawn = v.token
		} else {
			others = append(others, v.token)
		}
	}
	if drawn == "" {
		h.t.Fatalf("no volunteer was drawn for %s", x.task)
	}
	return drawn, others
}

// Who reads and writes an agreement's thread: the delegates of its two
// councils (post or accept scope) and, once drawn, its volunteer.
func TestThreadAccess(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.serve()
	x := h.agree()
	school := h.register("School")
	_, millPoster := h.issue(x.mill, `["post"]`)
	_, millIssuer := h.issue(x.mill, `["delegate"]`)
	idA, tokA := h.volunteer("Ada", "", x.mill)
	idB, tokB := h.volunteer("Bo", "", x.mill)
	path := "/api/v1/agreements/" + x.agreement + "/messages"

	// Before the draw, no volunteer reads it, candidates included.
	h.do("POST", "/api/v1/tasks/"+x.task+"/volunteer", tokA, "").want(t, 200)
	h.call("GET", path, tokA, "").want(t, 403)
	drawn, others := h.draw(x, vol{idA, tokA}, vol{idB, tokB})
	loser := others[0]

	before := h.call("GET", path, x.mill.Token, "").want(t, 200)
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"NoToken", "", 401},
		{"UnknownToken", "plenty_nope", 401},
		{"ProviderDelegate", x.mill.Token, 200},
		{"ProviderPostScope", millPoster, 200},
		{"ProviderDelegateScopeOnly", millIssuer, 403},
		{"ReceiverDelegate", x.bakers.Token, 200},
		{"DrawnVolunteer", drawn, 200},
		{"OtherVolunteer", loser, 403},
		{"OtherCouncil", school.Token, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.call("GET", path, c.token, "").want(t, c.status)
			posted := c.status
			if posted == 200 {
				posted = 201
			}
			r := h.call("POST", path, c.token, `{"text": "from `+c.name+`"}`).want(t, posted)
			if c.status == 200 && (r.str("message.text") != "from "+c.name || r.str("message.name") == "") {
				t.Fatalf("message = %s", r.Raw)
			}
		})
	}
	// A retry with the same Idempotency-Key adds nothing.
	for range 2 {
		r := h.do("POST", path, x.bakers.Token, `{"text": "from ReceiverDelegate"}`, "Idempotency-Key", "k1")
		if r.want(t, 201).str("message.text") != "from ReceiverDelegate" {
			t.Fatalf("idempotent message = %s", r.Raw)
		}
	}
	h.do("POST", path, x.bakers.Token, `{"text": "other"}`, "Idempotency-Key", "k1").want(t, 409)
	th := h.call("GET", path, drawn, "").want(t, 200)
	var texts []string
	for _, m := range th.get("messages").([]any) {
		texts = append(texts, m.(map[string]any)["text"].(string))
	}
	want := []string{"from ProviderDelegate", "from ProviderPostScope", "from ReceiverDelegate", "from DrawnVolunteer", "from ReceiverDelegate"}
	if !slices.Equal(texts, want) {
		t.Fatalf("thread = %q, want %q (refused ones left nothing)", texts, want)
	}
	if th.str("pickup.place") != pickupPlace || th.str("pickup.hours") != "Mon-Fri 8-12" || th.str("dropoff.contact") != dropoffWho {
		t.Fatalf("the drawn volunteer reads the details as %s", th.Raw)
	}
	if len(before.get("messages").([]any)) != 0 || before.str("pickup.place") != pickupPlace {
		t.Fatalf("thread before any message = %s", before.Raw)
	}
	// The details are nowhere public.
	for _, p := range []string{"/api/v1/offers", "/api/v1/needs", "/api/v1/tasks", "/api/v1/tasks/" + x.task, "/api/v1/agreements/" + x.agreement} {
		if r := h.call("GET", p, "", "").want(t, 200); bytes.Contains(r.Raw, []byte("Tanners")) || bytes.Contains(r.Raw, []byte("Morag")) {
			t.Errorf("GET %s shows private details: %s", p, r.Raw)
		}
	}
	// Once the agreement ends the thread is read-only.
	h.call("POST", "/api/v1/agreements/"+x.agreement+"/receipt", x.bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	h.call("POST", path, x.mill.Token, `{"text": "late"}`).want(t, 409)
	if r := h.call("GET", path, x.bakers.Token, "").want(t, 200); len(r.get("messages").([]any)) != 5 || r.str("delete_at") == "" {
		t.Fatalf("thread after the transfer = %s, want 5 messages and a delete_at", r.Raw)
	}
}

// grepTree returns the files under dir that contain any of needles.
func grepTree(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return err // a link's target is walked where it lies
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				rel, _ := filepath.Rel(dir, path)
				found = append(found, rel)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// grepOpen fetches every open-data file the hub publishes and returns
// those that contain any of needles.
func grepOpen(t *testing.T, h *testHub, needles ...string) []string {
	t.Helper()
	var pkg exports.DataPackage
	dp := h.call("GET", "/open/datapackage.json", "", "").want(t, 200)
	if err := json.Unmarshal(dp.Raw, &pkg); err != nil || len(pkg.Resources) == 0 {
		t.Fatalf("datapackage: %v, %s", err, dp.Raw)
	}
	names := []string{"datapackage.json", "checkpoint", "key", "events.arrow", "events.parquet", "events.csv"}
	for _, r := range pkg.Resources {
		names = append(names, r.Path...) // a file, or the events' parts
	}
	var found []string
	for _, n := range names {
		r := h.call("GET", "/open/"+n, "", "").want(t, 200)
		for _, needle := range needles {
			if bytes.Contains(r.Raw, []byte(needle)) {
				found = append(found, n)
				break
			}
		}
	}
	return found
}

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A message and the private details live only in the private store while
// the agreement runs and for MessageTTL after it ends, across a restart;
// then they are in no file of the data folder (ledger, journal, DuckDB,
// open data, private store), no open-data file and no log line.
func TestPrivateTextLeavesNoTrace(t *testing.T) {
	logs := &syncBuffer{}
	cfg := hub.Config{MessageTTL: 48 * time.Hour, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	h := MustOpenHub(t, cfg)
	h.serve()
	dir := h.ledger.Dir()
	x := h.agree()
	vid, vt := h.volunteer("Ada", "", x.mill)
	drawn, _ := h.draw(x, vol{vid, vt})
	path := "/api/v1/agreements/" + x.agreement + "/messages"
	h.call("POST", path, x.mill.Token, `{"text": "`+threadText+`"}`).want(t, 201)
	if r := h.call("GET", path, drawn, "").want(t, 200); r.str("messages.0.text") != threadText || r.str("pickup.place") != pickupPlace {
		t.Fatalf("thread = %s", r.Raw)
	}
	secrets := []string{threadText, pickupPlace, dropoffWho}

	found := grepTree(t, dir, secrets...)
	for _, f := range found {
		if !strings.HasPrefix(f, "private"+string(filepath.Separator)) {
			t.Errorf("%s holds private text", f)
		}
	}
	if !slices.Contains(found, filepath.Join("private", "threads", x.agreement+".json")) {
		t.Fatalf("the thread is not in the private store; found in %v", found)
	}
	if got := grepOpen(t, h, secrets...); len(got) > 0 {
		t.Fatalf("open data files %v hold private text", got)
	}
	fi, err := os.Stat(filepath.Join(dir, "private", "threads", x.agreement+".json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("thread file: %v, %v; want mode 0600", fi, err)
	}

	// The transfer ends the agreement; the thread stays MessageTTL.
	h.call("POST", "/api/v1/tasks/"+x.task+"/pickup", drawn, "").want(t, 200)
	h.call("POST", "/api/v1/agreements/"+x.agreement+"/receipt", x.bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	h.call("POST", "/api/v1/offers/"+x.offer+"/withdraw", x.mill.Token, "").want(t, 200)
	h.clock.Add(47 * time.Hour)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restart: the thread survives, with its time.
	h = h.restart(cfg)
	if r := h.call("GET", path, x.bakers.Token, "").want(t, 200); r.str("messages.0.text") != threadText {
		t.Fatalf("after a restart the thread = %s", r.Raw)
	}
	h.clock.Add(2 * time.Hour)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := h.call("GET", path, x.bakers.Token, "").want(t, 200); len(r.get("messages").([]any)) != 0 || r.get("pickup") != nil {
		t.Fatalf("after its time the thread = %s, want empty", r.Raw)
	}
	if got := grepOpen(t, h, secrets...); len(got) > 0 {
		t.Fatalf("open data files %v hold private text", got)
	}
	h.srv.Shutdown(context.Background())
	if err := h.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	if found := grepTree(t, dir, secrets...); len(found) > 0 {
		t.Fatalf("after its time, private text is still in %v", found)
	}
	if l := logs.String(); strings.Contains(l, "5d0f") || strings.Contains(l, "7c2e") || strings.Contains(l, "91ab") || !strings.Contains(l, "messages") {
		t.Fatalf("logs hold private text, or logged no request at all:\n%s", l)
	}
}

// restart shuts the hub down, closes its ledger, and opens both again on
// the same data folder and clock.
func (h *testHub) restart(cfg hub.Config) *testHub {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Fatal(err)
	}
	dir := h.ledger.Dir()
	if err := h.ledger.Close(); err != nil {
		h.t.Fatal(err)
	}
	l, err := ledger.Open(dir, ledger.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { l.Close() })
	cfg.Now = h.clock.Now
	cfg.WriteRate, cfg.WriteBurst, cfg.AddrRate, cfg.AddrBurst = 1e6, 1e6, 1e6, 1e6
	h2 := &testHub{t: h.t, srv: hub.New(l, cfg), ledger: l, clock: h.clock}
	h2.serve()
	return h2
}

// atom is what the tests read of an Atom feed.
type atom struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Entries []struct {
		ID       string `xml:"id"`
		Title    string `xml:"title"`
		Updated  string `xml:"updated"`
		Category struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
	} `xml:"entry"`
}

func (h *testHub) feed(path string) (atom, []string) {
	h.t.Helper()
	r := h.call("GET", path, "", "").want(h.t, 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		h.t.Fatalf("%s: Content-Type %q", path, ct)
	}
	var f atom
	if err := xml.Unmarshal(r.Raw, &f); err != nil {
		h.t.Fatalf("%s is not Atom: %v\n%s", path, err, r.Raw)
	}
	var terms []string
	for i := len(f.Entries) - 1; i >= 0; i-- { // oldest first
		e := f.Entries[i]
		if e.ID == "" || e.Title == "" {
			h.t.Errorf("%s: entry without id or title: %+v", path, e)
		}
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			h.t.Errorf("%s: entry updated %q: %v", path, e.Updated, err)
		}
		terms = append(terms, e.Category.Term)
	}
	return f, terms
}

// The feeds tell each council and the volunteer what needs them, in order,
// after a scripted story with a co-signature, a draw, a delivery and an
// approaching expiry.
func TestFeedsTellTheStory(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	h.serve()
	mill, bakers := h.register("Mill"), h.register("Bakers")
	bea, cal := h.delegate(bakers, "Bea", "50"), h.delegate(bakers, "Cal", "50")
	h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201)
	h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Reading a feed tells what is pending: the run's proposals are told
	// before anyone answers them (a council answering within moments of a
	// run may otherwise see the proposal told after its answer).
	h.feed("/api/v1/councils/" + bakers.ID + "/feed.atom")
	p := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id")
	h.call("POST", "/api/v1/proposals/"+p+"/accept", mill.Token, "").want(t, 200)
	h.call("POST", "/api/v1/proposals/"+p+"/accept", bea.Token, "").want(t, 200)
	ag := h.call("POST", "/api/v1/proposals/"+p+"/accept", cal.Token, "").want(t, 200).str("agreement.id")
	x := exchange{mill: mill, bakers: bakers, agreement: ag, task: plenty.TaskID(ag)}
	vid, vt := h.volunteer("Ada", "", x.mill)
	drawn, _ := h.draw(x, vol{vid, vt})
	h.call("POST", "/api/v1/tasks/"+x.task+"/pickup", drawn, "").want(t, 200)
	h.call("POST", "/api/v1/tasks/"+x.task+"/dropoff", drawn, "").want(t, 200)
	h.call("POST", "/api/v1/agreements/"+ag+"/receipt", bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	// The mandates (7 days) come within a day of their end.
	h.clock.Add(6*24*time.Hour + time.Hour)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}

	f, got := h.feed("/api/v1/councils/" + bakers.ID + "/feed.atom")
	want := []string{"proposal.new", "proposal.accepted", "proposal.cosign_needed", "agreement.formed", "task.drawn",
		"task.picked_up", "task.delivered", "receipt.due", "agreement.ended"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("the bakers' feed = %q, want %q then expiries", got, want)
	}
	if !slices.Contains(got[len(want):], "expiry.soon") || !strings.Contains(f.Title, "Bakers") {
		t.Fatalf("the bakers' feed %q ends %q, want expiry warnings", f.Title, got[len(want):])
	}
	if !strings.Contains(f.Entries[len(f.Entries)-1].Title, "80.5 kg of") {
		t.Errorf("first entry title %q does not say what is proposed", f.Entries[len(f.Entries)-1].Title)
	}
	_, got = h.feed("/api/v1/councils/" + mill.ID + "/feed.atom")
	want = []string{"proposal.new", "agreement.formed", "task.drawn", "task.picked_up", "task.delivered", "agreement.ended"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("the mill's feed = %q, want %q (the mill is told nothing of the bakers' co-signature)", got, want)
	}
	_, got = h.feed("/api/v1/volunteers/" + vid + "/feed.atom")
	if want := []string{"task.drawn", "task.picked_up", "task.delivered", "agreement.ended"}; !slices.Equal(got, want) {
		t.Fatalf("the volunteer's feed = %q, want %q", got, want)
	}
}

// Reflections: one per council and agreement, after the transfer, read by
// the other council's delegates with no delegate named, gone after 30 days.
func TestReflections(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	x := h.agree()
	path := "/api/v1/agreements/" + x.agreement + "/reflection"
	h.do("POST", path, x.mill.Token, `{"text": "early"}`).want(t, 409)
	h.do("POST", "/api/v1/agreements/"+x.agreement+"/receipt", x.bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	school := h.register("School")
	h.do("POST", path, school.Token, `{"text": "not ours"}`).want(t, 403)
	h.do("POST", path, x.mill.Token, `{"text": "the bakers were kind at the door"}`).want(t, 201)
	h.do("POST", path, x.mill.Token, `{"text": "twice"}`).want(t, 409)
	h.do("POST", path, x.bakers.Token, `{"text": "flour well sealed"}`).want(t, 201)
	r := h.do("GET", "/api/v1/councils/"+x.bakers.ID+"/reflections", x.bakers.Token, "").want(t, 200)
	if n := len(r.get("reflections").([]any)); n != 1 || r.str("reflections.0.text") != "the bakers were kind at the door" {
		t.Fatalf("the bakers read %s", r.Raw)
	}
	if bytes.Contains(r.Raw, []byte(x.mill.Delegate)) || bytes.Contains(r.Raw, []byte("delegate")) {
		t.Fatalf("a reflection names a delegate: %s", r.Raw)
	}
	h.do("GET", "/api/v1/councils/"+x.bakers.ID+"/reflections", x.mill.Token, "").want(t, 403)
	h.clock.Add(30*24*time.Hour + time.Minute)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if found := grepTree(t, h.ledger.Dir(), "kind at the door", "well sealed"); len(found) > 0 {
		t.Fatalf("after 30 days reflections are still in %v", found)
	}
}

// The richer task: unit, councils and places, draw time, pickup deadline,
// and a volunteer's own tasks.
func TestTaskDetails(t *testing.T) {
	h := MustOpenHub(t, hub.Config{LotteryWindow: 10 * time.Minute, ClaimWindow: 4 * time.Hour})
	x := h.agree()
	if err := h.srv.Tick(context.Background()); err != nil { // publishes the terms
		t.Fatal(err)
	}
	r := h.do("GET", "/api/v1/tasks/"+x.task, "", "").want(t, 200)
	opened, _ := time.Parse(time.RFC3339, r.str("task.opened_at"))
	if r.str("task.unit") != "kg" || r.str("task.provider.name") != "Mill" || r.str("task.receiver.name") != "Bakers" ||
		r.str("task.provider.place") != "Riverside" || r.str("task.draw_at") != r.str("task.closes_at") || r.str("task.closes_at") != opened.Add(10*time.Minute).Format(time.RFC3339) || r.str("task.pickup_by") == "" {
		t.Fatalf("open task = %s", r.Raw)
	}
	ida, ta := h.volunteer("Ada", "", x.mill)
	_, tb := h.volunteer("Bo", "", x.mill)
	if n := len(h.do("GET", "/api/v1/tasks?volunteer=me", ta, "").want(t, 200).get("tasks").([]any)); n != 0 {
		t.Fatalf("Ada has %d tasks before offering", n)
	}
	drawn, _ := h.draw(x, vol{ida, ta})
	r = h.do("GET", "/api/v1/tasks?volunteer=me", drawn, "").want(t, 200)
	assigned, _ := time.Parse(time.RFC3339, r.str("tasks.0.assigned_at"))
	if r.str("tasks.0.pickup_by") != assigned.Add(4*time.Hour).Format(time.RFC3339) || r.get("tasks.0.draw_at") != nil {
		t.Fatalf("drawn task = %s", r.Raw)
	}
	if n := len(h.do("GET", "/api/v1/tasks?volunteer=me", tb, "").want(t, 200).get("tasks").([]any)); n != 0 {
		t.Fatalf("Bo, who never offered, has %d tasks", n)
	}
	// Within half the claim window of the lapse, the volunteer is warned, once.
	for range 2 {
		h.clock.Add(61 * time.Minute)
		if err := h.srv.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	feed := h.do("GET", "/api/v1/volunteers/"+ida+"/feed.atom", "", "").want(t, 200)
	if n := strings.Count(string(feed.Raw), `term="expiry.soon"`); n != 1 || !strings.Contains(string(feed.Raw), "or your claim lapses on") {
		t.Fatalf("the volunteer was warned %d times of the lapse:\n%s", n, feed.Raw)
	}
	h.do("GET", "/api/v1/tasks?volunteer=Ada", "", "").want(t, 422)
}

// Private details that do not fit are refused naming the field, and
// nothing is written: no event, no private record.
func TestPrivateDetailsRefused(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	mill := h.register("Mill")
	for _, c := range []struct{ name, private, field string }{
		{"TwoLines", `{"place": "yard\nback"}`, "private.place"},
		{"TooLong", `{"hours": "` + strings.Repeat("x", 301) + `"}`, "private.hours"},
		{"UnknownField", `{"address": "x"}`, "private.address"},
		{"NotAnObject", `"the yard"`, "private"},
	} {
		t.Run(c.name, func(t *testing.T) {
			size := h.ledger.Size()
			body := strings.Replace(flourOffer, `"note"`, `"private": `+c.private+`, "note"`, 1)
			r := h.do("POST", "/api/v1/offers", mill.Token, body)
			if r.Status != 422 && r.Status != 400 {
				t.Fatalf("status %d, want 422 or 400: %s", r.Status, r.Raw)
			}
			if !strings.Contains(string(r.Raw), c.field) {
				t.Errorf("the refusal does not name %s: %s", c.field, r.Raw)
			}
			if h.ledger.Size() != size {
				t.Errorf("the ledger grew from %d to %d", size, h.ledger.Size())
			}
			if entries, _ := os.ReadDir(filepath.Join(h.ledger.Dir(), "private", "postings")); len(entries) != 0 {
				t.Errorf("private records written: %v", entries)
			}
		})
	}
}
