package hub_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/exports"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
	"github.com/plentyhub/plenty/matching"
)

// call sends a request over HTTP to the served hub.
func (h *testHub) call(method, path, token, body string) response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	return h.answer(req, res, err)
}

func (h *testHub) delegate(c council, label, cosign string) council {
	h.t.Helper()
	r := h.do("POST", "/api/v1/councils/"+c.ID+"/delegates", c.Token, fmt.Sprintf(
		`{"label": %q, "mandate": "accept flour", "scopes": ["accept"], "cosign_above": %q}`, label, cosign)).want(h.t, 201)
	return council{ID: c.ID, Delegate: r.str("delegate.id"), Token: r.str("delegate.token")}
}

// volunteer registers a volunteer, whom c vouches for when given (only
// vouched volunteers may offer to carry).
func (h *testHub) volunteer(handle, contact string, by ...council) (id, token string) {
	h.t.Helper()
	r := h.do("POST", "/api/v1/volunteers", "", fmt.Sprintf(`{"handle": %q, "contact": %q}`, handle, contact)).want(h.t, 201)
	id = r.str("volunteer.id")
	for _, c := range by {
		h.do("POST", "/api/v1/volunteers/"+id+"/vouch", c.Token, "").want(h.t, 200)
	}
	return id, r.str("volunteer.token")
}

