package hub_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/hub"
	"github.com/plentyhub/plenty/ledger"
	"github.com/plentyhub/plenty/matching"
)

// serve runs the hub on a free local port, with its engine and timers, and
// returns its base URL. Requests then go through real HTTP (see call).
func (h *testHub) serve() string {
	h.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	go h.srv.Serve(ln)
	h.t.Cleanup(func() { h.srv.Shutdown(context.Background()) })
	h.base = "http://" + ln.Addr().String()
	return h.base
}

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
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

func (h *testHub) delegate(c council, label, cosign string) council {
	h.t.Helper()
	r := h.do("POST", "/api/v1/councils/"+c.ID+"/delegates", c.Token, fmt.Sprintf(
		`{"label": %q, "mandate": "accept flour", "scopes": ["accept"], "cosign_above": %q}`, label, cosign)).want(h.t, 201)
	return council{ID: c.ID, Delegate: r.str("delegate.id"), Token: r.str("delegate.token")}
}

func (h *testHub) volunteer(handle, contact string) (id, token string) {
	h.t.Helper()
	r := h.do("POST", "/api/v1/volunteers", "", fmt.Sprintf(`{"handle": %q, "contact": %q}`, handle, contact)).want(h.t, 201)
	return r.str("volunteer.id"), r.str("volunteer.token")
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
	agreed := h.call("POST", "/api/v1/proposals/"+id+"/accept", b3.Token, "").want(t, 200)
	ag := agreed.str("agreement.id")
	if ag == "" || agreed.str("agreement.status") != "active" || agreed.str("agreement.quantity") != "80.5" {
		t.Fatalf("co-signed acceptance: %s", agreed.Raw)
	}
	if r := h.call("GET", "/api/v1/offers/"+offer, "", "").want(t, 200); r.str("offer.remaining") != "169.5" {
		t.Fatalf("offer remaining %s, want 169.5 reserved off 250", r.str("offer.remaining"))
	}

	// Two volunteers offer to carry; after the window the lottery draws one.
	v1, tok1 := h.volunteer("Ada", "ada@example.org")
	v2, tok2 := h.volunteer("Bo", "")
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
	seed, _ := hex.DecodeString(tk.str("task.seed"))
	size := int64(tk.get("task.seed_tree_size").(float64))
	root, err := h.ledger.TreeHash(context.Background(), size)
	if err != nil || !bytes.Equal(root[:], seed) {
		t.Fatalf("draw seed %x is not the root %x of the tree of size %d (%v)", seed, root, size, err)
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
	corr := h.call("POST", "/api/v1/transfers/"+tr.str("transfer.id")+"/correction", bakers.Token, `{"quantity": "80.5"}`).want(t, 201)
	if corr.str("transfer.quantity") != "0.5" || corr.str("transfer.corrects") != tr.str("transfer.id") {
		t.Fatalf("correction = %s", corr.Raw)
	}

	account := func(c council) map[string]any {
		r := h.call("GET", "/api/v1/councils/"+c.ID+"/account", "", "").want(t, 200)
		return r.get("account.0").(map[string]any)
	}
	if a := account(mill); a["given"] != "80.5" || a["committed"] != "0" {
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

	h.srv.Shutdown(context.Background())
	dir := h.ledger.Dir()
	if err := h.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := ledger.Check(context.Background(), dir); err != nil {
		t.Fatalf("ledger check after the story: %v (%d events)", err, n)
	}
}