// The whole story through real HTTP: two councils post, the engine proposes
// (after its debounce, on its own), both accept, one with a co-signature, a
// volunteer is drawn by the published lottery and delivers, the receiver
// confirms less than agreed and corrects it, the accounts and figures show
// it, and the ledger verifies.
func TestLifecycleEndToEnd(t *testing.T) {
	h := MustOpenHub(t, hub.Config{MatchDelay: 5 * time.Millisecond, TickInterval: time.Hour, LotteryWindow: 10 * time.Minute})
	h.serve()
	mill, bakers := h.register("Mill"), h.register("Bakers")
	b2, b3 := h.delegate(bakers, "Bea", "50"), h.delegate(bakers, "Cal", "50")

	offer := h.call("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 201).str("offer.id")
	need := h.call("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201).str("need.id")

	var props response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		props = h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200)
		if len(props.get("proposals").([]any)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no proposal appeared within 20 s of posting")
		}
	}
	p := props.get("proposals.0").(map[string]any)
	id := p["id"].(string)
	if p["offer"] != offer || p["need"] != need || p["quantity"] != "80.5" || p["unit"] != "kg" || p["engine"] != matching.Engine ||
		!strings.Contains(p["reason"].(string), "need priority 4") || p["ledger_size"].(float64) < 1 {
		t.Fatalf("proposal = %v", p)
	}
	if got := h.call("GET", "/api/v1/proposals?council="+mill.ID, "", "").want(t, 200).str("proposals.0.id"); got != id {
		t.Fatalf("the mill sees proposal %q, the bakers %q", got, id)
	}

	// The mill accepts; Bea's acceptance needs a co-signature (80.5 > 50).
	acc := h.call("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200)
	if acc.get("agreement") != nil || len(acc.get("acceptance.decisions").([]any)) != 1 {
		t.Fatalf("after one council: %s", acc.Raw)
	}
	h.call("POST", "/api/v1/proposals/"+id+"/accept", b2.Token, "").want(t, 200)
	h.call("POST", "/api/v1/proposals/"+id+"/accept", b2.Token, "").want(t, 409)
	if w := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).get("proposals.0.waiting_for"); !reflect.DeepEqual(w, []any{bakers.ID}) {
		t.Fatalf("waiting_for = %v, want the bakers' co-signature", w)
	}
	// A more urgent need elsewhere takes the whole offer in the next run;
	// the proposal waiting for its co-signature stays in the bakers' view.
	school := h.register("School")
	h.call("POST", "/api/v1/needs", school.Token, `{"item": "wheat-flour", "quantity": "250", "unit": "kg", "priority": 5}`).want(t, 201)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r := h.call("GET", "/api/v1/proposals?council="+school.ID, "", "").want(t, 200)
		if len(r.get("proposals").([]any)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no proposal for the school within 20 s")
		}
	}
	if got := h.call("GET", "/api/v1/proposals?council="+bakers.ID, "", "").want(t, 200).str("proposals.0.id"); got != id {
		t.Fatalf("the bakers see %q, want the proposal %s still waiting for its co-signature", got, id)
	}
	agreed := h.call("POST", "/api/v1/proposals/"+id+"/accept", b3.Token, "").want(t, 200)
	ag := agreed.str("agreement.id")
	if ag == "" || agreed.str("agreement.status") != "active" || agreed.str("agreement.quantity") != "80.5" {
		t.Fatalf("co-signed acceptance: %s", agreed.Raw)
	}
	if r := h.call("GET", "/api/v1/offers/"+offer, "", "").want(t, 200); r.str("offer.remaining") != "169.5" {
		t.Fatalf("offer remaining %s, want 169.5 reserved off 250", r.str("offer.remaining"))
	}

	// Two volunteers offer to carry; after the window the lottery draws one.
	v1, tok1 := h.volunteer("Ada", "ada@example.org", bakers)
	v2, tok2 := h.volunteer("Bo", "", mill)
	tasks := h.call("GET", "/api/v1/tasks?status=open", "", "").want(t, 200)
	task := tasks.str("tasks.0.id")
	if task != plenty.TaskID(ag) {
		t.Fatalf("open tasks = %s, want the agreement's", tasks.Raw)
	}
	h.call("POST", "/api/v1/tasks/"+task+"/volunteer", tok1, "").want(t, 200)
	h.call("POST", "/api/v1/tasks/"+task+"/volunteer", tok2, "").want(t, 200)
	h.call("POST", "/api/v1/tasks/"+task+"/volunteer", mill.Token, "").want(t, 401)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := h.call("GET", "/api/v1/tasks/"+task, "", "").want(t, 200).str("task.status"); s != "open" {
		t.Fatalf("task %s before its window closed, want open", s)
	}
	h.clock.Add(11 * time.Minute)
	if err := h.srv.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk := h.call("GET", "/api/v1/tasks/"+task, "", "").want(t, 200)
	// Anyone replays the draw: the proof under the hub's draw key, and the
	// log as it stood at the close.
	proof, _ := hex.DecodeString(tk.str("task.proof"))
	closes, _ := time.Parse(time.RFC3339Nano, tk.str("task.closes_at"))
	out, err := plenty.VerifyVRF(h.ledger.DrawKey().Public(), plenty.DrawInput(task, closes), proof)
	if err != nil {
		t.Fatalf("the draw's proof: %v", err)
	}
	closeRoot, _ := hex.DecodeString(tk.str("task.close_root"))
	size := int64(tk.get("task.close_size").(float64))
	root, err := h.ledger.TreeHash(context.Background(), size)
	if err != nil || !bytes.Equal(root[:], closeRoot) {
		t.Fatalf("close root %x is not the root %x of the tree of size %d (%v)", closeRoot, root, size, err)
	}
	seed := plenty.DrawSeed(out, closeRoot)
	if hex.EncodeToString(seed) != tk.str("task.seed") {
		t.Fatalf("seed %s, replayed %x", tk.str("task.seed"), seed)
	}
	winner := tk.str("task.assignee")
	if want := plenty.DrawVolunteer(seed, task, []string{v1, v2}); winner != want || tk.str("task.status") != "assigned" {
		t.Fatalf("task = %s, want assigned to %s by the published rule", tk.Raw, want)
	}
	tokWin, tokLose := tok1, tok2
	if winner == v2 {
		tokWin, tokLose = tok2, tok1
	}
	h.call("POST", "/api/v1/tasks/"+task+"/pickup", tokLose, "").want(t, 403)
	h.call("POST", "/api/v1/tasks/"+task+"/pickup", tokWin, "").want(t, 200)
	h.call("POST", "/api/v1/tasks/"+task+"/dropoff", tokWin, "").want(t, 200)

	// The receiver confirms 80 kg, then corrects it to 80.5.
	account := func(c council) map[string]any {
		r := h.call("GET", "/api/v1/councils/"+c.ID+"/account", "", "").want(t, 200)
		return r.get("account.0").(map[string]any)
	}
	h.call("POST", "/api/v1/agreements/"+ag+"/receipt", mill.Token, `{"quantity": "80"}`).want(t, 403)
	h.call("POST", "/api/v1/agreements/"+ag+"/receipt", bakers.Token, `{"quantity": "81"}`).want(t, 422)
	tr := h.call("POST", "/api/v1/agreements/"+ag+"/receipt", bakers.Token, `{"quantity": "80"}`).want(t, 201)
	if tr.str("transfer.quantity") != "80" || tr.str("transfer.provider") != mill.ID || tr.str("transfer.receiver") != bakers.ID {
		t.Fatalf("transfer = %s", tr.Raw)
	}
	h.call("POST", "/api/v1/agreements/"+ag+"/receipt", bakers.Token, `{"quantity": "80"}`).want(t, 409)
	if r := h.call("GET", "/api/v1/needs/"+need, "", "").want(t, 200); r.str("need.remaining") != "0.5" || r.str("need.status") != "open" {
		t.Fatalf("need after a short receipt: %s, want 0.5 open again", r.Raw)
	}
	if a := account(bakers); a["received"] != "80" || a["outstanding"] != "0.5" || a["committed"] != "0" {
		t.Fatalf("bakers' account after a short receipt = %v, want 0.5 outstanding", a)
	}
	corr := h.call("POST", "/api/v1/transfers/"+tr.str("transfer.id")+"/correction", bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	if corr.str("transfer.quantity") != "0.5" || corr.str("transfer.corrects") != tr.str("transfer.id") {
		t.Fatalf("correction = %s", corr.Raw)
	}

	if a := account(mill); a["given"] != "80.5" || a["committed"] != "0" || a["outstanding"] != "0" {
		t.Fatalf("mill's account = %v", a)
	}
	if a := account(bakers); a["received"] != "80.5" {
		t.Fatalf("bakers' account = %v", a)
	}
	f := h.call("GET", "/api/v1/figures", "", "").want(t, 200)
	for k, want := range map[string]float64{"figures.deliveries": 1, "figures.received": 1, "figures.needs_met": 1, "figures.flows": 1, "figures.local": 1, "figures.busiest_volunteer_share": 1} {
		if got := f.get(k); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}

	// The contact stays private: in the hub's private file, in no event.
	private, err := os.ReadFile(filepath.Join(h.ledger.Dir(), "private", "contacts.jsonl"))
	if err != nil || !strings.Contains(string(private), "ada@example.org") || strings.Contains(string(private), "Bo") {
		t.Fatalf("private contacts: %q, %v", private, err)
	}
	h.ledger.Events(context.Background(), 0, h.ledger.Size(), func(ev plenty.Event) error {
		if bytes.Contains(ev.Body, []byte("ada@example.org")) {
			t.Errorf("event %d carries a volunteer's contact", ev.Seq)
		}
		return nil
	})

	// The open data holds the story, and verifies: every leaf, the signed
	// root, and each table against the events (the correction included).
	rep, err := exports.Verify(context.Background(), h.base, &exports.VerifyOptions{Key: h.ledger.VerifierKey()})
	if err != nil {
		t.Fatalf("open data of the story: %v", err)
	}
	if rep.Checkpoint.Size < 20 || !slices.ContainsFunc(rep.Files, func(f string) bool { return strings.HasPrefix(f, "transfers/arrow/") }) {
		t.Fatalf("verified %d events and files %v", rep.Checkpoint.Size, rep.Files)
	}

	h.srv.Shutdown(context.Background())
	dir := h.ledger.Dir()
	if err := h.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := ledger.Check(context.Background(), dir); err != nil {
		t.Fatalf("ledger check after the story: %v (%d events)", err, n)
	}
}

// servedProposals returns every current proposal as the API serves it.
func servedProposals(t *testing.T, h *testHub) []plenty.Proposal {
	t.Helper()
	r := h.do("GET", "/api/v1/proposals", "", "").want(t, 200)
	var out struct{ Proposals []plenty.Proposal }
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Proposals
}

// replay recomputes each served proposal from the ledger's events up to
// the size and the time it names, as anyone holding the open data can, and
// returns those recomputed that were served (a proposal whose terms stood
// across runs names the run that first served it).
func replay(t *testing.T, h *testHub, served []plenty.Proposal) []plenty.Proposal {
	t.Helper()
	type run struct {
		size int64
		at   time.Time
	}
	byRun := map[run]map[string]plenty.Proposal{}
	for _, p := range served {
		r := run{p.LedgerSize, p.ComputedAt}
		if byRun[r] != nil {
			continue
		}
		st := plenty.NewState()
		if err := h.ledger.Events(context.Background(), 0, r.size, st.Apply); err != nil {
			t.Fatal(err)
		}
		got, err := matching.Propose(matching.InputOf(st, r.at))
		if err != nil {
			t.Fatal(err)
		}
		byRun[r] = map[string]plenty.Proposal{}
		for _, q := range got {
			q.ComputedAt = r.at
			byRun[r][q.ID] = q
		}
	}
	out := make([]plenty.Proposal, 0, len(served))
	for _, p := range served {
		if q, ok := byRun[run{p.LedgerSize, p.ComputedAt}][p.ID]; ok {
			out = append(out, q)
		}
	}
	return out
}

// Proposals recomputed from the ledger equal those served, before and
// after a council declines one (a declined pair is never proposed again).
func TestProposalsReplay(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	demo, err := hub.LoadDemo(context.Background(), h.ledger, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Add(time.Minute)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	served := servedProposals(t, h)
	if len(served) < 20 {
		t.Fatalf("the demo region gives %d proposals; want a real test", len(served))
	}
	if got := replay(t, h, served); !reflect.DeepEqual(got, served) {
		t.Fatalf("replayed %d proposals differ from the %d served", len(got), len(served))
	}

	// The receiver of the first proposal declines it.
	p := served[0]
	var token string
	for _, d := range demo {
		if d.Council == p.Receiver {
			token = d.Token
		}
	}
	h.do("POST", "/api/v1/proposals/"+p.ID+"/decline", token, "").want(t, 200)
	h.clock.Add(time.Minute)
	if err := h.srv.RunMatching(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := servedProposals(t, h)
	for _, q := range again {
		if q.Offer == p.Offer && q.Need == p.Need {
			t.Fatalf("the declined pair %s→%s is proposed again: %+v", p.Offer, p.Need, q)
		}
	}
	if got := replay(t, h, again); !reflect.DeepEqual(got, again) {
		t.Fatalf("after a decline, replayed proposals differ from those served")
	}
}

// Councils accepting overlapping proposals at once never over-commit: for
// each of ten offers three proposals were served in turn (a more urgent
// need arriving each time), the provider accepted all three, and the
// three receivers accept at the same moment. Exactly one agreement forms
// per offer; the others get a conflict, and the quantities balance.
func TestConcurrentAcceptsNeverOverCommit(t *testing.T) {
	h := MustOpenHub(t, hub.Config{})
	mill := h.register("Mill")
	receivers := []council{h.register("R1"), h.register("R2"), h.register("R3")}
	items := h.do("GET", "/api/v1/items", "", "").want(t, 200).get("items").([]any)
	const offers = 10
	type pick struct {
		proposal string
		by       council
	}
	var picks []pick
	for i := 0; i < offers; i++ {
		it := items[i].(map[string]any)
		body := fmt.Sprintf(`{"item": %q, "quantity": "100", "unit": %q}`, it["code"], it["unit"])
		offer := h.do("POST", "/api/v1/offers", mill.Token, body).want(t, 201).str("offer.id")
		for k, r := range receivers {
			need := fmt.Sprintf(`{"item": %q, "quantity": "100", "unit": %q, "priority": %d}`, it["code"], it["unit"], k+2)
			h.do("POST", "/api/v1/needs", r.Token, need).want(t, 201)
			if err := h.srv.RunMatching(context.Background()); err != nil {
				t.Fatal(err)
			}
			props := h.do("GET", "/api/v1/proposals?council="+r.ID, "", "").want(t, 200).get("proposals").([]any)
			var id string
			for _, p := range props {
				if p := p.(map[string]any); p["offer"] == offer && p["quantity"] == "100" {
					id = p["id"].(string)
				}
			}
			if id == "" {
				t.Fatalf("offer %s: no proposal to receiver %d", offer, k)
			}
			h.do("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200)
			picks = append(picks, pick{id, r})
		}
	}

	statuses := make([]int, len(picks))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range picks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = h.do("POST", "/api/v1/proposals/"+p.proposal+"/accept", p.by.Token, "").Status
		}()
	}
	close(start)
	wg.Wait()

	agreed := map[int]int{}
	for i, s := range statuses {
		switch s {
		case 200:
			agreed[i/len(receivers)]++
		case 409:
		default:
			t.Errorf("acceptance %d answered %d, want 200 or 409", i, s)
		}
	}
	for o := 0; o < offers; o++ {
		if agreed[o] != 1 {
			t.Errorf("offer %d: %d agreements formed, want exactly 1", o, agreed[o])
		}
	}
	h.ledger.Read(func(st *plenty.State) error {
		if err := st.CheckBalances(); err != nil {
			t.Error(err)
		}
		committed := map[string]plenty.Amount{}
		for _, a := range st.Agreements() {
			committed[a.Offer] += a.Quantity
		}
		for _, o := range st.Offers() {
			if committed[o.ID] > o.Quantity {
				t.Errorf("offer %s: %s agreed of %s offered", o.ID, committed[o.ID], o.Quantity)
			}
		}
		return nil
	})
}

// kinds counts the ledger's events by kind.
func (h *testHub) kinds() map[string]int {
	n := map[string]int{}
	h.ledger.Events(context.Background(), 0, h.ledger.Size(), func(ev plenty.Event) error {
		n[ev.Kind]++
		return nil
	})
	return n
}

// Offers, needs, claims, agreements and mandates run out on their own: the
// hub's timers write the events, on a controlled clock.
func TestSunsetOnTheClock(t *testing.T) {
	h := MustOpenHub(t, hub.Config{ClaimWindow: time.Hour, AgreementTerm: 24 * time.Hour, LotteryWindow: 10 * time.Minute})
	ctx := context.Background()
	tick := func(d time.Duration) {
		t.Helper()
		h.clock.Add(d)
		if err := h.srv.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.srv.RunMatching(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mill, bakers := h.register("Mill"), h.register("Bakers")
	short := h.do("POST", "/api/v1/offers", mill.Token, `{"item": "wheat-flour", "quantity": "50", "unit": "kg", "expires_at": "2026-11-21T11:00:00Z"}`).want(t, 201).str("offer.id")
	offer := h.do("POST", "/api/v1/offers", mill.Token, strings.Replace(flourOffer, `"250"`, `"1000"`, 1)).want(t, 201).str("offer.id")
	need := h.do("POST", "/api/v1/needs", bakers.Token, flourNeed).want(t, 201).str("need.id")
	tick(0)
	var id string
	for _, p := range servedProposals(t, h) {
		if p.Offer == offer {
			id = p.ID
		}
	}
	if id == "" {
		t.Fatal("no proposal from the long-lived offer")
	}
	h.do("POST", "/api/v1/proposals/"+id+"/accept", mill.Token, "").want(t, 200)
	ag := h.do("POST", "/api/v1/proposals/"+id+"/accept", bakers.Token, "").want(t, 200).str("agreement.id")
	task := plenty.TaskID(ag)
	_, vt := h.volunteer("Ada", "", mill)
	h.do("POST", "/api/v1/tasks/"+task+"/volunteer", vt, "").want(t, 200)

	tick(10 * time.Minute) // the window closes: Ada is drawn
	if s := h.do("GET", "/api/v1/tasks/"+task, "", "").want(t, 200).str("task.status"); s != "assigned" {
		t.Fatalf("task %s after the window, want assigned", s)
	}
	tick(time.Hour) // Ada never picked up; the short offer ran out at 11:00
	tk := h.do("GET", "/api/v1/tasks/"+task, "", "").want(t, 200)
	if tk.str("task.status") != "open" || len(tk.get("task.lapsed").([]any)) != 1 {
		t.Fatalf("task after the claim window: %s, want open with Ada's claim lapsed", tk.Raw)
	}
	if s := h.do("GET", "/api/v1/offers/"+short, "", "").want(t, 200).str("offer.status"); s != "expired" {
		t.Fatalf("short offer %s, want expired", s)
	}
	for _, p := range servedProposals(t, h) {
		if p.Offer == short {
			t.Fatalf("the expired offer is still proposed: %+v", p)
		}
	}

	tick(24 * time.Hour) // nobody picked the goods up: the agreement expires
	if s := h.do("GET", "/api/v1/agreements/"+ag, "", "").want(t, 200).str("agreement.status"); s != "cancelled" {
		t.Fatalf("agreement %s after its term, want cancelled", s)
	}
	if r := h.do("GET", "/api/v1/offers/"+offer, "", "").want(t, 200); r.str("offer.remaining") != "1000" {
		t.Fatalf("offer remaining %s after the agreement expired, want 1000 released", r.str("offer.remaining"))
	}
	if r := h.do("GET", "/api/v1/needs/"+need, "", "").want(t, 200); r.str("need.remaining") != "80.5" {
		t.Fatalf("need remaining %s after the agreement expired, want 80.5 released", r.str("need.remaining"))
	}

	tick(7 * 24 * time.Hour) // the mandates run out
	h.do("POST", "/api/v1/offers", mill.Token, flourOffer).want(t, 401)
	got := h.kinds()
	for kind, want := range map[string]int{plenty.KindOfferExpired: 1, plenty.KindTaskAssigned: 1, plenty.KindTaskLapsed: 1,
		plenty.KindAgreementCancelled: 1, plenty.KindMandateExpired: 2} {
		if got[kind] != want {
			t.Errorf("%d %s events, want %d", got[kind], kind, want)
		}
	}
	size := h.ledger.Size()
	tick(time.Minute) // nothing more is due: nothing is written
	if h.ledger.Size() != size {
		t.Fatalf("a tick with nothing due wrote %d events", h.ledger.Size()-size)
	}
}
